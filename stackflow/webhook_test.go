package stackflow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var webhookSecret = []byte("whsec-5b2f0e91c4d8")

var webhookNow = time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC)

const webhookBody = `{"event":"incident.updated","module":"incidents","record":` + incidentJSON + `,"occurred_at":"2026-11-28T18:00:00.456Z"}`

func sign(secret []byte, body string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func delivery(body, sig string, sent time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/stackflow", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set("X-StackFlow-Signature", sig)
	}
	if !sent.IsZero() {
		r.Header.Set("X-StackFlow-Timestamp", strconv.FormatInt(sent.Unix(), 10))
	}
	r.Header.Set("X-StackFlow-Event", "incident.updated")
	r.Header.Set("X-StackFlow-Delivery", "dlv_42")
	return r
}

func TestVerifyAcceptsAGoodDelivery(t *testing.T) {
	t.Parallel()
	v := &WebhookVerifier{Secret: webhookSecret, Now: func() time.Time { return webhookNow }}
	ev, err := v.Verify(delivery(webhookBody, sign(webhookSecret, webhookBody), webhookNow.Add(-4*time.Minute)))
	require.NoError(t, err)
	assert.Equal(t, "incident.updated", ev.Event)
	assert.Equal(t, "updated", ev.Action())
	assert.Equal(t, ModuleIncidents, ev.Module)
	assert.Equal(t, "inc_01JD0001", ev.Record.ID())
	assert.EqualValues(t, 4, ev.Record.Version())
	assert.Equal(t, "dlv_42", ev.DeliveryID)
	assert.Equal(t, webhookNow.Add(-4*time.Minute), ev.SentAt)
	assert.Equal(t, time.Date(2026, 11, 28, 18, 0, 0, 456e6, time.UTC), ev.OccurredAt.UTC())
	var inc Incident
	require.NoError(t, ev.DecodeRecord(&inc))
	assert.Equal(t, "Disk full on web01", inc.Title)
}

func TestVerifyRefusesBadDeliveries(t *testing.T) {
	t.Parallel()
	good := sign(webhookSecret, webhookBody)
	otherModule := strings.Replace(webhookBody, `"module":"incidents"`, `"module":"problems"`, 1)
	noID := `{"event":"incident.created","module":"incidents","record":{"title":"x"},"occurred_at":"2026-11-28T18:00:00.456Z"}`
	cases := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"a signature with another secret", delivery(webhookBody, sign([]byte("other"), webhookBody), webhookNow), ErrInvalidSignature},
		{"a changed body", delivery(strings.Replace(webhookBody, "Disk full", "Disk fine", 1), good, webhookNow), ErrInvalidSignature},
		{"no signature", delivery(webhookBody, "", webhookNow), ErrInvalidSignature},
		{"a signature without the prefix", delivery(webhookBody, strings.TrimPrefix(good, "sha256="), webhookNow), ErrInvalidSignature},
		{"a short signature", delivery(webhookBody, good[:20], webhookNow), ErrInvalidSignature},
		{"an upper-case scheme", delivery(webhookBody, "SHA1="+good[7:], webhookNow), ErrInvalidSignature},
		{"a replay from an hour ago", delivery(webhookBody, good, webhookNow.Add(-time.Hour)), ErrStaleWebhook},
		{"a timestamp six minutes ahead", delivery(webhookBody, good, webhookNow.Add(6*time.Minute)), ErrStaleWebhook},
		{"no timestamp", delivery(webhookBody, good, time.Time{}), ErrStaleWebhook},
		{"an event of another module", delivery(otherModule, sign(webhookSecret, otherModule), webhookNow), ErrInvalidWebhook},
		{"a record without id", delivery(noID, sign(webhookSecret, noID), webhookNow), ErrInvalidWebhook},
		{"not JSON", delivery("hello", sign(webhookSecret, "hello"), webhookNow), ErrInvalidWebhook},
	}
	v := &WebhookVerifier{Secret: webhookSecret, Now: func() time.Time { return webhookNow }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := v.Verify(tc.req)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, ev)
			assert.NotContains(t, err.Error(), string(webhookSecret))
		})
	}
	r := delivery(webhookBody, good, webhookNow)
	r.Header.Set("X-StackFlow-Timestamp", "yesterday")
	_, err := v.Verify(r)
	require.ErrorIs(t, err, ErrStaleWebhook)
}

