package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Claims the emulator puts in its JWTs, besides the per-token ones.
const (
	jwtIssuer   = "contacts-emulator"
	jwtAudience = "connectivity-api"
)

// claims is the JWT payload, with the members the documented examples show.
type claims struct {
	Sub              string `json:"sub"`
	Aud              string `json:"aud"`
	Iss              string `json:"iss"`
	Iat              int64  `json:"iat"`
	Exp              int64  `json:"exp"`
	Jti              string `json:"jti"`
	ClientID         string `json:"client_id"`
	MachineAccountID string `json:"machine_account_id"`
	ProviderID       string `json:"provider_id"`
	Test             bool   `json:"test"`
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

// authVerdict is the outcome of checking a contacts call's credentials.
type authVerdict int

const (
	authOK authVerdict = iota
	// authUnauthorized: no credentials, or an expired or revoked token of
	// ours. The platform pages answer HTTP 401 for these.
	authUnauthorized
	// authRejected: credentials that are not ours at all. The Contacts
	// table answers HTTP 400 + OTA 497 for these.
	authRejected
)

// tokens issues and checks the emulator's JWTs and keeps the exchange
// budget. Safe for concurrent use.
type tokens struct {
	key      []byte // HS256 key, random per Emulator
	lifetime time.Duration
	perHour  int

	mu sync.Mutex
	// active maps the jti of every issued, unrevoked token to its exp.
	// Expired entries are pruned on each issue.
	active map[string]int64
	// issued holds, per client id, the issue times still inside the
	// sliding hour of the budget.
	issued map[string][]time.Time
	// attempts counts every exchange naming a client id, whatever its
	// outcome, for Emulator.Exchanges.
	attempts map[string]int
}

func newTokens(lifetime time.Duration, perHour int) *tokens {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+).
	return &tokens{
		key:      key,
		lifetime: lifetime,
		perHour:  perHour,
		active:   make(map[string]int64),
		issued:   make(map[string][]time.Time),
		attempts: make(map[string]int),
	}
}

func (t *tokens) sign(signingInput string) []byte {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(signingInput))
	return mac.Sum(nil)
}

// issue returns a new JWT for the demo machine account; t.mu must be held.
func (t *tokens) issueLocked(clientID string, now time.Time) (string, error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	iat := now.Unix()
	// The lifetime is rounded up to whole seconds because exp is in
	// seconds; a token never lives less than asked.
	secs := int64((t.lifetime + time.Second - 1) / time.Second)
	c := claims{
		Sub:              DemoMachineAccountID,
		Aud:              jwtAudience,
		Iss:              jwtIssuer,
		Iat:              iat,
		Exp:              iat + secs,
		Jti:              hex.EncodeToString(jti[:]),
		ClientID:         clientID,
		MachineAccountID: DemoMachineAccountID,
		ProviderID:       DemoProviderID,
		Test:             true,
	}
	header, err := json.Marshal(jwtHeader{Alg: "HS256", Typ: "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	for jti, exp := range t.active {
		if exp <= iat {
			delete(t.active, jti)
		}
	}
	t.active[c.Jti] = c.Exp
	return input + "." + base64.RawURLEncoding.EncodeToString(t.sign(input)), nil
}

// check judges a bearer token.
func (t *tokens) check(token string, now time.Time) authVerdict {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return authRejected
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, t.sign(parts[0]+"."+parts[1])) {
		return authRejected
	}
	var h jwtHeader
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(raw, &h) != nil || h.Alg != "HS256" {
		return authRejected
	}
	var c claims
	if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(raw, &c) != nil {
		return authRejected
	}
	if now.Unix() >= c.Exp {
		return authUnauthorized
	}
	t.mu.Lock()
	_, live := t.active[c.Jti]
	t.mu.Unlock()
	if !live {
		return authUnauthorized // revoked
	}
	return authOK
}

func (t *tokens) revokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.active)
}

func (t *tokens) exchanges(clientID string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.attempts[clientID]
}

