package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/benchdata"
)

// benchServer serves a table of total incidents in pages of pageSize with
// X-Total-Count. Every page has the same bytes (precomputed once), so the
// server costs almost nothing and holds little memory: the benchmark
// measures the client.
type benchServer struct {
	page     []byte
	pageSize int
	total    int
}

func newBenchServer(total, pageSize int) *benchServer {
	recs := make([]map[string]any, pageSize)
	for i := range recs {
		recs[i] = benchdata.Incident(i)
	}
	b, _ := json.Marshal(map[string]any{"result": recs})
	return &benchServer{page: b, pageSize: pageSize, total: total}
}

func (s *benchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	off, _ := strconv.Atoi(r.URL.Query().Get("sysparm_offset"))
	body := s.page
	if off >= s.total {
		body = []byte(`{"result":[]}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-Total-Count", strconv.Itoa(s.total))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

var benchOnce sync.Once
var benchSrv *benchServer

// benchmarkN is the table size of the read-path benchmarks.
const benchmarkN = 100_000

func startBench(b *testing.B) *httptest.Server {
	benchOnce.Do(func() { benchSrv = newBenchServer(benchmarkN, DefaultPageSize) })
	srv := httptest.NewServer(benchSrv)
	b.Cleanup(srv.Close)
	return srv
}

func reportPerRecord(b *testing.B, n int, peak uint64) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/record")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// heapPeak samples the live heap every few milliseconds while fn runs and
// returns its peak above the heap in use before fn started.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak - base
}

// BenchmarkReadPath lists 100,000 incidents over loopback: through All
// (typed and raw) and with a bare net/http + encoding/json decode of the same
// pages, side by side.
func BenchmarkReadPath(b *testing.B) {
	srv := startBench(b)
	c, err := NewClient(srv.URL, WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("All-typed", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() {
				n := 0
				for inc, err := range c.Incidents().All(ctx, &ListOptions{Limit: DefaultPageSize}) {
					if err != nil {
						b.Fatal(err)
					}
					if inc.Number == "" {
						b.Fatal("empty record")
					}
					n++
				}
				if n != benchmarkN {
					b.Fatalf("got %d records", n)
				}
			}))
		}
		reportPerRecord(b, benchmarkN, peak)
	})
	b.Run("All-raw", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() {
				n := 0
				for rec, err := range c.Table("incident").All(ctx, &ListOptions{Limit: DefaultPageSize}) {
					if err != nil {
						b.Fatal(err)
					}
					if rec.Get("number") == "" {
						b.Fatal("empty record")
					}
					n++
				}
				if n != benchmarkN {
					b.Fatalf("got %d records", n)
				}
			}))
		}
		reportPerRecord(b, benchmarkN, peak)
	})
	bare := func(b *testing.B, decode func([]byte) (int, error)) {
		b.ReportAllocs()
		hc := srv.Client()
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() {
				n := 0
				for off := 0; off < benchmarkN; off += DefaultPageSize {
					resp, err := hc.Get(srv.URL + "/api/now/v2/table/incident?sysparm_limit=1000&sysparm_offset=" + strconv.Itoa(off))
					if err != nil {
						b.Fatal(err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						b.Fatal(err)
					}
					got, err := decode(body)
					if err != nil {
						b.Fatal(err)
					}
					n += got
				}
				if n != benchmarkN {
					b.Fatalf("got %d records", n)
				}
			}))
		}
		reportPerRecord(b, benchmarkN, peak)
	}
	b.Run("bare-json-struct", func(b *testing.B) {
		bare(b, func(body []byte) (int, error) {
			var env struct {
				Result []benchdata.BareIncident `json:"result"`
			}
			err := json.Unmarshal(body, &env)
			return len(env.Result), err
		})
	})
	b.Run("bare-json-maps", func(b *testing.B) {
		bare(b, func(body []byte) (int, error) {
			var env struct {
				Result []map[string]any `json:"result"`
			}
			err := json.NewDecoder(bytes.NewReader(body)).Decode(&env)
			return len(env.Result), err
		})
	})
}
