// Package pgtest gives tests a real, empty PostgreSQL database.
//
// Database(t) returns the connection string of a new database that only
// this test uses and that is dropped when the test ends. The server it
// lives on comes from, in order:
//
//  1. SNOWSYNC_PG_URL, when set: an existing server (any connection string
//     pgx accepts, a URL or key=value pairs). Its role needs CREATEDB: each
//     test gets a database named snowsync_test_<random>.
//  2. A throwaway cluster on loopback, when PostgreSQL's server binaries are
//     installed (initdb on PATH, or /usr/lib/postgresql/<version>/bin as
//     Debian's postgresql package lays them out). One cluster per test
//     binary: initdb into a temporary directory, postgres on a free port of
//     127.0.0.1 with its unix socket in that directory, password
//     (SCRAM) authentication with a random password, and fsync off (it is
//     thrown away). It is stopped and its directory removed when the tests
//     end. initdb refuses to run as root, so under root the cluster runs as
//     the postgres user, or nobody when there is none; the server is a
//     child of the test binary and gets SIGQUIT if the binary dies.
//  3. Neither: the test is skipped with a message saying how to run it,
//     except when CI=true, where it fails: CI must never pass without
//     having run the PostgreSQL tests.
//
// A test package that uses Database wraps its TestMain with Main, so the
// shared cluster is stopped after the tests and before the leak check:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
//
// To run the PostgreSQL tests locally, install the server (Debian:
// apt-get install postgresql) or point SNOWSYNC_PG_URL at a server:
//
//	SNOWSYNC_PG_URL=postgres://me:secret@localhost:5432/postgres go test ./syncer/pgstore/
package pgtest
