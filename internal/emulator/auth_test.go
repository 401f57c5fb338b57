package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

const exchangePath = "/token-based-authentication/exchange"

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func credentials(id, secret string) string {
	b, _ := json.Marshal(map[string]string{"client_id": id, "client_secret": secret})
	return string(b)
}

// TestAuthentication checks every kind of credentials on a contacts call.
func TestAuthentication(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	jwt := h.exchange()
	other := newHarness(t, emulator.Options{}).exchange()

	// A token of ours with a changed payload: the signature no longer fits.
	parts := strings.Split(jwt, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"test":true`, `"test":false`, 1))) + "." + parts[2]

	tests := []struct {
		name   string
		auth   string
		status int // 200 or the error status; errors are always OTA 497
	}{
		{"exchanged token", "Bearer " + jwt, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + jwt, http.StatusOK},
		{"static demo token", staticAuth, http.StatusOK},
		{"legacy Basic", basic(emulator.DemoUsername, emulator.DemoPassword), http.StatusOK},
		{"missing", noAuth, http.StatusUnauthorized},
		{"blank", "   ", http.StatusUnauthorized},
		{"garbled bearer", "Bearer not-a-jwt", http.StatusBadRequest},
		{"empty bearer", "Bearer", http.StatusBadRequest},
		{"three garbled parts", "Bearer a.b.c", http.StatusBadRequest},
		{"forged payload", "Bearer " + forged, http.StatusBadRequest},
		{"token of another emulator", "Bearer " + other, http.StatusBadRequest},
		{"wrong static token", "Bearer " + emulator.DemoStaticToken + "x", http.StatusBadRequest},
		{"Basic wrong password", basic(emulator.DemoUsername, "nope"), http.StatusBadRequest},
		{"Basic wrong user", basic("someone", emulator.DemoPassword), http.StatusBadRequest},
		{"Basic not base64", "Basic !!!", http.StatusBadRequest},
		{"unknown scheme", "Token " + jwt, http.StatusBadRequest},
		{"client secret as token", "Bearer " + emulator.DemoClientSecret, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull), tt.auth, "")
			if tt.status == http.StatusOK {
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.raw)
				}
				return
			}
			expectErrors(t, res, tt.status, want{code: "497"})
			if tt.status == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestAuthenticationBeforeBody checks that bad credentials win over a bad
// body and an unknown property.
func TestAuthenticationBeforeBody(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	expectErrors(t, h.do(http.MethodPut, contactsPath("nope"), noAuth, "{"), http.StatusUnauthorized, want{code: "497"})
	expectErrors(t, h.do(http.MethodPut, contactsPath("nope"), "Bearer x", "{"), http.StatusBadRequest, want{code: "497"})
}

// TestExchangeToken checks the exchange answer and the JWT's claims.
func TestExchangeToken(t *testing.T) {
	h := newHarness(t, emulator.Options{TokenLifetime: 90 * time.Minute})
	jwt := h.exchange()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	decode := func(s string) map[string]any {
		t.Helper()
		if strings.ContainsAny(s, "=+/") {
			t.Errorf("JWT part %q is not base64url without padding", s)
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	header := decode(parts[0])
	if header["alg"] != "HS256" || header["typ"] != "JWT" {
		t.Errorf("header %v", header)
	}
	claims := decode(parts[1])
	for _, k := range []string{"sub", "aud", "iss", "jti", "client_id", "machine_account_id", "provider_id"} {
		if s, ok := claims[k].(string); !ok || s == "" {
			t.Errorf("claim %s = %#v, want a non-empty string", k, claims[k])
		}
	}
	if _, ok := claims["test"].(bool); !ok {
		t.Errorf("claim test = %#v, want a bool", claims["test"])
	}
	if claims["client_id"] != emulator.DemoClientID || claims["machine_account_id"] != emulator.DemoMachineAccountID || claims["provider_id"] != emulator.DemoProviderID {
		t.Errorf("claims %v", claims)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if int64(iat) != h.clock.Now().Unix() {
		t.Errorf("iat %v, want %d", iat, h.clock.Now().Unix())
	}
	if exp-iat != 90*60 {
		t.Errorf("exp - iat = %v, want 5400", exp-iat)
	}
	if h.exchange() == jwt {
		t.Error("two exchanges gave the same token")
	}
}

func TestExchangeErrors(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"wrong secret", credentials(emulator.DemoClientID, "wrong"), http.StatusUnauthorized, "497"},
		{"wrong client id", credentials("someone", emulator.DemoClientSecret), http.StatusUnauthorized, "497"},
		{"no credentials", `{}`, http.StatusUnauthorized, "497"},
		{"not JSON", `client_id=demo`, http.StatusBadRequest, "450"},
		{"not an object", `["demo-client-id"]`, http.StatusBadRequest, "450"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, h.do(http.MethodPost, exchangePath, noAuth, tt.body), tt.status, want{code: tt.code})
		})
	}
	if got := h.emu.Exchanges(emulator.DemoClientID); got != 1 {
		t.Errorf("Exchanges(demo) = %d, want 1 (the wrong-secret attempt)", got)
	}
	if got := h.emu.Exchanges("someone"); got != 1 {
		t.Errorf("Exchanges(someone) = %d, want 1", got)
	}
}

// TestExchangeBudget checks the sliding-hour budget with the injected
// clock: 30 tokens, then 429 with Retry-After until the oldest token's hour
// has passed.
func TestExchangeBudget(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	good := credentials(emulator.DemoClientID, emulator.DemoClientSecret)
	exchange := func() result {
		t.Helper()
		return h.do(http.MethodPost, exchangePath, noAuth, good)
	}
	refused := func(wantRetryAfter string) {
		t.Helper()
		res := exchange()
		expectErrors(t, res, http.StatusTooManyRequests)
		if got := res.header.Get("Retry-After"); got != wantRetryAfter {
			t.Errorf("Retry-After %q, want %q", got, wantRetryAfter)
		}
	}

	// 10 tokens at minute 0, 20 at minute 10.
	for range 10 {
		h.exchange()
	}
	h.clock.Advance(10 * time.Minute)
	for range 20 {
		h.exchange()
	}
	refused("3000") // the first 10 leave the window at minute 60
	// Wrong credentials neither use the budget nor are told about it.
	expectErrors(t, h.do(http.MethodPost, exchangePath, noAuth, credentials(emulator.DemoClientID, "x")), http.StatusUnauthorized, want{code: "497"})

	h.clock.Advance(49*time.Minute + 59*time.Second + 500*time.Millisecond)
	refused("1") // half a second left rounds up to 1
	h.clock.Advance(500 * time.Millisecond)
	// Minute 60: the first 10 have left the window.
	for range 10 {
		h.exchange()
	}
	refused("600") // the 20 of minute 10 leave at minute 70

	if got := h.emu.Exchanges(emulator.DemoClientID); got != 30+1+1+1+10+1 {
		t.Errorf("Exchanges = %d, want 44", got)
	}
}

func TestExchangeBudgetConfigurable(t *testing.T) {
	h := newHarness(t, emulator.Options{ExchangesPerHour: 2})
	h.exchange()
	h.exchange()
	res := h.do(http.MethodPost, exchangePath, noAuth, credentials(emulator.DemoClientID, emulator.DemoClientSecret))
	expectErrors(t, res, http.StatusTooManyRequests)
	if got := res.header.Get("Retry-After"); got != "3600" {
		t.Errorf("Retry-After %q, want 3600", got)
	}
}

// TestTokenExpiry checks a token one second before and at its exp.
func TestTokenExpiry(t *testing.T) {
	h := newHarness(t, emulator.Options{TokenLifetime: 10 * time.Minute})
	auth := "Bearer " + h.exchange()
	path := contactsPath(emulator.DemoPropertyFull)

	h.clock.Advance(10*time.Minute - time.Second)
	if res := h.do(http.MethodGet, path, auth, ""); res.status != http.StatusOK {
		t.Fatalf("before exp: status %d: %s", res.status, res.raw)
	}
	h.clock.Advance(time.Second)
	expectErrors(t, h.do(http.MethodGet, path, auth, ""), http.StatusUnauthorized, want{code: "497"})
	// A new token works.
	if res := h.do(http.MethodGet, path, "Bearer "+h.exchange(), ""); res.status != http.StatusOK {
		t.Fatalf("new token: status %d: %s", res.status, res.raw)
	}
}

// TestRevokeTokens checks that RevokeTokens ends every token issued so far
// and only those.
func TestRevokeTokens(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	path := contactsPath(emulator.DemoPropertyFull)
	first, second := "Bearer "+h.exchange(), "Bearer "+h.exchange()
	h.emu.RevokeTokens()
	for _, auth := range []string{first, second} {
		expectErrors(t, h.do(http.MethodGet, path, auth, ""), http.StatusUnauthorized, want{code: "497"})
	}
	// The static token and Basic are not tokens the emulator issued.
	if res := h.do(http.MethodGet, path, staticAuth, ""); res.status != http.StatusOK {
		t.Errorf("static token after revoke: %d", res.status)
	}
	if res := h.do(http.MethodGet, path, "Bearer "+h.exchange(), ""); res.status != http.StatusOK {
		t.Errorf("token issued after revoke: %d: %s", res.status, res.raw)
	}
}
