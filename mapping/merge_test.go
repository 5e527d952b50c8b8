package mapping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// incidentSN and incidentSF are a converged incident pair, used as the
// base of the merge cases.
func incidentSN() Canon {
	return Canon{
		"title": "Mail down", "description": "No mail since 08:40", "state": "2", "priority": "3", "impact": "2",
		"urgency": "2", "category": "network", "subcategory": "email", "assignment_group": "Network",
		"assignee": "beth.anglin@example.com", "reporter": "joe.employee@example.com", "ci_id": ciLinuxSN,
		"resolution_code": "", "resolution_notes": "", "resolved_at": "", "closed_at": "",
	}
}

func incidentSF() Canon {
	return Canon{
		"title": "Mail down", "description": "No mail since 08:40", "state": "in_progress", "priority": "3", "impact": "2",
		"urgency": "2", "category": "network", "subcategory": "email", "assignment_group": "Network",
		"assignee": "beth.anglin@example.com", "reporter": "joe.employee@example.com", "ci_id": ciLinuxSF,
		"resolution_code": "", "resolution_notes": "", "resolved_at": "", "closed_at": "",
	}
}

func TestBaseFixturesAreConverged(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	diff, err := tm.Converged(incidentSN(), incidentSF(), newResolver())
	require.NoError(t, err)
	assert.Empty(t, diff)
}

