package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// Environment variables. Secrets are read only from the environment (or a
// file named there), never from flags: flags show up in ps and shell
// history.
const (
	envUpstreamURL      = "CONTACTS_UPSTREAM_URL"
	envAuthURL          = "CONTACTS_AUTH_URL"
	envClientID         = "CONTACTS_API_CLIENT_ID"
	envClientSecret     = "CONTACTS_API_CLIENT_SECRET"
	envClientSecretFile = "CONTACTS_API_CLIENT_SECRET_FILE"
	envToken            = "CONTACTS_API_TOKEN"
	envUsername         = "CONTACTS_API_USERNAME"
	envPassword         = "CONTACTS_API_PASSWORD"
)

// upstreamEmulator is the -upstream value (and CONTACTS_UPSTREAM_URL
// value) that asks for the embedded emulator.
const upstreamEmulator = "emulator"

// envCredentials are the environment variables that configure the real
// API: one of them set without an upstream is a mistake, not a demo.
var envCredentials = []string{envClientID, envClientSecret, envClientSecretFile, envToken, envUsername, envPassword, envAuthURL}

// configError is a configuration contactsd refuses: it exits 2, as for a
// bad flag.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// config is everything contactsd is told, by flags and environment.
type config struct {
	listen       string
	healthListen string
	upstreamURL  string
	// emulator: serve on the embedded emulator (-upstream emulator, or no
	// upstream at all); upstreamURL is then empty.
	emulator bool
	// emulatorByDefault: the emulator, because no upstream was given.
	emulatorByDefault bool
	authURL           string
	authMode          string
	insecureUpstrm    bool
	upstreamH2C       bool
	logLevel          slog.Level
	logFormat         string
	defaultTimeout    time.Duration
	shutdownTimeout   time.Duration
	drainDelay        time.Duration
	maxConnAge        time.Duration
	connTimeout       time.Duration
	maxConns          int
	renewBefore       time.Duration
	maxBodyBytes      int64
	tlsCert           string
	tlsKey            string
	clientCA          string
	obs               obsConfig
	share             sharingConfig
	callers           callersConfig
	gov               governorConfig
}

// parseConfig reads the flags in args and the environment through
// lookupEnv (os.LookupEnv: a variable set to "" is set). Its errors other
// than flag.ErrHelp are configErrors.
func parseConfig(args []string, lookupEnv func(string) (string, bool), out io.Writer) (config, error) {
	c, err := parseConfigFlags(args, lookupEnv, out)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		err = configError{err}
	}
	return c, err
}

func parseConfigFlags(args []string, lookupEnv func(string) (string, bool), out io.Writer) (config, error) {
	var c config
	fs := newFlagSet(&c, out)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// The environment is read after the flags, not as their defaults, so
	// that -h never prints a value of the environment.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := c.share.finish(set, lookupEnv); err != nil {
		return c, err
	}
	if err := c.gov.finish(set, lookupEnv); err != nil {
		return c, err
	}
	upstreamFrom := "-upstream"
	if !set["upstream"] {
		v, ok := lookupEnv(envUpstreamURL)
		c.upstreamURL, upstreamFrom = v, envUpstreamURL
		if !ok {
			c.emulatorByDefault = true
		}
	}
	if !set["auth-url"] {
		c.authURL, _ = lookupEnv(envAuthURL)
	}
	switch {
	case c.emulatorByDefault:
		c.emulator = true
		// A fresh machine gets the demo; a machine set up for the real
		// API that lost its upstream (a typo, a template that rendered
		// nothing) must not serve demo data.
		for _, e := range envCredentials {
			if _, ok := lookupEnv(e); ok {
				return c, fmt.Errorf("%s is set but no upstream is: set -upstream (or %s) to the Contacts API's URL, or -upstream %s to serve the demo emulator and ignore the credentials", e, envUpstreamURL, upstreamEmulator)
			}
		}
		if set["auth-url"] {
			return c, fmt.Errorf("-auth-url is set but no upstream is: set -upstream (or %s), or -upstream %s", envUpstreamURL, upstreamEmulator)
		}
	case c.upstreamURL == upstreamEmulator:
		c.emulator, c.upstreamURL = true, ""
	case c.upstreamURL == "":
		return c, fmt.Errorf("%s is empty: give the Contacts API's URL, or %q for the demo emulator", upstreamFrom, upstreamEmulator)
	}
	return c, c.check()
}

