package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func connect(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connString)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func currentDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name))
	return name
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	srv, err := sharedServer()
	require.NoError(t, err)
	conn := connect(t, srv.admin)
	var exists bool
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	return exists
}

func TestDatabaseIsFreshAndPrivate(t *testing.T) {
	ctx := context.Background()
	a := connect(t, Database(t))
	b := connect(t, Database(t))
	nameA, nameB := currentDatabase(t, a), currentDatabase(t, b)
	assert.NotEqual(t, nameA, nameB, "each call gets its own database")
	assert.Regexp(t, `^snowsync_test_[0-9a-f]{12}$`, nameA)

	_, err := a.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)")
	require.NoError(t, err)
	_, err = a.Exec(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	var n int
	require.NoError(t, b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n))
	assert.Zero(t, n, "a database starts empty, whatever other tests created")
}

func TestDatabaseDroppedWhenTheTestEnds(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), Database(t))
		require.NoError(t, err)
		name = currentDatabase(t, conn)
		// A connection left open does not stop the drop.
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
	})
	require.NotEmpty(t, name)
	assert.False(t, databaseExists(t, name), "database %s is dropped at the end of its test", name)
}

func TestDatabaseServerSettings(t *testing.T) {
	if os.Getenv(EnvURL) != "" {
		t.Skip("the throwaway cluster's own settings; " + EnvURL + " points at another server")
	}
	conn := connect(t, Database(t))
	var encoding, listen string
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT current_setting('server_encoding'), current_setting('listen_addresses')").Scan(&encoding, &listen))
	assert.Equal(t, "UTF8", encoding)
	assert.Equal(t, "127.0.0.1", listen, "the cluster listens on loopback only")
	srv, err := sharedServer()
	require.NoError(t, err)
	require.NotNil(t, srv.cluster)
	assert.FileExists(t, filepath.Join(srv.cluster.dir, fmt.Sprintf(".s.PGSQL.%d", srv.cluster.port)), "the unix socket lives in the cluster's directory")
}

// recorder is a testing.TB that records Skipf and Fatalf instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestUnavailable(t *testing.T) {
	reason := fmt.Errorf("%w: no initdb", errUnavailable)
	cases := []struct {
		name     string
		ci       bool
		wantSkip bool
	}{
		{name: "a developer without PostgreSQL is told how to run the tests, and skips", ci: false, wantSkip: true},
		{name: "CI without PostgreSQL fails instead of passing silently", ci: true, wantSkip: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			unavailable(r, tc.ci, reason)
			msg := r.failed
			if tc.wantSkip {
				msg = r.skipped
				assert.Empty(t, r.failed)
			} else {
				assert.Empty(t, r.skipped)
			}
			assert.Contains(t, msg, "no initdb")
			assert.Contains(t, msg, "apt-get install postgresql")
			assert.Contains(t, msg, EnvURL)
		})
	}
}

func TestCIMode(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"true", true}, {"1", true}, {"", false}, {"false", false}, {"yes-please", false}} {
		t.Run(fmt.Sprintf("CI=%q", tc.value), func(t *testing.T) {
			t.Setenv("CI", tc.value)
			assert.Equal(t, tc.want, ciMode())
		})
	}
}

// fakeInstall lays out bin dirs with empty executables.
func fakeInstall(t *testing.T, root string, versions ...string) {
	t.Helper()
	for _, v := range versions {
		dir := filepath.Join(root, v, "bin")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, name := range []string{"initdb", "postgres"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
		}
	}
}

