package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The benchmark re-executes its binary for the fakes and the load; under
	// go test that binary is the test binary.
	if code, ok := runChild(os.Args[1:]); ok {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// tableRow is one parsed line of the table.
type tableRow struct {
	section                        int
	measure, result, target, state string
}

// parseTable reads the Markdown table the program printed.
func parseTable(t *testing.T, out string) []tableRow {
	t.Helper()
	var rows []tableRow
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| § ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		require.Len(t, cells, 5, "table line %q", line)
		n, err := strconv.Atoi(strings.TrimSpace(cells[0]))
		require.NoError(t, err, "section of %q", line)
		rows = append(rows, tableRow{section: n, measure: strings.TrimSpace(cells[1]), result: strings.TrimSpace(cells[2]),
			target: strings.TrimSpace(cells[3]), state: strings.TrimSpace(cells[4])})
	}
	return rows
}

// find returns the row of a section whose measure starts with prefix.
func find(t *testing.T, rows []tableRow, section int, prefix string) tableRow {
	t.Helper()
	for _, r := range rows {
		if r.section == section && strings.HasPrefix(r.measure, prefix) {
			return r
		}
	}
	require.Failf(t, "missing row", "section %d has no row starting %q", section, prefix)
	return tableRow{}
}

// numbers returns the integers in s, in order (commas as thousands separators).
func numbers(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, m := range regexp.MustCompile(`\d[\d,]*`).FindAllString(s, -1) {
		n, err := strconv.Atoi(strings.ReplaceAll(m, ",", ""))
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}

// logWriter sends the program's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestSmallRunPrintsEveryRowAndTheInvariantsHold(t *testing.T) {
	// -quick's code path at 1/100 scale: -quick itself (1/10) takes half a
	// minute, and minutes under the race detector.
	cfg := config{Scale: 100, Progress: logWriter{t}, Command: "go run ./examples/bench -quick"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out strings.Builder
	_, err := run(ctx, cfg, &out)
	require.NoError(t, err)
	text := out.String()
	t.Log("\n" + text)

	assert.Regexp(t, `^Machine: \d+ CPUs.*, \w+/\w+, go[\d.]+.*; 1/100 scale, \d+s in all\.\n\n\| § \| Measure`, text)
	assert.Contains(t, text, "Command: `go run ./examples/bench -quick`")
	n := func(full int) string { return count(cfg.scaled(full)) }
	rows := parseTable(t, text)
	for _, r := range rows {
		assert.Contains(t, []string{"PASS", "MISS", ""}, r.state, "%s: status", r.measure)
		assert.NotEmpty(t, r.result, "%s: result", r.measure)
		if r.state == "" {
			assert.Equal(t, "—", r.target, "%s: a row without a status has no target", r.measure)
		}
	}

	// Every section, every row.
	for _, want := range []struct {
		section  int
		prefixes []string
	}{
		{1, []string{"typed `Incidents().All` over " + n(100_000) + " incidents: records/s", "bare `net/http` + `encoding/json` into a struct",
			"typed / bare, time", "typed allocations/record", "typed CPU", "raw `Table(\"incident\").All` over " + n(100_000),
			"bare `net/http` + `encoding/json` into `[]map[string]any`", "raw / bare, time", "raw allocations/record", "raw CPU",
			"typed peak heap, " + n(10_000) + " → " + n(100_000) + " records", "raw peak heap, " + n(10_000) + " → " + n(100_000) + " records", "bare peak heap",
			"note: where the pages come from"}},
		{2, []string{"records/s, " + n(100_000) + " CIs + " + n(150_000) + " relationships", "ServiceNow API calls/record", "StackFlow API calls/record",
			"peak RSS of the syncer process", "bbolt store on disk"}},
		{3, []string{"incidents (2 streams), " + n(1000) + ":", "incidents (2 streams), " + n(100_000) + ":", "incidents: idle cycle time, " + n(1000) + " → " + n(100_000),
			"incidents: setup", "CIs (1 stream), " + n(1000) + ":", "CIs (1 stream), " + n(100_000) + ":", "CIs: idle cycle time", "CIs: setup", "note: the delete scan"}},
		{4, []string{"changed records", "API calls per changed record", "writes: to StackFlow / to ServiceNow", "conflicts", "next cycle: writes", "time of the cycle"}},
		{5, []string{"ServiceNow requests in any 1-s window, max", "ServiceNow requests/s, mean", "records/s read and synced"}},
	} {
		for _, p := range want.prefixes {
			find(t, rows, want.section, p)
		}
	}
	assert.Len(t, rows, 14+5+9+6+3, "no unexpected rows")

	// Invariants (counts, never timings).
	load := find(t, rows, 2, "ServiceNow API calls/record")
	assert.Equal(t, "PASS", load.state, "a load reads pages of 1,000: %s", load.result)
	load = find(t, rows, 2, "StackFlow API calls/record")
	assert.Equal(t, "PASS", load.state, "a load writes bulk upserts of 500: %s", load.result)

	for _, p := range []string{"incidents (2 streams), " + n(1000) + ":", "incidents (2 streams), " + n(100_000) + ":"} {
		r := find(t, rows, 3, p)
		assert.Equal(t, []int{1, 1, 1, 1}, numbers(t, r.result)[:4], "%s one request per stream side, as the fakes saw too: %s", p, r.result)
		assert.Equal(t, "PASS", r.state)
	}
	for _, p := range []string{"CIs (1 stream), " + n(1000) + ":", "CIs (1 stream), " + n(100_000) + ":"} {
		r := find(t, rows, 3, p)
		assert.Equal(t, []int{1, 0, 1, 0}, numbers(t, r.result)[:4], "%s: one ServiceNow request, none to StackFlow: %s", p, r.result)
		assert.Equal(t, "PASS", r.state)
	}

	assert.Equal(t, "PASS", find(t, rows, 4, "conflicts").state, "exactly the same-field edits conflict")
	next := find(t, rows, 4, "next cycle: writes")
	assert.Equal(t, "PASS", next.state, "the cycle after the churn writes nothing: %s", next.result)
	assert.Greater(t, numbers(t, next.result)[1], 0, "and counts the echoes it skipped")

	window := find(t, rows, 5, "ServiceNow requests in any 1-s window, max")
	assert.Equal(t, "PASS", window.state, "the limiter is never exceeded beyond its burst: %s", window.result)
	assert.LessOrEqual(t, numbers(t, window.result)[0], limitPerSec+rateBurst)
}

func TestOnlyAndOutWriteTheChosenSectionsToAFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	var stdout, stderr strings.Builder
	code := runMain(context.Background(), []string{"-quick", "-only", "4", "-out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr:\n%s", stderr.String())
	file, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, stdout.String(), string(file), "the file holds what was printed")
	assert.Contains(t, stdout.String(), "; quick (1/10 scale), ")
	assert.Contains(t, stdout.String(), "Command: `go run ./examples/bench -quick -only 4`")
	rows := parseTable(t, stdout.String())
	require.Len(t, rows, 6)
	for _, r := range rows {
		assert.Equal(t, 4, r.section, "only section 4: %s", r.measure)
	}
	assert.Contains(t, stderr.String(), "bench: section 4: Bidirectional churn", "progress goes to stderr")
}

