package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigMapsTheGuidesTables(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	var got []string
	for _, tm := range m.Tables() {
		got = append(got, tm.Table()+" "+tm.Module()+" "+string(tm.Direction()))
	}
	assert.Equal(t, []string{
		"cmdb_ci cmdb/cis read_only",
		"cmdb_rel_ci cmdb/relationships to_stackflow",
		"incident incidents bidirectional",
		"problem problems bidirectional",
		"change_request changes bidirectional",
		"sc_request service-requests to_stackflow",
	}, got, "tables in dependency order: CIs before relationships and tasks")
}

func TestZeroSettingsTakeDefaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CloseCode, cfg.CloseNotes, cfg.PeopleBy, cfg.GroupsBy = "", "", "", ""
	tm := mustTable(t, mustNew(t, cfg), "incident")
	info, _ := tm.Key("assignee")
	assert.Equal(t, []string{"assigned_to.email", "assigned_to"}, info.ServiceNowFields)
	body, err := tm.ServiceNowBody(Canon{"state": "7"}, Canon{}, newResolver())
	require.NoError(t, err)
	assert.Equal(t, DefaultCloseCode, body["close_code"])
	assert.Equal(t, DefaultCloseNotes, body["close_notes"])
}

func TestPeopleByName(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PeopleBy = "user_name"
	tm := mustTable(t, mustNew(t, cfg), "incident")
	assert.Contains(t, tm.ServiceNowFields(), "assigned_to.user_name")
	r := newResolver()
	body, err := tm.ServiceNowBody(Canon{"assignee": "beth.anglin"}, nil, r)
	require.NoError(t, err)
	assert.Equal(t, userBeth, body["assigned_to"])
	assert.Contains(t, r.calls, "Lookup sys_user.user_name beth.anglin")
}

func TestTablesCanBeTurnedOffAndRedirected(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Table("cmdb_rel_ci").Enabled = false
	cfg.Table("incident").Direction = ToStackFlow
	cfg.Table("sc_request").Direction = ReadOnly
	m := mustNew(t, cfg)
	_, ok := m.Table("cmdb_rel_ci")
	assert.False(t, ok, "a disabled table is not mapped")
	inc := mustTable(t, m, "incident")
	for _, k := range inc.Keys() {
		assert.NotEqual(t, Bidirectional, k.Direction, "%s cannot flow back from a to_stackflow table", k.Name)
		assert.Equal(t, OwnServiceNow, k.Ownership, "%s on a one-way table is owned by ServiceNow", k.Name)
		assert.Empty(t, k.ServiceNowWrite)
	}
	_, err := inc.ServiceNowBody(Canon{"title": "x"}, nil, newResolver())
	assert.Error(t, err, "nothing flows to ServiceNow on a to_stackflow table")
}

func TestCMDBClassTableTakesCMDBCIMapping(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Table("cmdb_ci").Enabled = false
	cfg.Tables = append(cfg.Tables, TableConfig{Table: "cmdb_ci_linux_server", Enabled: true})
	m := mustNew(t, cfg)
	tm := mustTable(t, m, "cmdb_ci_linux_server")
	assert.Equal(t, ModCMDBCIs, tm.Module())
	assert.Equal(t, ReadOnly, tm.Direction())
	assert.Equal(t, "cmdb_ci_linux_server", m.Tables()[0].Table(), "CI classes come first")
	sn, err := tm.ProjectServiceNow(loadSN(t, "cmdb_ci"))
	require.NoError(t, err)
	assert.Equal(t, "cmdb_ci_linux_server", sn["class"])
}

func TestCustomTableMappedToAttributes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tables = append(cfg.Tables, TableConfig{Table: "u_vendor_ticket", Module: "incidents", Enabled: true, Direction: ToStackFlow})
	cfg.FieldMappings = []FieldMappingSpec{
		{Table: "u_vendor_ticket", ServiceNowField: "u_summary", StackFlowField: "title"},
		{Table: "u_vendor_ticket", ServiceNowField: "u_vendor", StackFlowField: "attributes.vendor"},
		{Table: "u_vendor_ticket", ServiceNowField: "u_cost", StackFlowField: "attributes.cost", Transform: "int"},
		{Table: "u_vendor_ticket", ServiceNowField: "u_opened", StackFlowField: "attributes.opened", Transform: "datetime"},
	}
	m := mustNew(t, cfg)
	tm := mustTable(t, m, "u_vendor_ticket")
	assert.Equal(t, "u_vendor_ticket", m.Tables()[len(m.Tables())-1].Table(), "custom tables come last")
	assert.False(t, tm.task)
	rec := emptySN(tm)
	rec.Set("u_summary", " Router RMA ")
	rec.Set("u_vendor", "Cisco")
	rec.Set("u_cost", "1,250")
	rec.Set("u_opened", "2026-03-01 10:00:00")
	sn, err := tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	assert.Equal(t, Canon{"title": "Router RMA", "attributes.vendor": "Cisco", "attributes.cost": "1250",
		"attributes.opened": "2026-03-01 10:00:00"}, sn)
	body, err := tm.NewStackFlow(sn, rec, newResolver())
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"vendor": "Cisco", "cost": int64(1250), "opened": "2026-03-01T10:00:00.000Z"}, body["attributes"])
	assert.Equal(t, "Router RMA", body["title"])
	assert.NotContains(t, body, "external_number", "a custom table has no number")
}