func TestFindBinDir(t *testing.T) {
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }

	t.Run("the highest installed version wins, compared as numbers", func(t *testing.T) {
		root := t.TempDir()
		fakeInstall(t, root, "9.6", "13", "15")
		dir, err := findBinDir(notOnPath, filepath.Join(root, "*", "bin", "initdb"))
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "15", "bin"), dir)
	})
	t.Run("initdb on PATH is followed through its symlink to the real bin dir", func(t *testing.T) {
		root := t.TempDir()
		fakeInstall(t, root, "16")
		link := filepath.Join(t.TempDir(), "initdb")
		require.NoError(t, os.Symlink(filepath.Join(root, "16", "bin", "initdb"), link))
		onPath := func(string) (string, error) { return link, nil }
		dir, err := findBinDir(onPath, filepath.Join(t.TempDir(), "*", "bin", "initdb"))
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "16", "bin"), dir)
	})
	t.Run("a bin dir without postgres is passed over", func(t *testing.T) {
		root := t.TempDir()
		fakeInstall(t, root, "14")
		broken := filepath.Join(root, "17", "bin")
		require.NoError(t, os.MkdirAll(broken, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(broken, "initdb"), nil, 0o755))
		dir, err := findBinDir(notOnPath, filepath.Join(root, "*", "bin", "initdb"))
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "14", "bin"), dir)
	})
	t.Run("nothing installed is errUnavailable", func(t *testing.T) {
		_, err := findBinDir(notOnPath, filepath.Join(t.TempDir(), "*", "bin", "initdb"))
		require.ErrorIs(t, err, errUnavailable)
	})
}

func TestCompareVersions(t *testing.T) {
	assert.Negative(t, compareVersions("9.6", "15"))
	assert.Positive(t, compareVersions("16", "15"))
	assert.Zero(t, compareVersions("15", "15"))
	assert.Negative(t, compareVersions("15", "15.1"))
}

func TestWithDatabase(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{name: "a URL gets its path replaced, query kept", in: "postgres://u:p%40ss@db.example:5433/postgres?sslmode=require",
			want: "postgres://u:p%40ss@db.example:5433/snowsync_test_1?sslmode=require"},
		{name: "a URL without a database gets one", in: "postgresql://u@localhost", want: "postgresql://u@localhost/snowsync_test_1"},
		{name: "a dbname query parameter is replaced too", in: "postgres://u@h/?dbname=other", want: "postgres://u@h/snowsync_test_1?dbname=snowsync_test_1"},
		{name: "key=value pairs get a later dbname that wins", in: "host=localhost user=u dbname=postgres ",
			want: "host=localhost user=u dbname=postgres dbname='snowsync_test_1'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withDatabase(tc.in, "snowsync_test_1")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			cfg, err := pgx.ParseConfig(got)
			require.NoError(t, err)
			assert.Equal(t, "snowsync_test_1", cfg.Database)
		})
	}
	_, err := withDatabase("postgres://u:secret@h:99999999999/x%zz", "d")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret", "the password never appears in an error")
}

func TestExternalServerRejectsBadURL(t *testing.T) {
	_, err := externalServer("postgres://u:secret@host:notaport/db")
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvURL)
	assert.NotContains(t, err.Error(), "secret")
}

func TestSweepStale(t *testing.T) {
	tmp := t.TempDir()
	now := time.Now()
	mk := func(name, pid string, age time.Duration) string {
		dir := filepath.Join(tmp, name)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o700))
		if pid != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte(pid+"\n/tmp/x/data\n"), 0o600))
		}
		require.NoError(t, os.Chtimes(dir, now.Add(-age), now.Add(-age)))
		return dir
	}
	dead := mk(dirPrefix+"dead", "2147480000", time.Minute)
	live := mk(dirPrefix+"live", strconv.Itoa(os.Getpid()), 2*staleAfter)
	starting := mk(dirPrefix+"starting", "", time.Minute)
	abandoned := mk(dirPrefix+"abandoned", "", 2*staleAfter)
	garbled := mk(dirPrefix+"garbled", "not a pid", 2*staleAfter)
	other := mk("someone-elses-dir", "2147480000", 2*staleAfter)

	sweepStale(tmp, now)
	assert.NoDirExists(t, dead, "a crashed run's directory goes")
	assert.NoDirExists(t, abandoned, "so does an old one that never started a server")
	assert.DirExists(t, live, "a running cluster stays")
	assert.DirExists(t, starting, "a new one still in initdb stays")
	assert.DirExists(t, garbled, "one it cannot read stays")
	assert.DirExists(t, other, "other directories are not touched")
}
