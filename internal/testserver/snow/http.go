package snow

import (
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// HibernationPage is the HTML a hibernating developer instance answers
// every request with (status 200, Content-Type text/html).
const HibernationPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Instance Hibernating page</title></head>
<body><div class="container"><h1>Your instance is hibernating</h1>
<p>Developer instances hibernate when they are not in use. Sign in to the site to wake your instance.</p>
<a href="https://developer.servicenow.com">Sign in</a></div></body></html>
`

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// serveCore routes one request (after logging, gzip and faults).
func (s *Server) serveCore(w http.ResponseWriter, r *http.Request) {
	if s.hibernating.Load() {
		writeHibernating(w)
		return
	}
	if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
		r.Method = strings.ToUpper(m)
	}
	switch {
	case r.URL.Path == "/oauth_token.do":
		s.serveToken(w, r)
	case r.URL.Path == "/oauth_revoke_token.do":
		s.serveRevoke(w, r)
	case r.URL.Path == "/stats.do":
		s.serveStatsPage(w)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.serveAPI(w, r)
	default:
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<html><head><title>Not Found</title></head><body>The page you are looking for could not be found.</body></html>\n")
	}
}

func writeHibernating(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, HibernationPage)
}

func (s *Server) serveStatsPage(w http.ResponseWriter) {
	s.mu.RLock()
	b := s.cfg.build
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	_, _ = fmt.Fprintf(w, "<html><body>Build name: %s<br/>Build tag: %s<br/>War: %s<br/></body></html>\n",
		html.EscapeString(b.Name), html.EscapeString(b.Tag), html.EscapeString(b.War))
}

// transactionID returns the next 12-hex-digit X-Transaction-ID.
func (s *Server) transactionID() string {
	x := (s.requests.Add(1) + s.cfg.seed) * 0x9e3779b97f4a7c15
	x ^= x >> 29
	return fmt.Sprintf("%012x", x&0xffffffffffff)
}

// setHeaders writes the headers every API answer carries.
func (s *Server) setHeaders(w http.ResponseWriter, loggedIn bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("X-Is-Logged-In", strconv.FormatBool(loggedIn))
	h.Set("X-Transaction-ID", s.transactionID())
	h.Set("Server", "ServiceNow")
	h.Set("Server-Timing", "sem_wait;dur=0, sesh_wait;dur=0")
	h.Set("Cache-Control", "no-cache,no-store,must-revalidate,max-age=-1")
	h.Set("Pragma", "no-store,no-cache")
	h.Set("Expires", "0")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("Date", s.Now().Format(http.TimeFormat))
}

// errorBody builds the ServiceNow error envelope.
func errorBody(message string, detail *string) []byte {
	b := []byte(`{"error":{"message":`)
	b = appendJSONString(b, message)
	b = append(b, `,"detail":`...)
	if detail == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *detail)
	}
	return append(b, `},"status":"failure"}`...)
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.WriteHeader(status)
	if r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body)
	}
}

func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	writeBody(w, r, e.status, errorBody(e.message, e.detail))
}

var (
	errNoRecord = &apiError{status: 404, message: "No Record found",
		detail: strp("Record doesn't exist or ACL restricts the record retrieval")}
	errNoRecordsV1 = &apiError{status: 404, message: "No Record found",
		detail: strp("Records matching query not found. Check query parameter or offset parameter")}
	errNoResource = &apiError{status: 400, message: "Requested URI does not represent any resource"}
	errBadLimit   = &apiError{status: 400, message: "Invalid value given for sysparm_limit",
		detail: strp("sysparm_limit value must be a positive integer")}
	errQueryRights = &apiError{status: 403, message: "Insufficient rights to query records"}
	errUnauth      = &apiError{status: 401, message: "User Not Authenticated", detail: strp("Required to provide Auth information")}
	errMethod      = &apiError{status: 405, message: "Method not Supported", detail: strp("Requested method is not supported by the resource")}
)

func invalidTable(name string) *apiError {
	return &apiError{status: 400, message: "Invalid table " + name}
}

func writeUnauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `BASIC realm="Service-now"`)
	w.Header().Set("X-Is-Logged-In", "false")
	writeError(w, r, errUnauth)
}

// route is a parsed /api/now/... path.
type route struct {
	api   string // table, stats, ui, batch
	ver   string // "", "v1" or "v2"
	table string
	id    string
}

func parseAPIPath(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/api/now/")
	if !ok {
		return route{}, false
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	var rt route
	if len(segs) > 0 && (segs[0] == "v1" || segs[0] == "v2") {
		rt.ver, segs = segs[0], segs[1:]
	}
	if len(segs) == 0 {
		return route{}, false
	}
	rt.api = segs[0]
	switch {
	case segs[0] == "table" && (len(segs) == 2 || len(segs) == 3) && segs[1] != "":
		rt.table = segs[1]
		if len(segs) == 3 {
			rt.id = segs[2]
		}
		return rt, true
	case segs[0] == "stats" && len(segs) == 2 && segs[1] != "":
		rt.table = segs[1]
		return rt, true
	case segs[0] == "ui" && len(segs) == 3 && segs[1] == "user" && segs[2] == "current_user":
		return rt, true
	case segs[0] == "batch" && len(segs) == 1:
		return rt, true
	}
	return route{}, false
}

// serveAPI serves /api/now/...: authentication, rate limits, then the API.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.setHeaders(w, true)
	p := s.authenticate(r)
	if p == nil {
		writeUnauthorized(w, r)
		return
	}
	rt, ok := parseAPIPath(r.URL.Path)
	if !ok {
		writeError(w, r, errNoResource)
		return
	}
	if !s.rateLimit(w, r, p, rt) {
		return
	}
	s.dispatch(w, r, p, rt)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	switch rt.api {
	case "table":
		s.serveTable(w, r, p, rt)
	case "stats":
		s.serveAggregate(w, r, p, rt)
	case "ui":
		s.serveCurrentUser(w, r, p)
	case "batch":
		s.serveBatch(w, r, p)
	}
}

// readBody reads a request body, undoing Content-Encoding: gzip, within
// the size limit.
func (s *Server) readBody(r *http.Request) ([]byte, *apiError) {
	maxBody := s.cfg.maxBody
	if r.ContentLength > maxBody {
		return nil, &apiError{status: 400, message: "Exception while reading request",
			detail: strp(fmt.Sprintf("Rejected large REST payload with content-length = %d bytes. Max allowed: %d bytes.", r.ContentLength, maxBody))}
	}
	if r.Body == nil {
		return nil, nil
	}
	var src io.Reader = r.Body
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, &apiError{status: 400, message: "Exception while reading request", detail: strp("Content-Encoding gzip: " + err.Error())}
		}
		defer func() { _ = zr.Close() }()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, maxBody+1))
	if err != nil {
		return nil, &apiError{status: 400, message: "Exception while reading request", detail: strp(err.Error())}
	}
	if int64(len(body)) > maxBody {
		return nil, &apiError{status: 400, message: "Exception while reading request",
			detail: strp(fmt.Sprintf("Rejected large REST payload with content-length = %d bytes. Max allowed: %d bytes.", len(body), maxBody))}
	}
	return body, nil
}

// checkJSONContentType refuses bodies that say they are not JSON.
func checkJSONContentType(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json") {
		return nil
	}
	return &apiError{status: 415, message: "Unsupported Media Type",
		detail: strp("Content-Type " + ct + " is not supported; send application/json")}
}

// gzipMiddleware compresses answers for clients that accept gzip, when
// WithGzipResponses is on.
func (s *Server) gzipMiddleware(next http.Handler) http.Handler {
	if !s.cfg.gzip {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		next.ServeHTTP(gw, r)
		gw.close()
	})
}

type gzipWriter struct {
	http.ResponseWriter
	zw    *gzip.Writer
	wrote bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.wrote {
		return
	}
	g.wrote = true
	if code != http.StatusNoContent && code != http.StatusNotModified && code >= 200 {
		g.Header().Set("Content-Encoding", "gzip")
		g.Header().Add("Vary", "Accept-Encoding")
		g.Header().Del("Content-Length")
		g.zw = gzip.NewWriter(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw == nil {
		return g.ResponseWriter.Write(p)
	}
	return g.zw.Write(p)
}

func (g *gzipWriter) close() {
	if g.zw != nil {
		_ = g.zw.Close()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
