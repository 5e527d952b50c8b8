//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing outside Linux: the child exits when its stdin
// closes, which happens when this process exits.
func setDeathSignal(*exec.Cmd) {}
