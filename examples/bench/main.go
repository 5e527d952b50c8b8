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

// runMain parses the command line and runs: 0 when it ran (whatever the
// targets say), 1 when a section failed, 2 for a bad command line.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "run every section at 1/10 scale (well under a minute; for CI smoke tests)")
	only := fs.String("only", "", "comma-separated section numbers to run, e.g. 1,3 (default: all)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to `FILE` (and of the section 2 load child to FILE.load)")
	out := fs.String("out", "", "also write the machine line, the table and the command to `FILE` (e.g. examples/bench/RESULTS.md)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	sections, err := parseSections(*only)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
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
	if err := run(ctx, cfg, &buf); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	_, _ = stdout.Write(buf.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	return 0
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
// table to w. A section that fails stops the run: its error says which.
func run(ctx context.Context, cfg config, w io.Writer) error {
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this binary to re-execute for the fakes: %w", err)
		}
		cfg.Exe = exe
	}
	stop, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return err
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
			return fmt.Errorf("section %d (%s): %w", s.num, s.title, err)
		}
		for i := range got {
			got[i].section = s.num
		}
		rows = append(rows, got...)
		cfg.logf("section %d done in %s", s.num, time.Since(t0).Round(100*time.Millisecond))
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	fmt.Fprintf(w, "%s; %s, %s in all.\n\n", m, cfg.scaleLabel(), time.Since(start).Round(time.Second))
	writeTable(w, rows)
	if cfg.Command != "" {
		fmt.Fprintf(w, "\nCommand: `%s`\n", cfg.Command)
	}
	return nil
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
