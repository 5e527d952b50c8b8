package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/internal/benchdata"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// Section 1 targets.
const (
	readRounds      = 3   // interleaved rounds; the table shows medians
	readRatioTarget = 1.5 // client time within 1.5x of the bare decode
	heapFlatTarget  = 1.5 // live heap at N within 1.5x of the live heap at N/10...
	// ...or grown by less than this per extra record. A live heap of a few
	// hundred KiB (the typed walk's) is mostly the runtime's own, and a
	// ratio of two such numbers is noise; a record kept would cost its
	// decoded size, about 3 KB here, so 10 bytes a record is nothing kept.
	heapFlatBytesPerRecord = 10
	// minGCs is how many collections a walk needs for its live heap to mean
	// something. The sampled HeapAlloc peak is shown too, but it is the
	// highest of more samples (and GC cycles) on the longer walk, so it
	// creeps up with the walk's length even when nothing is retained.
	minGCs = 3
)

// readSource is one fake instance with n incidents, and the page URLs the
// client asked for (which the bare decode fetches).
type readSource struct {
	url       string
	n         int
	client    *servicenow.Client
	typedURLs []string
	rawURLs   []string
	fields    int     // fields of the first record
	wireBytes float64 // bytes a record on the wire
}

// sample is one measured walk over a table.
type sample struct {
	seconds float64
	cpu     float64 // CPU seconds of this process (0 when unknown)
	mallocs uint64
	peak    uint64 // peak heap (HeapAlloc) above the start, bytes
	live    uint64 // peak of what GCs found live, above the start, bytes
	gcs     uint32 // GC cycles during the walk
}

// readVariant is one way of reading every incident.
type readVariant struct {
	name string
	walk func(ctx context.Context, src *readSource) (int, error)
}

