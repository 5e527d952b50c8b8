package mapping

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTripConfig is the default configuration with sc_request made
// bidirectional, so its reverse value maps are exercised too.
func roundTripConfig() Config {
	cfg := DefaultConfig()
	cfg.Table("sc_request").Direction = Bidirectional
	return cfg
}

func lookupValues(r *fakeResolver, table, field string) []string {
	out := []string{""}
	for v := range r.lookups[table+"."+field] {
		out = append(out, v)
	}
	sort.Strings(out[1:])
	return out
}

// samplesSN returns canonical ServiceNow values of k: every value of its
// value map, or typical values of its kind.
func samplesSN(k *key, r *fakeResolver) []string {
	if k.fwd != nil {
		return append([]string{""}, sortedKeys(k.fwd)...)
	}
	switch k.sn.kind {
	case snText:
		return []string{"", "Line one\nline two", "Café crème – naïve", "  indented\n\ttext  "}
	case snLine:
		return []string{"", "Disk full on web01", "Ünïcode ✓ ok"}
	case snChoice:
		if k.tr == TransformLower {
			return []string{"", "Production", "Development", "Test"}
		}
		return []string{"", "network", "cmdb_ci_linux_server"}
	case snInt:
		return []string{"", "0", "42", "-7"}
	case snBool:
		return []string{"true", "false"}
	case snTime:
		return []string{"", "2026-03-02 09:15:27", "1999-12-31 23:59:59"}
	case snDate:
		return []string{"", "2026-03-02"}
	case snRef:
		return []string{"", ciLinuxSN, ciEmailSN}
	case snDotRef:
		return lookupValues(r, k.sn.refTable, k.sn.attr)
	case snRelType:
		vals := []string{"", "Hosted on::Hosts"}
		for _, name := range knownRelTypes {
			vals = append(vals, name)
		}
		sort.Strings(vals[2:])
		return vals
	}
	return nil
}

// samplesSF returns canonical StackFlow values of k.
func samplesSF(k *key, r *fakeResolver) []string {
	if k.rev != nil {
		return append([]string{""}, sortedKeys(k.rev)...)
	}
	if k.sn.kind == snDotRef {
		return lookupValues(r, k.sn.refTable, k.sn.attr)
	}
	if k.sn.kind == snRelType {
		return []string{"Depends on::Used by", "Hosted on::Hosts"}
	}
	switch k.sf.kind {
	case sfTitle:
		return []string{"VPN drops every 10 minutes", strings.Repeat("é", 255)}
	case sfName:
		return []string{"lnux100"}
	case sfShort:
		return []string{"", "Network", "Ünïcode ✓"}
	case sfText:
		return []string{"", "a\nb\n", "  keeps its spaces  "}
	case sfEnum:
		vals := append([]string(nil), k.sf.enum...)
		if k.sf.nullable {
			vals = append(vals, "")
		}
		return vals
	case sfInt:
		vals := []string{""}
		for n := k.sf.min; n <= k.sf.max; n++ {
			vals = append(vals, strconv.FormatInt(n, 10))
		}
		return vals
	case sfBool:
		return []string{"true", "false"}
	case sfTime:
		return []string{"", "2026-03-10T20:00:00.000Z", "2026-03-10T20:00:00.250Z"}
	case sfCIRef:
		return []string{"", ciLinuxSF, ciEmailSF}
	case sfCIID:
		return []string{ciLinuxSF}
	case sfIdent:
		return []string{"cmdb_ci_linux_server"}
	case sfAttr:
		return []string{"", "gold"}
	}
	return nil
}

// requiredSF reports whether StackFlow refuses an empty value of k.
func requiredSF(k *key) bool {
	switch k.sf.kind {
	case sfTitle, sfName, sfIdent, sfCIID:
		return true
	case sfEnum:
		return !k.sf.nullable
	}
	return false
}