func TestValueMapOverrideExtendsABuiltinChoice(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FieldMappings = []FieldMappingSpec{{
		Table: "incident", ServiceNowField: "state", StackFlowField: "state", Direction: Bidirectional,
		ValueMap:        ValueMap{"1": "new", "2": "in_progress", "3": "on_hold", "5": "on_hold", "6": "resolved", "7": "closed", "8": "canceled"},
		ReverseValueMap: ValueMap{"on_hold": "3"},
	}}
	tm := mustTable(t, mustNew(t, cfg), "incident")
	got, err := tm.ToStackFlow("state", "5", newResolver())
	require.NoError(t, err)
	assert.Equal(t, "on_hold", got)
	back, err := tm.ToServiceNow("state", "on_hold", newResolver())
	require.NoError(t, err)
	assert.Equal(t, "3", back)
	info, _ := tm.Key("state")
	assert.Equal(t, OwnOrigin, info.Ownership, "the built-in ownership is kept")
	assert.NotEmpty(t, info.Lossy)
}

func TestOverrideKeepsTheBuiltinDirection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "priority", StackFlowField: "priority",
		ValueMap: ValueMap{"1": "1", "2": "1", "3": "2", "4": "3", "5": "4"}}}
	tm := mustTable(t, mustNew(t, cfg), "incident")
	info, _ := tm.Key("priority")
	assert.Equal(t, ToStackFlow, info.Direction, "priority still only flows to StackFlow")
	got, err := tm.ToStackFlow("priority", "2", newResolver())
	require.NoError(t, err)
	assert.Equal(t, "1", got)
}

