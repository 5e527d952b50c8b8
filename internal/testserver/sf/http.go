package sf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// reqCtx is one request being served.
type reqCtx struct {
	w   http.ResponseWriter
	r   *http.Request
	id  string // X-Request-Id
	rel string // path under the base path
	tok token
}

// serve is the fake's own handler, below the request log and faults.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{w: w, r: r, id: fmt.Sprintf("req_%012x", s.reqSeq.Add(1))}
	h := w.Header()
	h.Set("X-Request-Id", rc.id)
	// Like a real server, the Date header is the server's clock (the fake's).
	h.Set("Date", s.cfg.clock.Now().UTC().Format(http.TimeFormat))

	key := parseBearer(r.Header.Get("Authorization"))
	if key == "" {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		key = "anonymous@" + host
	}
	ok, remaining, reset := s.limiter.Take(key)
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limiter.Limit()))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if !ok {
		wait := max(int(math.Ceil(reset.Sub(s.cfg.clock.Now()).Seconds())), 1)
		h.Set("Retry-After", strconv.Itoa(wait))
		rc.fail(errorf(http.StatusTooManyRequests, CodeRateLimited,
			"rate limit of %d requests per %s exceeded; retry in %d s", s.cfg.rateLimit, s.cfg.rateWindow, wait))
		return
	}

	tok, apiErr := s.authenticate(w, r)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	rc.tok = tok

	rel, found := strings.CutPrefix(r.URL.Path, s.cfg.basePath)
	if !found || (rel != "" && rel[0] != '/') {
		rc.fail(errorf(http.StatusNotFound, CodeNotFound, "no API at %s; it is served under %s", r.URL.Path, s.cfg.basePath+"/"))
		return
	}
	rc.rel = rel
	s.route(rc)
}

// route dispatches a request by path and method.
func (s *Server) route(rc *reqCtx) {
	rel := rc.rel
	if rest, ok := strings.CutPrefix(rel, "/integrations/servicenow"); ok && (rest == "" || rest[0] == '/') {
		if !rc.tok.has(RoleSuperAdmin) {
			rc.fail(errorf(http.StatusForbidden, CodeForbidden, "the Integration Hub needs the super_admin role"))
			return
		}
		s.routeIntegration(rc, rest)
		return
	}
	for _, m := range modules {
		rest, ok := strings.CutPrefix(rel, m.path)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		rest = strings.TrimSuffix(rest, "/")
		switch {
		case rest == "":
			switch rc.r.Method {
			case http.MethodGet:
				if rc.canRead() {
					s.handleList(rc, m)
				}
			case http.MethodPost:
				if rc.canWrite() {
					s.handleCreate(rc, m)
				}
			default:
				rc.notAllowed("GET, POST")
			}
		case rest == "/bulk-upsert":
			if rc.r.Method != http.MethodPost {
				rc.notAllowed("POST")
			} else if rc.canWrite() {
				s.handleBulk(rc, m)
			}
		case strings.Count(rest, "/") == 1:
			id := rest[1:]
			switch rc.r.Method {
			case http.MethodGet:
				if rc.canRead() {
					s.handleGet(rc, m, id)
				}
			case http.MethodPatch:
				if rc.canWrite() {
					s.handlePatch(rc, m, id)
				}
			case http.MethodDelete:
				if rc.canWrite() {
					s.handleDelete(rc, m, id)
				}
			default:
				rc.notAllowed("GET, PATCH, DELETE")
			}
		default:
			rc.fail(errorf(http.StatusNotFound, CodeNotFound, "no such path: %s", rel))
		}
		return
	}
	rc.fail(errorf(http.StatusNotFound, CodeNotFound, "no such path: %s", rel))
}

func (rc *reqCtx) canRead() bool {
	if rc.tok.has(RoleViewer, RoleAgent, RoleSuperAdmin) {
		return true
	}
	rc.fail(errorf(http.StatusForbidden, CodeForbidden, "reading records needs the viewer, agent or super_admin role"))
	return false
}

func (rc *reqCtx) canWrite() bool {
	if rc.tok.has(RoleAgent, RoleSuperAdmin) {
		return true
	}
	rc.fail(errorf(http.StatusForbidden, CodeForbidden, "writing records needs the agent or super_admin role"))
	return false
}

func (rc *reqCtx) notAllowed(allow string) {
	rc.w.Header().Set("Allow", allow)
	rc.fail(errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", rc.r.Method, rc.rel, allow))
}

// send writes a JSON answer.
func (rc *reqCtx) send(status int, body []byte) {
	h := rc.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rc.w.WriteHeader(status)
	_, _ = rc.w.Write(body) // the client may be gone; nothing to do about it
}

// sendJSON marshals v and writes it.
func (rc *reqCtx) sendJSON(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		rc.fail(errorf(http.StatusInternalServerError, CodeInternal, "encoding the answer: %v", err))
		return
	}
	rc.send(status, body)
}

// noContent writes a 204.
func (rc *reqCtx) noContent() {
	rc.w.WriteHeader(http.StatusNoContent)
}

// fail writes an error envelope.
func (rc *reqCtx) fail(e *APIError) {
	body, _ := json.Marshal(errorEnvelope{Error: errorBody{ // plain strings: cannot fail
		Code: e.Code, Message: e.Message, RequestID: rc.id, Details: e.Details,
	}})
	rc.send(e.Status, body)
}

// readBody reads a JSON request body. With optional set, an empty body
// yields a nil map and no error.
func (rc *reqCtx) readBody(optional bool) (map[string]any, *APIError) {
	if ct := rc.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "Content-Type %q is not supported; send application/json", ct)
		}
	}
	var data []byte
	if rc.r.Body != nil {
		var buf bytes.Buffer
		if n := rc.r.ContentLength; n > 0 && n <= maxBodyBytes {
			buf.Grow(int(n) + bytes.MinRead) // one allocation for the usual, sized body
		}
		_, err := buf.ReadFrom(http.MaxBytesReader(rc.w, rc.r.Body, maxBodyBytes))
		data = buf.Bytes()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request body exceeds %d bytes", maxBodyBytes)
			}
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading request body: %v", err)
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil, nil
		}
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "a JSON object body is required")
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "malformed JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "the body must be a JSON object")
	}
	return obj, nil
}

// decodeJSON decodes one JSON document, numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return v, nil
}
