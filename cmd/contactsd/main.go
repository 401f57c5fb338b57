// Command contactsd serves contacts.v1.ContactsService over gRPC in front of
// the Booking.com Connectivity Contacts REST API. With -upstream emulator (or
// no upstream and no credentials at all) it runs on an embedded emulator of
// that API. Run `contactsd -h` for the flags.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/memlimit"
	"github.com/contacts-facade/contacts-facade/internal/observability"
	"github.com/contacts-facade/contacts-facade/internal/readpath"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the shutdown; a second one ends the process
	// at once, as signals do by default.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, nil)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "contactsd:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is 0 for success and -h, 2 for a configuration contactsd
// refuses, 1 for any other failure.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(configError)):
		return 2
	}
	return 1
}

// run serves until ctx ends, then shuts down gracefully. When ready is not
// nil it receives the listening address once the server accepts calls.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, ready chan<- net.Addr) error {
	cfg, err := parseConfig(args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if pprofExposed(cfg.obs.adminListen, cfg.obs.adminPprof) {
		log.Warn("-admin-pprof serves /debug/pprof/ (heap and goroutine dumps, CPU profiles) on a non-loopback address: bind -admin-listen to loopback or a port only the platform reaches", "admin_listen", cfg.obs.adminListen)
	}
	// SIGHUP reloads the caller policy, reopens the -audit-log file and
	// (below) reloads the TLS files. It is taken from the start, so that one
	// sent while contactsd starts does not end it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	getenv := func(k string) string {
		v, _ := lookupEnv(k)
		return v
	}
	obs, err := observability.New(ctx, observability.Config{AdminListen: cfg.obs.adminListen, AdminPprof: cfg.obs.adminPprof, Version: version}, getenv, log)
	defer obs.Shutdown()
	if err != nil {
		return err
	}
	log = slog.New(obs.LogHandler(log.Handler()))

	upstreamURL, authURL := cfg.upstreamURL, cfg.authURL
	embedded := cfg.emulator
	if embedded {
		emu := emulator.New(emulator.Options{Logger: log.With("component", "emulator")})
		base, stopEmu, err := emulator.Start(ctx, "127.0.0.1:0", emu)
		if err != nil {
			return fmt.Errorf("start the embedded emulator: %w", err)
		}
		defer func() { _ = stopEmu(context.Background()) }()
		upstreamURL = base
		authURL = cmp.Or(authURL, base+"/token-based-authentication/exchange")
		how := "-upstream " + upstreamEmulator
		if cfg.emulatorByDefault {
			how = "no upstream given"
		}
		log.Warn("using the EMBEDDED EMULATOR of the Contacts API (DEMO DATA, NOT Booking.com); set -upstream or "+envUpstreamURL+" to the real API's URL",
			"because", how,
			"upstream", upstreamURL,
			"health_service", grpcserver.HealthServiceEmulator,
			"demo_properties", fmt.Sprintf("%d,%d,%d,%d", emulator.DemoPropertyFull, emulator.DemoPropertyNoLanguage, emulator.DemoPropertyEmpty, emulator.DemoPropertyNoAccess))
		for _, e := range envCredentials {
			if _, ok := lookupEnv(e); ok {
				log.Warn("the emulator ignores the credentials of the environment: it knows only its demo account", "ignored", e)
			}
		}
	} else {
		log.Info("using the Contacts API", "upstream", upstreamURL)
	}
	memlimit.Configure(memlimit.CgroupRoot, lookupEnv, log) // a soft limit from the container's, unless GOMEMLIMIT is set

	account, err := readAccount(getenv, embedded)
	if err != nil {
		return err
	}
	mode, err := account.Mode(cfg.authMode)
	if errors.Is(err, upstreamauth.ErrNoCredentials) {
		return fmt.Errorf("%w: set %s and %s (or %s, or -auth none)", err, envClientID, envClientSecret, envToken)
	}
	// What the replicas of the account share, in Redis when there is one.
	var fleetID, fleetSecret string
	if mode == upstreamauth.ModeToken {
		fleetID, fleetSecret = account.ClientID, account.Secret
	}
	fl, err := openFleet(ctx, cfg.share, fleetID, fleetSecret, log)
	if err != nil {
		return err
	}
	defer fl.close()

	// The token exchange gets its own connection pool, closed on return
	// like the upstream client's.
	exchangeHTTP := &http.Client{Transport: httpx.NewTransport(0)}
	defer exchangeHTTP.CloseIdleConnections()
	tc := upstreamauth.TokenConfig{
		ExchangeURL:         authURL,
		HTTPClient:          exchangeHTTP,
		RenewBefore:         cfg.renewBefore,
		MaxExchangesPerHour: cfg.share.exchangesPerHour,
		OnExchange:          obs.OnTokenExchange(),
		Logger:              log.With("component", "upstreamauth"),
	}
	fl.tokenConfig(&tc)
	auth, err := account.Authorizer(mode, tc, log)
	if err != nil {
		return err
	}
	if c, ok := auth.(io.Closer); ok {
		defer c.Close()
	}
	if ts, ok := auth.(*upstreamauth.TokenSource); ok {
		obs.WatchToken(ts.Snapshot)
	}
	// One limit for the fleet's calls to the Contacts API, shared through
	// the account's Redis when there is one.
	gov, err := governor.New(governor.Config{PerMinute: cfg.gov.perMinute, Mode: cfg.gov.governorMode(), Store: fl.store,
		Logger: log.With("component", "governor"), Metrics: obs.GovernorMetrics()})
	if err != nil {
		return configError{err}
	}
	client, err := upstream.New(upstream.Config{
		BaseURL:      upstreamURL,
		Authorizer:   auth,
		MaxBodyBytes: cfg.maxBodyBytes,
		UserAgent:    "contacts-facade/" + version,
		H2C:          cfg.upstreamH2C,
		HTTPClient:   obs.UpstreamHTTPClient(cfg.upstreamH2C),
		Observer:     obs.UpstreamObserver(),
		Governor:     gov,
	})
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	reader := newReads(client, cfg.share, cfg.defaultTimeout)
	defer reader.Close()
	obs.WatchReads(reader.Stats)
	if fl.budget != nil {
		obs.WatchRedis(fl.budget.Degraded)
	}
	var bus readpath.Bus
	if fl.store != nil {
		bus = fl.store
	}
	callers, err := newCallers(cfg.callers, cfg.listen, stderr, log)
	if err != nil {
		return err
	}
	defer callers.close()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				callers.reload(log)
			}
		}
	}()
	svcCfg := service.Config{
		Upstream:       client,
		Reads:          readpath.Share(ctx, reader, bus, log),
		Policy:         callers.policy,
		Audit:          callers.trail,
		Callers:        callers.resolver,
		LockWait:       cfg.share.lockWait,
		WriteTimeout:   cfg.share.writeTimeout,
		DefaultTimeout: cfg.defaultTimeout,
		Logger:         log,
		// Bulk operations: kept for -operation-retention after they end,
		// estimated at the governor's bulk share.
		OperationRetention: cfg.share.opRetention,
		Pacer:              gov,
		BulkMetrics:        obs.BulkMetrics(),
		BulkCallsPerMinute: gov.PerMinute(governor.Bulk),
	}
	fl.serviceConfig(&svcCfg)
	svc, err := service.New(svcCfg)
	if err != nil {
		return err
	}
	// After the server's drain (deferred later, so run earlier): the
	// bulk items in flight end, and their operations are released for
	// another replica.
	defer svc.Close()

	var tlsCfg *tls.Config
	if cfg.tlsCert != "" {
		files, err := newTLSFiles(cfg, log.With("component", "tls"))
		if err != nil {
			return configError{err}
		}
		tlsCfg = files.serverConfig()
		// SIGHUP, or a change of the files' content, reloads them.
		tlsHUP := make(chan os.Signal, 1)
		signal.Notify(tlsHUP, syscall.SIGHUP)
		defer signal.Stop(tlsHUP)
		poll := time.NewTicker(tlsPollInterval)
		defer poll.Stop()
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() { defer close(watched); files.watch(watchCtx, tlsHUP, poll.C) }()
		defer func() { stopWatch(); <-watched }()
	}
	unary, stream, opts := obs.ServerHooks()
	srv := grpcserver.New(grpcserver.Config{
		Service:             svc,
		Logger:              log,
		UnaryInterceptors:   unary,
		StreamInterceptors:  stream,
		ServiceInterceptors: svc.UnaryInterceptors(),
		Options:             opts,
		Limits: grpcserver.Limits{
			MaxConnectionAge: cfg.maxConnAge,
			// A call without a deadline of its own gets the default one:
			// an old connection's calls get that long to finish.
			MaxConnectionAgeGrace: cfg.defaultTimeout,
			ConnectionTimeout:     cfg.connTimeout,
			MaxConnections:        cfg.maxConns,
		},
		TLS:        tlsCfg,
		DrainDelay: cfg.drainDelay,
		Emulator:   embedded,
	})
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return err
	}
	var healthLis net.Listener
	if cfg.healthListen != "" {
		if healthLis, err = lc.Listen(ctx, "tcp", cfg.healthListen); err != nil {
			_ = lis.Close()
			return fmt.Errorf("-health-listen: %w", err)
		}
	}
	if err := obs.StartAdmin(ctx); err != nil {
		_ = lis.Close()
		if healthLis != nil {
			_ = healthLis.Close()
		}
		return err
	}
	attrs := []any{"listen", lis.Addr().String(), "tls", tlsCfg != nil, "mtls", cfg.clientCA != ""}
	if healthLis != nil {
		attrs = append(attrs, "health_listen", healthLis.Addr().String())
	}
	log.Info("serving contacts.v1.ContactsService", append(attrs, "emulator", embedded, "version", version)...)
	served := make(chan error, 2)
	go func() { served <- srv.Serve(lis) }()
	servers := 1
	if healthLis != nil {
		servers++
		go func() { served <- srv.ServeHealth(healthLis) }()
	}
	obs.SetReady(true)
	if ready != nil {
		ready <- lis.Addr()
	}

	var serveErr error
	select {
	case serveErr = <-served:
		servers--
	case <-ctx.Done():
	}
	obs.SetReady(false)
	log.Info("shutting down: health is NOT_SERVING", "drain_delay", cfg.drainDelay, "timeout", cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.drainDelay+cfg.shutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	for range servers {
		if err := <-served; err != nil && serveErr == nil {
			serveErr = err
		}
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readAccount reads the machine account's credentials. Secrets come from
// the environment only, and only their presence is logged.
func readAccount(getenv func(string) string, embedded bool) (upstreamauth.Account, error) {
	a := upstreamauth.Account{ClientID: getenv(envClientID), Secret: getenv(envClientSecret), Token: getenv(envToken),
		Username: getenv(envUsername), Password: getenv(envPassword)}
	if f := getenv(envClientSecretFile); f != "" && a.Secret == "" {
		b, err := readFileCapped(f, maxSecretFileBytes)
		if err != nil {
			return a, configError{fmt.Errorf("%s: %w", envClientSecretFile, err)}
		}
		a.Secret = trimSecret(string(b))
	}
	if embedded {
		// The emulator knows only its demo account.
		a.ClientID, a.Secret = emulator.DemoClientID, emulator.DemoClientSecret
		a.Token = cmp.Or(a.Token, emulator.DemoStaticToken)
		a.Username, a.Password = emulator.DemoUsername, emulator.DemoPassword
	}
	return a, nil
}
