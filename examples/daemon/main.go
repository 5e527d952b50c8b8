// Command daemon runs snowsync as a long-running service, configured from
// a YAML file (see snowsync.yaml beside it).
//
//	go run ./examples/daemon -config examples/daemon/snowsync.yaml
//	go run ./examples/daemon -config examples/daemon/snowsync.yaml -demo   # against in-process fakes
//
// It syncs every table on its schedule (syncer.Run) with the state in a
// bbolt file, and serves:
//
//	GET  /healthz             per table: last success, lag, last error, dead letters; 200 or 503
//	GET  /metrics             Prometheus text format
//	POST /sync/{table}        sync a table now; "cmdb" for both CMDB tables (the guide's sync-cmdb); 202, or 404
//	POST /webhooks/stackflow  a signed StackFlow webhook: that record syncs at once
//
// Secrets come only from environment variables or files named in the
// configuration (password_env, client_secret_file, ...); a secret written
// in the file is refused, and none is ever logged. A bad configuration is
// reported in full, every problem with its field, with exit code 2.
// SIGINT or SIGTERM stop it cleanly: running tables stop at a page
// boundary, leases are given back, the state file is closed.
//
// -once runs one cycle of every table and exits (cron). -check only checks
// the configuration. -demo starts a fake ServiceNow and a fake StackFlow in
// this process, seeds them, points the configuration at them and
// subscribes the webhook endpoint, so the daemon can be tried without real
// instances.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
	"github.com/stackflow-tech/snowsync/syncer/pgstore"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the daemon. Exit codes: 0 after a clean stop, 1 when it could not
// run, 2 for a bad command line or configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "snowsync.yaml", "the configuration file")
	listen := fs.String("listen", "", "listen on this address instead of listen_address (\"127.0.0.1:0\" picks a free port)")
	once := fs.Bool("once", false, "run one cycle of every table and exit")
	check := fs.Bool("check", false, "check the configuration and exit")
	demoMode := fs.Bool("demo", false, "start a fake ServiceNow and a fake StackFlow in this process, seed them and use them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "daemon: unexpected arguments %q\n", fs.Args())
		return 2
	}

	ov := overrides{listen: *listen}
	var onListen func(net.Addr)
	switch {
	case *demoMode && *check:
		// Check the file as -demo would use it: the fakes replace the
		// endpoints and their credentials.
		ov.snURL, ov.snUser, ov.snPassword = "http://127.0.0.1:1", servicenowtest.AdminUser, newSecret("demo")
		ov.sfURL, ov.sfToken, ov.sfWebhook = "http://127.0.0.1:1/prod/api", newSecret("demo"), newSecret("demo")
		ov.statePath = filepath.Join(os.TempDir(), "snowsync-demo.db")
	case *demoMode:
		fakes, err := startDemo(&ov)
		if err != nil {
			fmt.Fprintln(stderr, "daemon: -demo:", err)
			return 1
		}
		defer fakes.close()
		fmt.Fprintf(stdout, "demo: fake ServiceNow at %s (user %s, password: servicenowtest.AdminPassword), fake StackFlow at %s (token: stackflowtest.DefaultToken)\n",
			ov.snURL, ov.snUser, ov.sfURL)
		onListen = func(addr net.Addr) {
			url := fmt.Sprintf("http://%s/webhooks/stackflow", addr)
			if _, err := fakes.sf.Subscribe(url, ov.sfWebhook.Value()); err != nil {
				fmt.Fprintln(stderr, "daemon: -demo: subscribing the webhook:", err)
				return
			}
			fmt.Fprintf(stdout, "demo: the fake StackFlow sends its webhooks to %s\n", url)
		}
	}
	cfg, err := loadConfig(*path, getenv, ov)
	if err != nil {
		fmt.Fprintln(stderr, "daemon:", err)
		return 2
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK\n", *path)
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	if err := serve(ctx, cfg, *once, log, stdout, onListen); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "daemon stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// openStore opens the state: PostgreSQL when the configuration names a
// database (several daemons share it and spread the tables among them),
// else the bbolt file (one daemon per file).
func openStore(ctx context.Context, cfg *config) (syncer.Store, error) {
	if cfg.pgURL.IsSet() {
		var opts []pgstore.Option
		if cfg.pgSchema != "" {
			opts = append(opts, pgstore.WithSchema(cfg.pgSchema))
		}
		return pgstore.Open(ctx, cfg.pgURL.Value(), opts...)
	}
	return boltstore.Open(cfg.statePath)
}

// serve builds the syncer from cfg and runs it (and the HTTP server) until
// ctx ends; with once it runs one cycle of every table instead. onListen,
// when set, is called with the address once the server listens.
func serve(ctx context.Context, cfg *config, once bool, log *slog.Logger, stdout io.Writer, onListen func(net.Addr)) error {
	log.LogAttrs(ctx, slog.LevelInfo, "starting", slog.Any("config", cfg))
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "closing the state file", slog.String("error", err.Error()))
		}
	}()
	cfg.snLimiter = rate.NewLimiter(cfg.sn.limit, cfg.sn.burst)
	sn, sf, err := clients(cfg, log)
	if err != nil {
		return err
	}
	sc := cfg.sync
	sc.ServiceNow, sc.StackFlow, sc.Store, sc.Logger = sn, sf, store, log
	if cfg.pgURL.IsSet() {
		// Daemons sharing PostgreSQL split the instance's rate limit by
		// their share of the tables.
		sc.ServiceNowBudget = &syncer.RateBudget{Limiter: cfg.snLimiter, Rate: cfg.sn.limit}
	}
	met := newMetrics()
	sc.Observer = met
	s, err := syncer.New(sc)
	if err != nil {
		return err
	}
	met.tables = s.Tables() // before anything runs
	if once {
		return runOnce(ctx, s, log)
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	d := &daemon{cfg: cfg, s: s, store: store, met: met, log: log, hooks: newWebhookQueue(s, store, met, log)}
	srv := &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "snowsync daemon listening on http://%s\n", ln.Addr())
	log.LogAttrs(ctx, slog.LevelInfo, "listening", slog.String("address", ln.Addr().String()), slog.Any("tables", s.Tables()))
	if onListen != nil {
		onListen(ln.Addr())
	}

	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	})
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	wg.Go(func() { d.hooks.run(runCtx) })
	runErr := make(chan error, 1)
	wg.Go(func() {
		// The first cycle visits the tables in the mapping's dependency
		// order, CIs before the tickets that reference them, so that no
		// ticket waits for its CI; then the scheduler takes over.
		if err := runOnce(runCtx, s, log); err != nil && runCtx.Err() == nil {
			log.LogAttrs(runCtx, slog.LevelWarn, "first cycle", slog.String("error", err.Error()))
		}
		d.hooks.start()
		runErr <- s.Run(runCtx)
	})

	var failure error
	select {
	case <-ctx.Done():
		log.LogAttrs(ctx, slog.LevelInfo, "stopping")
	case failure = <-serveErr:
	case failure = <-runErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		failure = errors.Join(failure, err)
	}
	stopRun()
	wg.Wait()
	log.LogAttrs(ctx, slog.LevelInfo, "stopped")
	return failure
}

