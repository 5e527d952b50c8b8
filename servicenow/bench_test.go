package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchIncident renders one realistic incident (about 60 fields, in the
// shape of a live v2 list answer) as JSON.
func benchIncident(i int) map[string]any {
	ref := func(table string, n int) map[string]string {
		id := fmt.Sprintf("%032x", n)
		return map[string]string{"link": "https://acme.service-now.com/api/now/v2/table/" + table + "/" + id, "value": id}
	}
	ts := fmt.Sprintf("2026-03-%02d %02d:%02d:%02d", 1+i%28, i%24, i%60, (i*7)%60)
	r := map[string]any{
		"sys_id": fmt.Sprintf("%032x", 1<<40+i), "number": fmt.Sprintf("INC%07d", i), "sys_updated_on": ts, "sys_created_on": ts,
		"sys_updated_by": "svc.stackflow", "sys_created_by": "admin", "sys_mod_count": strconv.Itoa(i % 17), "sys_class_name": "incident",
		"sys_domain": ref("sys_user_group", 0), "sys_domain_path": "/", "sys_tags": "",
		"short_description": "Email server unreachable from site " + strconv.Itoa(i%40), "description": "Users report that Outlook cannot connect.\nTicket opened by the service desk.",
		"state": strconv.Itoa([]int{1, 2, 3, 6, 7}[i%5]), "incident_state": "2", "impact": strconv.Itoa(1 + i%3), "urgency": strconv.Itoa(1 + (i/3)%3), "priority": "3", "severity": "3",
		"active": "true", "category": "network", "subcategory": "email", "contact_type": "phone", "hold_reason": "",
		"caller_id": ref("sys_user", i%500), "opened_by": ref("sys_user", 7), "assignment_group": ref("sys_user_group", i%20), "assigned_to": ref("sys_user", i%80),
		"cmdb_ci": ref("cmdb_ci", i%1000), "business_service": "", "company": "", "location": ref("cmn_location", i%30), "problem_id": "", "parent_incident": "", "parent": "",
		"opened_at": ts, "resolved_at": "", "closed_at": "", "resolved_by": "", "closed_by": "", "due_date": "", "sla_due": "",
		"close_code": "", "close_notes": "", "correlation_id": "", "correlation_display": "", "comments": "", "work_notes": "", "watch_list": "",
		"reassignment_count": strconv.Itoa(i % 4), "reopen_count": "0", "made_sla": "true", "knowledge": "false", "upon_reject": "cancel", "upon_approval": "proceed",
		"calendar_stc": "", "business_stc": "", "calendar_duration": "", "business_duration": "", "approval": "not requested", "approval_set": "",
		"escalation": "0", "notify": "1", "order": "", "expected_start": "", "work_start": "", "work_end": "", "time_worked": "", "user_input": "",
		"additional_assignee_list": "", "group_list": "", "work_notes_list": "", "u_customer_tier": "gold",
	}
	return r
}

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
		recs[i] = benchIncident(i)
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
	// bareIncident holds the same fields as Incident, with plain strings
	// for scalars and raw JSON for references (which may be "" or an object).
	type bareIncident struct {
		SysID              string          `json:"sys_id"`
		SysClassName       string          `json:"sys_class_name"`
		SysCreatedOn       string          `json:"sys_created_on"`
		SysCreatedBy       string          `json:"sys_created_by"`
		SysUpdatedOn       string          `json:"sys_updated_on"`
		SysUpdatedBy       string          `json:"sys_updated_by"`
		SysModCount        string          `json:"sys_mod_count"`
		SysTags            string          `json:"sys_tags"`
		SysDomain          json.RawMessage `json:"sys_domain"`
		Number             string          `json:"number"`
		ShortDescription   string          `json:"short_description"`
		Description        string          `json:"description"`
		State              string          `json:"state"`
		Impact             string          `json:"impact"`
		Urgency            string          `json:"urgency"`
		Priority           string          `json:"priority"`
		Active             string          `json:"active"`
		Approval           string          `json:"approval"`
		AssignmentGroup    json.RawMessage `json:"assignment_group"`
		AssignedTo         json.RawMessage `json:"assigned_to"`
		OpenedBy           json.RawMessage `json:"opened_by"`
		OpenedAt           string          `json:"opened_at"`
		ClosedBy           json.RawMessage `json:"closed_by"`
		ClosedAt           string          `json:"closed_at"`
		DueDate            string          `json:"due_date"`
		CmdbCI             json.RawMessage `json:"cmdb_ci"`
		Company            json.RawMessage `json:"company"`
		Location           json.RawMessage `json:"location"`
		Parent             json.RawMessage `json:"parent"`
		CorrelationID      string          `json:"correlation_id"`
		CorrelationDisplay string          `json:"correlation_display"`
		ContactType        string          `json:"contact_type"`
		Comments           string          `json:"comments"`
		WorkNotes          string          `json:"work_notes"`
		CallerID           json.RawMessage `json:"caller_id"`
		Category           string          `json:"category"`
		Subcategory        string          `json:"subcategory"`
		IncidentState      string          `json:"incident_state"`
		Severity           string          `json:"severity"`
		HoldReason         string          `json:"hold_reason"`
		ResolvedAt         string          `json:"resolved_at"`
		ResolvedBy         json.RawMessage `json:"resolved_by"`
		CloseCode          string          `json:"close_code"`
		CloseNotes         string          `json:"close_notes"`
		ProblemID          json.RawMessage `json:"problem_id"`
		ParentIncident     json.RawMessage `json:"parent_incident"`
		BusinessService    json.RawMessage `json:"business_service"`
		ReassignmentCount  string          `json:"reassignment_count"`
		ReopenCount        string          `json:"reopen_count"`
	}
	b.Run("bare-json-struct", func(b *testing.B) {
		bare(b, func(body []byte) (int, error) {
			var env struct {
				Result []bareIncident `json:"result"`
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
