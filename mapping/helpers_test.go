package mapping

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/servicenow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Test ids shared by the records in testdata/records.
const (
	ciLinuxSN  = "3a307c930a0a0bb400353965d0b8861f"
	ciLinuxSF  = "ci_01JD8ZQ4M3T6W9Y2B5C7D1E0AB"
	ciEmailSN  = "109562a3c611227500a7b7ff98cc0dc7"
	ciEmailSF  = "ci_01JD8ZQ4M3T6W9Y2B5C7D1E0CD"
	userBeth   = "5137153cc611227c000bbd1bd8cd2007"
	userJoe    = "681ccaf9c0a8016400b98a06818d57c7"
	userFred   = "5137153cc611227c000bbd1bd8cd2008"
	groupNet   = "287ebd7da9fe198100f92cc8d1d2154e"
	groupWeb   = "8a4dde73c6112278017a6a4baf547aa7"
	relHosted  = "5599a965c0a8010e00da3b58b113d70e"
	companyID  = "aa0a6df8c611227601cd2ed45989e0ac"
	modelID    = "d501454f1b1310002502fbcd2c071334"
	locationID = "25ab9c4d0a0a0bb300f7dabdc0ca7c1c"
)

// fakeResolver is an in-memory Resolver: paired CIs and lookups.
type fakeResolver struct {
	ci      map[string]string            // ServiceNow sys_id -> StackFlow id
	lookups map[string]map[string]string // "table.field" -> value -> sys_id
	calls   []string
}

func newResolver() *fakeResolver {
	return &fakeResolver{
		ci: map[string]string{ciLinuxSN: ciLinuxSF, ciEmailSN: ciEmailSF},
		lookups: map[string]map[string]string{
			"sys_user.email": {
				"beth.anglin@example.com": userBeth, "joe.employee@example.com": userJoe, "fred.luddy@example.com": userFred,
			},
			"sys_user.user_name":   {"beth.anglin": userBeth, "joe.employee": userJoe},
			"sys_user_group.name":  {"Network": groupNet, "Web Platform": groupWeb},
			"cmdb_rel_type.name":   {"Hosted on::Hosts": relHosted},
			"core_company.name":    {"Dell Inc.": companyID},
			"cmdb_model.name":      {"PowerEdge R740": modelID},
			"cmn_location.name":    {"London Data Center": locationID},
			"sys_user.name":        {"Beth Anglin": userBeth},
			"sys_user_group.email": {},
		},
	}
}

func (r *fakeResolver) StackFlowID(table, sysID string) (string, error) {
	r.calls = append(r.calls, "StackFlowID "+table+" "+sysID)
	if table != "cmdb_ci" {
		return "", fmt.Errorf("unexpected table %q", table)
	}
	if id, ok := r.ci[sysID]; ok {
		return id, nil
	}
	return "", fmt.Errorf("cmdb_ci %s: %w", sysID, ErrUnresolved)
}

func (r *fakeResolver) ServiceNowID(module, sfID string) (string, error) {
	r.calls = append(r.calls, "ServiceNowID "+module+" "+sfID)
	if module != ModCMDBCIs {
		return "", fmt.Errorf("unexpected module %q", module)
	}
	for sn, sf := range r.ci {
		if sf == sfID {
			return sn, nil
		}
	}
	return "", fmt.Errorf("%s %s: %w", module, sfID, ErrUnresolved)
}

func (r *fakeResolver) LookupServiceNow(table, field, value string) (string, error) {
	r.calls = append(r.calls, "Lookup "+table+"."+field+" "+value)
	m, ok := r.lookups[table+"."+field]
	if !ok {
		return "", fmt.Errorf("unexpected lookup %s.%s", table, field)
	}
	return m[value], nil
}

// reverse finds the value a sys_id has in table.field ("" when unknown).
func (r *fakeResolver) reverse(table, field, sysID string) string {
	for v, id := range r.lookups[table+"."+field] {
		if id == sysID {
			return v
		}
	}
	return ""
}

