package mapping

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/servicenow"
)

func TestStackFlowBodyIsTypedJSON(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	inc := mustTable(t, m, "incident")
	body, err := inc.StackFlowBody(Canon{
		"priority": "1", "impact": "2", "urgency": "", "state": "closed", "category": "", "ci_id": "",
		"closed_at": "", "resolved_at": "2026-03-02T09:15:27.000Z", "title": "Mail down",
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"priority": int64(1), "impact": int64(2), "urgency": nil, "state": "closed", "category": nil, "ci_id": nil,
		"closed_at": nil, "resolved_at": "2026-03-02T09:15:27.000Z", "title": "Mail down",
	}, body, "integers, null for cleared optional fields")

	prb := mustTable(t, m, "problem")
	body, err = prb.StackFlowBody(Canon{"known_error": "true"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"known_error": true}, body)

	_, err = inc.StackFlowBody(Canon{"severity": "1"})
	assert.ErrorContains(t, err, `incident has no key "severity"`)
}

func TestStackFlowBodyRefusesWhatStackFlowWould(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	inc := mustTable(t, m, "incident")
	cases := []struct {
		name   string
		table  string
		values Canon
		text   string
	}{
		{"an empty title", "incident", Canon{"title": ""}, "StackFlow requires a value"},
		{"an empty required state", "incident", Canon{"state": ""}, "StackFlow requires a value"},
		{"a category over 255 characters", "incident", Canon{"category": strings.Repeat("x", 256)}, "longer than StackFlow's 255"},
		{"a description over 65,536 characters", "incident", Canon{"description": strings.Repeat("x", 65537)}, "longer than StackFlow's 65536"},
		{"an empty CI name", "cmdb_ci", Canon{"name": ""}, "StackFlow requires a value"},
		{"a relationship without a parent", "cmdb_rel_ci", Canon{"parent_id": ""}, "StackFlow requires a value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := inc
			if tc.table != "incident" {
				tm = mustTable(t, m, tc.table)
			}
			_, err := tm.StackFlowBody(tc.values)
			var ve *ValueError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, StackFlow, ve.Side)
			assert.Contains(t, err.Error(), tc.text)
		})
	}
}

