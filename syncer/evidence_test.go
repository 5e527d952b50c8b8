package syncer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// asUser makes the syncer talk to ServiceNow as a new user with the given
// roles, as the guide's dedicated integration user (itil, never admin).
func (e *env) asUser(userName string, roles ...string) {
	e.t.Helper()
	const password = "integration-secret"
	_, err := e.sn.AddUser(servicenowtest.User{UserName: userName, Password: password, Roles: roles})
	require.NoError(e.t, err)
	retry := servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond})
	e.snc, err = servicenow.NewClient(e.sn.URL(), servicenow.WithBasicAuth(userName, password), servicenow.WithHTTPClient(e.sn.Client()), retry)
	require.NoError(e.t, err)
	e.cfg.ServiceNow = e.snc
	e.restart()
}

func (e *env) reconcile(table string) *syncer.Report {
	e.t.Helper()
	e.tick()
	rep, err := e.s.Reconcile(context.Background(), table)
	require.NoError(e.t, err, "reconcile %s", table)
	return rep
}

func (e *env) liveSF(module string) int {
	e.t.Helper()
	n, err := e.sf.Count(module, false)
	require.NoError(e.t, err)
	return n
}

// Reliability bug 1: a record an ACL hides from the integration user is not
// a deleted record. Reconciliation may delete only on positive evidence.
func TestReconcileNeverDeletesRecordsHiddenByACLs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles []string // the integration user's roles
	}{
		{"itil user: sys_audit_delete unreadable, the count decides", []string{"itil", "rest_api_explorer"}},
		{"admin: sys_audit_delete decides", []string{"admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *syncer.Config) { c.MassDeleteMin = 500 })
			e.asUser("svc.stackflow", tc.roles...)
			var ids []string
			for i := range 40 {
				r, err := e.sn.Insert("incident", map[string]string{"short_description": fmt.Sprintf("inc %d", i)})
				require.NoError(t, err)
				ids = append(ids, r["sys_id"])
			}
			e.sync("incident")
			require.Equal(t, 40, e.liveSF("incidents"))

			hidden := map[string]bool{}
			for _, id := range ids[:10] {
				hidden[id] = true
			}
			require.NoError(t, e.sn.AddACL(servicenowtest.ACL{Table: "incident", Users: []string{"svc.stackflow"},
				HideRow: func(r servicenowtest.Record) bool { return hidden[r["sys_id"]] }}))
			// A real delete too, of a record the user can see.
			require.NoError(t, e.sn.Delete("incident", ids[39]))

			e.clock.Advance(24 * time.Hour)
			var rep *syncer.Report
			for range 3 { // absent from two sweeps in a row is the old rule's trigger
				rep = e.reconcile("incident")
			}
			assert.Equal(t, 39, e.liveSF("incidents"), "only the deleted record follows; the 10 hidden ones stay: %s", rep)
			for _, id := range ids[:10] {
				assert.False(t, e.sfByExt("incidents", id).Deleted(), "hidden %s kept", id)
			}
			assert.True(t, e.sfByExt("incidents", ids[39]).Deleted(), "the deleted record is soft-deleted")
			assert.True(t, containsAll(rep.Errors, "hidden"), "the hidden records are reported: %q", rep.Errors)

			// The ACL is lifted: the records are there, nothing was lost.
			hidden = map[string]bool{}
			rep = e.reconcile("incident")
			assert.Equal(t, 39, e.liveSF("incidents"), rep.String())
		})
	}
}

func containsAll(lines []string, word string) bool {
	for _, l := range lines {
		if strings.Contains(l, word) {
			return true
		}
	}
	return false
}

