package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

// Section 2 targets.
const (
	loadRateTarget  = 10_000 // records/s on 2 cores
	loadCallsTarget = 0.005  // API calls per record, each side
	loadRSSTarget   = 200e6  // bytes of peak RSS
)

// loadResult is what the -measure-load child prints.
type loadResult struct {
	CISeconds  float64 `json:"ci_seconds"`
	RelSeconds float64 `json:"rel_seconds"`
	CreatedCI  int     `json:"created_ci"`
	CreatedRel int     `json:"created_rel"`
	CallsSN    int64   `json:"calls_servicenow"`
	CallsSF    int64   `json:"calls_stackflow"`
	PeakRSS    int64   `json:"peak_rss_bytes"` // VmHWM; 0 when /proc has none
	// Where the memory went: Go's heap and all Go-mapped memory at their
	// peaks, and the file-backed part of RSS at the end (bbolt's mmap).
	PeakHeap    uint64   `json:"peak_heap_bytes"`
	PeakRuntime uint64   `json:"peak_runtime_bytes"`
	RSSFile     int64    `json:"rss_file_bytes"`
	StoreBytes  int64    `json:"store_bytes"`
	Problems    []string `json:"problems,omitempty"`
}

func initialLoad(ctx context.Context, cfg config) ([]row, error) {
	nCI, nRel := cfg.scaled(100_000), cfg.scaled(150_000)
	cfg.logf("starting the fakes: %s CIs, %s relationships", count(nCI), count(nRel))
	fakes, urls, err := startFakes(ctx, cfg, fakesSpec{cis: nCI, rels: nRel})
	if err != nil {
		return nil, err
	}
	defer func() { _ = fakes.close() }()
	cfg.logf("seeded in %.1f s; loading in a child process", urls.SeedSeconds)
	dir, err := os.MkdirTemp("", "snowsync-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-servicenow", urls.ServiceNow, "-stackflow", urls.StackFlow, "-store", filepath.Join(dir, "state.db"),
		"-cis", strconv.Itoa(nCI), "-rels", strconv.Itoa(nRel)}
	if cfg.CPUProfile != "" {
		args = append(args, "-cpuprofile", cfg.CPUProfile+".load")
	}
	c, err := startChild(ctx, cfg, modeMeasureLoad, args...)
	if err != nil {
		return nil, err
	}
	var res loadResult
	err = c.readJSON(&res)
	if cerr := c.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return nil, fmt.Errorf("the load did not sync everything: %s", strings.Join(res.Problems, "; "))
	}

	n := float64(nCI + nRel)
	secs := res.CISeconds + res.RelSeconds
	recPerSec := n / secs
	snPer, sfPer := float64(res.CallsSN)/n, float64(res.CallsSF)/n
	rows := []row{
		check(fmt.Sprintf("records/s, %s CIs + %s relationships, bbolt store", count(nCI), count(nRel)),
			fmt.Sprintf("%s (CIs %s/s, relationships %s/s; %.1f s)", perSec(recPerSec), perSec(float64(nCI)/res.CISeconds), perSec(float64(nRel)/res.RelSeconds), secs),
			"≥ "+count(loadRateTarget), recPerSec >= loadRateTarget),
		check("ServiceNow API calls/record", fmt.Sprintf("%.4f (%s calls)", snPer, thousands(res.CallsSN)), fmt.Sprintf("≤ %g", loadCallsTarget), snPer <= loadCallsTarget),
		check("StackFlow API calls/record", fmt.Sprintf("%.4f (%s calls)", sfPer, thousands(res.CallsSF)), fmt.Sprintf("≤ %g", loadCallsTarget), sfPer <= loadCallsTarget),
	}
	if res.PeakRSS > 0 {
		rows = append(rows, check("peak RSS of the syncer process (VmHWM; fakes in another process)",
			fmt.Sprintf("%s (Go heap peak %s, all Go memory peak %s; file-backed RSS at the end, bbolt's mmap: %s)",
				mb(float64(res.PeakRSS)), mb(float64(res.PeakHeap)), mb(float64(res.PeakRuntime)), mb(float64(res.RSSFile))),
			fmt.Sprintf("< %s", mb(loadRSSTarget)), float64(res.PeakRSS) < loadRSSTarget))
	} else {
		rows = append(rows, row{measure: "peak RSS of the syncer process", result: "not measured (no /proc/self/status)",
			target: "< " + mb(loadRSSTarget), status: statusMiss})
	}
	rows = append(rows, info("bbolt store on disk after the load", mb(float64(res.StoreBytes))))
	return rows, nil
}

