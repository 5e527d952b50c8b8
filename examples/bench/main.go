package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if code, ok := runChild(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// sectionCount is the number of sections; they are numbered from 1.
const sectionCount = 5

// config is what one run measures and how.
type config struct {
	// Scale divides every data size: 1 (or 0) is full scale, 10 is -quick,
	// and the tests use 100 (-quick under the race detector takes minutes).
	Scale int
	// Sections picks sections by number; empty means all.
	Sections []int
	// CPUProfile, when set, receives a CPU profile of this process, and
	// CPUProfile+".load" one of the load child of section 2.
	CPUProfile string
	// Exe is the binary re-executed for the child processes; empty means
	// os.Executable().
	Exe string
	// Progress receives a line per step (nil discards).
	Progress io.Writer
	// Command is the command line shown under the table.
	Command string
}

// scaled returns n divided by the scale.
func (c config) scaled(n int) int { return n / c.div() }

func (c config) div() int { return max(c.Scale, 1) }

// scaleLabel names the scale in the header line.
func (c config) scaleLabel() string {
	switch c.div() {
	case 1:
		return "full scale"
	case 10:
		return "quick (1/10 scale)"
	}
	return fmt.Sprintf("1/%d scale", c.div())
}

func (c config) wants(section int) bool {
	return len(c.Sections) == 0 || slices.Contains(c.Sections, section)
}

func (c config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// Exit codes of runMain.
const (
	exitOK     = 0 // every figure met its target
	exitFailed = 1 // a section could not run
	exitUsage  = 2 // a bad command line
	exitMissed = 3 // it ran, and at least one figure missed its target
)

// runMain parses the command line and runs: exitOK when every figure met
// its target, exitMissed when one missed (the table is still printed),
// exitFailed when a section failed, exitUsage for a bad command line.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "run every section at 1/10 scale (well under a minute; for CI smoke tests)")
	only := fs.String("only", "", "comma-separated section numbers to run, e.g. 1,3 (default: all)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to `FILE` (and of the section 2 load child to FILE.load)")
	out := fs.String("out", "", "also write the machine line, the table and the command to `FILE` (e.g. examples/bench/RESULTS.md)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	sections, err := parseSections(*only)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return exitUsage
	}
	cfg := config{Sections: sections, CPUProfile: *cpuprofile, Progress: stderr, Command: "go run ./examples/bench"}
	if *quick {
		cfg.Scale = 10
		cfg.Command += " -quick"
	}
	if *only != "" {
		cfg.Command += " -only " + *only
	}
	var buf bytes.Buffer
	missed, err := run(ctx, cfg, &buf)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return exitFailed
	}
	_, _ = stdout.Write(buf.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return exitFailed
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(stderr, "bench: %d figure(s) missed their target: %s\n", len(missed), strings.Join(missed, "; "))
		return exitMissed
	}
	return exitOK
}

// parseSections reads the -only list.
func parseSections(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > sectionCount {
			return nil, fmt.Errorf("-only: %q is not a section number (1 to %d)", part, sectionCount)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// section is one part of the benchmark: it measures and returns its rows.
type section struct {
	num   int
	title string
	run   func(ctx context.Context, cfg config) ([]row, error)
}

var sections = []section{
	{1, "Client read path", readPath},
	{2, "Initial load", initialLoad},
	{3, "Idle cycle", idleCycle},
	{4, "Bidirectional churn", churn},
	{5, "Rate limit", rateLimit},
}

// run measures the chosen sections and writes the machine line and the
// table to w; it returns the rows that missed their target ("§ measure").
// A section that fails stops the run: its error says which.
func run(ctx context.Context, cfg config, w io.Writer) (missed []string, err error) {
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this binary to re-execute for the fakes: %w", err)
		}
		cfg.Exe = exe
	}
	stop, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stop()
	m := describeMachine()
	start := time.Now()
	var rows []row
	for _, s := range sections {
		if !cfg.wants(s.num) {
			continue
		}
		cfg.logf("section %d: %s", s.num, s.title)
		t0 := time.Now()
		got, err := s.run(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("section %d (%s): %w", s.num, s.title, err)
		}
		for i := range got {
			got[i].section = s.num
		}
		rows = append(rows, got...)
		cfg.logf("section %d done in %s", s.num, time.Since(t0).Round(100*time.Millisecond))
	}
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	fmt.Fprintf(w, "%s; %s, %s in all.\n\n", m, cfg.scaleLabel(), time.Since(start).Round(time.Second))
	writeTable(w, rows)
	if cfg.Command != "" {
		fmt.Fprintf(w, "\nCommand: `%s`\n", cfg.Command)
	}
	return missedRows(rows), nil
}

// missedRows names the rows that missed their target.
func missedRows(rows []row) []string {
	var out []string
	for _, r := range rows {
		if r.status == statusMiss {
			out = append(out, fmt.Sprintf("§%d %s: %s (target %s)", r.section, r.measure, r.result, r.target))
		}
	}
	return out
}

// startCPUProfile writes a CPU profile to path until stop is called; an
// empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
