package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultGlob is where Debian's postgresql package puts the server binaries.
const defaultGlob = "/usr/lib/postgresql/*/bin/initdb"

// superuser is the cluster's superuser role.
const superuser = "postgres"

// dirPrefix names the cluster directories in the temporary directory.
const dirPrefix = "snowsync-pgtest-"

const (
	startTimeout = time.Minute      // initdb, then postgres accepting connections
	stopTimeout  = 15 * time.Second // fast shutdown before SIGQUIT
	startTries   = 3                // a free port can be taken before postgres binds it
)

func defaultLookPath(name string) (string, error) { return exec.LookPath(name) }

// findBinDir returns the directory holding initdb and postgres: initdb's on
// PATH (through symlinks, since Debian links only some binaries into
// /usr/bin or /usr/local/bin), else the highest version matching glob.
func findBinDir(lookPath func(string) (string, error), glob string) (string, error) {
	var dirs []string
	if p, err := lookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	matches, _ := filepath.Glob(glob) // the pattern is constant and valid
	slices.SortFunc(matches, func(a, b string) int { return compareVersions(versionOf(b), versionOf(a)) })
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb with a postgres beside it on PATH or in %s", errUnavailable, filepath.Dir(glob))
}

// versionOf returns the version directory of .../<version>/bin/initdb.
func versionOf(initdb string) string { return filepath.Base(filepath.Dir(filepath.Dir(initdb))) }

// compareVersions orders dotted versions numerically ("9.6" < "15");
// parts that are not numbers compare as text.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, errX := strconv.Atoi(pa[i])
		y, errY := strconv.Atoi(pb[i])
		if errX != nil || errY != nil {
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
			continue
		}
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// credential is the user the cluster runs as when the tests run as root.
type credential struct {
	name     string
	uid, gid uint32
}

// clusterUser returns nil when the tests do not run as root; under root,
// which initdb refuses, the postgres user, or nobody.
func clusterUser() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, errU := strconv.ParseUint(u.Uid, 10, 32)
		gid, errG := strconv.ParseUint(u.Gid, 10, 32)
		if errU != nil || errG != nil {
			continue
		}
		return &credential{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New("the tests run as root, which initdb refuses, and there is no postgres or nobody user to run the cluster as")
}

// cluster is a throwaway PostgreSQL cluster, a child process of the test
// binary.
type cluster struct {
	dir      string // everything: data, socket, log, password file
	port     int
	password string
	cmd      *exec.Cmd
	exited   chan error // cmd.Wait's result, once
}

// connString returns the URL of database db on the cluster.
func (c *cluster) connString(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.password, c.port, db)
}

// startCluster runs initdb in a new temporary directory and starts
// postgres on a free loopback port.
func startCluster(ctx context.Context, bin string) (*cluster, error) {
	cred, err := clusterUser()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	sweepStale(os.TempDir(), time.Now())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: temporary directory: %w", err)
	}
	c := &cluster{dir: dir, password: randomHex(16)}
	if err := c.initdb(ctx, bin, cred); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	for try := 1; ; try++ {
		err := c.start(ctx, bin, cred)
		if err == nil {
			return c, nil
		}
		if try == startTries || !errors.Is(err, errPortTaken) {
			return nil, errors.Join(err, os.RemoveAll(dir))
		}
	}
}

// initdb creates the data directory, owned by cred's user under root.
func (c *cluster) initdb(ctx context.Context, bin string, cred *credential) error {
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: write password file: %w", err)
	}
	if cred != nil {
		for _, p := range []string{c.dir, pwfile} {
			if err := os.Chown(p, int(cred.uid), int(cred.gid)); err != nil {
				return fmt.Errorf("pgtest: hand %s to user %s: %w", p, cred.name, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata="+filepath.Join(c.dir, "data"), "--username="+superuser, "--pwfile="+pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.Dir = c.dir
	attr, err := procAttr(cred)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	if err != nil {
		who := "this user"
		if cred != nil {
			who = "user " + cred.name
		}
		return fmt.Errorf("pgtest: initdb (as %s, in %s) failed: %w\n%s", who, c.dir, err, tail(out, 2000))
	}
	return nil
}

// errPortTaken: another process bound the port between our probe and
// postgres; start again on another.
var errPortTaken = errors.New("port taken")

// start runs postgres and waits until it accepts connections.
func (c *cluster) start(ctx context.Context, bin string, cred *credential) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("pgtest: find a free port: %w", err)
	}
	c.port = port
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: server log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
		// Thrown away at the end: durability buys nothing here.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	attr, err := procAttr(cred)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan error, 1)
	go func() { c.exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := ping(ctx, c.connString("postgres")); err == nil {
			return nil
		}
		select {
		case err := <-c.exited:
			log, _ := os.ReadFile(logPath)
			if bytes.Contains(log, []byte("could not bind")) || bytes.Contains(log, []byte("Address already in use")) {
				return errPortTaken
			}
			return fmt.Errorf("pgtest: postgres exited during startup (%v):\n%s", err, tail(log, 2000))
		case <-ctx.Done():
			log, _ := os.ReadFile(logPath)
			return errors.Join(fmt.Errorf("pgtest: postgres did not accept connections within %s:\n%s", startTimeout, tail(log, 2000)), c.stop())
		case <-tick.C:
		}
	}
}

// ping connects once.
func ping(ctx context.Context, connString string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// stop shuts postgres down (fast shutdown, then immediate, then kill) and
// removes the cluster's directory.
func (c *cluster) stop() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return os.RemoveAll(c.dir)
	}
	var waitErr error
	if err := c.cmd.Process.Signal(os.Interrupt); err == nil {
		timer := time.NewTimer(stopTimeout)
		select {
		case waitErr = <-c.exited:
		case <-timer.C:
			_ = c.cmd.Process.Kill() // a stuck server: nothing left to save
			waitErr = <-c.exited
		}
		timer.Stop()
	} else {
		_ = c.cmd.Process.Kill() // Signal failed: the process is gone or cannot take SIGINT
		waitErr = <-c.exited
	}
	c.cmd = nil
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		waitErr = nil // postgres exits non-zero on some shutdown paths; the directory goes anyway
	}
	return errors.Join(waitErr, os.RemoveAll(c.dir))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// staleAfter is how old a cluster directory without a running server must
// be before sweepStale removes it (a new one has none while initdb runs).
const staleAfter = time.Hour

// sweepStale removes the cluster directories that test binaries killed
// before they could stop their cluster left behind (the server itself got
// SIGQUIT from the kernel): those whose postmaster.pid names a process
// that is gone, and those older than staleAfter that never started one.
// It removes nothing it cannot tell is dead; errors are ignored, since
// other users' directories may not be ours to remove.
func sweepStale(tmp string, now time.Time) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		if err != nil {
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleAfter {
				_ = os.RemoveAll(dir)
			}
			continue
		}
		line, _, _ := strings.Cut(string(pidFile), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