// newFlagSet defines the flags of contactsd into c.
func newFlagSet(c *config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("contactsd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "localhost:50051", "gRPC listen address (host:port)")
	fs.StringVar(&c.healthListen, "health-listen", "",
		"also serve grpc.health.v1 alone, in plaintext, on this address (host:port), for probes\nthat cannot present a client certificate; empty: off")
	fs.StringVar(&c.upstreamURL, "upstream", "",
		"base URL of the Contacts REST API, e.g. https://supply-xml.booking.com/contacts-api\n(env "+envUpstreamURL+"), or \""+upstreamEmulator+"\" for the embedded demo emulator;\nnot given at all: the emulator, unless credentials are set")
	fs.StringVar(&c.authURL, "auth-url", "",
		"token exchange URL (env "+envAuthURL+"); default "+upstreamauth.DefaultExchangeURL+",\nor the emulator's own on the emulator")
	fs.StringVar(&c.authMode, "auth", upstreamauth.ModeAuto,
		"upstream credentials: auto (client id+secret, else "+envToken+"), token, static, basic (legacy, deprecated), none")
	fs.BoolVar(&c.insecureUpstrm, "allow-insecure-upstream", false, "allow a plain-http upstream that is not on loopback")
	fs.BoolVar(&c.upstreamH2C, "upstream-h2c", false,
		"speak HTTP/2 without TLS to a plain-http upstream (prior knowledge), such as a proxy beside\nthe facade: one connection for all calls in flight instead of one each")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.defaultTimeout, "default-timeout", 30*time.Second, "deadline of calls that arrive without one")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second,
		"after the drain delay, how long SIGINT/SIGTERM waits for calls in flight;\nthen they answer UNAVAILABLE SERVER_SHUTTING_DOWN")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0,
		"on SIGINT/SIGTERM, how long health says NOT_SERVING while calls are still served,\nbefore the listener closes: give load balancers time to stop sending (e.g. 5s)")
	fs.DurationVar(&c.maxConnAge, "max-connection-age", 5*time.Minute,
		"end each client connection after about this long (GOAWAY), so that clients\nrebalance over replicas; 0: never")
	fs.DurationVar(&c.connTimeout, "connection-timeout", grpcserver.DefaultConnectionTimeout,
		"close a new connection that has not completed its TLS handshake and HTTP/2 preface within this long")
	fs.IntVar(&c.maxConns, "max-connections", grpcserver.DefaultMaxConnections,
		"connections open at once per listener; past it new ones wait in the accept queue")
	fs.DurationVar(&c.renewBefore, "token-renew-before", 5*time.Minute, "renew the upstream token this long before it expires")
	fs.Int64Var(&c.maxBodyBytes, "max-upstream-body", 1<<20, "largest upstream answer read, in bytes")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate file: serve TLS (with -tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file of -tls-cert")
	fs.StringVar(&c.clientCA, "client-ca", "", "PEM CA bundle: require client certificates signed by it (mTLS)")
	addObservabilityFlags(fs, &c.obs)
	addSharingFlags(fs, &c.share)
	addCallersFlags(fs, &c.callers)
	addGovernorFlags(fs, &c.gov)
	fs.Usage = func() { usage(fs, out) }
	return fs
}