func TestServiceNowBody(t *testing.T) {
	inc := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	cases := []struct {
		name    string
		values  Canon
		current Canon
		want    servicenow.Fields
	}{
		{
			name:   "people and groups become sys_ids, CIs are already sys_ids",
			values: Canon{"assignee": "beth.anglin@example.com", "assignment_group": "Network", "ci_id": ciLinuxSN, "reporter": ""},
			want:   servicenow.Fields{"assigned_to": userBeth, "assignment_group": groupNet, "cmdb_ci": ciLinuxSN, "caller_id": ""},
		},
		{
			name:    "resolving without close code or notes adds the defaults",
			values:  Canon{"state": "6"},
			current: Canon{"resolution_code": "", "resolution_notes": ""},
			want:    servicenow.Fields{"state": "6", "close_code": "Solution provided", "close_notes": "Resolved in StackFlow"},
		},
		{
			name:    "closing keeps the close code the record has",
			values:  Canon{"state": "7"},
			current: Canon{"resolution_code": "Duplicate", "resolution_notes": ""},
			want:    servicenow.Fields{"state": "7", "close_notes": "Resolved in StackFlow"},
		},
		{
			name:    "resolving with code and notes in the write adds nothing",
			values:  Canon{"state": "6", "resolution_code": "User error", "resolution_notes": "Typo in the address"},
			current: Canon{},
			want:    servicenow.Fields{"state": "6", "close_code": "User error", "close_notes": "Typo in the address"},
		},
		{
			name:    "other states need no close code",
			values:  Canon{"state": "3"},
			current: Canon{},
			want:    servicenow.Fields{"state": "3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inc.ServiceNowBody(tc.values, tc.current, newResolver())
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestServiceNowBodyNeverWritesPriority(t *testing.T) {
	inc := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	_, err := inc.ServiceNowBody(Canon{"priority": "1"}, nil, newResolver())
	assert.ErrorContains(t, err, "priority does not flow to ServiceNow")
}

func TestServiceNowBodyUnknownPersonIsAnError(t *testing.T) {
	inc := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	_, err := inc.ServiceNowBody(Canon{"assignee": "nobody@example.com"}, nil, newResolver())
	var ve *ValueError
	require.ErrorAs(t, err, &ve, "a person ServiceNow does not know is not written as empty")
	assert.Contains(t, err.Error(), "matches no sys_user record by email")
}

func TestRelationshipTypes(t *testing.T) {
	cfg := DefaultConfig()
	tm := mustTable(t, mustNew(t, cfg), "cmdb_rel_ci")
	rec := loadSN(t, "cmdb_rel_ci")
	rec["type.name"] = servicenow.Value{}
	sn, err := tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	assert.Equal(t, "Depends on::Used by", sn["type"], "a well-known type maps without type.name")

	rec["type"] = servicenow.Value{Value: relHosted}
	_, err = tm.ProjectServiceNow(rec)
	var ve *ValueError
	require.ErrorAs(t, err, &ve, "an unknown type without its name cannot be mapped")

	rec["type.name"] = servicenow.Value{Value: "Hosted on::Hosts"}
	sn, err = tm.ProjectServiceNow(rec)
	require.NoError(t, err)
	assert.Equal(t, "Hosted on::Hosts", sn["type"], "unknown types map through the type.name dot-walk")

	_, err = tm.ToStackFlow("parent_id", "ffffffffffffffffffffffffffffffff", newResolver())
	assert.ErrorIs(t, err, ErrUnresolved, "an unpaired CI defers the relationship")
}

func TestPersonWithoutEmail(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	rec := loadSN(t, "incident")
	rec["assigned_to.email"] = servicenow.Value{}
	_, err := mustTable(t, m, "incident").ProjectServiceNow(rec)
	var ve *ValueError
	require.ErrorAs(t, err, &ve, "on a key that flows back, an unmatched person is an error, not a clear")
	assert.Equal(t, "assigned_to.email", ve.Field)
	assert.Contains(t, ve.Fix, "PeopleBy")

	ci := loadSN(t, "cmdb_ci")
	ci["owned_by"] = servicenow.Value{Value: userJoe}
	sn, err := mustTable(t, m, "cmdb_ci").ProjectServiceNow(ci)
	require.NoError(t, err, "on a one-way key it maps to empty")
	assert.Equal(t, "", sn["owned_by"])
}

func TestMissingFieldIsAnError(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	rec := loadSN(t, "incident")
	delete(rec, "urgency")
	_, err := mustTable(t, m, "incident").ProjectServiceNow(rec)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "urgency", ve.Field)
	assert.Contains(t, ve.Reason, "missing")

	sf := loadSF(t, "incident")
	delete(sf, "urgency")
	_, err = mustTable(t, m, "incident").ProjectStackFlow(sf)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, StackFlow, ve.Side)
}

func TestProjectStackFlowAcceptsClientShapes(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	rec := loadSF(t, "incident")
	rec["priority"] = float64(3)
	rec["impact"] = json.Number("2")
	rec["urgency"] = 2
	rec["updated_at"] = time.Date(2026, 3, 2, 10, 11, 12, 345e6, time.UTC)
	rec["resolved_at"] = time.Date(2026, 3, 2, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	rec["description"] = "line 1\r\nline 2"
	sf, err := tm.ProjectStackFlow(rec)
	require.NoError(t, err)
	assert.Equal(t, "3", sf["priority"])
	assert.Equal(t, "2", sf["impact"])
	assert.Equal(t, "2", sf["urgency"])
	assert.Equal(t, "2026-03-02T10:00:00.123Z", sf["resolved_at"])
	assert.Equal(t, "line 1\nline 2", sf["description"])

	rec["priority"] = "high"
	_, err = tm.ProjectStackFlow(rec)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "priority", ve.Field)
}

func TestNewStackFlowAndNewServiceNow(t *testing.T) {
	m := mustNew(t, DefaultConfig())
	inc := mustTable(t, m, "incident")
	r := newResolver()

	rec := loadSN(t, "incident")
	rec.Set("short_description", "   ")
	sn, err := inc.ProjectServiceNow(rec)
	require.NoError(t, err)
	body0, err := inc.NewStackFlow(sn, rec, r)
	require.NoError(t, err, "an empty short_description still syncs")
	assert.Equal(t, NoTitle, body0["title"], "StackFlow requires a title: the placeholder stands in")
	back, err := inc.ToServiceNow("title", NoTitle, r)
	require.NoError(t, err)
	assert.Equal(t, "", back, "the placeholder is never written into ServiceNow")
	diff, err := inc.Converged(Canon{"title": ""}, Canon{"title": NoTitle}, r)
	require.NoError(t, err)
	assert.NotContains(t, diff, "title", "an empty short_description and the placeholder agree")
	diff, err = inc.Converged(Canon{"title": ""}, Canon{"title": "Mail down"}, r)
	require.NoError(t, err)
	assert.Contains(t, diff, "title")
	_, err = inc.StackFlowBody(Canon{"title": ""})
	var ve *ValueError
	require.ErrorAs(t, err, &ve, "StackFlow still refuses an empty title")
	assert.Equal(t, "title", ve.Key)

	delete(rec, "sys_id")
	_, err = inc.NewStackFlow(sn, rec, r)
	assert.ErrorContains(t, err, "no sys_id")

	sf, err := inc.ProjectStackFlow(loadSF(t, "incident"))
	require.NoError(t, err)
	sf["state"] = "resolved"
	body, err := inc.NewServiceNow(sf, "inc_1", r)
	require.NoError(t, err)
	assert.Equal(t, "6", body["state"])
	assert.Equal(t, "Solution provided", body["close_code"], "a record created resolved gets the default close code")
	assert.Equal(t, "inc_1", body["correlation_id"])
	_, err = inc.NewServiceNow(sf, " ", r)
	assert.Error(t, err)
}
