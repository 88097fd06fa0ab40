package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/bootstrap"
	"github.com/latchsh/latch/config"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/metrics"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/postgres"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/tlsca"
	"github.com/latchsh/latch/token"
)

// Operational intervals and limits of the control plane.
const (
	keyRotationCheck  = 5 * time.Minute // Rotate is cheap when nothing is due
	certRenewalCheck  = 12 * time.Hour  // the certificate renews 30 days ahead; twice a day is plenty
	healthTimeout     = 2 * time.Second
	readHeaderTimeout = 10 * time.Second // slow-loris guard
	readTimeout       = 30 * time.Second // request bodies are small forms and JSON
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10 // bearer tokens and cookies fit; httpapi caps tokens at 16 KiB
)

func newServeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Latch control plane: directory, token service, resource manager.",
		Long: `Run the Latch control plane.

The first start creates a tenant, a local certificate authority (DATA/tls/ca.pem) unless
--tls-cert/--tls-key are given, and writes the first credentials to DATA/bootstrap.json.
Settings come from --config FILE (JSON), LATCH_* environment variables and flags, in rising
precedence; pass the database URL as LATCH_DATABASE to keep its password out of process lists.`,
		Args: cobra.NoArgs,
	}
	flags := config.AddFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Load(os.Getenv)
		if err != nil {
			return fmt.Errorf("the configuration is not usable:\n%w", err)
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, cfg, cmd.ErrOrStderr())
	}
	return cmd
}

// serve runs the control plane with cfg until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	warnIfShared(cfg.Data, log)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	if cfg.URL == "" { // port 0: the URL can only be known now
		cfg.URL = config.DefaultURL(portOf(ln.Addr()), cfg.InsecureHTTP)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return run(ctx, cfg, log, stderr, st, ln)
}

// run is serve once the store is open and the socket bound.
func run(ctx context.Context, cfg config.Config, log *slog.Logger, stderr io.Writer, st store.Store, ln net.Listener) error {
	tokens := token.NewService(st, token.Config{Alg: tenantAlg(st)})
	tlsState, err := setupTLS(cfg)
	if err != nil {
		return err
	}
	boot, err := bootstrap.Run(ctx, st, tokens, bootstrap.Options{Dir: cfg.Data, URL: cfg.URL,
		Domain: cfg.Domain, SigningAlg: cfg.SigningAlg, CAFile: tlsState.caFile})
	if err != nil {
		return fmt.Errorf("first-start setup failed: %w", err)
	}
	if boot.Created {
		printFirstStart(stderr, cfg, boot, tlsState.caFile)
	}
	riskTables, err := httpapi.LoadRiskTables(cfg.RiskGeoTable, cfg.RiskBadAddresses)
	if err != nil {
		return fmt.Errorf("loading the sign-in risk tables: %w", err)
	}
	api := &httpapi.Server{Store: st, Tokens: tokens, Secrets: authn.NewSecretVerifier(time.Now),
		Log: log, Now: time.Now, URL: cfg.URL, HomeTenantID: boot.Tenant.ID, Risk: riskTables}
	srv := newHTTPServer(newHandler(api, st, boot.Tenant.ID, metrics.New(), log), tlsState.config(), log)
	srv.RegisterOnShutdown(api.CloseLongPolls) // machines waiting for their goal state ask again elsewhere

	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(ctx)
	startMaintenance(loopCtx, &wg, cfg, log, tokens, boot.Tenant.ID, tlsState)
	every(loopCtx, &wg, httpapi.SignInRetentionInterval, func() { purgeSignIns(loopCtx, api, cfg, log) })
	if os.Getenv(httpapi.InsecureBenchNoSignInLog) == "1" {
		log.Warn("the sign-in log is off: no sign-in of this server is recorded", "variable", httpapi.InsecureBenchNoSignInLog)
	}
	log.Info("listening", "url", cfg.URL, "addr", ln.Addr().String(), "tenantId", boot.Tenant.ID,
		"caFile", tlsState.caFile, "tls", !cfg.InsecureHTTP)
	err = serveUntilDone(ctx, srv, ln, !cfg.InsecureHTTP, time.Duration(cfg.ShutdownTimeout), log)
	flushSignIns(api, time.Duration(cfg.ShutdownTimeout), log)
	stopLoops()
	wg.Wait() // no maintenance may touch the store after it is closed
	return err
}

// flushSignIns writes the sign-in log entries still queued once no request runs any more,
// before the store closes.
func flushSignIns(api *httpapi.Server, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := api.FlushSignIns(ctx); err != nil {
		log.Error("sign-in log entries were not all written before shutdown", "error", err.Error())
	}
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	level, err := cfg.Level()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// warnIfShared warns when other users may enter the data directory: the SQLite database in it
// holds token-signing keys, and files inside do not all restrict themselves.
func warnIfShared(dir string, log *slog.Logger) {
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data directory is open to other users; it holds signing keys and secrets: chmod 700 it",
			"data", dir, "mode", fi.Mode().Perm().String())
	}
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.IsPostgres() {
		st, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL database: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(cfg.SQLitePath())
	if err != nil {
		return nil, fmt.Errorf("opening the database %s: %w", cfg.SQLitePath(), err)
	}
	return st, nil
}