func (c config) check() error {
	switch c.authMode {
	case upstreamauth.ModeAuto, upstreamauth.ModeToken, upstreamauth.ModeStatic, upstreamauth.ModeBasic, upstreamauth.ModeNone:
	default:
		return fmt.Errorf("-auth %q: want auto, token, static, basic or none", c.authMode)
	}
	switch c.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("-log-format %q: want text or json", c.logFormat)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if c.clientCA != "" && c.tlsCert == "" {
		return errors.New("-client-ca needs -tls-cert and -tls-key")
	}
	if c.maxBodyBytes <= 0 || c.defaultTimeout <= 0 || c.shutdownTimeout <= 0 {
		return errors.New("-max-upstream-body, -default-timeout and -shutdown-timeout must be positive")
	}
	if c.connTimeout <= 0 || c.maxConns <= 0 {
		return errors.New("-connection-timeout and -max-connections must be positive")
	}
	if c.drainDelay < 0 || c.maxConnAge < 0 {
		return errors.New("-drain-delay and -max-connection-age must not be negative")
	}
	if c.upstreamH2C && strings.HasPrefix(strings.ToLower(c.upstreamURL), "https:") {
		return errors.New("-upstream-h2c needs a plain-http upstream: over https HTTP/2 is negotiated anyway")
	}
	for _, u := range []struct{ name, val string }{{"-upstream", c.upstreamURL}, {"-auth-url", c.authURL}} {
		if u.val != "" {
			if err := checkUpstreamURL(u.val, c.insecureUpstrm); err != nil {
				return fmt.Errorf("%s: %w", u.name, err)
			}
		}
	}
	return nil
}

// checkUpstreamURL refuses credentials over plain HTTP to anything but
// loopback, unless the operator asked for it, and credentials in the URL
// (they belong in the environment variables, and a URL is logged). Its
// errors never repeat a password.
func checkUpstreamURL(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	if u.User != nil {
		return fmt.Errorf("%q: no credentials in the URL; set them in the environment (see -h)", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowInsecure || httpx.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: plain http is allowed only on loopback (or with -allow-insecure-upstream)", raw)
	}
	return fmt.Errorf("%q: scheme must be https", raw)
}

func usage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, `contactsd serves contacts.v1.ContactsService (gRPC) in front of the
Booking.com Connectivity Contacts REST API.

Usage: contactsd [flags]
  contactsd -upstream https://supply-xml.booking.com/contacts-api   the real API
  contactsd -upstream emulator                                      the demo emulator

With -upstream emulator it starts an embedded emulator of the Contacts API on
a loopback port and uses it with the emulator's demo machine account. With no
-upstream and no %s at all it does the same, so that it
works out of the box, but it refuses to start when credentials of the real
API (below) are set, and an empty upstream is refused.
Demo properties:
  %d  two contacts (general+invoices, reservations+availability)
  %d  a general contact without language, and a CONTRACT contact
  %d  no contacts (try CreateContacts)
  %d  exists, but the demo account has no access (NOT_FOUND, OTA 635)
  any other ID: NOT_FOUND (OTA 635)
Demo machine account: client id %q, secret %q.

Credentials of the real API (environment only, never flags; never logged):
  %s, %s   token exchange (default with -auth auto)
  %s   read the secret from this file instead (at most 64 KiB)
  %s   a fixed bearer token, for debugging (-auth static)
  %s, %s   legacy Basic auth, sunset by Booking.com (-auth basic)

Exit status: 0 after a clean shutdown, 2 for a configuration it refuses, 1 otherwise.

Flags:
`, envUpstreamURL, emulator.DemoPropertyFull, emulator.DemoPropertyNoLanguage, emulator.DemoPropertyEmpty, emulator.DemoPropertyNoAccess,
		emulator.DemoClientID, emulator.DemoClientSecret,
		envClientID, envClientSecret, envClientSecretFile, envToken, envUsername, envPassword)
	fs.PrintDefaults()
}

// trimSecret drops the newline a secret file usually ends with.
func trimSecret(s string) string { return strings.TrimRight(s, "\r\n") }

// Caps of the files contactsd reads whole.
const (
	maxSecretFileBytes = 64 << 10 // a client secret is a few dozen bytes
	maxPEMFileBytes    = 1 << 20  // a CA bundle of a few hundred certificates
)

// readFileCapped reads the file at path, refusing one over max bytes
// (/dev/zero, a log file named by mistake) before reading more than
// max+1 bytes of it.
func readFileCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not the file meant", path, max)
	}
	return b, nil
}

// pprofExposed reports whether -admin-pprof serves /debug/pprof/ on an
// address other hosts may reach: an empty host (all interfaces), an
// unspecified or non-loopback address, or a host name other than
// localhost (it may resolve anywhere).
func pprofExposed(adminListen string, pprof bool) bool {
	if !pprof || adminListen == "" {
		return false
	}
	host, _, err := net.SplitHostPort(adminListen)
	return err != nil || !httpx.IsLoopback(host)
}
