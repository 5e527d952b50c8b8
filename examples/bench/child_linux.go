//go:build linux

package main

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the child when this process dies,
// even by SIGKILL, when closing its stdin would come too late.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