// mustNew builds a Mapping or fails the test.
func mustNew(t testing.TB, cfg Config) *Mapping {
	t.Helper()
	m, err := New(cfg)
	require.NoError(t, err)
	return m
}

func mustTable(t testing.TB, m *Mapping, table string) *TableMap {
	t.Helper()
	tm, ok := m.Table(table)
	require.True(t, ok, "table %s is mapped", table)
	return tm
}

// loadSN reads testdata/records/<table>.servicenow.json.
func loadSN(t testing.TB, table string) servicenow.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "records", table+".servicenow.json"))
	require.NoError(t, err)
	var env struct {
		Result servicenow.Record `json:"result"`
	}
	require.NoError(t, json.Unmarshal(data, &env))
	return env.Result
}

// loadSF reads testdata/records/<table>.stackflow.json as a client would.
func loadSF(t testing.TB, table string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "records", table+".stackflow.json"))
	require.NoError(t, err)
	return decodeJSON(t, data)
}

func decodeJSON(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// emptySN is a ServiceNow record of the table with every read field empty.
func emptySN(tm *TableMap) servicenow.Record {
	rec := servicenow.Record{}
	for _, f := range tm.ServiceNowFields() {
		rec[f] = servicenow.Value{}
	}
	rec["sys_id"] = servicenow.Value{Value: "0123456789abcdef0123456789abcdef"}
	return rec
}

// storeSN writes body into a copy of rec the way ServiceNow stores it and
// answers a read with dot-walks: values as sent, dot-walked fields
// recomputed from the references.
func storeSN(tm *TableMap, rec servicenow.Record, body servicenow.Fields, r *fakeResolver) servicenow.Record {
	out := servicenow.Record{}
	for k, v := range rec {
		out[k] = v
	}
	for f, v := range body {
		out[f] = servicenow.Value{Value: v}
	}
	for _, k := range tm.keys {
		switch k.sn.kind {
		case snDotRef:
			out[k.sn.field+"."+k.sn.attr] = servicenow.Value{Value: r.reverse(k.sn.refTable, k.sn.attr, out[k.sn.field].Value)}
		case snRelType:
			id := out[k.sn.field].Value
			name := knownRelTypes[id]
			if name == "" {
				name = r.reverse("cmdb_rel_type", "name", id)
			}
			out[k.sn.field+".name"] = servicenow.Value{Value: name}
		}
	}
	return out
}

// emptySF is a StackFlow record of the module with every field null.
func emptySF(tm *TableMap) map[string]any {
	rec := map[string]any{"id": "x_1", "source": "stackflow", "external_id": nil, "external_number": nil,
		"attributes": map[string]any{}, "version": json.Number("1")}
	for f := range moduleFields[tm.Module()] {
		rec[f] = nil
	}
	return rec
}

// storeSF applies a PATCH/create body to a copy of rec the way StackFlow
// stores it: through JSON, attributes merged key by key (null removes).
func storeSF(t testing.TB, rec, body map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	patch := decodeJSON(t, data)
	out := map[string]any{}
	for k, v := range rec {
		out[k] = v
	}
	attrs := map[string]any{}
	if a, ok := out["attributes"].(map[string]any); ok {
		for k, v := range a {
			attrs[k] = v
		}
	}
	for k, v := range patch {
		if k == "attributes" {
			pa, _ := v.(map[string]any)
			for ak, av := range pa {
				if av == nil {
					delete(attrs, ak)
				} else {
					attrs[ak] = av
				}
			}
			continue
		}
		out[k] = v
	}
	out["attributes"] = attrs
	return out
}

// golden compares v, as indented JSON, with testdata/golden/name, or
// rewrites the file with -update.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./mapping/ -run Golden -update")
	require.Equal(t, string(want), string(got), "golden %s differs (run with -update after checking the change)", name)
}