func TestMerge(t *testing.T) {
	type edit = map[string]string
	cases := []struct {
		name       string
		cfg        func(*Config)
		table      string
		snEdit     edit // applied to the current ServiceNow side
		sfEdit     edit // applied to the current StackFlow side
		noBase     bool // first sync: no snapshots
		origin     Side
		updatedSN  time.Time
		updatedSF  time.Time
		skew       time.Duration
		wantSF     Canon
		wantSN     Canon
		conflicts  []Conflict
		sfOverride Canon // replaces the StackFlow side entirely (other tables)
		snOverride Canon
	}{
		{
			name: "nothing changed on either side: nothing is written",
		},
		{
			name:   "only ServiceNow changed the title: it flows to StackFlow",
			snEdit: edit{"title": "Mail down in London"},
			wantSF: Canon{"title": "Mail down in London"},
		},
		{
			name:   "only StackFlow changed the title: it flows to ServiceNow",
			sfEdit: edit{"title": "Mail down (London)"},
			wantSN: Canon{"title": "Mail down (London)"},
		},
		{
			name:   "only StackFlow resolved the incident: state 6 plus the default close code and notes on both sides",
			sfEdit: edit{"state": "resolved"},
			wantSN: Canon{"state": "6", "resolution_code": "Solution provided", "resolution_notes": "Resolved in StackFlow"},
			wantSF: Canon{"resolution_code": "Solution provided", "resolution_notes": "Resolved in StackFlow"},
		},
		{
			name:   "StackFlow resolved with its own code: only the missing notes are supplied",
			sfEdit: edit{"state": "resolved", "resolution_code": "Workaround provided"},
			wantSN: Canon{"state": "6", "resolution_code": "Workaround provided", "resolution_notes": "Resolved in StackFlow"},
			wantSF: Canon{"resolution_notes": "Resolved in StackFlow"},
		},
		{
			name:   "a configured close code is the one supplied",
			cfg:    func(c *Config) { c.CloseCode = "Resolved by caller" },
			sfEdit: edit{"state": "closed"},
			wantSN: Canon{"state": "7", "resolution_code": "Resolved by caller", "resolution_notes": "Resolved in StackFlow"},
			wantSF: Canon{"resolution_code": "Resolved by caller", "resolution_notes": "Resolved in StackFlow"},
		},
		{
			name:   "both sides changed the title to the same text: converged, nothing written, no conflict",
			snEdit: edit{"title": "Mail restored"},
			sfEdit: edit{"title": "Mail restored"},
		},
		{
			name:   "both sides changed the state to values that convert to each other: converged",
			snEdit: edit{"state": "3"},
			sfEdit: edit{"state": "on_hold"},
		},
		{
			name:   "one-way priority changed in ServiceNow: it flows to StackFlow without a conflict",
			snEdit: edit{"priority": "1"},
			wantSF: Canon{"priority": "1"},
		},
		{
			name:      "one-way priority edited in StackFlow: the edit is reverted and reported as a one-way conflict",
			sfEdit:    edit{"priority": "5"},
			wantSF:    Canon{"priority": "3"},
			conflicts: []Conflict{{Key: "priority", ServiceNow: "3", StackFlow: "5", Winner: ServiceNow, Rule: RuleOneWay}},
		},
		{
			name:   "one-way resolved_at stamped by ServiceNow flows as an RFC 3339 time",
			snEdit: edit{"resolved_at": "2026-03-02 09:15:27"},
			wantSF: Canon{"resolved_at": "2026-03-02T09:15:27.000Z"},
		},
		{
			name:      "ownership servicenow (ci_id): both changed, ServiceNow wins and the StackFlow value is the conflict",
			snEdit:    edit{"ci_id": ciEmailSN},
			sfEdit:    edit{"ci_id": ""},
			wantSF:    Canon{"ci_id": ciEmailSF},
			conflicts: []Conflict{{Key: "ci_id", ServiceNow: ciEmailSN, StackFlow: "", Winner: ServiceNow, Rule: RuleOwner}},
		},
		{
			name: "ownership stackflow (configured): both changed, StackFlow wins",
			cfg: func(c *Config) {
				c.Table("incident").Ownership = map[string]Ownership{"category": OwnStackFlow}
			},
			snEdit:    edit{"category": "hardware"},
			sfEdit:    edit{"category": "software"},
			wantSN:    Canon{"category": "software"},
			conflicts: []Conflict{{Key: "category", ServiceNow: "hardware", StackFlow: "software", Winner: StackFlow, Rule: RuleOwner}},
		},
		{
			name:      "ownership origin, record created in StackFlow: StackFlow's state wins",
			origin:    StackFlow,
			snEdit:    edit{"state": "3"},
			sfEdit:    edit{"state": "canceled"},
			wantSN:    Canon{"state": "8"},
			conflicts: []Conflict{{Key: "state", ServiceNow: "3", StackFlow: "canceled", Winner: StackFlow, Rule: RuleOrigin}},
		},
		{
			name:      "ownership origin, record created in ServiceNow: ServiceNow's state wins",
			origin:    ServiceNow,
			snEdit:    edit{"state": "3"},
			sfEdit:    edit{"state": "canceled"},
			wantSF:    Canon{"state": "on_hold"},
			conflicts: []Conflict{{Key: "state", ServiceNow: "3", StackFlow: "canceled", Winner: ServiceNow, Rule: RuleOrigin}},
		},
		{
			name:      "ownership origin with an unknown origin: the table's default side (ServiceNow) wins",
			snEdit:    edit{"state": "3"},
			sfEdit:    edit{"state": "canceled"},
			wantSF:    Canon{"state": "on_hold"},
			conflicts: []Conflict{{Key: "state", ServiceNow: "3", StackFlow: "canceled", Winner: ServiceNow, Rule: RuleOrigin}},
		},
		{
			name:      "ownership latest, ServiceNow edited 10 minutes later: ServiceNow wins",
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSN: t0.Add(10 * time.Minute),
			updatedSF: t0,
			wantSF:    Canon{"description": "From ServiceNow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: ServiceNow, Rule: RuleLatest}},
		},
		{
			name:      "ownership latest, StackFlow edited 10 minutes later: StackFlow wins",
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSN: t0,
			updatedSF: t0.Add(10 * time.Minute),
			wantSN:    Canon{"description": "From StackFlow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: StackFlow, Rule: RuleLatest}},
		},
		{
			name:      "ownership latest, edits 90 seconds apart (within the 2 minute skew): the default side ServiceNow wins",
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSN: t0,
			updatedSF: t0.Add(90 * time.Second),
			wantSF:    Canon{"description": "From ServiceNow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: ServiceNow, Rule: RuleLatestSkew}},
		},
		{
			name:      "ownership latest within the skew on a table whose default side is StackFlow: StackFlow wins",
			cfg:       func(c *Config) { c.Table("incident").DefaultSide = StackFlow },
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSN: t0,
			updatedSF: t0.Add(30 * time.Second),
			wantSN:    Canon{"description": "From StackFlow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: StackFlow, Rule: RuleLatestSkew}},
		},
		{
			name:      "ownership latest with a custom 10 second skew: 30 seconds apart is ordered, StackFlow wins",
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSN: t0,
			updatedSF: t0.Add(30 * time.Second),
			skew:      10 * time.Second,
			wantSN:    Canon{"description": "From StackFlow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: StackFlow, Rule: RuleLatest}},
		},
		{
			name:      "ownership latest with an unknown update time: the default side wins",
			snEdit:    edit{"description": "From ServiceNow"},
			sfEdit:    edit{"description": "From StackFlow"},
			updatedSF: t0,
			wantSF:    Canon{"description": "From ServiceNow"},
			conflicts: []Conflict{{Key: "description", ServiceNow: "From ServiceNow", StackFlow: "From StackFlow", Winner: ServiceNow, Rule: RuleLatestSkew}},
		},
		{
			name:   "fill_if_empty, ServiceNow emptied and StackFlow changed: the empty ServiceNow side is filled",
			cfg:    func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"subcategory": OwnFillIfEmpty} },
			snEdit: edit{"subcategory": ""},
			sfEdit: edit{"subcategory": "vpn"},
			wantSN: Canon{"subcategory": "vpn"},
		},
		{
			name:   "fill_if_empty, StackFlow emptied and ServiceNow changed: the empty StackFlow side is filled",
			cfg:    func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"subcategory": OwnFillIfEmpty} },
			snEdit: edit{"subcategory": "dns"},
			sfEdit: edit{"subcategory": ""},
			wantSF: Canon{"subcategory": "dns"},
		},
		{
			name:      "fill_if_empty with two different values: both kept, nothing written, conflict without a winner",
			cfg:       func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"subcategory": OwnFillIfEmpty} },
			snEdit:    edit{"subcategory": "dns"},
			sfEdit:    edit{"subcategory": "vpn"},
			conflicts: []Conflict{{Key: "subcategory", ServiceNow: "dns", StackFlow: "vpn", Winner: 0, Rule: RuleFillKeptBoth}},
		},
		{
			name:   "ownership none: the key is never synced, whatever changes",
			cfg:    func(c *Config) { c.Table("incident").Ownership = map[string]Ownership{"category": OwnNone} },
			snEdit: edit{"category": "hardware"},
			sfEdit: edit{"category": "software"},
		},
		{
			name:      "first sync of a linked pair (no base): equal values stay, different ones go by ownership",
			noBase:    true,
			origin:    StackFlow,
			snEdit:    edit{"state": "1", "description": "SN text", "priority": "4"},
			sfEdit:    edit{"state": "in_progress", "description": "SF text", "priority": ""},
			updatedSN: t0.Add(time.Hour),
			updatedSF: t0,
			wantSN:    Canon{"state": "2"},
			wantSF:    Canon{"description": "SN text", "priority": "4"},
			conflicts: []Conflict{
				{Key: "description", ServiceNow: "SN text", StackFlow: "SF text", Winner: ServiceNow, Rule: RuleLatest},
				{Key: "state", ServiceNow: "1", StackFlow: "in_progress", Winner: StackFlow, Rule: RuleOrigin},
			},
		},
		{
			name:   "ServiceNow changed several keys while StackFlow changed others: disjoint edits merge",
			snEdit: edit{"impact": "1", "assignee": "fred.luddy@example.com"},
			sfEdit: edit{"urgency": "3", "title": "Mail down everywhere"},
			wantSF: Canon{"impact": "1", "assignee": "fred.luddy@example.com"},
			wantSN: Canon{"urgency": "3", "title": "Mail down everywhere"},
		},
		{
			name:       "lossy planned start: StackFlow milliseconds and ServiceNow seconds that agree are converged",
			table:      "change_request",
			snOverride: Canon{"planned_start": "2026-03-10 20:00:00"},
			sfOverride: Canon{"planned_start": "2026-03-10T20:00:00.250Z"},
		},
		{
			name:       "lossy risk: ServiceNow Very High (1) and StackFlow high agree",
			table:      "change_request",
			snOverride: Canon{"risk": "1"},
			sfOverride: Canon{"risk": "high"},
		},
		{
			name:       "one-way table: a StackFlow edit of a service request title is reverted",
			table:      "sc_request",
			snOverride: Canon{"title": "New laptop"},
			sfOverride: Canon{"title": "New laptop please"},
			wantSF:     Canon{"title": "New laptop"},
			conflicts:  []Conflict{{Key: "title", ServiceNow: "New laptop", StackFlow: "New laptop please", Winner: ServiceNow, Rule: RuleOneWay}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			table := tc.table
			if table == "" {
				table = "incident"
			}
			tm := mustTable(t, mustNew(t, cfg), table)
			in := MergeInput{Origin: tc.origin, UpdatedSN: tc.updatedSN, UpdatedSF: tc.updatedSF, Skew: tc.skew, Resolver: newResolver()}
			if tc.snOverride != nil {
				// A pair of another table: the base is the converged pair,
				// the override is the current state of one side.
				in.BaseSN, in.CurSN = tc.snOverride.Clone(), tc.snOverride.Clone()
				in.BaseSF, in.CurSF = tc.snOverride.Clone(), tc.sfOverride.Clone()
				conv, err := tm.ConvertToStackFlow(tc.snOverride, newResolver())
				require.NoError(t, err)
				for k := range tc.sfOverride {
					in.BaseSF[k] = conv[k]
				}
			} else {
				in.BaseSN, in.BaseSF = incidentSN(), incidentSF()
				in.CurSN, in.CurSF = incidentSN().With(tc.snEdit), incidentSF().With(tc.sfEdit)
				if tc.noBase {
					in.BaseSN, in.BaseSF = nil, nil
				}
			}
			res, err := tm.Merge(in)
			require.NoError(t, err)
			want := func(c Canon) Canon {
				if c == nil {
					return Canon{}
				}
				return c
			}
			assert.Equal(t, want(tc.wantSF), res.ToStackFlow, "values written to StackFlow")
			assert.Equal(t, want(tc.wantSN), res.ToServiceNow, "values written to ServiceNow")
			assert.Equal(t, tc.conflicts, res.Conflicts, "conflicts")
			assert.NotContains(t, res.ToServiceNow, "priority", "priority is never written to ServiceNow")

			// Applying the result converges the pair (except what
			// fill_if_empty deliberately kept apart).
			diff, err := tm.Converged(in.CurSN.With(res.ToServiceNow), in.CurSF.With(res.ToStackFlow), newResolver())
			require.NoError(t, err)
			for _, c := range res.Conflicts {
				if c.Rule == RuleFillKeptBoth {
					diff = removeStr(diff, c.Key)
				}
			}
			assert.Empty(t, diff, "the pair has converged after the writes")
		})
	}
}

