package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/internal/benchdata"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// Hidden first arguments that turn this binary into one of its children.
const (
	modeServeFakes  = "-serve-fakes"
	modeMeasureLoad = "-measure-load"
)

// runChild runs the child named by args[0], if it names one, and returns
// its exit code and true; otherwise false. main and TestMain call it first.
func runChild(args []string) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	var err error
	switch args[0] {
	case modeServeFakes:
		err = serveFakes(args[1:], os.Stdin, os.Stdout)
	case modeMeasureLoad:
		err = measureLoad(args[1:], os.Stdin, os.Stdout)
	default:
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", args[0], err)
		return 1, true
	}
	return 0, true
}

// wallClock is the wall clock in UTC, for fakes that follow real time.
type wallClock struct{}

// Now returns the current time in UTC.
func (wallClock) Now() time.Time { return time.Now().UTC() }

// fakesInfo is the line the -serve-fakes child prints once its fakes are
// up and seeded.
type fakesInfo struct {
	ServiceNow  string  `json:"servicenow"`
	StackFlow   string  `json:"stackflow"`
	SeedSeconds float64 `json:"seed_seconds"`
}

// fakesSpec says what the -serve-fakes child seeds.
type fakesSpec struct {
	readIncidents int  // realistic incidents for the read path
	cis           int  // cmdb_ci_linux_server rows, updated a day ago
	rels          int  // cmdb_rel_ci rows between them, updated a day ago
	cacheReads    bool // serve repeated GETs from a cache (see pageCache)
}

func (s fakesSpec) args() []string {
	return []string{"-read-incidents", fmt.Sprint(s.readIncidents), "-cis", fmt.Sprint(s.cis), "-rels", fmt.Sprint(s.rels),
		"-cache-reads=" + fmt.Sprint(s.cacheReads)}
}

// serveFakes starts a fake ServiceNow and a fake StackFlow on the wall
// clock, seeds them, prints their URLs as one JSON line on stdout and serves
// until stdin closes. The fakes' request logs are emptied every second:
// nothing reads them here, and a load's bodies would pile up.
func serveFakes(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet(modeServeFakes, flag.ContinueOnError)
	var spec fakesSpec
	fs.IntVar(&spec.readIncidents, "read-incidents", 0, "realistic incidents to seed")
	fs.IntVar(&spec.cis, "cis", 0, "cmdb_ci_linux_server rows to seed")
	fs.IntVar(&spec.rels, "rels", 0, "cmdb_rel_ci rows to seed")
	fs.BoolVar(&spec.cacheReads, "cache-reads", false, "answer repeated ServiceNow GETs from a cache")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spec.rels > 0 && spec.cis == 0 {
		return errors.New("-rels needs -cis: relationships link seeded CIs")
	}
	sn, err := servicenowtest.Start(servicenowtest.WithClock(wallClock{}), servicenowtest.WithSeed(1))
	if err != nil {
		return err
	}
	defer sn.Close()
	sf, err := stackflowtest.Start(stackflowtest.WithClock(wallClock{}), stackflowtest.WithRateLimit(1<<30, time.Minute))
	if err != nil {
		return err
	}
	defer sf.Close()

	start := time.Now()
	dayAgo := time.Now().Add(-24 * time.Hour)
	if _, err := seedRows(sn, "incident", spec.readIncidents, benchdata.Incident); err != nil {
		return err
	}
	ciIDs, err := seedRows(sn, "cmdb_ci_linux_server", spec.cis, func(i int) map[string]any { return linuxServer(i, dayAgo) })
	if err != nil {
		return err
	}
	if _, err := seedRows(sn, "cmdb_rel_ci", spec.rels, func(i int) map[string]any { return relationship(i, ciIDs, dayAgo) }); err != nil {
		return err
	}
	sn.ResetRequests()
	info := fakesInfo{ServiceNow: sn.URL(), StackFlow: sf.BaseURL(), SeedSeconds: time.Since(start).Seconds()}
	if spec.cacheReads {
		srv, err := serveCached(sn.Handler())
		if err != nil {
			return err
		}
		defer srv.Close()
		info.ServiceNow = "http://" + srv.Addr
	}
	line, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return err
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sn.ResetRequests()
				sf.ResetRequests()
			}
		}
	}()
	_, err = io.Copy(io.Discard, stdin) // until the parent closes it (or dies)
	close(done)
	wg.Wait()
	return err
}

