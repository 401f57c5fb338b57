// Command contactsd serves contacts.v1.ContactsService over gRPC in front of
// the Booking.com Connectivity Contacts REST API. With -upstream emulator (or
// no upstream and no credentials at all) it runs on an embedded emulator of
// that API. Run `contactsd -h` for the flags.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/memlimit"
	"github.com/contacts-facade/contacts-facade/internal/metrics"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
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
	// SIGHUP reloads the caller policy; taken from the start, so that one
	// sent while contactsd starts does not end it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	getenv := func(k string) string {
		v, _ := lookupEnv(k)
		return v
	}
	obs, err := newObservability(ctx, cfg.obs, getenv, log)
	defer obs.shutdown()
	if err != nil {
		return err
	}
	log = slog.New(obs.logHandler(log.Handler()))

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

	creds, err := readCredentials(getenv, embedded)
	if err != nil {
		return err
	}
	mode, err := authMode(cfg, creds)
	if err != nil {
		return err
	}
	// What the replicas of the account share, in Redis when there is one.
	var fleetID, fleetSecret string
	if mode == authToken {
		fleetID, fleetSecret = creds.clientID, creds.secret
	}
	fl, err := openFleet(ctx, cfg.share, fleetID, fleetSecret, log)
	if err != nil {
		return err
	}
	defer fl.close()

	// The token exchange gets its own connection pool, closed on return
	// like the upstream client's.
	exchangeHTTP := newExchangeHTTPClient()
	defer exchangeHTTP.CloseIdleConnections()
	auth, err := newAuthorizer(cfg, creds, mode, authURL, exchangeHTTP, func(tc *upstreamauth.TokenConfig) {
		tc.MaxExchangesPerHour = cfg.share.exchangesPerHour
		tc.OnExchange = obs.onTokenExchange()
		fl.tokenConfig(tc)
	}, log)
	if err != nil {
		return err
	}
	if c, ok := auth.(io.Closer); ok {
		defer c.Close()
	}
	if ts, ok := auth.(*upstreamauth.TokenSource); ok {
		obs.watchToken(func() metrics.TokenState { return tokenState(ts.Snapshot()) })
	}
	client, err := upstream.New(upstream.Config{
		BaseURL:      upstreamURL,
		Authorizer:   auth,
		MaxBodyBytes: cfg.maxBodyBytes,
		UserAgent:    "contacts-facade/" + version,
		H2C:          cfg.upstreamH2C,
		HTTPClient:   obs.upstreamHTTPClient(cfg.upstreamH2C),
		Observer:     obs.upstreamObserver(),
	})
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	reads := newReads(client, cfg.share, cfg.defaultTimeout)
	defer reads.Close()
	obs.watchReads(reads.Stats)
	if fl.budget != nil {
		obs.watchRedis(fl.budget.Degraded)
	}
	gate, err := newCallers(cfg.callers, cfg.listen, stderr, log)
	if err != nil {
		return err
	}
	defer gate.close()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				gate.reload(log)
			}
		}
	}()
	svc := service.NewWithOptions(shareInvalidations(ctx, reads, fl, cfg.share.cacheTTL > 0, log), log, fl.serviceOptions(cfg.share.lockWait))

	var tlsCfg *tls.Config
	if cfg.tlsCert != "" {
		if tlsCfg, err = loadTLS(cfg); err != nil {
			return configError{err}
		}
	}
	unary, stream, opts := obs.serverHooks()
	srv := grpcserver.New(grpcserver.Config{
		Service:             svc,
		Logger:              log,
		UnaryInterceptors:   unary,
		StreamInterceptors:  stream,
		ServiceInterceptors: gate.interceptors(),
		Options:             opts,
		Limits: grpcserver.Limits{
			MaxConnectionAge: cfg.maxConnAge,
			// A call without a deadline of its own gets the default one:
			// an old connection's calls get that long to finish.
			MaxConnectionAgeGrace: cfg.defaultTimeout,
		},
		TLS:            tlsCfg,
		DefaultTimeout: cfg.defaultTimeout,
		DrainDelay:     cfg.drainDelay,
		Emulator:       embedded,
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
	if err := obs.startAdmin(ctx); err != nil {
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
	obs.setReady(true)
	if ready != nil {
		ready <- lis.Addr()
	}

	var serveErr error
	select {
	case serveErr = <-served:
		servers--
	case <-ctx.Done():
	}
	obs.setReady(false)
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

// accountCredentials are the machine account's, from the environment (or the
// emulator's demo account).
type accountCredentials struct {
	clientID, secret string
	token            string
	user, pass       string
}

// readCredentials reads the credentials. Secrets come from the
// environment only, and only their presence is logged.
func readCredentials(getenv func(string) string, embedded bool) (accountCredentials, error) {
	c := accountCredentials{clientID: getenv(envClientID), secret: getenv(envClientSecret), token: getenv(envToken),
		user: getenv(envUsername), pass: getenv(envPassword)}
	if f := getenv(envClientSecretFile); f != "" && c.secret == "" {
		b, err := readFileCapped(f, maxSecretFileBytes)
		if err != nil {
			return c, configError{fmt.Errorf("%s: %w", envClientSecretFile, err)}
		}
		c.secret = trimSecret(string(b))
	}
	if embedded {
		// The emulator knows only its demo account.
		c.clientID, c.secret = emulator.DemoClientID, emulator.DemoClientSecret
		c.token = cmp.Or(c.token, emulator.DemoStaticToken)
		c.user, c.pass = emulator.DemoUsername, emulator.DemoPassword
	}
	return c, nil
}

// authMode is the -auth mode in force: auto picks token exchange when
// there are a client id and secret, else a fixed token.
func authMode(cfg config, c accountCredentials) (string, error) {
	if cfg.authMode != authAuto {
		return cfg.authMode, nil
	}
	switch {
	case c.clientID != "" && c.secret != "":
		return authToken, nil
	case c.token != "":
		return authStatic, nil
	}
	return "", fmt.Errorf("no upstream credentials: set %s and %s (or %s, or -auth none)", envClientID, envClientSecret, envToken)
}

// newAuthorizer builds the upstream credentials of mode. tune completes
// the token source's configuration (shared budget and token, metrics).
func newAuthorizer(cfg config, c accountCredentials, mode, authURL string, exchangeHTTP *http.Client, tune func(*upstreamauth.TokenConfig), log *slog.Logger) (upstream.Authorizer, error) {
	switch mode {
	case authToken:
		if c.clientID == "" || c.secret == "" {
			return nil, fmt.Errorf("-auth token needs %s and %s", envClientID, envClientSecret)
		}
		log.Info("upstream credentials: token exchange", "client_id", c.clientID, "exchange_url", cmp.Or(authURL, upstreamauth.DefaultExchangeURL))
		tc := upstreamauth.TokenConfig{
			ExchangeURL:  authURL,
			HTTPClient:   exchangeHTTP,
			ClientID:     c.clientID,
			ClientSecret: c.secret,
			RenewBefore:  cfg.renewBefore,
			Logger:       log.With("component", "upstreamauth"),
		}
		tune(&tc)
		ts, err := upstreamauth.NewTokenSource(tc)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case authStatic:
		if c.token == "" {
			return nil, fmt.Errorf("-auth static needs %s", envToken)
		}
		log.Info("upstream credentials: fixed bearer token from " + envToken)
		return upstreamauth.NewStaticToken(c.token), nil
	case authBasic:
		if c.user == "" || c.pass == "" {
			return nil, fmt.Errorf("-auth basic needs %s and %s", envUsername, envPassword)
		}
		log.Warn("upstream credentials: legacy Basic auth; Booking.com sunset it on 2025-12-31, move to "+envClientID+"/"+envClientSecret, "username_set", true)
		return upstreamauth.NewBasic(c.user, c.pass), nil
	}
	log.Warn("upstream credentials: none (-auth none)")
	return nil, nil
}

// newExchangeHTTPClient is an HTTP client with a connection pool of its
// own, not http.DefaultTransport's.
func newExchangeHTTPClient() *http.Client {
	return &http.Client{Transport: httpx.NewTransport(0)}
}

// loadTLS builds the server's TLS config, with client verification when
// -client-ca is set.
func loadTLS(cfg config) (*tls.Config, error) {
	certPEM, err := readFileCapped(cfg.tlsCert, maxPEMFileBytes)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	keyPEM, err := readFileCapped(cfg.tlsKey, maxPEMFileBytes)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.clientCA != "" {
		pem, err := readFileCapped(cfg.clientCA, maxPEMFileBytes)
		if err != nil {
			return nil, fmt.Errorf("-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-client-ca: no PEM certificate in %s", cfg.clientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
