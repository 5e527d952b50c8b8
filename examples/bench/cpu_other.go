//go:build !unix

package main

// cpuSeconds returns 0: the CPU time of this process is not measured here.
func cpuSeconds() float64 { return 0 }
