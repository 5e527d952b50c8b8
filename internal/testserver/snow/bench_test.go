package snow

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchFake holds n incidents, ten per second of sys_updated_on.
func benchFake(b *testing.B, n int) *Server {
	b.Helper()
	s, _ := newFake(b, WithOrdering(OrderShuffled))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 10000
	for start := 0; start < n; start += chunk {
		rows := make([]map[string]string, 0, chunk)
		for i := start; i < start+chunk && i < n; i++ {
			rows = append(rows, map[string]string{
				"short_description": fmt.Sprintf("benchmark incident %d", i),
				"impact":            "2", "urgency": "2", "caller_id": AdminSysID,
				"sys_updated_on": fmtTime(base.Add(time.Duration(i/10) * time.Second)),
			})
		}
		_, err := s.SeedStrings("incident", rows...)
		require.NoError(b, err)
	}
	return s
}

// fetch GETs path and discards the body, returning its size.
func fetch(b *testing.B, c *http.Client, path string) int64 {
	req, _ := http.NewRequest("GET", testOrigin+path, nil)
	req.SetBasicAuth("admin", "admin")
	res, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("status %d err %v", res.StatusCode, err)
	}
	return n
}

// BenchmarkKeysetWalk100k reads 100,000 incidents in pages of 1,000 with a
// (sys_updated_on, sys_id) keyset cursor, the way a sync walks a table.
func BenchmarkKeysetWalk100k(b *testing.B) {
	for _, fields := range []string{"sys_id,number,sys_updated_on,short_description,state,priority,caller_id", ""} {
		name := "narrow"
		if fields == "" {
			name = "full-records"
		}
		b.Run(name, func(b *testing.B) {
			s := benchFake(b, 100000)
			c := &http.Client{Transport: s.Transport()}
			b.ResetTimer()
			var bytes int64
			for i := 0; i < b.N; i++ {
				lastT, lastID, rows := "2000-01-01 00:00:00", "", 0
				for {
					q := "sys_updated_on>" + lastT + "^ORDERBYsys_updated_on^ORDERBYsys_id"
					if lastID != "" {
						q = "sys_updated_on>" + lastT + "^NQsys_updated_on=" + lastT + "^sys_id>" + lastID + "^ORDERBYsys_updated_on^ORDERBYsys_id"
					}
					p := "/api/now/table/incident?sysparm_limit=1000&sysparm_query=" + url.QueryEscape(q)
					if fields != "" {
						p += "&sysparm_fields=" + fields
					}
					bytes += fetch(b, c, p)
					// The last row of the page is the cursor; read it from the store
					// so that the benchmark measures the server, not JSON decoding.
					rows += 1000
					if rows >= 100000 {
						break
					}
					lastT, lastID = cursorAt(s, rows-1)
				}
			}
			b.ReportMetric(float64(bytes)/float64(b.N)/1e6, "MB/walk")
		})
	}
}

// cursorAt returns the (sys_updated_on, sys_id) of the row at position i
// in (sys_updated_on, sys_id) order.
func cursorAt(s *Server, i int) (string, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.schema.tables["incident"]
	cq, _ := compileQuery("ORDERBYsys_updated_on^ORDERBYsys_id", queryEnv{s: s, t: t})
	r := s.sorted(t, cq).rows[i]
	return r.get("sys_updated_on"), r.id()
}

// BenchmarkOffsetWalk100k reads 100,000 incidents in pages of 1,000 by
// offset, ordered by number.
func BenchmarkOffsetWalk100k(b *testing.B) {
	s := benchFake(b, 100000)
	c := &http.Client{Transport: s.Transport()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := 0; off < 100000; off += 1000 {
			fetch(b, c, "/api/now/table/incident?sysparm_limit=1000&sysparm_fields=sys_id,number,sys_updated_on&sysparm_query=ORDERBYnumber&sysparm_offset="+fmt.Sprint(off))
		}
	}
}

// BenchmarkHold200k measures the memory 200,000 incidents take.
func BenchmarkHold200k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := benchFake(b, 200000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB-heap")
		runtime.KeepAlive(s)
	}
}