func TestNewReportsEveryProblem(t *testing.T) {
	type want struct{ table, field, text string }
	cases := []struct {
		name string
		edit func(*Config)
		want want
	}{
		{"an unsupported table", func(c *Config) { c.Tables = append(c.Tables, TableConfig{Table: "sys_user", Enabled: true}) },
			want{"sys_user", "", "not supported"}},
		{"a table name that is not a name", func(c *Config) { c.Tables = append(c.Tables, TableConfig{Table: "Incident", Enabled: true}) },
			want{"Incident", "", "not a ServiceNow table name"}},
		{"a table listed twice", func(c *Config) { c.Tables = append(c.Tables, TableConfig{Table: "incident", Enabled: true}) },
			want{"incident", "", "more than once"}},
		{"cmdb_ci made bidirectional", func(c *Config) { c.Table("cmdb_ci").Direction = Bidirectional },
			want{"cmdb_ci", "Direction", "cmdb_ci cannot be bidirectional"}},
		{"cmdb_rel_ci made to_servicenow", func(c *Config) { c.Table("cmdb_rel_ci").Direction = ToServiceNow },
			want{"cmdb_rel_ci", "Direction", "cannot be to_servicenow"}},
		{"sc_request made to_servicenow", func(c *Config) { c.Table("sc_request").Direction = ToServiceNow },
			want{"sc_request", "Direction", "cannot be to_servicenow"}},
		{"an unknown direction", func(c *Config) { c.Table("incident").Direction = "both" },
			want{"incident", "Direction", `unknown direction "both"`}},
		{"a built-in table sent to another module", func(c *Config) { c.Table("incident").Module = "problems" },
			want{"incident", "Module", "can only map to incidents"}},
		{"an unknown module", func(c *Config) {
			c.Tables = append(c.Tables, TableConfig{Table: "u_x", Module: "tickets", Enabled: true})
		}, want{"u_x", "Module", `unknown StackFlow module "tickets"`}},
		{"a custom table without a module", func(c *Config) { c.Tables = append(c.Tables, TableConfig{Table: "u_x", Enabled: true}) },
			want{"u_x", "Module", "custom table without a module"}},
		{"a custom table without fields", func(c *Config) {
			c.Tables = append(c.Tables, TableConfig{Table: "u_x", Module: "problems", Enabled: true})
		}, want{"u_x", "", "no fields mapped"}},
		{"a custom table that cannot create StackFlow records", func(c *Config) {
			c.Tables = append(c.Tables, TableConfig{Table: "u_x", Module: "problems", Enabled: true})
			c.FieldMappings = []FieldMappingSpec{{Table: "u_x", ServiceNowField: "u_tier", StackFlowField: "attributes.tier"}}
		}, want{"u_x", "title", "StackFlow needs title"}},
		{"an unknown StackFlow field", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "severity", StackFlowField: "severity"}}
		}, want{"incident", "severity", "unknown StackFlow field of incidents"}},
		{"a sync field mapped as a value", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "number", StackFlowField: "external_number"}}
		}, want{"incident", "external_number", "belongs to the sync itself"}},
		{"the same StackFlow field mapped twice", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{
				{Table: "incident", ServiceNowField: "u_tier", StackFlowField: "attributes.tier"},
				{Table: "incident", ServiceNowField: "u_level", StackFlowField: "attributes.tier"},
			}
		}, want{"incident", "attributes.tier", "mapped twice"}},
		{"the same ServiceNow field written by two keys", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "category", StackFlowField: "attributes.cat"}}
		}, want{"incident", "category", "ServiceNow field mapped twice"}},
		{"a transform that does not fit the field", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "short_description", StackFlowField: "title", Transform: "int"}}
		}, want{"incident", "title", `transform "int" does not apply to title`}},
		{"a bool transform on an integer field", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "impact", StackFlowField: "impact", Transform: "bool"}}
		}, want{"incident", "impact", `transform "bool" does not apply`}},
		{"an unknown transform", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_x", StackFlowField: "attributes.x", Transform: "reverse"}}
		}, want{"incident", "attributes.x", `unknown transform "reverse"`}},
		{"a value map that drops built-in choices", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "state", StackFlowField: "state",
				ValueMap: ValueMap{"1": "new", "2": "in_progress"}}}
		}, want{"incident", "state", "does not cover ServiceNow's state choices 3, 6, 7, 8"}},
		{"a value map into a value StackFlow refuses", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "state", StackFlowField: "state",
				ValueMap: ValueMap{"1": "new", "2": "in_progress", "3": "on_hold", "5": "awaiting", "6": "resolved", "7": "closed", "8": "canceled"}}}
		}, want{"incident", "state", `value_map["5"] = "awaiting" does not fit state`}},
		{"a value map that cannot be reversed", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_tier", StackFlowField: "attributes.tier",
				ValueMap: ValueMap{"1": "gold", "2": "gold"}}}
		}, want{"incident", "attributes.tier", "way back is ambiguous"}},
		{"a value map that leaves StackFlow enum values without a way back", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_status", StackFlowField: "state",
				ValueMap: ValueMap{"open": "new", "done": "closed"}}}
		}, want{"incident", "state", "StackFlow values in_progress, on_hold, resolved, canceled have no ServiceNow value"}},
		{"priority written to ServiceNow", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "priority", StackFlowField: "priority", Direction: Bidirectional}}
		}, want{"incident", "priority", "never written"}},
		{"a field mapping for a table that is not mapped", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "u_nothing", ServiceNowField: "u_x", StackFlowField: "attributes.x"}}
		}, want{"u_nothing", "attributes.x", "not mapped"}},
		{"a field mapping for a disabled table", func(c *Config) {
			c.Table("problem").Enabled = false
			c.FieldMappings = []FieldMappingSpec{{Table: "problem", ServiceNowField: "u_x", StackFlowField: "attributes.x"}}
		}, want{"problem", "attributes.x", "disabled table"}},
		{"a field direction the table does not allow", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "cmdb_ci", ServiceNowField: "u_x", StackFlowField: "attributes.x", Direction: Bidirectional}}
		}, want{"cmdb_ci", "attributes.x", "not allowed on a read_only table"}},
		{"a dot-walk that cannot be written back", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_vendor.name", StackFlowField: "attributes.vendor"}}
		}, want{"incident", "attributes.vendor", "cannot be written back"}},
		{"an invalid ServiceNow field", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "U Field", StackFlowField: "attributes.x"}}
		}, want{"incident", "attributes.x", `invalid servicenow_field "U Field"`}},
		{"an unknown ownership in a field mapping", func(c *Config) {
			c.FieldMappings = []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_x", StackFlowField: "attributes.x", Ownership: "mine"}}
		}, want{"incident", "attributes.x", `unknown ownership "mine"`}},
		{"ownership for an unknown key", func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"severity": OwnLatest} },
			want{"incident", "severity", "ownership for an unknown key"}},
		{"an unknown ownership", func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"title": "newest"} },
			want{"incident", "title", `unknown ownership "newest"`}},
		{"people matched by a non-field", func(c *Config) { c.PeopleBy = "e-mail" }, want{"", "PeopleBy", "not a field name"}},
		{"cmdb_ci and a class table both on", func(c *Config) {
			c.Tables = append(c.Tables, TableConfig{Table: "cmdb_ci_linux_server", Enabled: true})
		}, want{"cmdb_ci", "", "import them twice"}},
		{"no table at all", func(c *Config) { c.Tables = nil }, want{"", "Tables", "no table is enabled"}},
		{"an invalid default side", func(c *Config) { c.Table("incident").DefaultSide = 7 }, want{"incident", "DefaultSide", "invalid side 7"}},
		{"a nil mapper", func(c *Config) { c.Mappers = map[string][]FieldMapper{"incident": {nil}} },
			want{"incident", "", "is nil"}},
		{"a mapper with a bad key", func(c *Config) {
			c.Mappers = map[string][]FieldMapper{"incident": {&tierMapper{key: "Customer Tier"}}}
		}, want{"incident", "Customer Tier", "invalid key"}},
		{"a mapper for a table that is not mapped", func(c *Config) {
			c.Mappers = map[string][]FieldMapper{"u_nothing": {&tierMapper{}}}
		}, want{"u_nothing", "", "not mapped"}},
		{"a mapper whose StackFlow field collides with a built-in key", func(c *Config) {
			c.Mappers = map[string][]FieldMapper{"incident": {&tierMapper{key: "tier", sf: []string{"category"}}}}
		}, want{"incident", "category", "StackFlow field mapped twice"}},
		{"a mapper that writes a dot-walk back", func(c *Config) {
			c.Mappers = map[string][]FieldMapper{"incident": {&tierMapper{sn: []string{"company.u_tier"}}}}
		}, want{"incident", "customer_tier", "cannot be written back"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			_, err := New(cfg)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			var found bool
			for _, p := range ce.Problems {
				if p.Table == tc.want.table && p.Field == tc.want.field && strings.Contains(p.Message, tc.want.text) {
					found = true
					assert.NotEmpty(t, p.Fix, "every problem names its fix")
				}
			}
			assert.True(t, found, "want a problem %+v; got:\n%v", tc.want, err)
		})
	}
}

func TestNewReportsAllProblemsAtOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Table("cmdb_ci").Direction = Bidirectional
	cfg.Table("incident").Ownership = map[string]Ownership{"severity": OwnLatest}
	cfg.PeopleBy = "e-mail"
	cfg.FieldMappings = []FieldMappingSpec{
		{Table: "incident", ServiceNowField: "short_description", StackFlowField: "title", Transform: "int"},
		{Table: "problem", ServiceNowField: "u_x", StackFlowField: "nope"},
	}
	_, err := New(cfg)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.GreaterOrEqual(t, len(ce.Problems), 5, "every problem, not the first only:\n%v", err)
	msg := err.Error()
	for _, s := range []string{"cmdb_ci.Direction", "incident.severity", "PeopleBy", "incident.title", "problem.nope"} {
		assert.Contains(t, msg, s)
	}
}

func TestLoadFieldMappings(t *testing.T) {
	want := []FieldMappingSpec{
		{Table: "incident", ServiceNowField: "u_customer_tier", StackFlowField: "attributes.customer_tier", Direction: Bidirectional,
			ValueMap: ValueMap{"1": "gold", "2": "silver", "3": "bronze"}, Ownership: OwnServiceNow},
		{Table: "incident", ServiceNowField: "u_escalated", StackFlowField: "attributes.escalated", Direction: ToStackFlow, Transform: "bool"},
	}
	cases := []struct{ name, data string }{
		{"a JSON list", `[
			{"table": "incident", "servicenow_field": "u_customer_tier", "stackflow_field": "attributes.customer_tier",
			 "direction": "bidirectional", "value_map": {"1": "gold", "2": "silver", "3": "bronze"}, "ownership": "servicenow"},
			{"table": "incident", "servicenow_field": "u_escalated", "stackflow_field": "attributes.escalated",
			 "direction": "to_stackflow", "transform": "bool"}]`},
		{"the Integration Hub's JSON configuration", `{"instance_url": "https://acme.service-now.com", "auth_method": "oauth",
			"field_mappings": [
			{"table": "incident", "servicenow_field": "u_customer_tier", "stackflow_field": "attributes.customer_tier",
			 "direction": "bidirectional", "value_map": {"1": "gold", "2": "silver", "3": "bronze"}, "ownership": "servicenow"},
			{"table": "incident", "servicenow_field": "u_escalated", "stackflow_field": "attributes.escalated",
			 "direction": "to_stackflow", "transform": "bool"}]}`},
		{"a YAML list with unquoted numbers", `
- table: incident
  servicenow_field: u_customer_tier
  stackflow_field: attributes.customer_tier
  direction: bidirectional
  value_map: {1: gold, 2: silver, 3: bronze}
  ownership: servicenow
- table: incident
  servicenow_field: u_escalated
  stackflow_field: attributes.escalated
  direction: to_stackflow
  transform: bool
`},
		{"a YAML document with field_mappings", `
instance_url: https://acme.service-now.com
field_mappings:
  - table: incident
    servicenow_field: u_customer_tier
    stackflow_field: attributes.customer_tier
    direction: bidirectional
    value_map:
      "1": gold
      "2": silver
      "3": bronze
    ownership: servicenow
  - {table: incident, servicenow_field: u_escalated, stackflow_field: attributes.escalated, direction: to_stackflow, transform: bool}
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadFieldMappings([]byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestLoadFieldMappingsRefusesBadInput(t *testing.T) {
	cases := []struct{ name, data, text string }{
		{"an unknown key in JSON", `[{"table": "incident", "servicenow_field": "a", "stackflow_field": "b", "colour": "red"}]`, "colour"},
		{"an unknown key in YAML", "- table: incident\n  servicenow_field: a\n  stackflow_field: b\n  colour: red\n", "colour"},
		{"malformed JSON", `[{"table": }]`, "invalid JSON"},
		{"malformed YAML", "- table: [incident\n", "invalid YAML"},
		{"a JSON object without field_mappings", `{"instance_url": "x"}`, "no field_mappings"},
		{"a YAML scalar", "just text", "want a list"},
		{"a value map with an object value", `[{"table": "t", "servicenow_field": "a", "stackflow_field": "b", "value_map": {"1": {"x": 1}}}]`, "value map"},
		{"trailing JSON", `[] []`, "data after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFieldMappings([]byte(tc.data))
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.text)
		})
	}
}

func TestLoadFieldMappingsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mappings.yaml")
	require.NoError(t, os.WriteFile(path, []byte("- {table: incident, servicenow_field: u_x, stackflow_field: attributes.x}\n"), 0o600))
	got, err := LoadFieldMappingsFile(path)
	require.NoError(t, err)
	assert.Equal(t, []FieldMappingSpec{{Table: "incident", ServiceNowField: "u_x", StackFlowField: "attributes.x"}}, got)

	_, err = LoadFieldMappingsFile(filepath.Join(dir, "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`[{"nope": 1}]`), 0o600))
	_, err = LoadFieldMappingsFile(bad)
	assert.ErrorContains(t, err, "bad.json")
}

func TestLoadedMappingsRunThroughNew(t *testing.T) {
	specs, err := LoadFieldMappings([]byte(`
- {table: incident, servicenow_field: u_customer_tier, stackflow_field: attributes.customer_tier, value_map: {1: gold, 2: silver}}
- {table: incident, servicenow_field: u_escalated, stackflow_field: attributes.escalated, direction: to_stackflow, transform: bool}
`))
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.FieldMappings = specs
	tm := mustTable(t, mustNew(t, cfg), "incident")
	rec := loadSN(t, "incident")
	rec.Set("u_customer_tier", "2")
	rec.Set("u_escalated", "1")
	sn, err := tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	assert.Equal(t, "2", sn["attributes.customer_tier"])
	assert.Equal(t, "true", sn["attributes.escalated"])
	sf, err := tm.ConvertToStackFlow(sn, newResolver())
	require.NoError(t, err)
	body, err := tm.StackFlowBody(Canon{"attributes.customer_tier": sf["attributes.customer_tier"], "attributes.escalated": sf["attributes.escalated"]})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"attributes": map[string]any{"customer_tier": "silver", "escalated": true}}, body)

	rec.Set("u_customer_tier", "9")
	sn, err = tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	_, err = tm.ToStackFlow("attributes.customer_tier", sn["attributes.customer_tier"], newResolver())
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "u_customer_tier", ve.Field)
}