// pageCache answers a GET it has answered before with the same status,
// headers and body, and passes everything else to the fake. The read path
// reads an unchanging table many times: after the warm-up walk, the timed
// walks measure the client, not the fake rendering JSON on the same cores.
type pageCache struct {
	next  http.Handler
	mu    sync.RWMutex
	pages map[string]*cachedPage
}

type cachedPage struct {
	status int
	header http.Header
	body   []byte
}

// ServeHTTP implements http.Handler.
func (c *pageCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.next.ServeHTTP(w, r)
		return
	}
	key := r.URL.RequestURI() + "\x00" + r.Header.Get("Authorization") + "\x00" + r.Header.Get("Accept")
	c.mu.RLock()
	p := c.pages[key]
	c.mu.RUnlock()
	if p == nil {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		c.next.ServeHTTP(rec, r)
		p = &cachedPage{status: rec.status, header: rec.header, body: rec.body}
		if p.status == http.StatusOK {
			c.mu.Lock()
			c.pages[key] = p
			c.mu.Unlock()
		}
	}
	for k, v := range p.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(p.body)))
	w.WriteHeader(p.status)
	_, _ = w.Write(p.body)
}

// recorder is an http.ResponseWriter that keeps the answer.
type recorder struct {
	header http.Header
	status int
	body   []byte
	wrote  bool
}

// Header implements http.ResponseWriter.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter.
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

// Write implements http.ResponseWriter.
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body = append(r.body, b...)
	return len(b), nil
}

// cachedServer is the listener and server of a pageCache.
type cachedServer struct {
	Addr string
	srv  *http.Server
	done chan error
}

// Close stops the server.
func (s *cachedServer) Close() {
	_ = s.srv.Close()
	<-s.done
}

// serveCached serves h behind a pageCache on a loopback port.
func serveCached(h http.Handler) (*cachedServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &cachedServer{Addr: l.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: &pageCache{next: h, pages: map[string]*cachedPage{}}, ReadHeaderTimeout: 10 * time.Second}}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// child is a running child process of this binary.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tailBuffer
	waited chan struct{}
	err    error // Wait's result, once waited is closed
}

// startChild re-executes the binary in mode. The child's stdin stays open
// until close: a child that sees it close exits, so it never outlives us.
func startChild(ctx context.Context, cfg config, mode string, args ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, cfg.Exe, append([]string{mode}, args...)...)
	setDeathSignal(cmd)
	c := &child{cmd: cmd, stderr: &tailBuffer{max: 8 << 10}, waited: make(chan struct{})}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s %s: %w", cfg.Exe, mode, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.waited)
	}()
	return c, nil
}

// readJSON reads the child's next stdout line into v.
func (c *child) readJSON(v any) error {
	line, err := c.stdout.ReadBytes('\n')
	if err != nil {
		<-c.waited
		return fmt.Errorf("the %s child ended without its result (%v): %s", c.cmd.Args[1], c.err, c.stderr.String())
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("the %s child printed %q: %w", c.cmd.Args[1], strings.TrimSpace(string(line)), err)
	}
	return nil
}

// close closes the child's stdin and waits for it to exit (killing it
// after 10 s).
func (c *child) close() error {
	_ = c.stdin.Close()
	select {
	case <-c.waited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.waited
	}
	if c.err != nil {
		return fmt.Errorf("the %s child: %v: %s", c.cmd.Args[1], c.err, c.stderr.String())
	}
	return nil
}

// startFakes starts a -serve-fakes child and waits until it is seeded.
func startFakes(ctx context.Context, cfg config, spec fakesSpec) (*child, fakesInfo, error) {
	var info fakesInfo
	c, err := startChild(ctx, cfg, modeServeFakes, spec.args()...)
	if err != nil {
		return nil, info, err
	}
	if err := c.readJSON(&info); err != nil {
		_ = c.close()
		return nil, info, err
	}
	return c, info, nil
}

// tailBuffer keeps the last max bytes written to it (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String returns what the buffer holds, trimmed.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
