package syncer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// sfOne returns the one StackFlow record of module whose external_id is id.
func (e *env) sfByExt(module, id string) stackflowtest.Record {
	e.t.Helper()
	recs, err := e.sf.Records(module)
	require.NoError(e.t, err)
	var hits []stackflowtest.Record
	for _, r := range recs {
		if r.ExternalID == id {
			hits = append(hits, r)
		}
	}
	require.Len(e.t, hits, 1, "StackFlow %s records with external_id %s", module, id)
	return hits[0]
}

func (e *env) snRec(table, id string) servicenowtest.Record {
	e.t.Helper()
	r, ok := e.sn.Record(table, id)
	require.True(e.t, ok, "ServiceNow %s %s", table, id)
	return r
}

func writes(r *syncer.Report) int { return r.ToStackFlow.Writes() + r.ToServiceNow.Writes() }

func TestIncidentsBothWays(t *testing.T) {
	e := newEnv(t, nil)
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "Mail down", "description": "Outlook cannot connect", "impact": "2", "urgency": "1"})
	require.NoError(t, err)
	id := inc["sys_id"]

	rep := e.sync("incident")
	assert.Equal(t, 1, rep.ToStackFlow.Created, rep.String())
	got := e.sfByExt("incidents", id)
	assert.Equal(t, "Mail down", got.Fields["title"])
	assert.Equal(t, "new", got.Fields["state"])
	assert.EqualValues(t, 2, got.Fields["priority"], "ServiceNow computed priority 2 from impact 2, urgency 1")
	assert.Equal(t, "servicenow", got.Source)
	assert.Equal(t, inc["number"], got.ExternalNumber)

	rep = e.sync("incident")
	assert.Zero(t, writes(rep), "a second cycle writes nothing: %s", rep)
	assert.Positive(t, rep.ToServiceNow.Unchanged+rep.ToServiceNow.Echoes, "the StackFlow side of our own create is known")

	// A ServiceNow edit flows to StackFlow.
	_, err = e.sn.Update("incident", id, map[string]string{"short_description": "Mail down for site B", "state": "2"})
	require.NoError(t, err)
	rep = e.sync("incident")
	assert.Equal(t, 1, rep.ToStackFlow.Updated, rep.String())
	assert.Zero(t, rep.ToServiceNow.Writes(), rep.String())
	got = e.sfByExt("incidents", id)
	assert.Equal(t, "Mail down for site B", got.Fields["title"])
	assert.Equal(t, "in_progress", got.Fields["state"])

	// A StackFlow edit flows to ServiceNow.
	_, err = e.sf.Update("incidents", got.ID, map[string]any{"description": "Fixed DNS on relay", "urgency": 3}, "agent.smith")
	require.NoError(t, err)
	rep = e.sync("incident")
	assert.Equal(t, 1, rep.ToServiceNow.Updated, rep.String())
	assert.Equal(t, 1, rep.ToStackFlow.Updated, "the priority ServiceNow derived goes back at once: %s", rep)
	sn := e.snRec("incident", id)
	assert.Equal(t, "Fixed DNS on relay", sn["description"])
	assert.Equal(t, "3", sn["urgency"])
	assert.Equal(t, "4", sn["priority"], "ServiceNow recomputed priority (impact 2, urgency 3); we never write it")

	// The echo of that write, read back on both sides, writes nothing.
	for range 2 {
		rep = e.sync("incident")
		assert.Zero(t, writes(rep), rep.String())
	}
	got = e.sfByExt("incidents", id)
	assert.EqualValues(t, 4, got.Fields["priority"], "the derived priority came back to StackFlow")
}

func TestStackFlowCreatesReachServiceNow(t *testing.T) {
	e := newEnv(t, nil)
	rec, err := e.sf.Create("incidents", map[string]any{"title": "Printer on fire", "description": "Smoke", "state": "new", "impact": 1, "urgency": 1, "priority": 1}, "agent.smith")
	require.NoError(t, err)

	rep := e.sync("incident")
	assert.Equal(t, 1, rep.ToServiceNow.Created, rep.String())
	var created servicenowtest.Record
	for _, r := range e.sn.Records("incident") {
		if r["correlation_id"] == rec.ID {
			created = r
		}
	}
	require.NotNil(t, created, "a ServiceNow incident carries the StackFlow id in correlation_id")
	assert.Equal(t, "Printer on fire", created["short_description"])
	assert.Equal(t, "StackFlow", created["correlation_display"])
	assert.Equal(t, "1", created["priority"])

	back, err := e.sfRecordByID("incidents", rec.ID)
	require.NoError(t, err)
	assert.Equal(t, created["sys_id"], back.ExternalID, "the back-write put the sys_id on the StackFlow record")
	assert.Equal(t, created["number"], back.ExternalNumber)
	assert.Equal(t, "stackflow", back.Source)

	for range 2 {
		rep = e.sync("incident")
		assert.Zero(t, writes(rep), "no echo: %s", rep)
	}
	assert.Len(t, e.sn.Records("incident"), 1, "no duplicate")
}