func removeStr(ss []string, s string) []string {
	var out []string
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func TestMergeOwnershipNoneLeavesTheKeyOutOfProjections(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Table("incident").Ownership = map[string]Ownership{"category": OwnNone}
	tm := mustTable(t, mustNew(t, cfg), "incident")
	info, ok := tm.Key("category")
	require.True(t, ok)
	assert.Equal(t, OwnNone, info.Ownership)
	sn, err := tm.ProjectServiceNow(loadSN(t, "incident"))
	require.NoError(t, err)
	assert.NotContains(t, sn, "category")
	assert.NotContains(t, tm.ServiceNowFields(), "category")
}

func TestMergeUnpairedReferenceIsDeferred(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	in := MergeInput{BaseSN: incidentSN(), BaseSF: incidentSF(), CurSF: incidentSF(), Resolver: newResolver(),
		CurSN: incidentSN().With(Canon{"ci_id": "ffffffffffffffffffffffffffffffff"})}
	_, err := tm.Merge(in)
	require.ErrorIs(t, err, ErrUnresolved)
	var re *ReferenceError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "ci_id", re.Key)
	assert.Equal(t, "ffffffffffffffffffffffffffffffff", re.Value)
}

func TestMergeUnmappedValueIsAValueError(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	in := MergeInput{BaseSN: incidentSN(), BaseSF: incidentSF(), CurSF: incidentSF(), Resolver: newResolver(),
		CurSN: incidentSN().With(Canon{"state": "5"})}
	_, err := tm.Merge(in)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "5", ve.Value)
}

