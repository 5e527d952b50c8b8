package stackflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook errors, matched with errors.Is against what VerifyWebhook and
// WebhookVerifier.Verify return.
var (
	// ErrInvalidSignature: X-StackFlow-Signature is missing, malformed or does
	// not match the body and the shared secret.
	ErrInvalidSignature = errors.New("stackflow: webhook: invalid signature")
	// ErrStaleWebhook: X-StackFlow-Timestamp is missing, malformed or more
	// than the tolerance (5 minutes) away from now: a replay, or a clock
	// far off.
	ErrStaleWebhook = errors.New("stackflow: webhook: stale or missing timestamp")
	// ErrWebhookTooLarge: the body is larger than the verifier accepts.
	ErrWebhookTooLarge = errors.New("stackflow: webhook: body too large")
	// ErrInvalidWebhook: the signed body is not a StackFlow record event.
	ErrInvalidWebhook = errors.New("stackflow: webhook: not a record event")
)

// Webhook defaults.
const (
	// DefaultWebhookTolerance is how far X-StackFlow-Timestamp may be from
	// now, either way.
	DefaultWebhookTolerance = 5 * time.Minute
	// DefaultWebhookMaxBody is the largest body a verifier reads: a record
	// with its long texts and 64 KiB of attributes fits with room to spare.
	DefaultWebhookMaxBody = 4 << 20
)

// WebhookEvent is one record event StackFlow POSTed to a subscriber:
// {module singular}.{created|updated|deleted} with the record as stored
// right after the write.
type WebhookEvent struct {
	// Event is e.g. "incident.updated" or "cmdb_ci.deleted".
	Event string `json:"event"`
	// Module is the record's module.
	Module Module `json:"module"`
	// Record is the record as stored after the write (for .deleted, with
	// deleted_at set); DecodeRecord turns it into a typed record.
	Record Record `json:"record"`
	// OccurredAt is the write's updated_at.
	OccurredAt time.Time `json:"occurred_at"`
	// DeliveryID is X-StackFlow-Delivery: unique per event and subscriber
	// and the same on every retry of it, so a handler can drop repeats.
	DeliveryID string `json:"-"`
	// SentAt is X-StackFlow-Timestamp: when this attempt was sent.
	SentAt time.Time `json:"-"`

	raw json.RawMessage
}

// Action returns "created", "updated" or "deleted".
func (e *WebhookEvent) Action() string {
	_, action, _ := strings.Cut(e.Event, ".")
	return action
}

// DecodeRecord decodes the event's record into v, e.g. a *Incident for an
// incidents event.
func (e *WebhookEvent) DecodeRecord(v any) error {
	if len(e.raw) == 0 {
		return e.Record.Decode(v)
	}
	dec := json.NewDecoder(bytes.NewReader(e.raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("stackflow: webhook: decoding the record into %T: %w", v, err)
	}
	return nil
}

// WebhookVerifier checks StackFlow webhook deliveries: the HMAC-SHA256
// signature of the raw body with the shared secret (compared in constant
// time), the timestamp (to refuse replays), and the body size; then it
// decodes the event. The zero values of the optional fields are the
// defaults. It is safe for concurrent use once configured.
//
// StackFlow signs the body only, not the timestamp: the timestamp check
// stops naive replays of old deliveries with their original headers, and
// DeliveryID lets a handler drop the repeats that remain.
type WebhookVerifier struct {
	// Secret is the shared secret of the subscription (required).
	Secret []byte
	// Tolerance is how far the timestamp may be from Now, either way;
	// 0 means DefaultWebhookTolerance.
	Tolerance time.Duration
	// MaxBodyBytes caps the body read; 0 means DefaultWebhookMaxBody.
	MaxBodyBytes int64
	// Now is the clock (time.Now when nil); tests pin it.
	Now func() time.Time
	// OnError, when set, is told why Handler refused a delivery or why the
	// handler function failed (for logs and metrics; never the secret).
	OnError func(r *http.Request, err error)
}

// String describes the verifier without its secret.
func (v WebhookVerifier) String() string {
	return fmt.Sprintf("stackflow.WebhookVerifier(secret REDACTED, tolerance %s)", v.tolerance())
}

// GoString is String, so that %#v does not show the secret either.
func (v WebhookVerifier) GoString() string { return v.String() }

// LogValue logs the verifier without its secret.
func (v WebhookVerifier) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", "REDACTED"), slog.Duration("tolerance", v.tolerance()))
}

func (v WebhookVerifier) tolerance() time.Duration {
	if v.Tolerance > 0 {
		return v.Tolerance
	}
	return DefaultWebhookTolerance
}

// VerifyWebhook checks a webhook delivery with the default verifier
// settings (5 minutes of tolerance, the wall clock) and returns its event.
// See WebhookVerifier.
func VerifyWebhook(secret []byte, r *http.Request) (*WebhookEvent, error) {
	v := &WebhookVerifier{Secret: secret}
	return v.Verify(r)
}

// Verify reads r's body and checks it. The errors match ErrInvalidSignature,
// ErrStaleWebhook, ErrWebhookTooLarge or ErrInvalidWebhook.
func (v *WebhookVerifier) Verify(r *http.Request) (*WebhookEvent, error) {
	if len(v.Secret) == 0 {
		return nil, errors.New("stackflow: webhook: the verifier has no secret")
	}
	limit := v.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultWebhookMaxBody
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrWebhookTooLarge, r.ContentLength, limit)
	}
	if r.Body == nil {
		return nil, fmt.Errorf("%w: no body", ErrInvalidWebhook)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", ErrInvalidWebhook, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrWebhookTooLarge, limit)
	}
	return v.VerifyPayload(body, r.Header)
}

