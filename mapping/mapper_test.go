package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tierMapper maps u_customer_tier (1, 2, 3) to attributes.customer_tier
// (gold, silver, bronze).
type tierMapper struct {
	key    string
	sn, sf []string
}

var tiers = map[string]string{"1": "gold", "2": "silver", "3": "bronze"}

func (m *tierMapper) Key() string {
	if m.key == "" {
		return "customer_tier"
	}
	return m.key
}

func (m *tierMapper) ServiceNowFields() []string {
	if m.sn == nil {
		return []string{"u_customer_tier"}
	}
	return m.sn
}

func (m *tierMapper) StackFlowFields() []string {
	if m.sf == nil {
		return []string{"attributes.customer_tier"}
	}
	return m.sf
}

func (m *tierMapper) ToStackFlow(sn FieldSet) (FieldSet, error) {
	v := sn[m.ServiceNowFields()[0]]
	if v == "" {
		return FieldSet{}, nil
	}
	t, ok := tiers[v]
	if !ok {
		return nil, fmt.Errorf("unknown tier %q", v)
	}
	return FieldSet{m.StackFlowFields()[0]: t}, nil
}

func (m *tierMapper) ToServiceNow(sf FieldSet) (FieldSet, error) {
	v := sf[m.StackFlowFields()[0]]
	for n, t := range tiers {
		if t == v {
			return FieldSet{m.ServiceNowFields()[0]: n}, nil
		}
	}
	if v == "" {
		return FieldSet{}, nil
	}
	return nil, fmt.Errorf("unknown tier %q", v)
}

// siteMapper joins u_site and u_rack into attributes.rack ("LON/R12"),
// only towards StackFlow, owned by ServiceNow.
type siteMapper struct{}

func (siteMapper) Key() string                { return "rack" }
func (siteMapper) ServiceNowFields() []string { return []string{"u_site", "u_rack"} }
func (siteMapper) StackFlowFields() []string  { return []string{"attributes.rack", "attributes.site"} }
func (siteMapper) Direction() Direction       { return ToStackFlow }
func (siteMapper) Ownership() Ownership       { return OwnServiceNow }
func (siteMapper) ToStackFlow(sn FieldSet) (FieldSet, error) {
	if sn["u_site"] == "" {
		return FieldSet{}, nil
	}
	return FieldSet{"attributes.rack": sn["u_site"] + "/" + sn["u_rack"], "attributes.site": sn["u_site"]}, nil
}
func (siteMapper) ToServiceNow(sf FieldSet) (FieldSet, error) {
	site, rack, _ := strings.Cut(sf["attributes.rack"], "/")
	return FieldSet{"u_site": site, "u_rack": rack}, nil
}

func mapperConfig(ms ...FieldMapper) Config {
	cfg := DefaultConfig()
	cfg.Mappers = map[string][]FieldMapper{"incident": ms}
	return cfg
}

func TestGoMapperRunsBothWays(t *testing.T) {
	tm := mustTable(t, mustNew(t, mapperConfig(&tierMapper{})), "incident")
	info, ok := tm.Key("customer_tier")
	require.True(t, ok)
	assert.Equal(t, Bidirectional, info.Direction)
	assert.Equal(t, OwnLatest, info.Ownership)
	assert.Contains(t, tm.ServiceNowFields(), "u_customer_tier")

	rec := loadSN(t, "incident")
	rec.Set("u_customer_tier", "1")
	sn, err := tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	assert.Equal(t, "1", sn["customer_tier"])

	sfRec := loadSF(t, "incident")
	sf, err := tm.ProjectStackFlow(sfRec)
	require.NoError(t, err)
	assert.Equal(t, "gold", sf["customer_tier"], "read from attributes")

	r := newResolver()
	diff, err := tm.Converged(Canon{"customer_tier": "1"}, Canon{"customer_tier": "gold"}, r)
	require.NoError(t, err)
	assert.Empty(t, diff)

	res, err := tm.Merge(MergeInput{
		BaseSN: Canon{"customer_tier": "1"}, CurSN: Canon{"customer_tier": "1"},
		BaseSF: Canon{"customer_tier": "gold"}, CurSF: Canon{"customer_tier": "bronze"}, Resolver: r,
	})
	require.NoError(t, err)
	assert.Equal(t, "3", res.ToServiceNow["customer_tier"])
	body, err := tm.ServiceNowBody(Canon{"customer_tier": "3"}, nil, r)
	require.NoError(t, err)
	assert.Equal(t, "3", body["u_customer_tier"])

	sfBody, err := tm.StackFlowBody(Canon{"customer_tier": "silver"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"attributes": map[string]any{"customer_tier": "silver"}}, sfBody)
	cleared, err := tm.StackFlowBody(Canon{"customer_tier": ""})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"attributes": map[string]any{"customer_tier": nil}}, cleared, "null removes the attribute")

	_, err = tm.ToStackFlow("customer_tier", "9", r)
	assert.ErrorContains(t, err, `unknown tier "9"`)
}

func TestMultiFieldMapperWithDirectionAndOwnership(t *testing.T) {
	tm := mustTable(t, mustNew(t, mapperConfig(siteMapper{})), "incident")
	info, _ := tm.Key("rack")
	assert.Equal(t, ToStackFlow, info.Direction)
	assert.Equal(t, OwnServiceNow, info.Ownership)
	assert.Equal(t, []string{"u_rack", "u_site"}, info.ServiceNowFields)
	assert.Empty(t, info.ServiceNowWrite)

	rec := loadSN(t, "incident")
	rec.Set("u_site", "LON")
	rec.Set("u_rack", "R12")
	sn, err := tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	sfv, err := tm.ToStackFlow("rack", sn["rack"], newResolver())
	require.NoError(t, err)
	body, err := tm.StackFlowBody(Canon{"rack": sfv})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"attributes": map[string]any{"rack": "LON/R12", "site": "LON"}}, body)

	stored := storeSF(t, loadSF(t, "incident"), body)
	sf, err := tm.ProjectStackFlow(stored)
	require.NoError(t, err)
	assert.Equal(t, sfv, sf["rack"], "the mapper's fields read back as written")

	delete(rec, "u_rack")
	_, err = tm.ProjectServiceNow(rec)
	var ve *ValueError
	require.ErrorAs(t, err, &ve, "a mapped field missing from the record is an error, not empty")
	assert.Equal(t, "u_rack", ve.Field)
}

func TestMapperReplacesABuiltinKey(t *testing.T) {
	m := &tierMapper{key: "category", sn: []string{"u_category"}, sf: []string{"category"}}
	tm := mustTable(t, mustNew(t, mapperConfig(m)), "incident")
	info, _ := tm.Key("category")
	assert.Equal(t, []string{"u_category"}, info.ServiceNowFields)
	assert.NotContains(t, tm.ServiceNowFields(), "category")
}

type failingMapper struct{ tierMapper }

func (*failingMapper) ToServiceNow(FieldSet) (FieldSet, error) { return nil, errors.New("boom") }

func TestMapperErrorsAreWrapped(t *testing.T) {
	tm := mustTable(t, mustNew(t, mapperConfig(&failingMapper{})), "incident")
	_, err := tm.ToServiceNow("customer_tier", "gold", newResolver())
	assert.ErrorContains(t, err, "incident.customer_tier: mapper ToServiceNow: boom")
}
