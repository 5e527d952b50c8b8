package stackflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// TestInputsAndRecordsMatchTheModules checks the typed inputs and records
// against the module field lists: every writable field can be sent and is
// read back.
func TestInputsAndRecordsMatchTheModules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		module Module
		input  any
		record any
	}{
		{ModuleIncidents, IncidentInput{}, Incident{}},
		{ModuleProblems, ProblemInput{}, Problem{}},
		{ModuleChanges, ChangeInput{}, Change{}},
		{ModuleServiceRequests, ServiceRequestInput{}, ServiceRequest{}},
		{ModuleCIs, CIInput{}, CI{}},
		{ModuleRelationships, RelationshipInput{}, Relationship{}},
	}
	common := jsonFieldNames(reflect.TypeOf(Common{}))
	for _, tc := range cases {
		t.Run(string(tc.module), func(t *testing.T) {
			in := jsonFieldNames(reflect.TypeOf(tc.input))
			assert.ElementsMatch(t, append(tc.module.WritableFields(), "attributes"), in)
			rec := append(slices.Clone(common), jsonFieldNames(reflect.TypeOf(tc.record))...)
			for _, f := range tc.module.WritableFields() {
				assert.Contains(t, rec, f)
			}
			for i := 0; i < reflect.TypeOf(tc.input).NumField(); i++ {
				f := reflect.TypeOf(tc.input).Field(i)
				if f.Name == "Clear" || f.Name == "Attributes" {
					continue
				}
				assert.Equal(t, reflect.Pointer, f.Type.Kind(), "%s is optional, so a pointer", f.Name)
			}
		})
	}
}

func TestInputsMarshalWithTheirNulls(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(RelationshipInput{Type: Ptr("Runs on::Runs"), Clear: []string{"external_number"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"Runs on::Runs","external_number":null}`, string(b))
	_, err = json.Marshal(ServiceRequestInput{Clear: []string{"nope"}})
	require.Error(t, err)
	for _, in := range []input{IncidentInput{}, ProblemInput{}, ChangeInput{}, ServiceRequestInput{}, CIInput{}, RelationshipInput{}} {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		assert.Equal(t, "{}", string(b))
		s, e := in.upsertKey()
		assert.Empty(t, s+e)
	}
}

func TestTheClientIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				_, _, err := c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("t"), Source: Ptr("servicenow"), ExternalID: Ptr(fmt.Sprint(g, "-", i))}, nil)
				errs <- err
				c.ServerTime()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n, err := srv.Count(stackflowtest.Incidents, false)
	require.NoError(t, err)
	assert.Equal(t, 30, n)
}

func TestDebugLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux := setup(t, WithLogger(logger))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "token "+testToken+" is fine, we are not")
			return
		}
		writeJSON(w, http.StatusOK, `{"data":[],"next_cursor":null,"has_more":false}`)
	})
	_, _, err := c.Incidents.List(ctxT(t), &ListOptions{Source: "servicenow"})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "http retry")
	assert.Contains(t, logs.String(), "source=servicenow")
	assert.NotContains(t, logs.String(), testToken)
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestACallerCancelIsNotUnavailable(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	started := make(chan struct{}, 2)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a gone client only once the body is read
		started <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(ctxT(t))
	go func() {
		<-started
		cancel()
	}()
	_, _, err := c.Incidents.Get(ctx, "inc_1")
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrUnavailable)

	ctx, cancel = context.WithCancel(ctxT(t))
	go func() {
		<-started
		cancel()
	}()
	_, _, err = c.Incidents.Create(ctx, IncidentInput{Title: Ptr("t")}, nil)
	require.ErrorIs(t, err, context.Canceled)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.OutcomeUnknown, "the create may have reached StackFlow")
	assert.NotEmpty(t, te.IdempotencyKey)
}

func TestAttemptTimeoutsAreRetriedThenUnavailable(t *testing.T) {
	t.Parallel()
	var rt retries
	c, mux := setup(t, WithTimeout(50*time.Millisecond), WithOnRetry(rt.hook))
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.ErrorIs(t, err, ErrUnavailable)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.OutcomeUnknown, "a read has no outcome to doubt")
	rt.mu.Lock()
	defer rt.mu.Unlock()
	assert.Equal(t, []int{1, 2, 3}, rt.attempts, "every timed-out attempt was retried")
}