// clients builds the two clients, each with the rate limiter of its host.
func clients(cfg *config, log *slog.Logger) (*servicenow.Client, *stackflow.Client, error) {
	auth := servicenow.WithBasicAuth(cfg.sn.username, cfg.sn.password.Value())
	if cfg.sn.auth == string(stackflow.AuthOAuth) {
		oc := servicenow.OAuthConfig{ClientID: cfg.sn.clientID, ClientSecret: cfg.sn.clientSecret.Value(),
			Username: cfg.sn.username, Password: cfg.sn.password.Value()}
		if cfg.sn.tokenFile != "" {
			oc.TokenStore = servicenow.NewFileTokenStore(cfg.sn.tokenFile)
		}
		auth = servicenow.WithOAuth(oc)
	}
	sn, err := servicenow.NewClient(cfg.sn.url, auth, servicenow.WithLogger(log),
		servicenow.WithRateLimiter(cfg.snLimiter), servicenow.WithUserAgent("snowsync-daemon"))
	if err != nil {
		return nil, nil, err
	}
	sf, err := stackflow.NewClient(cfg.sf.baseURL, stackflow.WithToken(cfg.sf.token.Value()), stackflow.WithLogger(log),
		stackflow.WithRateLimiter(rate.NewLimiter(cfg.sf.limit, cfg.sf.burst)), stackflow.WithUserAgent("snowsync-daemon"))
	if err != nil {
		return nil, nil, err
	}
	return sn, sf, nil
}

// runOnce runs one cycle of every table (the -once flag) and fails when
// any table failed.
func runOnce(ctx context.Context, s *syncer.Syncer, log *slog.Logger) error {
	var failed []string
	for _, t := range s.Mapping().Tables() {
		rep, err := s.SyncOnce(ctx, t.Table())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			failed = append(failed, t.Table())
			continue
		}
		log.LogAttrs(ctx, slog.LevelInfo, "synced", slog.String("table", t.Table()),
			slog.String("to_stackflow", rep.ToStackFlow.String()), slog.String("to_servicenow", rep.ToServiceNow.String()))
	}
	if len(failed) > 0 {
		return fmt.Errorf("tables failed: %v", failed)
	}
	return nil
}

// demoFakes are the -demo mode's in-process systems.
type demoFakes struct {
	sn     *servicenowtest.Server
	sf     *stackflowtest.Server
	tmpDir string
}

// startDemo starts and seeds the fakes (on the wall clock, so the schedule
// works as in production) and points the configuration at them.
func startDemo(ov *overrides) (*demoFakes, error) {
	sn, err := demo.StartServiceNow(demo.WallClock{})
	if err != nil {
		return nil, err
	}
	sf, err := demo.StartStackFlow(demo.WallClock{})
	if err != nil {
		sn.Close()
		return nil, err
	}
	f := &demoFakes{sn: sn, sf: sf}
	seeded, err := demo.SeedServiceNow(sn, demo.DefaultSize())
	if err == nil {
		err = demo.SeedStackFlow(sf, demo.DefaultSize(), seeded)
	}
	if err == nil {
		f.tmpDir, err = os.MkdirTemp("", "snowsync-demo-")
	}
	if err != nil {
		f.close()
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	ov.snURL, ov.snUser, ov.snPassword = sn.URL(), servicenowtest.AdminUser, newSecret(servicenowtest.AdminPassword)
	ov.sfURL, ov.sfToken, ov.sfWebhook = sf.BaseURL(), newSecret(sf.Token), newSecret(hex.EncodeToString(key))
	ov.statePath = filepath.Join(f.tmpDir, "snowsync.db")
	return f, nil
}

func (f *demoFakes) close() {
	f.sf.Close()
	f.sn.Close()
	if f.tmpDir != "" {
		_ = os.RemoveAll(f.tmpDir)
	}
}