// measureLoad is the -measure-load child: it syncs the CMDB from the fakes
// once, with a bbolt store, and prints a loadResult. It stops when its
// stdin closes (the parent is gone).
func measureLoad(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet(modeMeasureLoad, flag.ContinueOnError)
	snURL := fs.String("servicenow", "", "fake ServiceNow URL")
	sfURL := fs.String("stackflow", "", "fake StackFlow base URL")
	path := fs.String("store", "", "bbolt file to create")
	nCI := fs.Int("cis", 0, "CIs the fake holds")
	nRel := fs.Int("rels", 0, "relationships the fake holds")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the load to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *snURL == "" || *sfURL == "" || *path == "" {
		return errors.New("-servicenow, -stackflow and -store are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()

	sn, err := servicenow.NewClient(*snURL, servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	if err != nil {
		return err
	}
	sf, err := stackflow.NewClient(*sfURL, stackflow.WithToken(stackflowtest.DefaultToken))
	if err != nil {
		return err
	}
	store, err := boltstore.Open(*path)
	if err != nil {
		return err
	}
	storeClosed := false
	defer func() {
		if !storeClosed {
			_ = store.Close()
		}
	}()
	s, err := syncer.New(syncer.Config{
		ServiceNow: sn, StackFlow: sf, Store: store, ReplicaID: "bench-load",
		Tables: []syncer.TableConfig{{Table: "cmdb_ci", Enabled: true}, {Table: "cmdb_rel_ci", Enabled: true}},
	})
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(*profile)
	if err != nil {
		return err
	}
	defer stop()

	runtime.GC()
	var res loadResult
	stopPeaks := samplePeaks(heapObjects, runtimeTotal)
	for _, t := range []struct {
		table   string
		want    int
		secs    *float64
		created *int
	}{{"cmdb_ci", *nCI, &res.CISeconds, &res.CreatedCI}, {"cmdb_rel_ci", *nRel, &res.RelSeconds, &res.CreatedRel}} {
		t0 := time.Now()
		rep, err := s.SyncOnce(ctx, t.table)
		*t.secs = time.Since(t0).Seconds()
		if err != nil {
			return fmt.Errorf("%s: %w", t.table, err)
		}
		*t.created = rep.ToStackFlow.Created
		res.CallsSN += rep.CallsServiceNow
		res.CallsSF += rep.CallsStackFlow
		if rep.ToStackFlow.Created != t.want {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: created %d of %d (%s)", t.table, rep.ToStackFlow.Created, t.want, rep.ToStackFlow))
		}
		res.Problems = append(res.Problems, rep.Errors...)
	}
	peaks, _ := stopPeaks()
	res.PeakHeap, res.PeakRuntime = peaks[0], peaks[1]
	status := procStatus()
	res.PeakRSS, res.RSSFile = status["VmHWM"], status["RssFile"]
	if err := store.Close(); err != nil {
		return err
	}
	storeClosed = true
	if st, err := os.Stat(*path); err == nil {
		res.StoreBytes = st.Size()
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", line)
	return err
}

// procStatus returns the memory figures of /proc/self/status ("VmHWM",
// "RssFile", ...) in bytes; nothing where there is no /proc.
func procStatus() map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, v, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v) // "123456 kB"
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			out[key] = kb << 10
		}
	}
	return out
}
