package snow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type batchHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type batchItem struct {
	ID                     json.RawMessage `json:"id"`
	Method                 string          `json:"method"`
	URL                    string          `json:"url"`
	Headers                []batchHeader   `json:"headers"`
	Body                   string          `json:"body"`
	ExcludeResponseHeaders bool            `json:"exclude_response_headers"`
}

type batchRequest struct {
	BatchRequestID json.RawMessage `json:"batch_request_id"`
	RestRequests   []batchItem     `json:"rest_requests"`
}

// idString turns a JSON string or number into its string form.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// itemRecorder captures an inner request's answer.
type itemRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *itemRecorder) Header() http.Header { return w.header }
func (w *itemRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *itemRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// serveBatch implements POST /api/now/v1/batch. Inner requests run as the
// caller, one after another; the batch counts once against rate limits.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodPost {
		writeError(w, r, errMethod)
		return
	}
	if e := checkJSONContentType(r); e != nil {
		writeError(w, r, e)
		return
	}
	body, aerr := s.readBody(r)
	if aerr != nil {
		writeError(w, r, aerr)
		return
	}
	var br batchRequest
	if err := json.Unmarshal(body, &br); err != nil {
		writeError(w, r, badJSON(err))
		return
	}
	b := []byte(`{"batch_request_id":`)
	b = appendJSONString(b, idString(br.BatchRequestID))
	b = append(b, `,"serviced_requests":[`...)
	for i, it := range br.RestRequests {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.batchItem(b, r, p, it)
	}
	b = append(b, `],"unserviced_requests":[]}`...)
	writeBody(w, r, http.StatusOK, b)
}

func (s *Server) batchItem(b []byte, outer *http.Request, p *principal, it batchItem) []byte {
	start := time.Now()
	rec := &itemRecorder{header: http.Header{}}
	inner := s.innerRequest(outer, it)
	if inner == nil {
		rec.WriteHeader(http.StatusBadRequest)
		_, _ = rec.Write(errorBody("Invalid batch request item", strp("url must be a relative /api/now/ path and body valid base64")))
	} else {
		s.setHeaders(rec, true)
		if rt, ok := parseAPIPath(inner.URL.Path); !ok || rt.api == "batch" {
			writeError(rec, inner, errNoResource)
		} else {
			s.dispatch(rec, inner, p, rt)
		}
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, idString(it.ID))
	b = append(b, `,"status_code":`...)
	b = appendInt(b, status)
	b = append(b, `,"status_text":`...)
	b = appendJSONString(b, http.StatusText(status))
	b = append(b, `,"headers":[`...)
	if !it.ExcludeResponseHeaders {
		n := 0
		for k, vs := range rec.header {
			for _, v := range vs {
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, `{"name":`...)
				b = appendJSONString(b, k)
				b = append(b, `,"value":`...)
				b = appendJSONString(b, v)
				b = append(b, '}')
			}
		}
	}
	b = append(b, `],"body":`...)
	b = appendJSONString(b, base64.StdEncoding.EncodeToString(rec.body.Bytes()))
	b = append(b, `,"execution_time":`...)
	b = appendInt(b, int(time.Since(start)/time.Millisecond))
	return append(b, '}')
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// innerRequest builds the request of one batch item; nil when it is malformed.
func (s *Server) innerRequest(outer *http.Request, it batchItem) *http.Request {
	if !strings.HasPrefix(it.URL, "/api/now/") {
		return nil
	}
	u, err := url.Parse(it.URL)
	if err != nil {
		return nil
	}
	var body []byte
	if it.Body != "" {
		if body, err = base64.StdEncoding.DecodeString(it.Body); err != nil {
			return nil
		}
	}
	method := strings.ToUpper(it.Method)
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(outer.Context(), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.Host = outer.Host
	req.TLS = outer.TLS
	if proto := outer.Header.Get("X-Forwarded-Proto"); proto != "" {
		req.Header.Set("X-Forwarded-Proto", proto)
	}
	for _, h := range it.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	req.ContentLength = int64(len(body))
	return req
}