// writeReadSF writes {k: v} to a StackFlow record and projects it back.
func writeReadSF(t *testing.T, tm *TableMap, k *key, v string) (string, error) {
	t.Helper()
	body, err := tm.StackFlowBody(Canon{k.info.Name: v})
	if err != nil {
		return "", err
	}
	sf, err := tm.ProjectStackFlow(storeSF(t, emptySF(tm), body))
	require.NoError(t, err)
	return sf[k.info.Name], nil
}

// writeReadSN writes {k: v} to a ServiceNow record and projects it back.
func writeReadSN(t *testing.T, tm *TableMap, k *key, v string, r *fakeResolver) string {
	t.Helper()
	body, err := tm.ServiceNowBody(Canon{k.info.Name: v}, nil, r)
	require.NoError(t, err)
	assert.NotContains(t, body, "priority", "priority is never written")
	sn, err := tm.ProjectServiceNow(storeSN(tm, emptySN(tm), body, r))
	require.NoError(t, err)
	return sn[k.info.Name]
}

// TestRoundTripServiceNowToStackFlowAndBack takes every value of every
// value map (and typical values of other keys), maps it to StackFlow,
// writes and reads it there, and, for keys that flow back, maps it back
// to ServiceNow, writes and reads it there: the owned value comes back
// unchanged, or for keys that declare a loss it converges after one hop.
func TestRoundTripServiceNowToStackFlowAndBack(t *testing.T) {
	m := mustNew(t, roundTripConfig())
	for _, tm := range m.Tables() {
		for _, k := range tm.keys {
			if !k.toSF {
				continue
			}
			t.Run(tm.Table()+"."+k.info.Name, func(t *testing.T) {
				r := newResolver()
				samples := samplesSN(k, r)
				require.NotEmpty(t, samples)
				for _, x := range samples {
					c, err := k.canonSN(x, k.sn.field)
					require.NoError(t, err)
					require.Equal(t, x, c, "sample %q is canonical", x)

					sfv, err := tm.ToStackFlow(k.info.Name, x, r)
					require.NoError(t, err, "value %q", x)
					got, err := writeReadSF(t, tm, k, sfv)
					if sfv == "" && requiredSF(k) {
						var ve *ValueError
						require.ErrorAs(t, err, &ve, "an empty %s is refused before StackFlow sees it", k.info.Name)
						continue
					}
					require.NoError(t, err)
					assert.Equal(t, sfv, got, "canon(StackFlow, write(StackFlow, %q)) == %q", sfv, sfv)

					if !k.toSN {
						continue
					}
					back, err := tm.ToServiceNow(k.info.Name, sfv, r)
					require.NoError(t, err)
					if k.info.Lossy == "" {
						assert.Equal(t, x, back, "%q → %q → back", x, sfv)
					} else {
						again, err := tm.ToStackFlow(k.info.Name, back, r)
						require.NoError(t, err)
						assert.Equal(t, sfv, again, "a lossy value is stable after one hop")
						diff, err := tm.Converged(Canon{k.info.Name: x}, Canon{k.info.Name: sfv}, r)
						require.NoError(t, err)
						assert.NotContains(t, diff, k.info.Name, "%q and %q count as converged", x, sfv)
					}
					assert.Equal(t, back, writeReadSN(t, tm, k, back, r), "canon(ServiceNow, write(ServiceNow, %q))", back)
				}
			})
		}
	}
}

// TestRoundTripStackFlowToServiceNowAndBack is the reverse for every key
// that flows both ways: StackFlow value → ServiceNow (written and read
// there) → StackFlow gives the same value, or converges when declared
// lossy (milliseconds, risk high).
func TestRoundTripStackFlowToServiceNowAndBack(t *testing.T) {
	m := mustNew(t, roundTripConfig())
	for _, tm := range m.Tables() {
		for _, k := range tm.keys {
			if !k.toSN || !k.toSF {
				continue
			}
			t.Run(tm.Table()+"."+k.info.Name, func(t *testing.T) {
				r := newResolver()
				for _, y := range samplesSF(k, r) {
					c, err := k.canonSF(k.sf, y)
					require.NoError(t, err)
					require.Equal(t, y, c, "sample %q is canonical", y)

					x, err := tm.ToServiceNow(k.info.Name, y, r)
					require.NoError(t, err, "value %q", y)
					assert.Equal(t, x, writeReadSN(t, tm, k, x, r), "canon(ServiceNow, write(ServiceNow, %q))", x)
					back, err := tm.ToStackFlow(k.info.Name, x, r)
					require.NoError(t, err)
					if k.info.Lossy == "" {
						assert.Equal(t, y, back, "%q → %q → back", y, x)
						continue
					}
					diff, err := tm.Converged(Canon{k.info.Name: x}, Canon{k.info.Name: y}, r)
					require.NoError(t, err)
					assert.NotContains(t, diff, k.info.Name, "%q and %q count as converged", x, y)
				}
			})
		}
	}
}

