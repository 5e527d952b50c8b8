package sf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// BenchmarkBulkUpsertAndList loads 100,000 CIs in bulk upserts of 500 and
// lists them back in pages of 1,000, over real HTTP, as a sync client would:
// the fake must not be what a client benchmark measures.
func BenchmarkBulkUpsertAndList(b *testing.B) {
	const total, batch, pageSize = 100_000, 500, 1000
	bodies := make([][]byte, 0, total/batch)
	for start := 0; start < total; start += batch {
		recs := make([]map[string]any, batch)
		for i := range recs {
			n := start + i
			recs[i] = map[string]any{
				"source": "servicenow", "external_id": fmt.Sprintf("%032x", n), "name": fmt.Sprintf("server-%06d", n),
				"class": "cmdb_ci_linux_server", "operational_status": "operational", "install_status": "installed",
				"ip_address": fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), "fqdn": fmt.Sprintf("server-%06d.example.com", n),
				"serial_number": fmt.Sprintf("SN%08d", n), "manufacturer": "Dell Inc.", "model": "PowerEdge R650",
				"location": "Frankfurt DC1", "environment": "production", "attributes": map[string]any{"u_rack": n % 40},
			}
		}
		body, err := json.Marshal(map[string]any{"records": recs})
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	var upsert, list time.Duration
	for b.Loop() {
		srv, err := New(WithToken("t", "bench", RoleAgent))
		if err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		client := ts.Client()
		base := ts.URL + srv.BasePath()
		do := func(method, path string, body []byte) []byte {
			req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer t")
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%s %s: %d %v %.200s", method, path, resp.StatusCode, err, data)
			}
			return data
		}
		start := time.Now()
		for _, body := range bodies {
			do(http.MethodPost, "/cmdb/cis/bulk-upsert", body)
		}
		upsert += time.Since(start)
		start = time.Now()
		seen, cursor := 0, ""
		for {
			path := fmt.Sprintf("/cmdb/cis?limit=%d", pageSize)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var page struct {
				Data       []json.RawMessage `json:"data"`
				NextCursor *string           `json:"next_cursor"`
				HasMore    bool              `json:"has_more"`
			}
			if err := json.Unmarshal(do(http.MethodGet, path, nil), &page); err != nil {
				b.Fatal(err)
			}
			seen += len(page.Data)
			if !page.HasMore {
				break
			}
			cursor = *page.NextCursor
		}
		list += time.Since(start)
		if seen != total {
			b.Fatalf("listed %d CIs, want %d", seen, total)
		}
		ts.Close()
		srv.Close()
	}
	b.ReportMetric(upsert.Seconds()/float64(b.N), "upsert-s/op")
	b.ReportMetric(list.Seconds()/float64(b.N), "list-s/op")
}