// Reliability bug 2: an external_id from StackFlow that is not a sys_id is
// one dead letter, not a stopped direction.
func TestBadExternalIDIsOneDeadLetter(t *testing.T) {
	for _, ext := range []string{"a,b", "x^ORDERBYsys_id", "line\nbreak", "javascript:gs.getUserID()", strings.Repeat("f", 40)} {
		t.Run(fmt.Sprintf("%q", ext), func(t *testing.T) {
			e := newEnv(t, nil)
			bad, err := e.sf.Create("incidents", map[string]any{"title": "bad link", "state": "new", "external_id": ext}, "agent")
			require.NoError(t, err)
			good, err := e.sf.Create("incidents", map[string]any{"title": "good one", "state": "new"}, "agent")
			require.NoError(t, err)

			rep := e.sync("incident")
			assert.Equal(t, 1, rep.ToServiceNow.Created, rep.String())
			assert.Equal(t, 1, rep.ToServiceNow.DeadLettered, rep.String())
			var created int
			for _, r := range e.sn.Records("incident") {
				assert.NotEqual(t, bad.ID, r["correlation_id"])
				if r["correlation_id"] == good.ID {
					created++
				}
			}
			assert.Equal(t, 1, created, "the good record reached ServiceNow")
			dlq, err := e.s.DLQ(context.Background(), "incident")
			require.NoError(t, err)
			require.Len(t, dlq, 1)
			assert.Equal(t, bad.ID, dlq[0].SourceID)
			assert.True(t, dlq[0].Permanent)
			assert.Contains(t, dlq[0].LastError, "external_id")

			// The direction keeps moving: a later record syncs too.
			later, err := e.sf.Create("incidents", map[string]any{"title": "later", "state": "new"}, "agent")
			require.NoError(t, err)
			rep = e.sync("incident")
			assert.Equal(t, 1, rep.ToServiceNow.Created, rep.String())
			found := false
			for _, r := range e.sn.Records("incident") {
				found = found || r["correlation_id"] == later.ID
			}
			assert.True(t, found)
		})
	}
}

// Reliability bug 5: a 200 whose body was cut short is a retryable
// failure; once the record reads clean its dead letter clears.
func TestTruncatedAnswerIsRetriedNotPermanent(t *testing.T) {
	e := newEnv(t, func(c *syncer.Config) { c.RetryMin, c.RetryMax = time.Minute, 2*time.Minute })
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "before"})
	require.NoError(t, err)
	id := inc["sys_id"]
	e.sync("incident")

	_, err = e.sn.Update("incident", id, map[string]string{"short_description": "after"})
	require.NoError(t, err)
	e.sf.AddFault(stackflowtest.Fault{Method: "PATCH", Path: "/incidents/", Kind: stackflowtest.FaultTruncate, Times: -1})
	e.sync("incident")
	dlq, err := e.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	require.Len(t, dlq, 1)
	assert.False(t, dlq[0].Permanent, "a truncated answer is retryable: %s", dlq[0].LastError)

	e.sf.ClearFaults()
	e.clock.Advance(5 * time.Minute)
	rep := e.sync("incident")
	dlq, err = e.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	assert.Empty(t, dlq, "the record read clean: its dead letter cleared (%s)", rep)
	assert.Equal(t, "after", e.sfByExt("incidents", id).Fields["title"])
	rep = e.sync("incident")
	assert.Zero(t, writes(rep), rep.String())
}

// Reliability bug 4: a ServiceNow duplicate of a StackFlow-created record
// (a create that landed after the restarted process looked for it) is a
// dead letter naming both sys_ids, never a second StackFlow record.
func TestDuplicateCorrelationIsDeadLetteredNotCopied(t *testing.T) {
	e := newEnv(t, nil)
	src, err := e.sf.Create("incidents", map[string]any{"title": "from StackFlow", "state": "new"}, "agent")
	require.NoError(t, err)
	e.sync("incident")
	back, err := e.sfRecordByID("incidents", src.ID)
	require.NoError(t, err)
	first := back.ExternalID
	require.NotEmpty(t, first)

	// The late duplicate: same correlation, another sys_id.
	dup, err := e.sn.Insert("incident", map[string]string{"short_description": "from StackFlow", "correlation_id": src.ID, "correlation_display": "StackFlow"})
	require.NoError(t, err)
	rep := e.sync("incident")
	assert.Zero(t, rep.ToStackFlow.Created, rep.String())
	n, err := e.sf.Count("incidents", true)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one ticket stays one StackFlow record")
	dlq, err := e.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	require.Len(t, dlq, 1)
	assert.Equal(t, dup["sys_id"], dlq[0].SourceID)
	assert.True(t, dlq[0].Permanent)
	assert.Contains(t, dlq[0].LastError, "duplicate correlation")
	assert.Contains(t, dlq[0].LastError, first)
	assert.Contains(t, dlq[0].LastError, dup["sys_id"])
	for range 2 {
		rep = e.sync("incident")
		assert.Zero(t, writes(rep), rep.String())
	}
}

