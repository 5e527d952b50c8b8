package syncer

// SetCrashHook makes the syncer call fn at each named crash point
// ("before-write", "after-write", "mid-page", "before-commit",
// "after-commit"); an error from fn aborts the run there, as a crash would.
func SetCrashHook(s *Syncer, fn func(point string) error) { s.crashHook = fn }

// ErrCrash is the error crash hooks return.
var ErrCrash = errCrash

// CanonHash hashes a stored snapshot the way the syncer does.
func CanonHash(m map[string]string) string { return canonHash(m) }

// Deal exposes how Run assigns tables to replicas.
var Deal = deal
