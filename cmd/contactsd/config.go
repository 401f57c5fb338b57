package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
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

// Values of -auth.
const (
	authAuto   = "auto"
	authToken  = "token"
	authStatic = "static"
	authBasic  = "basic"
	authNone   = "none"
)

// config is everything contactsd is told, by flags and environment.
type config struct {
	listen          string
	upstreamURL     string
	authURL         string
	authMode        string
	insecureUpstrm  bool
	logLevel        slog.Level
	logFormat       string
	defaultTimeout  time.Duration
	shutdownTimeout time.Duration
	renewBefore     time.Duration
	maxBodyBytes    int64
	tlsCert         string
	tlsKey          string
	clientCA        string
	obs             obsConfig
}

// parseConfig reads the flags in args and the environment through getenv.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
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
	if !set["upstream"] {
		c.upstreamURL = getenv(envUpstreamURL)
	}
	if !set["auth-url"] {
		c.authURL = getenv(envAuthURL)
	}
	return c, c.check()
}

// newFlagSet defines the flags of contactsd into c.
func newFlagSet(c *config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("contactsd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "localhost:50051", "gRPC listen address (host:port)")
	fs.StringVar(&c.upstreamURL, "upstream", "",
		"base URL of the Contacts REST API, e.g. https://supply-xml.booking.com/contacts-api\n(env "+envUpstreamURL+"); empty: start the embedded emulator and use it")
	fs.StringVar(&c.authURL, "auth-url", "",
		"token exchange URL (env "+envAuthURL+"); default "+upstreamauth.DefaultExchangeURL+",\nor the emulator's own with no -upstream")
	fs.StringVar(&c.authMode, "auth", authAuto,
		"upstream credentials: auto (client id+secret, else "+envToken+"), token, static, basic (legacy, deprecated), none")
	fs.BoolVar(&c.insecureUpstrm, "allow-insecure-upstream", false, "allow a plain-http upstream that is not on loopback")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.defaultTimeout, "default-timeout", 30*time.Second, "deadline of calls that arrive without one")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGINT/SIGTERM waits for calls in flight")
	fs.DurationVar(&c.renewBefore, "token-renew-before", 5*time.Minute, "renew the upstream token this long before it expires")
	fs.Int64Var(&c.maxBodyBytes, "max-upstream-body", 1<<20, "largest upstream answer read, in bytes")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate file: serve TLS (with -tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file of -tls-cert")
	fs.StringVar(&c.clientCA, "client-ca", "", "PEM CA bundle: require client certificates signed by it (mTLS)")
	addObservabilityFlags(fs, &c.obs)
	fs.Usage = func() { usage(fs, out) }
	return fs
}

func (c config) check() error {
	switch c.authMode {
	case authAuto, authToken, authStatic, authBasic, authNone:
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

With no -upstream it starts an embedded emulator of the Contacts API on a
loopback port and uses it with the emulator's demo machine account, so it
works out of the box. Demo properties:
  %d  two contacts (general+invoices, reservations+availability)
  %d  a general contact without language, and a CONTRACT contact
  %d  no contacts (try CreateContacts)
  %d  exists, but the demo account has no access (NOT_FOUND, OTA 635)
  any other ID: NOT_FOUND (OTA 635)
Demo machine account: client id %q, secret %q.

Credentials of the real API (environment only, never flags; never logged):
  %s, %s   token exchange (default with -auth auto)
  %s   read the secret from this file instead
  %s   a fixed bearer token, for debugging (-auth static)
  %s, %s   legacy Basic auth, sunset by Booking.com (-auth basic)

Flags:
`, emulator.DemoPropertyFull, emulator.DemoPropertyNoLanguage, emulator.DemoPropertyEmpty, emulator.DemoPropertyNoAccess,
		emulator.DemoClientID, emulator.DemoClientSecret,
		envClientID, envClientSecret, envClientSecretFile, envToken, envUsername, envPassword)
	fs.PrintDefaults()
}

// trimSecret drops the newline a secret file usually ends with.
func trimSecret(s string) string { return strings.TrimRight(s, "\r\n") }