func TestVerifyCapsTheBody(t *testing.T) {
	t.Parallel()
	v := &WebhookVerifier{Secret: webhookSecret, MaxBodyBytes: 100, Now: func() time.Time { return webhookNow }}
	_, err := v.Verify(delivery(webhookBody, sign(webhookSecret, webhookBody), webhookNow))
	require.ErrorIs(t, err, ErrWebhookTooLarge)
	r := delivery(webhookBody, sign(webhookSecret, webhookBody), webhookNow)
	r.ContentLength = -1 // chunked: the cap still holds while reading
	_, err = v.Verify(r)
	require.ErrorIs(t, err, ErrWebhookTooLarge)
	_, err = (&WebhookVerifier{}).Verify(r)
	require.Error(t, err, "a verifier without a secret refuses everything")
}

func TestVerifyWebhookUsesTheWallClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	_, err := VerifyWebhook(webhookSecret, delivery(webhookBody, sign(webhookSecret, webhookBody), now))
	require.NoError(t, err)
	_, err = VerifyWebhook(webhookSecret, delivery(webhookBody, sign(webhookSecret, webhookBody), now.Add(-10*time.Minute)))
	require.ErrorIs(t, err, ErrStaleWebhook)
}

func TestWebhookHandlerAnswers(t *testing.T) {
	t.Parallel()
	var got []string
	var refused []error
	v := &WebhookVerifier{Secret: webhookSecret, Now: func() time.Time { return webhookNow },
		OnError: func(_ *http.Request, err error) { refused = append(refused, err) }}
	h := v.Handler(func(ctx context.Context, ev *WebhookEvent) error {
		require.NotNil(t, ctx)
		if ev.Record.ExternalID() == "fail" {
			return errors.New("database is down")
		}
		got = append(got, ev.Event+" "+ev.Record.ID())
		return nil
	})
	failing := strings.Replace(webhookBody, "46d44a5f2f2a3010b8b6f7d6f699b6a6", "fail", 1)
	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"a good delivery", delivery(webhookBody, sign(webhookSecret, webhookBody), webhookNow), http.StatusNoContent},
		{"a bad signature", delivery(webhookBody, sign([]byte("x"), webhookBody), webhookNow), http.StatusUnauthorized},
		{"a stale delivery", delivery(webhookBody, sign(webhookSecret, webhookBody), webhookNow.Add(-time.Hour)), http.StatusUnauthorized},
		{"a signed body that is not an event", delivery(`{}`, sign(webhookSecret, `{}`), webhookNow), http.StatusBadRequest},
		{"a failing handler", delivery(failing, sign(webhookSecret, failing), webhookNow), http.StatusInternalServerError},
		{"a GET", httptest.NewRequest(http.MethodGet, "/hooks/stackflow", nil), http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, tc.req)
		assert.Equal(t, tc.status, w.Code, tc.name)
		body, _ := io.ReadAll(w.Body)
		assert.NotContains(t, string(body), string(webhookSecret), tc.name)
		assert.NotContains(t, string(body), "database is down", tc.name)
	}
	assert.Equal(t, []string{"incident.updated inc_01JD0001"}, got)
	assert.Len(t, refused, 4, "OnError hears every refusal and the failed handler")

	w := httptest.NewRecorder()
	WebhookHandler(webhookSecret, nil).ServeHTTP(w, delivery(webhookBody, sign(webhookSecret, webhookBody), time.Now()))
	assert.Equal(t, http.StatusNoContent, w.Code)
}

func TestTheVerifierNeverShowsItsSecret(t *testing.T) {
	t.Parallel()
	v := &WebhookVerifier{Secret: webhookSecret}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("verifier", "v", v)
	for _, s := range []string{v.String(), fmt.Sprintf("%v %+v %#v %v %+v", v, v, v, *v, *v), b.String()} {
		assert.NotContains(t, s, string(webhookSecret))
	}
}
