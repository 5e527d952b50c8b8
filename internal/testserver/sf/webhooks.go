package sf

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// webhookTimeout bounds one delivery attempt.
const webhookTimeout = 10 * time.Second

// Delivery is the outcome of one webhook event sent to one subscriber.
type Delivery struct {
	ID             string // X-StackFlow-Delivery: the same on every attempt
	SubscriptionID string
	URL            string
	Event          string // e.g. incident.updated
	Attempts       int
	Status         int    // HTTP status of the last attempt (0 when none came back)
	Err            string // why the last attempt failed; "" when delivered
	Delivered      bool   // a 2xx came back
}

// dispatcher queues and sends webhook events, one worker per subscriber so
// each subscriber gets events in write order.
type dispatcher struct {
	s          *Server
	mu         sync.Mutex // below s.mu in lock order
	subs       map[string]*subscription
	pending    int
	idle       []chan struct{}
	deliveries []Delivery
}

type subscription struct {
	id, url, secret string
	queue           []*event
	wake            chan struct{}
	ctx             context.Context
	cancel          context.CancelFunc
}

type event struct {
	deliveryID string
	name       string
	body       []byte
}

func newDispatcher(s *Server) *dispatcher {
	return &dispatcher{s: s, subs: map[string]*subscription{}}
}

// Subscribe starts delivering every record event to target, signed with
// secret, and returns the subscription's id. Deliveries are asynchronous;
// FlushWebhooks waits for them.
func (s *Server) Subscribe(target, secret string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("sf: Subscribe: %q is not an http(s) URL", target)
	}
	if secret == "" {
		return "", errors.New("sf: Subscribe: the secret must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("sf: Subscribe: the server is closed")
	}
	d := s.hooks
	ctx, cancel := context.WithCancel(s.ctx)
	sub := &subscription{
		id: "whs_" + s.ids.next(s.now()), url: target, secret: secret,
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
	}
	d.mu.Lock()
	d.subs[sub.id] = sub
	d.mu.Unlock()
	s.wg.Add(1)
	go d.run(sub)
	return sub.id, nil
}

// Unsubscribe stops deliveries to a subscription; queued events for it are
// dropped. Unknown ids are ignored.
func (s *Server) Unsubscribe(id string) {
	d := s.hooks
	d.mu.Lock()
	sub := d.subs[id]
	delete(d.subs, id)
	d.mu.Unlock()
	if sub != nil {
		sub.cancel()
	}
}

// FlushWebhooks waits until every queued webhook event was delivered or
// given up on, or ctx ends.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	d := s.hooks
	d.mu.Lock()
	if d.pending == 0 {
		d.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	d.idle = append(d.idle, ch)
	d.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliveries returns the outcome of every finished delivery, oldest first.
func (s *Server) Deliveries() []Delivery {
	d := s.hooks
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Delivery(nil), d.deliveries...)
}

// emitLocked queues the event for a write of r. Callers hold s.mu, which
// keeps events in write order.
func (d *dispatcher) emitLocked(r *record, action string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.subs) == 0 {
		return
	}
	name := r.mod.event + "." + action
	b := make([]byte, 0, 1024)
	b = append(b, `{"event":`...)
	b = appendString(b, name)
	b = append(b, `,"module":`...)
	b = appendString(b, r.mod.id)
	b = append(b, `,"record":`...)
	b = appendRecord(b, r)
	b = append(b, `,"occurred_at":`...)
	b = appendTime(b, r.updatedAt)
	b = append(b, '}')
	for _, sub := range d.subs {
		if sub.ctx.Err() != nil {
			continue
		}
		sub.queue = append(sub.queue, &event{deliveryID: "whd_" + d.s.ids.next(d.s.now()), name: name, body: b})
		d.pending++
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// doneLocked counts n events as finished. Callers hold d.mu.
func (d *dispatcher) doneLocked(n int) {
	d.pending -= n
	if d.pending == 0 {
		for _, ch := range d.idle {
			close(ch)
		}
		d.idle = nil
	}
}

// run is a subscriber's worker.
func (d *dispatcher) run(sub *subscription) {
	defer d.s.wg.Done()
	for {
		d.mu.Lock()
		if sub.ctx.Err() != nil {
			d.doneLocked(len(sub.queue))
			sub.queue = nil
			d.mu.Unlock()
			return
		}
		if len(sub.queue) == 0 {
			d.mu.Unlock()
			select {
			case <-sub.wake:
			case <-sub.ctx.Done():
			}
			continue
		}
		ev := sub.queue[0]
		d.mu.Unlock()

		out := d.deliver(sub, ev)

		d.mu.Lock()
		sub.queue = sub.queue[1:]
		d.deliveries = append(d.deliveries, out)
		d.doneLocked(1)
		d.mu.Unlock()
	}
}

// deliver sends one event, retrying with exponential backoff.
func (d *dispatcher) deliver(sub *subscription, ev *event) Delivery {
	out := Delivery{ID: ev.deliveryID, SubscriptionID: sub.id, URL: sub.url, Event: ev.name}
	mac := hmac.New(sha256.New, []byte(sub.secret))
	mac.Write(ev.body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	wait := d.s.cfg.webhookBackoff
	for attempt := 1; attempt <= d.s.cfg.webhookTries; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-sub.ctx.Done():
				t.Stop()
				out.Err = "canceled: " + sub.ctx.Err().Error()
				return out
			}
			wait *= 2
		}
		out.Attempts = attempt
		status, err := d.send(sub, ev, sig)
		out.Status = status
		if err == nil {
			out.Delivered, out.Err = true, ""
			return out
		}
		out.Err = err.Error()
		if sub.ctx.Err() != nil {
			return out
		}
	}
	return out
}

// send makes one delivery attempt.
func (d *dispatcher) send(sub *subscription, ev *event, sig string) (int, error) {
	ctx, cancel := context.WithTimeout(sub.ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.url, bytes.NewReader(ev.body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "StackFlow-Webhooks/1.0")
	h.Set("X-StackFlow-Signature", sig)
	h.Set("X-StackFlow-Timestamp", strconv.FormatInt(d.s.cfg.clock.Now().Unix(), 10))
	h.Set("X-StackFlow-Event", ev.name)
	h.Set("X-StackFlow-Delivery", ev.deliveryID)
	resp, err := d.s.cfg.webhookClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drain for connection reuse
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("subscriber answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