func (e *env) sfRecordByID(module, id string) (stackflowtest.Record, error) {
	recs, err := e.sf.Records(module)
	if err != nil {
		return stackflowtest.Record{}, err
	}
	for _, r := range recs {
		if r.ID == id {
			return r, nil
		}
	}
	return stackflowtest.Record{}, fmt.Errorf("no %s %s", module, id)
}

func TestConcurrentEditsMergeByField(t *testing.T) {
	e := newEnv(t, nil)
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "VPN flaps", "description": "first", "impact": "2", "urgency": "2"})
	require.NoError(t, err)
	id := inc["sys_id"]
	e.sync("incident")
	sfID := e.sfByExt("incidents", id).ID

	// Different fields on each side: both survive.
	_, err = e.sn.Update("incident", id, map[string]string{"impact": "1"})
	require.NoError(t, err)
	_, err = e.sf.Update("incidents", sfID, map[string]any{"category": "network"}, "agent.smith")
	require.NoError(t, err)
	rep := e.sync("incident")
	assert.Zero(t, rep.ToStackFlow.Conflicts+rep.ToServiceNow.Conflicts, rep.String())
	sn := e.snRec("incident", id)
	sf, _ := e.sfRecordByID("incidents", sfID)
	assert.Equal(t, "1", sn["impact"])
	assert.EqualValues(t, 1, sf.Fields["impact"])
	assert.Equal(t, "network", sn["category"])
	assert.Equal(t, "network", sf.Fields["category"])

	// The same field on both sides, minutes apart: the later one wins
	// (description is "latest") and the loser is in the conflict log.
	_, err = e.sn.Update("incident", id, map[string]string{"description": "from ServiceNow"})
	require.NoError(t, err)
	e.clock.Advance(5 * time.Minute)
	_, err = e.sf.Update("incidents", sfID, map[string]any{"description": "from StackFlow"}, "agent.smith")
	require.NoError(t, err)
	rep = e.sync("incident")
	require.Len(t, rep.Conflicts, 1, rep.String())
	c := rep.Conflicts[0]
	assert.Equal(t, "description", c.Key)
	assert.Equal(t, "stackflow", c.Winner)
	assert.Equal(t, "from ServiceNow", c.SNValue)
	assert.Equal(t, "from StackFlow", e.snRec("incident", id)["description"])
	rep = e.sync("incident")
	assert.Zero(t, writes(rep), rep.String())
}

func TestCMDBOneWayWithRelationships(t *testing.T) {
	e := newEnv(t, nil)
	var servers []string
	for i := range 3 {
		ids, err := e.sn.Seed("cmdb_ci_linux_server", map[string]any{"name": fmt.Sprintf("lnx-%02d", i), "ip_address": fmt.Sprintf("10.0.0.%d", i), "install_status": "1", "operational_status": "1"})
		require.NoError(t, err)
		servers = append(servers, ids[0])
	}
	db, err := e.sn.Seed("cmdb_ci_db_instance", map[string]any{"name": "ora-01", "install_status": "1"})
	require.NoError(t, err)
	_, err = e.sn.Seed("cmdb_rel_ci", map[string]any{"parent": db[0], "child": servers[0], "type": "60bc4e22c0a8010e01f074cbe6bd73c3"})
	require.NoError(t, err)

	// Relationships first: their CIs are not there yet, so they wait.
	rep := e.sync("cmdb_rel_ci")
	assert.Equal(t, 1, rep.ToStackFlow.Deferred, rep.String())
	assert.Zero(t, rep.ToStackFlow.Created)

	rep = e.sync("cmdb_ci")
	assert.Equal(t, 4, rep.ToStackFlow.Created, rep.String())
	cis, err := e.sf.Records("cmdb_cis")
	require.NoError(t, err)
	require.Len(t, cis, 4)

	rep = e.sync("cmdb_rel_ci")
	assert.Equal(t, 1, rep.ToStackFlow.Created, "the deferred relationship went through: %s", rep)
	rels, err := e.sf.Records("cmdb_relationships")
	require.NoError(t, err)
	require.Len(t, rels, 1)
	assert.Equal(t, e.sfByExt("cmdb_cis", db[0]).ID, rels[0].Fields["parent_id"])
	assert.Equal(t, e.sfByExt("cmdb_cis", servers[0]).ID, rels[0].Fields["child_id"])
	assert.Equal(t, "Runs on::Runs", rels[0].Fields["type"])

	for _, table := range []string{"cmdb_ci", "cmdb_rel_ci"} {
		rep = e.sync(table)
		assert.Zero(t, writes(rep), rep.String())
	}
}

