//go:build !linux

package pgtest

import (
	"errors"
	"syscall"
)

// procAttr runs cluster processes as the current user. Switching user (to
// run as root) is implemented on Linux only.
func procAttr(cred *credential) (*syscall.SysProcAttr, error) {
	if cred != nil {
		return nil, errors.New("running the test cluster as another user (the tests run as root) is supported on Linux only: run the tests as a normal user, or set " + EnvURL)
	}
	return nil, nil
}

// processAlive is conservative where it cannot ask the kernel: a cluster
// directory with a pid file is never swept.
func processAlive(int) bool { return true }
