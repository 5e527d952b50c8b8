package mapping

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sffake "github.com/stackflow-tech/snowsync/internal/testserver/sf"
	"github.com/stackflow-tech/snowsync/internal/testserver/snow"
	"github.com/stackflow-tech/snowsync/servicenow"
)

// The fake servers are an independent reading of both APIs (they import
// none of our packages). These tests write mapping's bodies to them
// in-process and project what they stored: the property
// canon(Y, write(Y, x)) == x checked against their normalisation, not
// ours.

// sfRecord turns a record of the fake StackFlow into what a client reads.
func sfRecord(r sffake.Record) map[string]any {
	out := map[string]any{"id": r.ID, "source": r.Source, "external_id": r.ExternalID, "external_number": r.ExternalNumber}
	for k, v := range r.Fields {
		out[k] = v
	}
	attrs := map[string]any{}
	for k, v := range r.Attributes {
		attrs[k] = v
	}
	out["attributes"] = attrs
	return out
}

func newFakeStackFlow(t *testing.T) *sffake.Server {
	t.Helper()
	s, err := sffake.New()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// seedCIs creates the two test CIs in the fake StackFlow and returns a
// resolver that pairs them with their ServiceNow sys_ids.
func seedCIs(t *testing.T, s *sffake.Server, m *Mapping) *fakeResolver {
	t.Helper()
	r := newResolver()
	ci := mustTable(t, m, "cmdb_ci")
	for _, sysID := range []string{ciLinuxSN, ciEmailSN} {
		rec := loadSN(t, "cmdb_ci")
		rec["sys_id"] = servicenow.Value{Value: sysID}
		rec.Set("name", "ci-"+sysID[:6])
		sn, err := ci.ProjectServiceNow(rec)
		require.NoError(t, err)
		body, err := ci.NewStackFlow(sn, rec, r)
		require.NoError(t, err)
		stored, err := s.Create(ci.Module(), body, "snowsync")
		require.NoError(t, err)
		r.ci[sysID] = stored.ID
	}
	return r
}

func TestFakeStackFlowStoresWhatMappingWrites(t *testing.T) {
	m := mustNew(t, roundTripConfig())
	s := newFakeStackFlow(t)
	r := seedCIs(t, s, m)
	for _, tm := range m.Tables() {
		t.Run(tm.Table(), func(t *testing.T) {
			rec := loadSN(t, tm.Table())
			if tm.Table() == "cmdb_ci" {
				rec["sys_id"] = servicenow.Value{Value: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"} // the seeded CIs hold the others
			}
			if tm.Table() == "incident" {
				// A long, untrimmed, decomposed title: StackFlow trims and truncates it.
				rec.Set("short_description", "  "+strings.Repeat("e\u0301", 300)+"  ")
			}
			sn, err := tm.ProjectServiceNow(rec)
			require.NoError(t, err)
			body, err := tm.NewStackFlow(sn, rec, r)
			require.NoError(t, err)
			stored, err := s.Create(tm.Module(), body, "snowsync")
			require.NoError(t, err, "StackFlow accepts the create body")
			assert.Equal(t, rec.SysID(), stored.ExternalID)
			got, err := tm.ProjectStackFlow(sfRecord(stored))
			require.NoError(t, err)
			want, err := tm.ConvertToStackFlow(sn, r)
			require.NoError(t, err)
			assert.Equal(t, want, got, "the stored record reads back as the converted values")

			// Every sample value of every key, written as a PATCH.
			for _, k := range tm.keys {
				if !k.toSF || k.sf.kind == sfCIID {
					continue
				}
				for _, v := range samplesSF(k, r) {
					if k.sf.kind == sfCIRef && v != "" {
						v = r.ci[ciLinuxSN]
					}
					patch, err := tm.StackFlowBody(Canon{k.info.Name: v})
					if v == "" && requiredSF(k) {
						require.Error(t, err, "%s: an empty required value is refused before StackFlow sees it", k.info.Name)
						continue
					}
					require.NoError(t, err)
					after, err := s.Update(tm.Module(), stored.ID, patch, "snowsync")
					require.NoError(t, err, "%s = %q is accepted", k.info.Name, v)
					proj, err := tm.ProjectStackFlow(sfRecord(after))
					require.NoError(t, err)
					assert.Equal(t, v, proj[k.info.Name], "%s = %q reads back unchanged", k.info.Name, v)
				}
			}
		})
	}
}

// snowRecord reads a row of the fake ServiceNow with the dot-walks the
// mapping asks for, resolved against the fake's own reference tables.
func snowRecord(s *snow.Server, tm *TableMap, row snow.Record) servicenow.Record {
	out := servicenow.Record{}
	for k, v := range row {
		out[k] = servicenow.Value{Value: v}
	}
	for _, k := range tm.keys {
		if k.sn.kind != snDotRef {
			continue
		}
		walk := ""
		if id := row[k.sn.field]; id != "" {
			if ref, ok := s.Record(k.sn.refTable, id); ok {
				walk = ref[k.sn.attr]
			}
		}
		out[k.sn.field+"."+k.sn.attr] = servicenow.Value{Value: walk}
	}
	return out
}

func newFakeServiceNow(t *testing.T) *snow.Server {
	t.Helper()
	s, err := snow.New()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.Seed("sys_user",
		map[string]any{"sys_id": userBeth, "user_name": "beth.anglin", "email": "beth.anglin@example.com"},
		map[string]any{"sys_id": userJoe, "user_name": "joe.employee", "email": "joe.employee@example.com"},
		map[string]any{"sys_id": userFred, "user_name": "fred.luddy", "email": "fred.luddy@example.com"})
	require.NoError(t, err)
	_, err = s.Seed("sys_user_group",
		map[string]any{"sys_id": groupNet, "name": "Network"}, map[string]any{"sys_id": groupWeb, "name": "Web Platform"})
	require.NoError(t, err)
	_, err = s.Seed("cmdb_ci", map[string]any{"sys_id": ciLinuxSN, "name": "lnux100"}, map[string]any{"sys_id": ciEmailSN, "name": "mail01"})
	require.NoError(t, err)
	return s
}

// TestFakeServiceNowCreatesAndConverges creates each StackFlow record in
// the fake ServiceNow (an incident created resolved must pass its data
// policy), reads it back, and settles: what ServiceNow derived (priority,
// the default close code) flows to StackFlow, nothing flows back, and the
// pair has converged.
func TestFakeServiceNowCreatesAndConverges(t *testing.T) {
	m := mustNew(t, roundTripConfig())
	s := newFakeServiceNow(t)
	r := newResolver()
	for _, tm := range m.Tables() {
		if !tm.Direction().Flows(StackFlow) {
			continue
		}
		t.Run(tm.Table(), func(t *testing.T) {
			rec := loadSF(t, tm.Table())
			cur, err := tm.ProjectStackFlow(rec)
			require.NoError(t, err)
			if tm.Table() == "incident" {
				cur["state"] = "resolved"
				cur["priority"] = "" // StackFlow has none yet: ServiceNow's computed one must come back
			}
			body, err := tm.NewServiceNow(cur, rec["id"].(string), r)
			require.NoError(t, err)
			row, err := s.Insert(tm.Table(), body)
			require.NoError(t, err, "ServiceNow accepts the create body")
			sn, err := tm.ProjectServiceNow(snowRecord(s, tm, row))
			require.NoError(t, err)

			expected, err := tm.ConvertToServiceNow(cur, r)
			require.NoError(t, err)
			for k, v := range expected {
				if tm.Table() == "incident" && (k == "resolution_code" || k == "resolution_notes") {
					continue // supplied by NewServiceNow
				}
				assert.Equal(t, v, sn[k], "%s reads back as written", k)
			}
			settle, err := tm.Merge(MergeInput{BaseSN: expected, CurSN: sn, BaseSF: cur, CurSF: cur, Resolver: r})
			require.NoError(t, err)
			assert.Empty(t, settle.ToServiceNow, "nothing flows back to ServiceNow")
			assert.Empty(t, settle.Conflicts)
			if tm.Table() == "incident" {
				assert.Equal(t, "3", settle.ToStackFlow["priority"], "ServiceNow's computed priority (impact 2, urgency 2) flows to StackFlow")
				assert.Equal(t, DefaultCloseCode, settle.ToStackFlow["resolution_code"])
			}
			diff, err := tm.Converged(sn, cur.With(settle.ToStackFlow), r)
			require.NoError(t, err)
			assert.Empty(t, diff, "converged after one settle")
		})
	}
}
