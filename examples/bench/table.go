package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// status says how a figure compares with its target.
type status string

const (
	statusPass status = "PASS"
	statusMiss status = "MISS"
	statusInfo status = "" // no target: context for the other rows
)

// row is one line of the table.
type row struct {
	section int
	measure string
	result  string
	target  string
	status  status
}

// info is a row without a target.
func info(measure, result string) row { return row{measure: measure, result: result, target: "—"} }

// check is a row with a target that ok says whether the result meets.
func check(measure, result, target string, ok bool) row {
	st := statusMiss
	if ok {
		st = statusPass
	}
	return row{measure: measure, result: result, target: target, status: st}
}

// writeTable writes rows as a Markdown table.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| § | Measure | Result | Target | |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s |\n", r.section, cell(r.measure), cell(r.result), cell(r.target), r.status)
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// count formats an int with comma separators.
func count(n int) string { return thousands(int64(n)) }

// perSec formats a per-second figure with comma separators.
func perSec(v float64) string { return thousands(int64(math.Round(v))) }

// mib formats bytes in MiB.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// mb formats bytes in MB (10^6: the targets are in MB).
func mb(b float64) string {
	if b >= 100e6 {
		return fmt.Sprintf("%.0f MB", b/1e6)
	}
	return fmt.Sprintf("%.1f MB", b/1e6)
}

// ms formats seconds as milliseconds.
func ms(sec float64) string {
	switch {
	case sec < 0.01:
		return fmt.Sprintf("%.2f ms", sec*1000)
	case sec < 1:
		return fmt.Sprintf("%.1f ms", sec*1000)
	}
	return fmt.Sprintf("%.2f s", sec)
}

// median returns the median of xs (0 for none). It does not change xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