func TestMergeIsDeterministic(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	in := MergeInput{BaseSN: incidentSN(), BaseSF: incidentSF(), Resolver: newResolver(), UpdatedSN: t0, UpdatedSF: t0,
		CurSN: incidentSN().With(Canon{"title": "A", "description": "B", "category": "hardware", "state": "3"}),
		CurSF: incidentSF().With(Canon{"title": "C", "description": "D", "subcategory": "vpn", "state": "closed"})}
	first, err := tm.Merge(in)
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		again, err := tm.Merge(in)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
	keys := make([]string, len(first.Conflicts))
	for i, c := range first.Conflicts {
		keys[i] = c.Key
	}
	assert.IsIncreasing(t, keys, "conflicts come in key order")
}

// TestSettleAfterWriteCarriesDerivedFields shows the settle step from the
// package documentation: ServiceNow computes priority from the impact the
// merge wrote, and the second merge carries it to StackFlow.
func TestSettleAfterWriteCarriesDerivedFields(t *testing.T) {
	tm := mustTable(t, mustNew(t, DefaultConfig()), "incident")
	r := newResolver()
	in := MergeInput{BaseSN: incidentSN(), BaseSF: incidentSF(), CurSN: incidentSN(),
		CurSF: incidentSF().With(Canon{"impact": "1"}), Resolver: r}
	res, err := tm.Merge(in)
	require.NoError(t, err)
	require.Equal(t, Canon{"impact": "1"}, res.ToServiceNow)

	expected := in.CurSN.With(res.ToServiceNow)
	got := expected.With(Canon{"priority": "2"}) // ServiceNow's priority lookup: impact 1, urgency 2
	sfNow := in.CurSF.With(res.ToStackFlow)
	again, err := tm.Merge(MergeInput{BaseSN: expected, CurSN: got, BaseSF: sfNow, CurSF: sfNow, Resolver: r})
	require.NoError(t, err)
	assert.Equal(t, Canon{"priority": "2"}, again.ToStackFlow)
	assert.Empty(t, again.ToServiceNow)
	assert.Empty(t, again.Conflicts)
}
