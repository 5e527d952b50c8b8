package syncer

import (
	"fmt"
	"strings"
	"time"
)

// Report is what one run of one table did.
type Report struct {
	Table    string
	Started  time.Time
	Duration time.Duration
	// Per direction: ServiceNow → StackFlow and StackFlow → ServiceNow.
	ToStackFlow  Counts
	ToServiceNow Counts
	// API calls (attempts, retries included) per side during the run.
	CallsServiceNow int64
	CallsStackFlow  int64
	// Conflicts lists the losing values of this run (also in the store's
	// conflict log).
	Conflicts []Conflict
	// Errors are per-record failures (the records are in the dead-letter
	// queue) and stream problems that did not stop the run.
	Errors []string
	// Err is the error that stopped the run early, if any.
	Err error
	// HandedOff: the run stopped at a page boundary because Run gave the
	// table to another replica (see Replicas); what it did is committed.
	HandedOff bool
}

// Counts are the per-direction outcomes of a run.
type Counts struct {
	Fetched      int // source records read
	Created      int // records created on the target
	Updated      int // records updated on the target
	Linked       int // existing target records linked on first sync
	Unchanged    int // read again with nothing new (overlap re-reads, same version)
	Echoes       int // our own writes read back: skipped, no write
	Skipped      int // not admitted by the filter, or tombstoned
	Conflicts    int // fields edited on both sides
	Deferred     int // waiting for a reference (a CI not synced yet)
	DeadLettered int // failed, in the dead-letter queue
	Deleted      int // deletes propagated (soft)
	Retried      int // dead-letter entries retried this run
}

func (c *Counts) add(o Counts) {
	c.Fetched += o.Fetched
	c.Created += o.Created
	c.Updated += o.Updated
	c.Linked += o.Linked
	c.Unchanged += o.Unchanged
	c.Echoes += o.Echoes
	c.Skipped += o.Skipped
	c.Conflicts += o.Conflicts
	c.Deferred += o.Deferred
	c.DeadLettered += o.DeadLettered
	c.Deleted += o.Deleted
	c.Retried += o.Retried
}

// Writes is the number of target writes the counts stand for.
func (c Counts) Writes() int { return c.Created + c.Updated + c.Deleted }

func (c Counts) String() string {
	return fmt.Sprintf("fetched %d, created %d, updated %d, linked %d, unchanged %d, echoes skipped %d, skipped %d, conflicts %d, deferred %d, dead-lettered %d, deleted %d",
		c.Fetched, c.Created, c.Updated, c.Linked, c.Unchanged, c.Echoes, c.Skipped, c.Conflicts, c.Deferred, c.DeadLettered, c.Deleted)
}

// String summarises the report on a few lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %d ServiceNow calls, %d StackFlow calls\n", r.Table, r.Duration.Round(time.Millisecond), r.CallsServiceNow, r.CallsStackFlow)
	fmt.Fprintf(&b, "  to StackFlow:  %s\n", r.ToStackFlow)
	fmt.Fprintf(&b, "  to ServiceNow: %s", r.ToServiceNow)
	if r.Err != nil {
		fmt.Fprintf(&b, "\n  stopped: %v", r.Err)
	}
	if r.HandedOff {
		b.WriteString("\n  handed to another replica")
	}
	return b.String()
}

// Observer watches the syncer: runs, progress, per-record events. Its
// methods are called from the goroutines running streams and must be safe
// for concurrent use and fast (no I/O on the hot path).
type Observer interface {
	// RunStarted is called when a table's run starts.
	RunStarted(table string)
	// Progress reports records done of a total the instance reported (-1
	// when unknown), per stream ("incident/servicenow->stackflow").
	Progress(stream string, done, total int)
	// Record is called once per processed source record.
	Record(ev RecordEvent)
	// RunFinished is called with the report of a finished (or failed) run.
	RunFinished(r *Report)
}

// RecordEvent is the outcome of one source record.
type RecordEvent struct {
	Stream   string
	Table    string
	SourceID string
	TargetID string
	Outcome  Outcome
	Err      error
}

// Outcome is what happened to one source record.
type Outcome string

// Outcomes.
const (
	OutcomeCreated      Outcome = "created"
	OutcomeUpdated      Outcome = "updated"
	OutcomeLinked       Outcome = "linked"
	OutcomeUnchanged    Outcome = "unchanged"
	OutcomeEcho         Outcome = "echo"
	OutcomeSkipped      Outcome = "skipped"
	OutcomeDeferred     Outcome = "deferred"
	OutcomeDeadLettered Outcome = "dead_lettered"
	OutcomeDeleted      Outcome = "deleted"
)

// NopObserver ignores everything.
type NopObserver struct{}

// RunStarted implements Observer.
func (NopObserver) RunStarted(string) {}

// Progress implements Observer.
func (NopObserver) Progress(string, int, int) {}

// Record implements Observer.
func (NopObserver) Record(RecordEvent) {}

// RunFinished implements Observer.
func (NopObserver) RunFinished(*Report) {}
