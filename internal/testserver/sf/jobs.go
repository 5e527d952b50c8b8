package sf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Job types and statuses.
const (
	JobSyncCMDB      = "sync_cmdb"
	JobSyncIncidents = "sync_incidents"

	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// maxJobErrors caps the errors a job keeps.
const maxJobErrors = 100

// JobCounts are what a sync job did.
type JobCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// Job is a manual sync started through the Integration Hub.
type Job struct {
	ID         string
	Type       string // JobSyncCMDB or JobSyncIncidents
	Status     string // JobQueued, JobRunning, JobSucceeded or JobFailed
	Limit      int    // requested incident count of a JobSyncIncidents job; 0 otherwise
	CreatedAt  time.Time
	StartedAt  time.Time // zero until it runs
	FinishedAt time.Time // zero until it ends
	Counts     JobCounts
	Errors     []string
	// Config is the ServiceNow configuration saved when the job was
	// queued, secrets included, for the runner to connect with.
	Config IntegrationConfig
}

// JobRunner runs a sync job: the examples plug the real syncer in here.
// ctx ends when the server closes. The job fails when any error is
// returned (counts are reported either way), and succeeds otherwise. A
// runner that panics fails its job. Jobs run one at a time, in the order
// they were queued. Without a runner, every job fails at once with an
// error saying so.
type JobRunner func(ctx context.Context, job Job) (JobCounts, []error)

// job is a stored job.
type job struct {
	Job
	done chan struct{} // closed when it finishes
}

type jobJSON struct {
	JobID      string     `json:"job_id"`
	Type       string     `json:"type"`
	Status     string     `json:"status"`
	Limit      *int       `json:"limit"`
	CreatedAt  string     `json:"created_at"`
	StartedAt  *string    `json:"started_at"`
	FinishedAt *string    `json:"finished_at"`
	Counts     JobCounts  `json:"counts"`
	Errors     []jobError `json:"errors"`
}

type jobError struct {
	Message string `json:"message"`
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(timeLayout)
	return &s
}

func (j Job) wire() jobJSON {
	out := jobJSON{
		JobID: j.ID, Type: j.Type, Status: j.Status, CreatedAt: j.CreatedAt.UTC().Format(timeLayout),
		StartedAt: timePtr(j.StartedAt), FinishedAt: timePtr(j.FinishedAt), Counts: j.Counts,
		Errors: make([]jobError, 0, len(j.Errors)),
	}
	if j.Type == JobSyncIncidents {
		n := j.Limit
		out.Limit = &n
	}
	for _, e := range j.Errors {
		out.Errors = append(out.Errors, jobError{Message: e})
	}
	return out
}

func (j *job) snapshot() Job {
	c := j.Job
	c.Errors = append([]string(nil), j.Errors...)
	c.Config = j.Config.clone()
	return c
}

func (s *Server) handleSync(rc *reqCtx, incidents bool) {
	limit := 0
	if incidents {
		body, apiErr := rc.readBody(true)
		if apiErr != nil {
			rc.fail(apiErr)
			return
		}
		limit = 10
		var ds []Detail
		for k, v := range body {
			if k != "limit" {
				ds = append(ds, Detail{Field: k, Message: "unknown field"})
				continue
			}
			n, ok := toInt(v)
			if !ok || n < 1 || n > 100 {
				ds = append(ds, Detail{Field: "limit", Message: "must be an integer 1..100"})
				continue
			}
			limit = int(n)
		}
		if len(ds) > 0 {
			rc.fail(validationError(ds))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.snConfig
	switch {
	case c == nil:
		rc.fail(errNotConfigured())
		return
	case incidents && !c.IncidentSync:
		rc.fail(validationError([]Detail{{Field: "incident_sync", Message: "incident sync is disabled in the configuration"}}))
		return
	case !incidents && !c.CMDBSync:
		rc.fail(validationError([]Detail{{Field: "cmdb_sync", Message: "CMDB sync is disabled in the configuration"}}))
		return
	}
	typ := JobSyncCMDB
	if incidents {
		typ = JobSyncIncidents
	}
	j := s.queueJobLocked(typ, limit)
	rc.sendJSON(http.StatusAccepted, j.wire())
}

// queueJobLocked queues a job and makes sure a worker runs. Callers hold s.mu.
func (s *Server) queueJobLocked(typ string, limit int) Job {
	now := s.now()
	j := &job{
		Job: Job{
			ID: "job_" + s.ids.next(now), Type: typ, Status: JobQueued, Limit: limit, CreatedAt: now,
			Config: s.snConfig.clone(),
		},
		done: make(chan struct{}),
	}
	s.jobs[j.ID] = j
	s.jobQueue = append(s.jobQueue, j)
	switch {
	case s.closed:
		s.jobQueue = s.jobQueue[:len(s.jobQueue)-1]
		s.finishLocked(j, JobCounts{}, []string{"canceled: the server is closed"})
	case !s.working:
		s.working = true
		s.wg.Add(1)
		go s.work()
	}
	return j.snapshot()
}

// work runs queued jobs one at a time until the queue is empty.
func (s *Server) work() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.jobQueue) == 0 || s.ctx.Err() != nil {
			s.working = false
			for _, j := range s.jobQueue { // closing: fail what never ran
				s.finishLocked(j, JobCounts{}, []string{"canceled: the server closed before the job ran"})
			}
			s.jobQueue = nil
			s.mu.Unlock()
			return
		}
		j := s.jobQueue[0]
		s.jobQueue = s.jobQueue[1:]
		if s.cfg.runner == nil {
			j.StartedAt = s.now()
			s.finishLocked(j, JobCounts{}, []string{"no job runner is configured (sf.WithJobRunner / stackflowtest.WithJobRunner), so jobs cannot run"})
			s.mu.Unlock()
			continue
		}
		j.Status, j.StartedAt = JobRunning, s.now()
		snap := j.snapshot()
		s.mu.Unlock()

		counts, errs := s.runJob(snap)

		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			if e != nil {
				msgs = append(msgs, e.Error())
			}
		}
		s.mu.Lock()
		s.finishLocked(j, counts, msgs)
		s.mu.Unlock()
	}
}

