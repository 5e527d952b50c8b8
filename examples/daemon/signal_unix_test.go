//go:build unix

package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDaemonStopsOnSIGTERM runs the sample configuration in -demo mode and
// stops it the way a service manager does: SIGTERM to the process. run
// catches it (signal.NotifyContext), so the test binary survives it.
func TestDaemonStopsOnSIGTERM(t *testing.T) {
	p := startDaemon(t, env(nil), "-config", "snowsync.yaml", "-demo", "-listen", "127.0.0.1:0")
	require.Eventually(t, func() bool {
		code, _, _ := p.get(t, "/healthz")
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the demo never became healthy:\n%s", p.stderr)
	assert.Contains(t, p.stdout.String(), "demo: the fake StackFlow sends its webhooks to "+p.url+"/webhooks/stackflow")

	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	select {
	case code := <-p.done:
		assert.Equal(t, 0, code, p.stderr.String())
		p.done <- code
	case <-time.After(20 * time.Second):
		t.Fatal("SIGTERM did not stop the daemon")
	}
	assert.Contains(t, p.stderr.String(), "msg=stopping")
	assert.Contains(t, p.stderr.String(), "msg=stopped")
}
