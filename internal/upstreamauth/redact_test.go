package upstreamauth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	staticSecret = "static-token-Zq9-do-not-log"
	basicPass    = "basic-pass-Xy7-do-not-log"
)

func TestStaticToken(t *testing.T) {
	a := NewStaticToken(staticSecret)
	req := newRequest(t)
	if err := a.Authorize(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+staticSecret {
		t.Fatalf("Authorization = %q", got)
	}
	if a.Rejected(req) {
		t.Fatal("Rejected = true, want false")
	}
	err := NewStaticToken("").Authorize(t.Context(), newRequest(t))
	if e := asError(t, err); e.Kind != KindCredentialsRejected {
		t.Fatalf("empty token: %v", e)
	}
}

func TestBasic(t *testing.T) {
	a := newBasic("machine-user", basicPass)
	req := newRequest(t)
	if err := a.Authorize(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("machine-user:"+basicPass))
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization = %q, want %q", got, want)
	}
	if a.Rejected(req) {
		t.Fatal("Rejected = true, want false")
	}
	err := newBasic("", "x").Authorize(t.Context(), newRequest(t))
	if e := asError(t, err); e.Kind != KindCredentialsRejected {
		t.Fatalf("empty user: %v", e)
	}
}

// TestRedaction prints every credential type with every fmt verb and both
// slog handlers, alone and nested, and checks no secret shows.
func TestRedaction(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, nil)
	tok, _ := mustAuthorize(t, ts) // so the source holds a token too
	cfg := TokenConfig{ExchangeURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret}
	secrets := []string{testSecret, tok, staticSecret, basicPass}

	values := map[string]any{
		"StaticToken":  NewStaticToken(staticSecret),
		"Basic":        newBasic("machine-user", basicPass),
		"TokenSource":  ts,
		"TokenConfig":  cfg,
		"*TokenConfig": &cfg,
		"nested": struct {
			Auth   *StaticToken
			Basic  *Basic
			Source *TokenSource
			Config TokenConfig
		}{NewStaticToken(staticSecret), newBasic("u", basicPass), ts, cfg},
	}
	check := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks a secret: %s", what, out)
			}
		}
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			check(name+" "+verb, fmt.Sprintf(verb, v))
		}
		check(name+" Sprint", fmt.Sprint(v))
		if s, ok := v.(fmt.Stringer); ok {
			out := s.String()
			check(name+" String", out)
			if !strings.Contains(out, redacted) {
				t.Errorf("%s String() = %q, want a %s marker", name, out, redacted)
			}
		}
		for hname, mk := range map[string]func(*bytes.Buffer) slog.Handler{
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var buf bytes.Buffer
			slog.New(mk(&buf)).Info("oops", "auth", v, slog.Any("again", v))
			check(name+" slog "+hname, buf.String())
		}
	}
	// The LogValuer output is useful, not just empty.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("auth", "source", ts, "basic", newBasic("machine-user", basicPass))
	for _, want := range []string{testClientID, "token_expires_at", `"user":"machine-user"`, redacted} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("slog output lacks %q: %s", want, buf.String())
		}
	}
}

// TestLogsNeverContainSecrets drives success, renewal, rejection, failures
// and budget exhaustion with the logger capturing everything (Debug and
// up), then checks that neither the secret nor any token was logged, and
// that the "token obtained" line carries what operators need.
func TestLogsNeverContainSecrets(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, logs := newSource(t, f, func(c *TokenConfig) { c.MaxExchangesPerHour = 2 })

	_, req := mustAuthorize(t, ts)
	clock.Advance(56 * time.Minute)
	mustAuthorize(t, ts) // renewal
	ts.Rejected(req)     // stale
	_, req = mustAuthorize(t, ts)
	ts.Rejected(req)                // current: marked for renewal
	clock.Advance(61 * time.Minute) // the token has expired, the budget is free
	f.setResponder(func(_ *fakeExchange, w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"ruid": "R-bad"})
	})
	_, _, err := authorize(t.Context(), t, ts) // 401
	clock.Advance(2 * time.Second)
	_, _, err2 := authorize(t.Context(), t, ts) // 401 again: budget now spent
	clock.Advance(10 * time.Second)
	_, _, err3 := authorize(t.Context(), t, ts) // budget exhausted
	if e := asError(t, err3); e.Kind != KindBudgetExhausted {
		t.Fatalf("third failure kind %v, want budget_exhausted", e.Kind)
	}
	slog.New(slog.NewJSONHandler(logs, nil)).Error("call failed", "err", err, "err2", err2, "err3", err3, "source", ts)

	out := logs.String()
	secrets := append([]string{testSecret}, f.tokens()...)
	if len(secrets) != 3 { // the secret and two tokens
		t.Fatalf("%d tokens issued, want 2", len(secrets)-1)
	}
	for i, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("log holds secret #%d", i)
		}
		if parts := strings.Split(s, "."); len(parts) == 3 && strings.Contains(out, parts[1]) {
			t.Fatalf("log holds the payload of token #%d", i)
		}
	}
	for _, want := range []string{
		`"msg":"upstream token obtained"`, `"client_id":"` + testClientID + `"`, `"obtained_at"`, `"expires_at"`,
		`"msg":"upstream token exchange failed"`, `"level":"WARN"`, `"status":401`, `"kind":"credentials_rejected"`,
		`"msg":"upstream rejected the current token"`, `"decision":"renew"`, `budget exhausted`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	for _, e := range []error{err, err2, err3} {
		if strings.Contains(e.Error(), testSecret) {
			t.Fatal("error message holds the secret")
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	e := &Error{Kind: KindRateLimited, HTTPStatus: 429, RequestID: "R1", RetryAfter: 2 * time.Second, Err: cause}
	want := "upstream token exchange: rate limited (HTTP 429) ruid R1, retry after 2s: dial tcp: refused"
	if e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, cause) {
		t.Fatal("Unwrap does not reach the cause")
	}
	for k, s := range map[Kind]string{
		KindCredentialsRejected: "credentials_rejected", KindUnavailable: "unavailable",
		KindRateLimited: "rate_limited", KindBudgetExhausted: "budget_exhausted", Kind(0): "kind(0)",
	} {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
	if got := (&Error{Kind: Kind(9)}).Error(); got != "upstream token exchange: kind(9)" {
		t.Errorf("unknown kind message %q", got)
	}
}