func readPath(ctx context.Context, cfg config) ([]row, error) {
	big, small := cfg.scaled(100_000), cfg.scaled(10_000)
	cfg.logf("starting the fakes: %s and %s realistic incidents", count(big), count(small))
	var srcs [2]*readSource
	var children [2]*child
	defer func() {
		for _, c := range children {
			if c != nil {
				_ = c.close()
			}
		}
	}()
	var wg sync.WaitGroup
	var errs [2]error
	for i, n := range []int{big, small} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, urls, err := startFakes(ctx, cfg, fakesSpec{readIncidents: n, cacheReads: true})
			if err != nil {
				errs[i] = err
				return
			}
			children[i] = c
			srcs[i] = &readSource{url: urls.ServiceNow, n: n}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, src := range srcs {
		if err := src.prepare(ctx); err != nil {
			return nil, err
		}
	}

	variants := []readVariant{
		{"typed", walkTyped},
		{"raw", walkRaw},
		{"bare-struct", walkBare(func(b []byte) (int, error) {
			var env struct {
				Result []benchdata.BareIncident `json:"result"`
			}
			err := json.Unmarshal(b, &env)
			return len(env.Result), err
		}, func(s *readSource) []string { return s.typedURLs })},
		{"bare-maps", walkBare(func(b []byte) (int, error) {
			var env struct {
				Result []map[string]any `json:"result"`
			}
			err := json.Unmarshal(b, &env)
			return len(env.Result), err
		}, func(s *readSource) []string { return s.rawURLs })},
	}
	samples := map[string][]sample{}
	smallPeaks := map[string][]sample{}
	for r := range readRounds {
		cfg.logf("read path: round %d of %d", r+1, readRounds)
		for k := range variants {
			v := variants[(k+r)%len(variants)] // rotate: no variant always goes first
			s, err := measureWalk(ctx, v, srcs[0])
			if err != nil {
				return nil, err
			}
			samples[v.name] = append(samples[v.name], s)
		}
		for _, v := range variants[:2] {
			s, err := measureWalk(ctx, v, srcs[1])
			if err != nil {
				return nil, err
			}
			smallPeaks[v.name] = append(smallPeaks[v.name], s)
		}
	}

	med := func(name string, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range samples[name] {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	secs := func(s sample) float64 { return s.seconds }
	ratio := func(client, bare string) float64 {
		var xs []float64
		for i := range samples[client] {
			xs = append(xs, samples[client][i].seconds/samples[bare][i].seconds)
		}
		return median(xs)
	}
	perRec := func(name string) float64 {
		return med(name, func(s sample) float64 { return float64(s.mallocs) }) / float64(big)
	}
	cpuPerRec := func(name string) string {
		c := med(name, func(s sample) float64 { return s.cpu })
		if c == 0 {
			return "?"
		}
		return fmt.Sprintf("%.1f", c/float64(big)*1e6)
	}
	peak := func(name string) float64 { return med(name, func(s sample) float64 { return float64(s.peak) }) }
	smallMed := func(name string, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range smallPeaks[name] {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	peakOf := func(s sample) float64 { return float64(s.peak) }
	liveOf := func(s sample) float64 { return float64(s.live) }

	var rows []row
	n := count(big)
	for _, p := range []struct{ client, bare, label, api, bareLabel string }{
		{"typed", "bare-struct", "typed", "`Incidents().All`", "into a struct with the same fields"},
		{"raw", "bare-maps", "raw", "`Table(\"incident\").All`", "into `[]map[string]any`"},
	} {
		rc := ratio(p.client, p.bare)
		rows = append(rows,
			info(fmt.Sprintf("%s %s over %s incidents: records/s", p.label, p.api, n), perSec(float64(big)/med(p.client, secs))),
			info(fmt.Sprintf("bare `net/http` + `encoding/json` %s: records/s", p.bareLabel), perSec(float64(big)/med(p.bare, secs))),
			check(fmt.Sprintf("%s / bare, time (median of %d interleaved rounds)", p.label, readRounds), fmt.Sprintf("%.2f×", rc),
				fmt.Sprintf("≤ %.1f×", readRatioTarget), rc <= readRatioTarget),
			info(fmt.Sprintf("%s allocations/record (bare)", p.label), fmt.Sprintf("%.1f (%.1f)", perRec(p.client), perRec(p.bare))),
			info(fmt.Sprintf("%s CPU µs/record in this process (bare)", p.label), fmt.Sprintf("%s (%s)", cpuPerRec(p.client), cpuPerRec(p.bare))),
		)
	}
	for _, label := range []string{"typed", "raw"} {
		ps, pb := smallMed(label, peakOf), peak(label)
		ls, lb := smallMed(label, liveOf), med(label, liveOf)
		extra := float64(big - small)
		growth := (lb - ls) / extra
		result := fmt.Sprintf("%s → %s; live %s → %s (%+.1f B per extra record)", mib(ps), mib(pb), mib(ls), mib(lb), growth)
		flat := lb <= heapFlatTarget*ls || growth < heapFlatBytesPerRecord
		if gcs := smallMed(label, func(s sample) float64 { return float64(s.gcs) }); gcs < minGCs {
			// Too few collections in the small walk to know its live heap:
			// compare the sampled peaks instead.
			growth = (pb - ps) / extra
			result += fmt.Sprintf(" (%.0f GCs at %s: peaks compared, %+.1f B per extra record)", gcs, count(small), growth)
			flat = pb <= heapFlatTarget*ps || growth < heapFlatBytesPerRecord
		}
		rows = append(rows, check(fmt.Sprintf("%s peak heap, %s → %s records: HeapAlloc sampled every 2 ms; live heap (what GCs kept)", label, count(small), n),
			result, fmt.Sprintf("flat: live heap at %s ≤ %.1f× at %s, or < %d B more per extra record", n, heapFlatTarget, count(small), heapFlatBytesPerRecord), flat))
	}
	rows = append(rows,
		info("bare peak heap, struct / maps ("+n+" records)", mib(peak("bare-struct"))+" / "+mib(peak("bare-maps"))),
		info("note: where the pages come from", fmt.Sprintf("the fake ServiceNow in another process, %d fields a record, %.1f KB a record on the wire; "+
			"after a warm-up walk a cache in front of it replays its answers, so the timed walks measure the client, not the fake", srcs[0].fields, srcs[0].wireBytes/1e3)))
	return rows, nil
}

// prepare makes the client and walks the table once with each API,
// recording the page URLs they ask for: the bare decode fetches the same.
func (src *readSource) prepare(ctx context.Context) error {
	var err error
	src.client, err = newReadClient(src.url, http.DefaultTransport)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		walk func(context.Context, *readSource) (int, error)
		urls *[]string
	}{{walkTyped, &src.typedURLs}, {walkRaw, &src.rawURLs}} {
		rec := &recordingTransport{next: http.DefaultTransport}
		c, err := newReadClient(src.url, rec)
		if err != nil {
			return err
		}
		got, err := w.walk(ctx, &readSource{client: c})
		if err != nil {
			return err
		}
		if got != src.n {
			return fmt.Errorf("the warm-up walk read %d incidents of %d", got, src.n)
		}
		*w.urls = rec.urls
	}
	// The shape of the data, for the table's note.
	walk := walkBare(func(b []byte) (int, error) {
		var env struct {
			Result []map[string]json.RawMessage `json:"result"`
		}
		err := json.Unmarshal(b, &env)
		if err == nil && len(env.Result) > 0 && src.fields == 0 {
			src.fields = len(env.Result[0])
			src.wireBytes = float64(len(b)) / float64(len(env.Result))
		}
		return len(env.Result), err
	}, func(s *readSource) []string { return s.rawURLs[:1] })
	_, err = walk(ctx, src)
	return err
}

func newReadClient(url string, rt http.RoundTripper) (*servicenow.Client, error) {
	return servicenow.NewClient(url, servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithHTTPClient(&http.Client{Transport: rt}))
}

// recordingTransport notes the URL of every request.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	urls []string
}

// RoundTrip implements http.RoundTripper.
func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.urls = append(t.urls, r.URL.String())
	t.mu.Unlock()
	return t.next.RoundTrip(r)
}

func walkTyped(ctx context.Context, src *readSource) (int, error) {
	n := 0
	for inc, err := range src.client.Incidents().All(ctx, &servicenow.ListOptions{Limit: servicenow.DefaultPageSize}) {
		if err != nil {
			return n, err
		}
		if inc.Number == "" {
			return n, fmt.Errorf("incident %s has no number", inc.SysID)
		}
		n++
	}
	return n, nil
}

func walkRaw(ctx context.Context, src *readSource) (int, error) {
	n := 0
	for rec, err := range src.client.Table("incident").All(ctx, &servicenow.ListOptions{Limit: servicenow.DefaultPageSize}) {
		if err != nil {
			return n, err
		}
		if rec.Get("number") == "" {
			return n, fmt.Errorf("incident %s has no number", rec.SysID())
		}
		n++
	}
	return n, nil
}

// walkBare fetches the given pages with net/http and decodes each body.
func walkBare(decode func([]byte) (int, error), urls func(*readSource) []string) func(context.Context, *readSource) (int, error) {
	return func(ctx context.Context, src *readSource) (int, error) {
		n := 0
		for _, u := range urls(src) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return n, err
			}
			req.SetBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return n, err
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return n, err
			}
			if resp.StatusCode != http.StatusOK {
				return n, fmt.Errorf("GET %s: %s", u, resp.Status)
			}
			got, err := decode(body)
			if err != nil {
				return n, err
			}
			n += got
		}
		return n, nil
	}
}

