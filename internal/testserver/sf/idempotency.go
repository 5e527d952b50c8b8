package sf

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"
)

// idemReq is the Idempotency-Key of one request.
type idemReq struct {
	key string   // subject, method, path and key
	fp  [32]byte // fingerprint of the body
}

// idemEntry is a stored first answer.
type idemEntry struct {
	fp      [32]byte
	status  int
	body    []byte
	etag    string
	expires time.Time
}

// idempotency reads the request's Idempotency-Key; nil when there is none.
func (s *Server) idempotency(rc *reqCtx, body map[string]any) (*idemReq, *APIError) {
	k := rc.r.Header.Get("Idempotency-Key")
	if k == "" {
		return nil, nil
	}
	if len(k) > 255 {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "Idempotency-Key must be 1..255 visible ASCII characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "Idempotency-Key must be 1..255 visible ASCII characters")
		}
	}
	// Re-encoding a decoded body sorts object keys and drops white space,
	// so bodies that are equal as JSON values get the same fingerprint.
	canon, err := json.Marshal(body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "body cannot be fingerprinted: %v", err)
	}
	return &idemReq{
		key: rc.tok.subject + "\x00" + rc.r.Method + "\x00" + rc.rel + "\x00" + k,
		fp:  sha256.Sum256(canon),
	}, nil
}

// idemLookupLocked returns the stored answer for req, if any, or the error
// for a key reused with another body. Callers hold s.mu.
func (s *Server) idemLookupLocked(req *idemReq) (*idemEntry, *APIError) {
	if req == nil {
		return nil, nil
	}
	now := s.cfg.clock.Now()
	if now.Sub(s.idemSwept) > time.Hour || now.Before(s.idemSwept) {
		for k, e := range s.idem {
			if !now.Before(e.expires) {
				delete(s.idem, k)
			}
		}
		s.idemSwept = now
	}
	e := s.idem[req.key]
	if e == nil || !now.Before(e.expires) {
		return nil, nil
	}
	if e.fp != req.fp {
		return nil, errorf(http.StatusUnprocessableEntity, CodeIdempotencyKeyReused,
			"Idempotency-Key was already used with a different body; use a new key for a new request")
	}
	return e, nil
}

// idemStoreLocked keeps a successful answer for 24 hours. Callers hold s.mu.
func (s *Server) idemStoreLocked(req *idemReq, status int, body []byte, etag string) {
	if req == nil {
		return
	}
	s.idem[req.key] = &idemEntry{
		fp: req.fp, status: status, body: body, etag: etag,
		expires: s.cfg.clock.Now().Add(idempotencyTTL),
	}
}

// replay answers with a stored answer, or with err.
func (rc *reqCtx) replay(e *idemEntry, err *APIError) {
	if err != nil {
		rc.fail(err)
		return
	}
	h := rc.w.Header()
	h.Set("Idempotent-Replayed", "true")
	if e.etag != "" {
		h.Set("ETag", e.etag)
	}
	rc.send(e.status, e.body)
}