// runJob calls the runner, turning a panic into a job error.
func (s *Server) runJob(j Job) (counts JobCounts, errs []error) {
	defer func() {
		if p := recover(); p != nil {
			errs = append(errs, fmt.Errorf("job runner panicked: %v", p))
		}
	}()
	return s.cfg.runner(s.ctx, j)
}

// finishLocked ends a job. Callers hold s.mu.
func (s *Server) finishLocked(j *job, counts JobCounts, errs []string) {
	j.Counts = counts
	if len(errs) > maxJobErrors {
		errs = errs[:maxJobErrors]
	}
	j.Errors = errs
	j.Status = JobSucceeded
	if len(errs) > 0 {
		j.Status = JobFailed
	}
	j.FinishedAt = s.now()
	close(j.done)
}

func (s *Server) handleGetJob(rc *reqCtx, id string) {
	s.mu.Lock()
	j := s.jobs[id]
	var out jobJSON
	if j != nil {
		out = j.snapshot().wire()
	}
	s.mu.Unlock()
	if j == nil {
		rc.fail(errorf(http.StatusNotFound, CodeNotFound, "no job with id %q", id))
		return
	}
	rc.sendJSON(http.StatusOK, out)
}

// StartJob queues a sync job as the Integration Hub buttons do (typ is
// JobSyncCMDB or JobSyncIncidents; limit is used by the latter, 0 meaning
// 10). It needs a saved ServiceNow configuration.
func (s *Server) StartJob(typ string, limit int) (Job, error) {
	if typ != JobSyncCMDB && typ != JobSyncIncidents {
		return Job{}, fmt.Errorf("sf: StartJob: unknown job type %q", typ)
	}
	if typ == JobSyncIncidents && limit == 0 {
		limit = 10
	}
	if typ == JobSyncCMDB {
		limit = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snConfig == nil {
		return Job{}, errors.New("sf: StartJob: the ServiceNow integration is not configured")
	}
	return s.queueJobLocked(typ, limit), nil
}

// Job returns a job by id.
func (s *Server) Job(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return Job{}, false
	}
	return j.snapshot(), true
}

// WaitJob waits until the job finished (succeeded or failed) or ctx ends.
func (s *Server) WaitJob(ctx context.Context, id string) (Job, error) {
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		return Job{}, fmt.Errorf("sf: WaitJob: no job with id %q", id)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return Job{}, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.snapshot(), nil
}