func TestParseSections(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []int
		wantErr string
	}{
		{"empty means every section", "", nil, ""},
		{"a list is sorted and deduplicated", "3, 1,3", []int{1, 3}, ""},
		{"a number out of range is refused", "6", nil, `"6" is not a section number (1 to 5)`},
		{"a word is refused", "1,two", nil, `"two" is not a section number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseSections(c.in)
			if c.wantErr != "" {
				assert.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestCommandLineErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"a bad section list", []string{"-only", "0"}, `"0" is not a section number`},
		{"a stray argument", []string{"extra"}, `unexpected arguments ["extra"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := runMain(context.Background(), c.args, &stdout, &stderr)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout.String())
			assert.Contains(t, stderr.String(), c.want)
		})
	}
}

func TestMaxInWindow(t *testing.T) {
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, time.Unix(0, 0).Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	cases := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"nothing", nil, 0},
		{"evenly spaced at 10 a second", at(0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100), 10},
		{"a burst at the start counts with what follows within the second", at(0, 0, 0, 100, 200, 999, 1000), 6},
		{"unsorted input", at(900, 0, 500, 2500), 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, maxInWindow(c.times, time.Second))
		})
	}
}

func TestFormatting(t *testing.T) {
	assert.Equal(t, "1,234,567", thousands(1234567))
	assert.Equal(t, "-1,000", thousands(-1000))
	assert.Equal(t, "999", count(999))
	assert.Equal(t, "2.5", strconv.FormatFloat(median([]float64{3, 1, 2, 4}), 'f', -1, 64))
	assert.Equal(t, "2", strconv.FormatFloat(median([]float64{3, 1, 2}), 'f', -1, 64))
	assert.Equal(t, "1–3", spread([]int{1, 3, 2}))
	assert.Equal(t, "1", spread([]int{1, 1}))
}

func TestAMissedTargetExitsNonZeroAfterPrintingTheTable(t *testing.T) {
	saved := sections
	t.Cleanup(func() { sections = saved })
	sections = []section{{1, "stand-in", func(context.Context, config) ([]row, error) {
		return []row{check("fast enough", "12 rec/s", "≥ 10 rec/s", true), check("small enough", "300 MB", "< 200 MB", false)}, nil
	}}}
	var stdout, stderr strings.Builder
	code := runMain(context.Background(), []string{"-only", "1"}, &stdout, &stderr)
	assert.Equal(t, exitMissed, code)
	assert.Contains(t, stdout.String(), "| 1 | small enough | 300 MB | < 200 MB | MISS |", "the table is printed")
	assert.Contains(t, stderr.String(), "1 figure(s) missed their target: §1 small enough: 300 MB (target < 200 MB)")

	sections = []section{{1, "stand-in", func(context.Context, config) ([]row, error) {
		return []row{check("fast enough", "12 rec/s", "≥ 10 rec/s", true), info("context", "x")}, nil
	}}}
	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, exitOK, runMain(context.Background(), []string{"-only", "1"}, &stdout, &stderr), stderr.String())
}
