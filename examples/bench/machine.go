package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// describeMachine is the header line: CPUs, OS and architecture, Go
// version, the CPU model and the load average when /proc has them.
func describeMachine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %d CPUs", runtime.NumCPU())
	if model := cpuModel(); model != "" {
		fmt.Fprintf(&b, " (%s)", model)
	}
	fmt.Fprintf(&b, ", %s/%s, %s", runtime.GOOS, runtime.GOARCH, runtime.Version())
	if load := loadAverage(); load != "" {
		fmt.Fprintf(&b, ", load average %s at start", load)
	}
	return b.String()
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.Join(strings.Fields(val), " ")
		}
	}
	return ""
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}