// tenantAlg tells the token service which algorithm a tenant signs with.
func tenantAlg(st store.Store) func(context.Context, string) (string, error) {
	return func(ctx context.Context, tenantID string) (string, error) {
		t, err := st.GetTenant(ctx, tenantID)
		return t.SigningAlg, err
	}
}

// tlsState is how the server gets its certificate: from the local CA (dir set, renewed in
// the background), from the operator's files, or not at all with --insecure-http.
type tlsState struct {
	keypair *tlsca.Keypair // nil with --insecure-http
	dir     string         // the local CA's directory; "" for operator-supplied files
	host    string
	caFile  string
}

func setupTLS(cfg config.Config) (tlsState, error) {
	if cfg.InsecureHTTP {
		return tlsState{}, nil
	}
	if cfg.TLSCert != "" {
		kp, err := tlsca.LoadKeypair(cfg.TLSCert, cfg.TLSKey)
		return tlsState{keypair: kp}, err
	}
	s := tlsState{dir: cfg.TLSDir(), host: cfg.URLHost()}
	res, err := tlsca.Ensure(s.dir, s.host, time.Now())
	if err != nil {
		return tlsState{}, fmt.Errorf("preparing the local CA: %w", err)
	}
	s.caFile = res.CA
	s.keypair, err = tlsca.LoadKeypair(res.Cert, res.Key)
	return s, err
}

func (s tlsState) config() *tls.Config {
	if s.keypair == nil {
		return nil
	}
	return s.keypair.ServerConfig()
}

// renew issues a new server certificate from the local CA when one is due and starts serving it.
func (s tlsState) renew(log *slog.Logger) {
	res, err := tlsca.Ensure(s.dir, s.host, time.Now())
	if err != nil {
		log.Error("renewing the server certificate failed", "err", err)
		return
	}
	if !res.IssuedServer {
		return
	}
	if err := s.keypair.Reload(); err != nil {
		log.Error("loading the renewed server certificate failed", "err", err)
		return
	}
	log.Info("server certificate renewed", "expires", res.ServerExpires)
}

func printFirstStart(w io.Writer, cfg config.Config, boot bootstrap.Result, caFile string) {
	caFlag := ""
	if caFile != "" {
		caFlag = " --ca-file " + caFile
	}
	fmt.Fprintf(w, `
Latch created tenant %s (%s).
Its first credentials are in %s (readable only by this user; they are shown nowhere else):
  - the owner service principal %s and its client secret, for automation;
  - a one-time Temporary Access Pass for %s, valid for 24 hours, to register a passkey.
Sign in as the owner:
  latch login --server %s%s --service-principal -u %s -p "<owner.secret from bootstrap.json>" --tenant %s
or as the administrator (enter the Temporary Access Pass in the browser):
  latch login --server %s%s

`, boot.Tenant.ID, boot.Tenant.DefaultDomain, boot.File, boot.OwnerAppID, boot.AdminUPN,
		cfg.URL, caFlag, boot.OwnerAppID, boot.Tenant.ID, cfg.URL, caFlag)
}

// newHandler puts the operational endpoints beside the API, all measured by m.
func newHandler(api *httpapi.Server, st store.Store, tenantID string, m *metrics.Metrics, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(st, tenantID, healthTimeout, log))
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", api.Handler())
	return m.Middleware(mux)
}

// healthz answers 200 when the store reads the home tenant within timeout, else 503.
// The read runs apart from the response so that a store ignoring its context cannot hold
// the probe past the deadline.
func healthz(st store.Store, tenantID string, timeout time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := st.GetTenant(ctx, tenantID); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			log.Warn("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"unavailable"}`+"\n")
			return
		}
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
}

func newHTTPServer(h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Handshake failures from clients that do not trust the CA land here: worth a warning.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// startMaintenance runs the background loops: signing-key rotation for the home tenant and,
// with the local CA, server certificate renewal.
func startMaintenance(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, log *slog.Logger,
	tokens *token.Service, tenantID string, t tlsState) {
	every(ctx, wg, keyRotationCheck, func() {
		if err := tokens.Rotate(ctx, tenantID); err != nil && ctx.Err() == nil {
			log.Error("signing key rotation failed", "tenantId", tenantID, "err", err)
		}
	})
	if t.dir != "" {
		every(ctx, wg, certRenewalCheck, func() { t.renew(log) })
	}
}

// purgeSignIns deletes sign-ins older than the configured retention, expired sessions and
// abandoned challenges.
func purgeSignIns(ctx context.Context, api *httpapi.Server, cfg config.Config, log *slog.Logger) {
	n, err := api.PurgeSignIns(ctx, cfg.SignInRetention())
	if err != nil && ctx.Err() == nil {
		log.Error("deleting old sign-in log entries failed", "err", err)
	}
	if n > 0 {
		log.Info("deleted old sign-in log entries", "count", n, "retentionDays", cfg.SignInRetentionDays)
	}
	if n, err := api.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
		log.Error("deleting expired sessions and challenges failed", "err", err)
	} else if n > 0 {
		log.Info("deleted expired sessions and abandoned challenges", "count", n)
	}
}

// every runs fn now and then every d until ctx is done.
func every(ctx context.Context, wg *sync.WaitGroup, d time.Duration, fn func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			fn()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// serveUntilDone serves on ln until ctx is done, then stops accepting and gives in-flight
// requests up to timeout to finish. A server that fails on its own returns that error.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, useTLS bool, timeout time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("the server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("requests still running after %s were cut off: %w", timeout, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
