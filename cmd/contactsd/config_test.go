package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// envMap is an os.LookupEnv over a map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeTemp writes content to a new file and returns its path.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string             // substring of the error; "" for none
		check func(config) error // on success
		// notInErr must not appear in the error (a password of a URL).
		notInErr string
	}{
		{name: "defaults", check: func(c config) error {
			want := config{listen: "localhost:50051", authMode: upstreamauth.ModeAuto, logLevel: slog.LevelInfo, logFormat: "text",
				defaultTimeout: 30 * time.Second, shutdownTimeout: 30 * time.Second, renewBefore: 5 * time.Minute, maxBodyBytes: 1 << 20,
				maxConnAge: 5 * time.Minute, connTimeout: 10 * time.Second, maxConns: 10_000, emulator: true, emulatorByDefault: true,
				share: sharingConfig{localBudget: 3, exchangesPerHour: 30, cacheMaxEntries: 10_000, cacheMaxBytes: 16 << 20, lockWait: 10 * time.Second, writeTimeout: 20 * time.Second,
					opRetention: 7 * 24 * time.Hour, opLease: 30 * time.Second},
				gov: governorConfig{perMinute: 200, mode: "enforce"}}
			if c != want {
				return fmt.Errorf("got %+v, want %+v", c, want)
			}
			return nil
		}},
		{name: "plain http to another host", args: []string{"-upstream", "http://example.com"}, err: "plain http is allowed only on loopback"},
		{name: "redis password in a flag", args: []string{"-redis-url", "redis://:hunter2@localhost:6379"}, err: "must not hold a password", notInErr: "hunter2"},
		{name: "redis password in the environment", env: map[string]string{envRedisURL: "rediss://:hunter2@redis:6380/1"},
			check: func(c config) error {
				if c.share.redisURL != "rediss://:hunter2@redis:6380/1" || c.share.redisFromFlag {
					return fmt.Errorf("redis URL %q from flag %v", c.share.redisURL, c.share.redisFromFlag)
				}
				return nil
			}},
		{name: "redis flag wins over the environment", args: []string{"-redis-url", "redis://a:6379"}, env: map[string]string{envRedisURL: "redis://b:6379"},
			check: func(c config) error {
				if c.share.redisURL != "redis://a:6379" {
					return fmt.Errorf("redis URL %q", c.share.redisURL)
				}
				return nil
			}},
		{name: "redis URL from a file", env: map[string]string{envRedisURLFile: writeTemp(t, "rediss://:hunter2@redis:6380\n")},
			check: func(c config) error {
				if c.share.redisURL != "rediss://:hunter2@redis:6380" {
					return fmt.Errorf("redis URL %q", c.share.redisURL)
				}
				return nil
			}},
		{name: "redis bad scheme", args: []string{"-redis-url", "http://localhost:6379"}, err: "redis://host:port"},
		{name: "stale without a cache", args: []string{"-read-cache-stale", "5s"}, err: "need -read-cache-ttl"},
		{name: "negative cache TTL", args: []string{"-read-cache-ttl", "-1s"}, err: "must not be negative"},
		{name: "no exchanges an hour", args: []string{"-token-exchanges-per-hour", "0"}, err: "must be positive"},
		{name: "plain http to another host, allowed", args: []string{"-upstream", "http://example.com", "-allow-insecure-upstream"},
			check: wantUpstream("http://example.com")},
		{name: "-upstream-h2c over https", args: []string{"-upstream", "https://supply-xml.booking.com/contacts-api", "-upstream-h2c"},
			err: "-upstream-h2c needs a plain-http upstream"},
		{name: "-upstream-h2c on loopback", args: []string{"-upstream", "http://127.0.0.1:8089", "-upstream-h2c"}, check: func(c config) error {
			if !c.upstreamH2C {
				return errors.New("upstreamH2C not set")
			}
			return nil
		}},
		{name: "plain http on 127.0.0.1", args: []string{"-upstream", "http://127.0.0.1:8089"}, check: wantUpstream("http://127.0.0.1:8089")},
		{name: "plain http on localhost", args: []string{"-upstream", "http://localhost:8089"}},
		{name: "plain http on ::1", args: []string{"-upstream", "http://[::1]:8089"}},
		{name: "https", args: []string{"-upstream", "https://supply-xml.booking.com/contacts-api"},
			check: wantUpstream("https://supply-xml.booking.com/contacts-api")},
		{name: "other scheme", args: []string{"-upstream", "ftp://example.com"}, err: "scheme must be https"},
		{name: "not absolute", args: []string{"-upstream", "supply-xml.booking.com"}, err: "not an absolute URL"},
		{name: "plain http exchange URL", args: []string{"-auth-url", "http://example.com/exchange"}, err: "-auth-url"},
		{name: "plain http upstream from the environment", env: map[string]string{envUpstreamURL: "http://example.com"}, err: "plain http"},
		{name: "upstream from the environment", env: map[string]string{envUpstreamURL: "https://a.example", envAuthURL: "https://b.example/x"},
			check: func(c config) error {
				if c.upstreamURL != "https://a.example" || c.authURL != "https://b.example/x" {
					return fmt.Errorf("upstream %q, auth URL %q", c.upstreamURL, c.authURL)
				}
				return nil
			}},
		{name: "flag over environment", args: []string{"-upstream", "https://flag.example"}, env: map[string]string{envUpstreamURL: "https://env.example"},
			check: wantUpstream("https://flag.example")},
		{name: "empty flag over environment: refused", args: []string{"-upstream", ""}, env: map[string]string{envUpstreamURL: "https://env.example"},
			err: `-upstream is empty: give the Contacts API's URL, or "emulator"`},
		{name: "empty environment: refused, not the emulator", env: map[string]string{envUpstreamURL: ""},
			err: envUpstreamURL + ` is empty: give the Contacts API's URL, or "emulator"`},
		{name: "-upstream emulator", args: []string{"-upstream", "emulator"}, check: wantEmulator(false)},
		{name: "emulator from the environment", env: map[string]string{envUpstreamURL: "emulator"}, check: wantEmulator(false)},
		{name: "-upstream emulator ignores credentials", args: []string{"-upstream", "emulator"},
			env: map[string]string{envClientID: "id", envClientSecret: "s"}, check: wantEmulator(false)},
		{name: "no upstream at all: the emulator", check: wantEmulator(true)},
		{name: "a URL is not the emulator", args: []string{"-upstream", "https://a.example"}, check: func(c config) error {
			if c.emulator || c.emulatorByDefault {
				return fmt.Errorf("emulator %v, by default %v", c.emulator, c.emulatorByDefault)
			}
			return nil
		}},
		{name: "-auth-url without an upstream", args: []string{"-auth-url", "https://auth.example"}, err: "-auth-url is set but no upstream is"},
		{name: "-drain-delay and -max-connection-age", args: []string{"-drain-delay", "7s", "-max-connection-age", "0"}, check: func(c config) error {
			if c.drainDelay != 7*time.Second || c.maxConnAge != 0 {
				return fmt.Errorf("drain delay %v, max connection age %v", c.drainDelay, c.maxConnAge)
			}
			return nil
		}},
		{name: "-connection-timeout and -max-connections", args: []string{"-connection-timeout", "3s", "-max-connections", "50"}, check: func(c config) error {
			if c.connTimeout != 3*time.Second || c.maxConns != 50 {
				return fmt.Errorf("connection timeout %v, max connections %d", c.connTimeout, c.maxConns)
			}
			return nil
		}},
		{name: "zero -max-connections", args: []string{"-max-connections", "0"}, err: "must be positive"},
		{name: "zero -connection-timeout", args: []string{"-connection-timeout", "0s"}, err: "must be positive"},
		{name: "negative -drain-delay", args: []string{"-drain-delay", "-1s"}, err: "must not be negative"},
		{name: "-health-listen", args: []string{"-health-listen", "127.0.0.1:8081"}, check: func(c config) error {
			if c.healthListen != "127.0.0.1:8081" {
				return fmt.Errorf("health listen %q", c.healthListen)
			}
			return nil
		}},
		{name: "credentials in the URL", args: []string{"-upstream", "https://user:url-password-1@example.com"},
			err: "no credentials in the URL", notInErr: "url-password-1"},
		{name: "credentials in the URL from the environment", env: map[string]string{envUpstreamURL: "https://a.example", envAuthURL: "https://user:url-password-2@example.com"},
			err: "no credentials in the URL", notInErr: "url-password-2"},
		{name: "bad -auth", args: []string{"-auth", "oauth"}, err: `-auth "oauth"`},
		{name: "every -auth", args: []string{"-auth", "basic"}, check: func(c config) error {
			for _, m := range upstreamauth.Modes {
				if _, err := parseConfig([]string{"-auth", m}, envMap(nil), io.Discard); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "-tls-cert without -tls-key", args: []string{"-tls-cert", "cert.pem"}, err: "-tls-cert and -tls-key go together"},
		{name: "-tls-key without -tls-cert", args: []string{"-tls-key", "key.pem"}, err: "-tls-cert and -tls-key go together"},
		{name: "-client-ca without TLS", args: []string{"-client-ca", "ca.pem"}, err: "-client-ca needs -tls-cert"},
		{name: "no upstream rate", args: []string{"-upstream-rate-per-minute", "0"}, err: "-upstream-rate-per-minute must be positive"},
		{name: "upstream rate not a number in the environment", env: map[string]string{envUpstreamRate: "lots"}, err: envUpstreamRate + ": want a whole number"},
		{name: "unknown upstream rate mode", args: []string{"-upstream-rate-mode", "loud"}, err: `-upstream-rate-mode "loud": want enforce or shadow`},
		{name: "shadow mode", args: []string{"-upstream-rate-mode", "shadow"}, check: func(c config) error {
			if c.gov.governorMode() != governor.Shadow {
				return fmt.Errorf("mode %v, want shadow", c.gov.governorMode())
			}
			return nil
		}},
		{name: "bad -log-format", args: []string{"-log-format", "xml"}, err: "-log-format"},
		{name: "bad -log-level", args: []string{"-log-level", "loud"}, err: "log-level"},
		{name: "zero -default-timeout", args: []string{"-default-timeout", "0s"}, err: "must be positive"},
		{name: "negative -max-upstream-body", args: []string{"-max-upstream-body", "-1"}, err: "must be positive"},
		{name: "unknown flag", args: []string{"-client-secret", "x"}, err: "flag provided but not defined: -client-secret"},
		{name: "extra arguments", args: []string{"-listen", ":0", "serve"}, err: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := parseConfig(tc.args, envMap(tc.env), &out)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if tc.notInErr != "" && strings.Contains(err.Error()+out.String(), tc.notInErr) {
					t.Fatalf("the error repeats a password: %v\n%s", err, out.String())
				}
			case err != nil:
				t.Fatalf("error %v", err)
			case tc.check != nil:
				if err := tc.check(c); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func wantEmulator(byDefault bool) func(config) error {
	return func(c config) error {
		if !c.emulator || c.emulatorByDefault != byDefault || c.upstreamURL != "" {
			return fmt.Errorf("emulator %v, by default %v (want %v), upstream %q", c.emulator, c.emulatorByDefault, byDefault, c.upstreamURL)
		}
		return nil
	}
}

// TestCredentialsWithoutUpstream: a credential of the real API in the
// environment with no upstream is refused (exit 2), whatever its value,
// empty included; the emulator starts only when asked for, or on a
// machine with none of them.
func TestCredentialsWithoutUpstream(t *testing.T) {
	for _, e := range envCredentials {
		for _, v := range []string{"something", ""} {
			err := run(t.Context(), []string{"-listen", "127.0.0.1:0"}, envMap(map[string]string{e: v}), io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), e+" is set but no upstream is") || !strings.Contains(err.Error(), "-upstream emulator") {
				t.Errorf("%s=%q without an upstream: %v, want a refusal naming it and -upstream emulator", e, v, err)
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("%s=%q without an upstream: exit status %d, want 2", e, v, code)
			}
			if v != "" && err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("the refusal repeats the value of %s: %v", e, err)
			}
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 0},
		{configError{errors.New("bad")}, 2},
		{fmt.Errorf("wrapped: %w", configError{errors.New("bad")}), 2},
		{errors.New("listen: address in use"), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	_, err := parseConfig([]string{"-no-such-flag"}, envMap(nil), io.Discard)
	if exitCode(err) != 2 {
		t.Errorf("unknown flag: exit status %d, want 2", exitCode(err))
	}
}

func wantUpstream(u string) func(config) error {
	return func(c config) error {
		if c.upstreamURL != u {
			return fmt.Errorf("upstream %q, want %q", c.upstreamURL, u)
		}
		return nil
	}
}

// TestRunRefusesBadConfig: run stops on a bad configuration before it
// listens, and says why.
func TestRunRefusesBadConfig(t *testing.T) {
	err := run(t.Context(), []string{"-upstream", "http://example.com"}, envMap(nil), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("run: %v, want the plain-http refusal", err)
	}
	if exitCode(err) != 2 {
		t.Errorf("plain-http refusal: exit status %d, want 2", exitCode(err))
	}
	err = run(t.Context(), []string{"-upstream", "https://example.com"}, envMap(nil), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "no upstream credentials") {
		t.Fatalf("run with a real upstream and no credentials: %v, want a refusal", err)
	}
}

// TestHelp: -h describes every flag, the environment variables and the
// demo data, and prints no secret of the environment.
func TestHelp(t *testing.T) {
	secrets := map[string]string{
		envClientID:         "env-client-id-5b1c",
		envClientSecret:     "env-client-secret-7d2e",
		envClientSecretFile: "/run/secrets/env-secret-file-3f4a",
		envToken:            "env-static-token-9a8b",
		envUsername:         "env-user-1c2d",
		envPassword:         "env-password-6e5f",
		envUpstreamURL:      "https://user:env-url-password-4d3c@contacts.example.com",
		envAuthURL:          "https://user:env-auth-password-2b1a@auth.example.com",
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, envMap(secrets), &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v, want flag.ErrHelp", err)
	}
	help := out.String()

	// Every flag the binary defines is described (docs/configuration.md is
	// generated from the same flag set: TestConfigurationDoc).
	var defined []string
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) { defined = append(defined, f.Name) })
	for _, f := range defined {
		if !strings.Contains(help, "  -"+f+" ") && !strings.Contains(help, "  -"+f+"\n") {
			t.Errorf("-h does not describe -%s", f)
		}
	}
	for _, e := range []string{envUpstreamURL, envAuthURL, envClientID, envClientSecret, envClientSecretFile, envToken, envUsername, envPassword} {
		if !strings.Contains(help, e) {
			t.Errorf("-h does not mention %s", e)
		}
	}
	for _, id := range []int{emulator.DemoPropertyFull, emulator.DemoPropertyNoLanguage, emulator.DemoPropertyEmpty, emulator.DemoPropertyNoAccess} {
		if !strings.Contains(help, strconv.Itoa(id)) {
			t.Errorf("-h does not list the demo property %d", id)
		}
	}
	for _, s := range []string{emulator.DemoClientID, emulator.DemoClientSecret} {
		if !strings.Contains(help, s) {
			t.Errorf("-h does not give the demo account's %q", s)
		}
	}
	for name, v := range secrets {
		// The URLs are checked by their password only.
		if i := strings.Index(v, "env-"); i >= 0 {
			v = v[i:]
			v = v[:strings.IndexAny(v+"@", "@")]
		}
		if strings.Contains(help, v) {
			t.Errorf("-h prints the value of %s (%q)", name, v)
		}
	}
	if t.Failed() {
		t.Logf("-h output:\n%s", help)
	}
}