func TestPlanWritesNothing(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 3 {
		_, err := e.sn.Insert("incident", map[string]string{"short_description": fmt.Sprintf("inc %d", i)})
		require.NoError(t, err)
	}
	_, err := e.sf.Create("incidents", map[string]any{"title": "native", "state": "new"}, "agent")
	require.NoError(t, err)
	e.tick()
	plan, err := e.s.Plan(context.Background(), "incident")
	require.NoError(t, err)
	assert.Equal(t, 3, plan.Count("stackflow", "create"))
	assert.Equal(t, 1, plan.Count("servicenow", "create"))
	n, err := e.sf.Count("incidents", true)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "nothing was written")
	assert.Len(t, e.sn.Records("incident"), 3)
	rep := e.sync("incident")
	assert.Equal(t, 3, rep.ToStackFlow.Created, "the plan moved no cursor: %s", rep)
}

func TestSyncRecent(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 15 {
		_, err := e.sn.Insert("incident", map[string]string{"short_description": fmt.Sprintf("inc %d", i)})
		require.NoError(t, err)
		e.clock.Advance(time.Second)
	}
	rep, err := e.s.SyncRecent(context.Background(), "incident", 10)
	require.NoError(t, err)
	assert.Equal(t, 10, rep.ToStackFlow.Created, rep.String())
	n, _ := e.sf.Count("incidents", false)
	assert.Equal(t, 10, n)
	rep = e.sync("incident")
	assert.Equal(t, 5, rep.ToStackFlow.Created, "the cursor did not move: the rest follows, no duplicates: %s", rep)
}

func TestSyncStackFlowRecord(t *testing.T) {
	e := newEnv(t, nil)
	rec, err := e.sf.Create("incidents", map[string]any{"title": "from a webhook", "state": "new"}, "agent")
	require.NoError(t, err)
	rep, err := e.s.SyncStackFlowRecord(context.Background(), "incidents", rec.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.ToServiceNow.Created, rep.String())
	_, err = e.s.SyncStackFlowRecord(context.Background(), "cmdb_cis", "ci_x")
	require.Error(t, err, "one-way tables do not sync back")
}

func TestTicketsWithACIWhenTheCMDBIsNotSynced(t *testing.T) {
	e := newEnv(t, func(c *syncer.Config) { c.CMDBSync = syncer.Bool(false) })
	ci, err := e.sn.Insert("cmdb_ci_linux_server", map[string]string{"name": "mail-01"})
	require.NoError(t, err)
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "Mail down", "cmdb_ci": ci["sys_id"]})
	require.NoError(t, err)
	rep := e.sync("incident")
	assert.Equal(t, 1, rep.ToStackFlow.Created, "the ticket is not deferred for a CI that can never be paired: %s", rep)
	assert.Zero(t, rep.ToStackFlow.Deferred)
	sf := e.sfByExt("incidents", inc["sys_id"])
	assert.Nil(t, sf.Fields["ci_id"], "the CI reference is left out")

	// With the CMDB synced, the same ticket waits for its CI instead.
	e2 := newEnv(t, func(c *syncer.Config) {
		c.Tables = []syncer.TableConfig{{Table: "incident", Enabled: true}, {Table: "cmdb_ci", Enabled: true}}
	})
	ci2, err := e2.sn.Insert("cmdb_ci_linux_server", map[string]string{"name": "mail-01"})
	require.NoError(t, err)
	_, err = e2.sn.Insert("incident", map[string]string{"short_description": "Mail down", "cmdb_ci": ci2["sys_id"]})
	require.NoError(t, err)
	rep = e2.sync("incident")
	assert.Equal(t, 1, rep.ToStackFlow.Deferred, rep.String())
}

func TestTwoServiceNowRecordsNeverPairWithOneStackFlowRecord(t *testing.T) {
	e := newEnv(t, nil)
	x, err := e.sf.Create("incidents", map[string]any{"title": "Printer on fire", "state": "new"}, "agent.smith")
	require.NoError(t, err)
	e.sync("incident")
	var a servicenowtest.Record
	for _, r := range e.sn.Records("incident") {
		a = r
	}
	// Someone clears the StackFlow record's external_id, and someone copies
	// the ServiceNow incident with its correlation.
	_, err = e.sf.Update("incidents", x.ID, map[string]any{"external_id": nil}, "agent.smith")
	require.NoError(t, err)
	b, err := e.sn.Insert("incident", map[string]string{"short_description": "Printer on fire (copy)", "correlation_id": x.ID, "correlation_display": "StackFlow"})
	require.NoError(t, err)

	rep := e.sync("incident")
	require.NoError(t, rep.Err, "one bad record does not stop the table")
	assert.Equal(t, 1, rep.ToStackFlow.DeadLettered, rep.String())
	dlq, err := e.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	require.Len(t, dlq, 1)
	assert.Equal(t, b["sys_id"], dlq[0].SourceID)
	assert.True(t, dlq[0].Permanent)
	assert.Contains(t, dlq[0].LastError, "already paired with ServiceNow "+a["sys_id"])
}
