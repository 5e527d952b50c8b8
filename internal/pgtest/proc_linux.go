package pgtest

import "syscall"

// procAttr runs a cluster process as cred's user (when the tests run as
// root), and has the kernel send it SIGQUIT (postgres: immediate shutdown)
// if the test binary dies without stopping it. Go applies the parent-death
// signal after switching user, so it survives the switch.
func procAttr(cred *credential) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if cred != nil {
		attr.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid, Groups: []uint32{}}
	}
	return attr, nil
}

// processAlive reports whether a process with this pid exists (a process
// of another user counts: kill(pid, 0) then fails with EPERM, not ESRCH).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