// VerifyPayload checks a delivery given as its raw body and headers, for
// servers that are not net/http. See Verify.
func (v *WebhookVerifier) VerifyPayload(body []byte, header http.Header) (*WebhookEvent, error) {
	if len(v.Secret) == 0 {
		return nil, errors.New("stackflow: webhook: the verifier has no secret")
	}
	if err := checkSignature(v.Secret, body, header.Get("X-StackFlow-Signature")); err != nil {
		return nil, err
	}
	sent, err := v.checkTimestamp(header.Get("X-StackFlow-Timestamp"))
	if err != nil {
		return nil, err
	}
	ev, err := decodeWebhookEvent(body)
	if err != nil {
		return nil, err
	}
	ev.DeliveryID = header.Get("X-StackFlow-Delivery")
	ev.SentAt = sent
	return ev, nil
}

func checkSignature(secret, body []byte, header string) error {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if header == "" {
		return fmt.Errorf("%w: no X-StackFlow-Signature header", ErrInvalidSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: X-StackFlow-Signature is not sha256=<64 hex digits>", ErrInvalidSignature)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return fmt.Errorf("%w: it does not match the body (wrong secret, or the body was changed)", ErrInvalidSignature)
	}
	return nil
}

func (v *WebhookVerifier) checkTimestamp(header string) (time.Time, error) {
	if header == "" {
		return time.Time{}, fmt.Errorf("%w: no X-StackFlow-Timestamp header", ErrStaleWebhook)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(header), 10, 64)
	if err != nil || secs < 0 || secs > 1<<40 {
		return time.Time{}, fmt.Errorf("%w: X-StackFlow-Timestamp %q is not unix seconds", ErrStaleWebhook, header)
	}
	sent := time.Unix(secs, 0).UTC()
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if d := now.Sub(sent); d > v.tolerance() || d < -v.tolerance() {
		return time.Time{}, fmt.Errorf("%w: sent at %s, %s away from now (tolerance %s)", ErrStaleWebhook, sent.Format(time.RFC3339), d.Abs().Round(time.Second), v.tolerance())
	}
	return sent, nil
}

func decodeWebhookEvent(body []byte) (*WebhookEvent, error) {
	var wire struct {
		Event      string          `json:"event"`
		Module     Module          `json:"module"`
		Record     json.RawMessage `json:"record"`
		OccurredAt time.Time       `json:"occurred_at"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWebhook, err)
	}
	if !wire.Module.Valid() {
		return nil, fmt.Errorf("%w: unknown module %q", ErrInvalidWebhook, wire.Module)
	}
	prefix, action, _ := strings.Cut(wire.Event, ".")
	if prefix != wire.Module.Singular() || (action != "created" && action != "updated" && action != "deleted") {
		return nil, fmt.Errorf("%w: event %q does not match module %s (want %s.created, .updated or .deleted)", ErrInvalidWebhook, wire.Event, wire.Module, wire.Module.Singular())
	}
	var rec Record
	if err := decodeJSON(bytes.NewReader(wire.Record), &rec); err != nil || rec.ID() == "" {
		return nil, fmt.Errorf("%w: the record is missing or has no id", ErrInvalidWebhook)
	}
	if wire.OccurredAt.IsZero() {
		return nil, fmt.Errorf("%w: no occurred_at", ErrInvalidWebhook)
	}
	return &WebhookEvent{Event: wire.Event, Module: wire.Module, Record: rec, OccurredAt: wire.OccurredAt, raw: wire.Record}, nil
}

// WebhookHandler returns an http.Handler that verifies each delivery with
// the default verifier settings and passes its event to fn. See
// WebhookVerifier.Handler.
func WebhookHandler(secret []byte, fn func(context.Context, *WebhookEvent) error) http.Handler {
	return (&WebhookVerifier{Secret: secret}).Handler(fn)
}

// Handler returns an http.Handler for StackFlow's webhook deliveries. It
// answers 405 to anything but POST, 401 to a bad signature or a stale
// timestamp, 413 to a body over the limit and 400 to a signed body that is
// not a record event, without calling fn; it then calls fn with the
// request's context and answers 204 when fn returns nil, or 500 (so
// StackFlow retries the delivery) when it returns an error. Answers never
// echo the secret, the signature or fn's error.
func (v *WebhookVerifier) Handler(fn func(context.Context, *WebhookEvent) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "webhook deliveries are POSTed", http.StatusMethodNotAllowed)
			return
		}
		ev, err := v.Verify(r)
		if err != nil {
			if v.OnError != nil {
				v.OnError(r, err)
			}
			switch {
			case errors.Is(err, ErrInvalidSignature):
				http.Error(w, "invalid signature", http.StatusUnauthorized)
			case errors.Is(err, ErrStaleWebhook):
				http.Error(w, "stale or missing timestamp", http.StatusUnauthorized)
			case errors.Is(err, ErrWebhookTooLarge):
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			case errors.Is(err, ErrInvalidWebhook):
				http.Error(w, "not a record event", http.StatusBadRequest)
			default:
				http.Error(w, "webhook receiver misconfigured", http.StatusInternalServerError)
			}
			return
		}
		if fn == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := fn(r.Context(), ev); err != nil {
			if v.OnError != nil {
				v.OnError(r, err)
			}
			http.Error(w, "the event was not processed; retry later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