// exchangeResult is the outcome of one exchange attempt.
type exchangeResult struct {
	jwt        string
	status     int           // 200, 401 or 429
	retryAfter time.Duration // with 429
}

// exchange checks the machine account credentials and the budget, and
// issues a token.
//
// ASSUMPTION: the docs say an account may create at most 30 tokens an
// hour but not what happens past that. The emulator counts issued tokens
// per client id in a sliding hour and answers 429 with Retry-After (whole
// seconds until the oldest issue leaves the window). Refused attempts do
// not use up the budget.
func (t *tokens) exchange(clientID, secret string, now time.Time) (exchangeResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts[clientID]++

	idOK := subtle.ConstantTimeCompare([]byte(clientID), []byte(DemoClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(DemoClientSecret)) == 1
	if !idOK || !secretOK {
		return exchangeResult{status: http.StatusUnauthorized}, nil
	}

	windowStart := now.Add(-time.Hour)
	kept := t.issued[clientID][:0]
	for _, at := range t.issued[clientID] {
		if at.After(windowStart) {
			kept = append(kept, at)
		}
	}
	t.issued[clientID] = kept
	if len(kept) >= t.perHour {
		wait := kept[0].Add(time.Hour).Sub(now)
		return exchangeResult{status: http.StatusTooManyRequests, retryAfter: wait}, nil
	}

	jwt, err := t.issueLocked(clientID, now)
	if err != nil {
		return exchangeResult{}, err
	}
	t.issued[clientID] = append(kept, now)
	return exchangeResult{jwt: jwt, status: http.StatusOK}, nil
}

// retryAfterSeconds renders d as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}

// authorize judges the Authorization header of a contacts call.
//
// ASSUMPTION: the platform pages (401) and the Contacts table (400 + 497)
// disagree; the emulator answers 401 for missing credentials and for an
// expired or revoked token of its own, and 400 + 497 for credentials that
// were never valid (a token it did not sign, an unknown scheme, wrong
// Basic credentials). Both carry OTA 497 in errors[].
func (e *Emulator) authorize(r *http.Request) authVerdict {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return authUnauthorized
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if subtle.ConstantTimeCompare([]byte(rest), []byte(DemoStaticToken)) == 1 {
			return authOK
		}
		return e.tokens.check(rest, e.now())
	case strings.EqualFold(scheme, "Basic"):
		// Legacy Basic auth: deprecated by Booking.com, kept so that the
		// facade's legacy mode can be exercised.
		user, pass, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(user), []byte(DemoUsername)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(DemoPassword)) == 1 {
			return authOK
		}
		return authRejected
	}
	return authRejected
}

// exchangeRequest is the body of POST /token-based-authentication/exchange.
type exchangeRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type exchangeResponse struct {
	JWT  string `json:"jwt"`
	RUID string `json:"ruid"`
}

// serveExchange answers the token exchange.
//
// ASSUMPTION: the exchange's error answers are undocumented. A body that
// is not a JSON object answers 400 + OTA 450; wrong credentials 401 +
// OTA 497; past the budget 429 with Retry-After and an error envelope
// whose errors[] is empty (there is no OTA code for it).
func (e *Emulator) serveExchange(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(r)
	var req exchangeRequest
	if !ok || json.Unmarshal(body, &req) != nil {
		writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
		return
	}
	res, err := e.tokens.exchange(req.ClientID, req.ClientSecret, e.now())
	if err != nil {
		e.log.Error("token exchange failed", "error", err)
		writeProblems(w, http.StatusInternalServerError, problem{code: codeSystemError})
		return
	}
	switch res.status {
	case http.StatusOK:
		writeJSON(w, http.StatusOK, exchangeResponse{JWT: res.jwt, RUID: newRUID()})
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfterSeconds(res.retryAfter))
		writeProblems(w, http.StatusTooManyRequests)
	default:
		writeProblems(w, http.StatusUnauthorized, problem{code: codeAuthorization})
	}
}
