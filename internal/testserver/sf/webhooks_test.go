package sf

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subscriber records webhook deliveries; it fails the first failFirst
// attempts of every delivery.
type subscriber struct {
	mu        sync.Mutex
	failFirst int
	attempts  map[string]int
	got       []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.Header.Get("X-StackFlow-Delivery")
	s.attempts[id]++
	if s.attempts[id] <= s.failFirst {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.got = append(s.got, delivered{header: r.Header.Clone(), body: body})
	w.WriteHeader(http.StatusNoContent)
}

func (s *subscriber) received() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

func newSubscriber(t *testing.T, failFirst int) (*subscriber, *httptest.Server) {
	sub := &subscriber{failFirst: failFirst, attempts: map[string]int{}}
	srv := httptest.NewServer(sub)
	t.Cleanup(srv.Close)
	return sub, srv
}

func flush(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.FlushWebhooks(ctx))
}

func TestWebhooksAreSignedAndOrdered(t *testing.T) {
	sub, subSrv := newSubscriber(t, 0)
	h := newHarness(t, WithWebhookClient(subSrv.Client()))
	const secret = "whsec_test"
	_, err := h.srv.Subscribe(subSrv.URL+"/hooks", secret)
	require.NoError(t, err)

	inc := h.mustCreate("/incidents", map[string]any{"title": "t"})
	id := inc["id"].(string)
	flush(t, h.srv) // sent at t0
	h.clock.Advance(2 * time.Second)
	require.Equal(t, http.StatusOK, h.patch("/incidents/"+id, map[string]any{"priority": 1}).status)
	require.Equal(t, http.StatusOK, h.patch("/incidents/"+id, map[string]any{"priority": 1}).status) // no change, no event
	require.Equal(t, http.StatusNoContent, h.do(call{method: http.MethodDelete, path: "/incidents/" + id}).status)
	flush(t, h.srv)

	c, err := loadContract()
	require.NoError(t, err)
	got := sub.received()
	require.Len(t, got, 3)
	var events []string
	for i, d := range got {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(d.body)
		assert.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), d.header.Get("X-StackFlow-Signature"), "delivery %d is signed over the raw body", i)
		sent := t0.Add(2 * time.Second)
		if i == 0 {
			sent = t0
		}
		assert.Equal(t, strconv.FormatInt(sent.Unix(), 10), d.header.Get("X-StackFlow-Timestamp"), "the timestamp comes from the fake clock")
		assert.NoError(t, c.ValidateWebhook(d.header, d.body), "delivery %d matches the contract", i)
		var ev map[string]any
		require.NoError(t, json.Unmarshal(d.body, &ev))
		events = append(events, ev["event"].(string))
		assert.Equal(t, ev["event"], d.header.Get("X-StackFlow-Event"))
		assert.Equal(t, "incidents", ev["module"])
		assert.EqualValues(t, i+1, ev["record"].(map[string]any)["version"], "events arrive in write order")
	}
	assert.Equal(t, []string{"incident.created", "incident.updated", "incident.deleted"}, events)

	var last map[string]any
	require.NoError(t, json.Unmarshal(got[2].body, &last))
	assert.Equal(t, "2026-11-28T17:04:07.123Z", last["occurred_at"])
	assert.Equal(t, last["occurred_at"], last["record"].(map[string]any)["deleted_at"])
}

func TestWebhooksRetryAndRecordOutcomes(t *testing.T) {
	flaky, flakySrv := newSubscriber(t, 2)
	down, downSrv := newSubscriber(t, 99)
	h := newHarness(t)
	_, err := h.srv.Subscribe(flakySrv.URL, "s1")
	require.NoError(t, err)
	downID, err := h.srv.Subscribe(downSrv.URL, "s2")
	require.NoError(t, err)

	r := h.post("/cmdb/cis/bulk-upsert", map[string]any{"records": []any{
		map[string]any{"source": "servicenow", "external_id": "a", "name": "a"},
		map[string]any{"source": "servicenow", "external_id": "b", "name": "b"},
	}})
	require.Equal(t, http.StatusOK, r.status)
	flush(t, h.srv)

	assert.Len(t, flaky.received(), 2, "a bulk upsert fires one event per record; retries get them through")
	assert.Empty(t, down.received())
	var delivered, failed int
	for _, d := range h.srv.Deliveries() {
		assert.Equal(t, "cmdb_ci.created", d.Event)
		assert.Equal(t, 3, d.Attempts, "every delivery needed all three attempts")
		if d.Delivered {
			delivered++
		} else {
			failed++
			assert.Equal(t, downID, d.SubscriptionID)
			assert.Equal(t, http.StatusServiceUnavailable, d.Status)
			assert.Contains(t, d.Err, "503")
		}
	}
	assert.Equal(t, 2, delivered)
	assert.Equal(t, 2, failed)

	h.srv.Unsubscribe(downID)
	_, err = h.srv.Create(CMDBCIs, map[string]any{"name": "c"}, "someone")
	require.NoError(t, err)
	flush(t, h.srv)
	assert.Len(t, flaky.received(), 3, "test-side writes fire webhooks too")
	assert.Len(t, h.srv.Deliveries(), 5, "an unsubscribed URL gets nothing")

	_, err = h.srv.Subscribe("not a url", "s")
	assert.Error(t, err)
	_, err = h.srv.Subscribe(flakySrv.URL, "")
	assert.Error(t, err, "a secret is required")
}

func TestCloseDropsPendingWebhooks(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	srv, err := New()
	require.NoError(t, err)
	_, err = srv.Subscribe(slow.URL, "s")
	require.NoError(t, err)
	for range 3 {
		_, err := srv.Create(Incidents, map[string]any{"title": "t"}, "u")
		require.NoError(t, err)
	}
	srv.Close() // cancels the delivery in flight and drops the rest; goleak checks the workers ended
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	assert.NoError(t, srv.FlushWebhooks(ctx), "nothing is pending after Close")
	_, err = srv.Subscribe(slow.URL, "s")
	assert.Error(t, err, "a closed server takes no subscriptions")
}
