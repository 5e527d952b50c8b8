package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the environment variable that points the tests at an
// existing PostgreSQL server instead of a throwaway cluster.
const EnvURL = "SNOWSYNC_PG_URL"

// howToRun is appended to every skip or failure for want of a server.
const howToRun = "to run the PostgreSQL tests, install PostgreSQL's server binaries " +
	"(Debian: apt-get install postgresql; initdb is looked for on PATH and in /usr/lib/postgresql/*/bin) " +
	"or set " + EnvURL + " to a server whose role may CREATE DATABASE"

// errUnavailable: no server to test against (a skip, or a failure in CI).
var errUnavailable = errors.New("no PostgreSQL server available")

// adminTimeout bounds creating and dropping a test database.
const adminTimeout = time.Minute

// TestingM is what Main wraps: *testing.M, or anything with its Run.
type TestingM interface{ Run() int }

// Runner runs a test binary's tests and then stops the shared cluster.
// It satisfies goleak.TestingM.
type Runner struct{ m TestingM }

var mainUsed atomic.Bool

// Main wraps m so that the shared throwaway cluster, if one was started,
// is stopped and its directory removed once the tests have run:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
func Main(m TestingM) *Runner {
	mainUsed.Store(true)
	return &Runner{m: m}
}

// Run runs the tests, then stops the shared cluster. A failure to stop it
// fails the run.
func (r *Runner) Run() int {
	code := r.m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// server is where the test databases are created.
type server struct {
	admin   string   // connection string of a maintenance database
	cluster *cluster // the throwaway cluster, nil for SNOWSYNC_PG_URL
}

var shared struct {
	once sync.Once
	srv  *server
	err  error
}

// sharedServer returns the server of this test binary, starting the
// throwaway cluster on first use.
func sharedServer() (*server, error) {
	shared.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared.srv, shared.err = externalServer(u)
			return
		}
		bin, err := findBinDir(defaultLookPath, defaultGlob)
		if err != nil {
			shared.err = err
			return
		}
		c, err := startCluster(context.Background(), bin)
		if err != nil {
			shared.err = err
			return
		}
		shared.srv = &server{admin: c.connString("postgres"), cluster: c}
	})
	return shared.srv, shared.err
}

// stopShared stops the shared cluster, if any.
func stopShared() error {
	if shared.srv == nil || shared.srv.cluster == nil {
		return nil
	}
	return shared.srv.cluster.stop()
}

// externalServer checks the SNOWSYNC_PG_URL connection string.
func externalServer(connString string) (*server, error) {
	if _, err := pgx.ParseConfig(connString); err != nil {
		return nil, fmt.Errorf("pgtest: %s is not a valid connection string: %w", EnvURL, err)
	}
	return &server{admin: connString}, nil
}

// ciMode reports whether CI=true: then a missing server fails the test.
func ciMode() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// unavailable skips t, or fails it in CI.
func unavailable(t testing.TB, ci bool, reason error) {
	t.Helper()
	if ci {
		t.Fatalf("pgtest: CI=true, and the PostgreSQL tests must run there: %v; %s", reason, howToRun)
		return
	}
	t.Skipf("pgtest: skipped: %v; %s", reason, howToRun)
}

// Database returns the connection string of a new, empty database for t
// alone, dropped (with any connections left to it) when t ends. Without a
// server it skips t, or fails it when CI=true. The test binary's TestMain
// must go through Main.
func Database(t testing.TB) string {
	t.Helper()
	if !mainUsed.Load() {
		t.Fatal("pgtest: wrap TestMain with pgtest.Main so the shared cluster is stopped: " +
			"func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }")
		return ""
	}
	srv, err := sharedServer()
	if errors.Is(err, errUnavailable) {
		unavailable(t, ciMode(), err)
		return ""
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
		return ""
	}
	name := "snowsync_test_" + randomHex(6)
	if err := srv.createDatabase(name); err != nil {
		t.Fatalf("pgtest: %v", err)
		return ""
	}
	t.Cleanup(func() {
		if err := srv.dropDatabase(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	cs, err := withDatabase(srv.admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return cs
}

// adminExec runs one statement on the maintenance database.
func (s *server) adminExec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}

func (s *server) createDatabase(name string) error {
	err := s.adminExec("CREATE DATABASE " + pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return fmt.Errorf("create database %s: the role may not create databases (grant it CREATEDB): %w", name, err)
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func (s *server) dropDatabase(name string) error {
	q := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
	err := s.adminExec(q + " WITH (FORCE)")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42601" { // before PostgreSQL 13: no FORCE
		err = s.adminExec(q)
	}
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns connString with its database replaced by db. It
// takes both forms pgx accepts: a postgres:// URL, and key=value pairs
// (where a later dbname overrides an earlier one).
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL: %w", EnvURL, errors.Unwrap(err))
		}
		u.Path = "/" + db
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", db)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db)
	return strings.TrimSpace(connString) + " dbname='" + esc + "'", nil
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