// TestEveryBuiltinValueMapIsCovered checks the value maps follow
// servicenow-api.md §5: each documented choice maps, and each StackFlow
// enum value has a way back where the key flows back.
func TestEveryBuiltinValueMapIsCovered(t *testing.T) {
	m := mustNew(t, roundTripConfig())
	documented := map[string][]string{
		"incident.state":             {"1", "2", "3", "6", "7", "8"},
		"problem.state":              {"101", "102", "103", "104", "106", "107"},
		"change_request.state":       {"-5", "-4", "-3", "-2", "-1", "0", "3", "4"},
		"change_request.risk":        {"1", "2", "3", "4"},
		"change_request.type":        {"normal", "standard", "emergency"},
		"change_request.priority":    {"1", "2", "3", "4"},
		"incident.impact":            {"1", "2", "3"},
		"incident.urgency":           {"1", "2", "3"},
		"incident.priority":          {"1", "2", "3", "4", "5"},
		"sc_request.state":           {"draft", "submitted", "in_process", "delivered", "cancelled", "closed_incomplete", "closed_complete", "closed_cancelled"},
		"sc_request.approval":        {"not requested", "requested", "approved", "rejected"},
		"cmdb_ci.install_status":     {"1", "2", "3", "4", "5", "6", "7", "8", "100"},
		"cmdb_ci.operational_status": {"1", "2", "3", "4", "5", "6"},
	}
	for name, values := range documented {
		table, keyName, _ := strings.Cut(name, ".")
		tm := mustTable(t, m, table)
		for _, v := range values {
			_, err := tm.ToStackFlow(keyName, v, newResolver())
			assert.NoError(t, err, "%s value %s maps to StackFlow", name, v)
		}
	}
	for _, tm := range m.Tables() {
		for _, k := range tm.keys {
			if k.sf.kind != sfEnum || !k.toSN {
				continue
			}
			for _, e := range k.sf.enum {
				_, err := tm.ToServiceNow(k.info.Name, e, newResolver())
				assert.NoError(t, err, "%s.%s: StackFlow %s maps back", tm.Table(), k.info.Name, e)
			}
		}
	}
}

// TestUnmappedChoiceIsATypedError: a value the value map lacks (incident
// state 5) is a *ValueError naming table, field, value and the fix, never
// an empty value.
func TestUnmappedChoiceIsATypedError(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	got, err := tm.ToStackFlow("state", "5", newResolver())
	assert.Empty(t, got)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "incident", ve.Table)
	assert.Equal(t, "state", ve.Key)
	assert.Equal(t, "state", ve.Field)
	assert.Equal(t, ServiceNow, ve.Side)
	assert.Equal(t, "5", ve.Value)
	assert.Contains(t, ve.Fix, "Integration Hub → ServiceNow → Field Mapping")
	assert.Contains(t, err.Error(), `"5"`)
	assert.False(t, errors.Is(err, ErrUnresolved))

	ci := mustTable(t, mustNew(t, DefaultConfig()), "cmdb_ci")
	_, err = ci.ToStackFlow("operational_status", "7", newResolver())
	require.ErrorAs(t, err, &ve, "Pipeline has no StackFlow counterpart")
	assert.Equal(t, "7", ve.Value)
}