// Reliability bug 8: a create that commits late, behind the cursor, is
// found by the deep re-read (hours), not only by reconciliation (a day).
func TestDeepRereadFindsLateCreatesAndUpdates(t *testing.T) {
	e := newEnv(t, func(c *syncer.Config) { c.DeepRereadInterval = time.Hour })
	old, err := e.sn.Insert("incident", map[string]string{"short_description": "early"})
	require.NoError(t, err)
	e.sync("incident")
	e.sync("incident") // the maintenance clocks start after the first load

	// Two writes whose transactions took 40 minutes to commit: their
	// sys_updated_on is behind the cursor when they become visible.
	e.clock.Advance(45 * time.Minute)
	e.sync("incident")
	late := e.clock.Now().Add(-40 * time.Minute)
	created, err := e.sn.Insert("incident", map[string]string{"short_description": "late create"}, servicenowtest.At(late))
	require.NoError(t, err)
	_, err = e.sn.Update("incident", old["sys_id"], map[string]string{"short_description": "late update"}, servicenowtest.At(late))
	require.NoError(t, err)
	rep := e.sync("incident")
	assert.Zero(t, rep.ToStackFlow.Created+rep.ToStackFlow.Updated, "behind the cursor and the overlap: the stream cannot see them (%s)", rep)

	e.clock.Advance(time.Hour)
	rep = e.sync("incident")
	assert.Equal(t, 1, rep.ToStackFlow.Created, rep.String())
	assert.Equal(t, 1, rep.ToStackFlow.Updated, rep.String())
	assert.Equal(t, "late create", e.sfByExt("incidents", created["sys_id"]).Fields["title"])
	assert.Equal(t, "late update", e.sfByExt("incidents", old["sys_id"]).Fields["title"])
	for range 2 {
		rep = e.sync("incident")
		assert.Zero(t, writes(rep), rep.String())
	}
	assert.Equal(t, 2, e.liveSF("incidents"))
}

// Reliability bug 3: the sync dies right after its write landed, then a
// person undoes the change that write carried. The undo is the last write
// and must win on both sides; the crashed write must not come back.
func TestUndoAfterACrashedWriteIsNotLost(t *testing.T) {
	e := newEnv(t, nil)
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "undo", "impact": "2", "urgency": "3"})
	require.NoError(t, err)
	id := inc["sys_id"]
	e.sync("incident")
	require.EqualValues(t, 3, e.sfByExt("incidents", id).Fields["urgency"])

	_, err = e.sn.Update("incident", id, map[string]string{"urgency": "1"})
	require.NoError(t, err)
	syncer.SetCrashHook(e.s, func(p string) error {
		if p == "after-write" {
			return syncer.ErrCrash
		}
		return nil
	})
	e.tick()
	_, err = e.s.SyncOnce(context.Background(), "incident")
	require.ErrorIs(t, err, syncer.ErrCrash)
	require.EqualValues(t, 1, e.sfByExt("incidents", id).Fields["urgency"], "the write landed before the crash")
	e.restart()

	_, err = e.sn.Update("incident", id, map[string]string{"urgency": "3"})
	require.NoError(t, err)
	for range 3 {
		e.sync("incident")
	}
	assert.Equal(t, "3", e.snRec("incident", id)["urgency"], "the person's undo stays in ServiceNow")
	assert.EqualValues(t, 3, e.sfByExt("incidents", id).Fields["urgency"], "and reaches StackFlow")
	rep := e.sync("incident")
	assert.Zero(t, writes(rep), rep.String())
}

// Reliability bug 6: the create landed, the process died before the pair
// was stored, then the ServiceNow record was deleted. The copy follows its
// source instead of staying live with a permanent dead letter.
func TestOrphanedCopyFollowsItsDeletedSource(t *testing.T) {
	e := newEnv(t, nil)
	inc, err := e.sn.Insert("incident", map[string]string{"short_description": "short-lived"})
	require.NoError(t, err)
	id := inc["sys_id"]
	wrote := false
	syncer.SetCrashHook(e.s, func(p string) error {
		if p == "after-write" {
			wrote = true
		}
		if p == "before-commit" && wrote {
			return syncer.ErrCrash
		}
		return nil
	})
	e.tick()
	_, err = e.s.SyncOnce(context.Background(), "incident")
	require.ErrorIs(t, err, syncer.ErrCrash)
	require.False(t, e.sfByExt("incidents", id).Deleted(), "the copy exists, its pair does not")
	e.restart()

	require.NoError(t, e.sn.Delete("incident", id))
	rep := e.sync("incident")
	assert.True(t, e.sfByExt("incidents", id).Deleted(), "the copy followed its source: %s", rep)
	dlq, err := e.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	assert.Empty(t, dlq)
	assert.Empty(t, e.sn.Records("incident"), "nothing was created back in ServiceNow")
	for range 2 {
		rep = e.sync("incident")
		assert.Zero(t, writes(rep), rep.String())
	}
}