// measureWalk runs one walk over src and measures it.
func measureWalk(ctx context.Context, v readVariant, src *readSource) (sample, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := samplePeaks(heapObjects, heapLive)
	cpu0 := cpuSeconds()
	t0 := time.Now()
	got, err := v.walk(ctx, src)
	el := time.Since(t0)
	cpu1 := cpuSeconds()
	peaks, bases := stop()
	runtime.ReadMemStats(&after)
	if err != nil {
		return sample{}, fmt.Errorf("%s walk: %w", v.name, err)
	}
	if got != src.n {
		return sample{}, fmt.Errorf("%s walk read %d incidents of %d", v.name, got, src.n)
	}
	return sample{seconds: el.Seconds(), cpu: cpu1 - cpu0, mallocs: after.Mallocs - before.Mallocs,
		peak: peaks[0] - bases[0], live: peaks[1] - bases[1], gcs: after.NumGC - before.NumGC}, nil
}

// Runtime metrics sampled for peaks; reading them does not stop the world.
const (
	heapObjects  = "/memory/classes/heap/objects:bytes" // MemStats.HeapAlloc: live objects and garbage not yet swept
	heapLive     = "/gc/heap/live:bytes"                // what the last GC found live
	runtimeTotal = "/memory/classes/total:bytes"        // all memory the Go runtime mapped
)

// samplePeaks samples runtime/metrics values every 2 ms until the returned
// function is called; that returns each one's peak and its value at the
// start.
func samplePeaks(names ...string) (stop func() (peaks, bases []uint64)) {
	s := make([]metrics.Sample, len(names))
	for i, name := range names {
		s[i].Name = name
	}
	read := func(into []uint64) {
		metrics.Read(s)
		for i := range s {
			if s[i].Value.Kind() == metrics.KindUint64 {
				into[i] = max(into[i], s[i].Value.Uint64())
			}
		}
	}
	bases := make([]uint64, len(names))
	read(bases)
	peaks := slices.Clone(bases)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read(peaks)
			}
		}
	}()
	return func() ([]uint64, []uint64) {
		close(done)
		wg.Wait()
		read(peaks)
		return peaks, bases
	}
}
