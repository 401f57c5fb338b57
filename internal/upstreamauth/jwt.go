package upstreamauth

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// maxUnixSeconds bounds a believable exp claim (end of year 9999), so that a
// garbled claim cannot overflow time arithmetic.
const maxUnixSeconds = 253402300799

// jwtExpiry reads the exp claim (Unix seconds, integer or fractional) from
// the payload of a compact JWT. It does not verify the signature: we are a
// client, the upstream is the one that must trust the token; we only need to
// know when to renew it. ok is false when the token has no readable exp.
func jwtExpiry(jwt string) (exp time.Time, ok bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	if n, err := claims.Exp.Int64(); err == nil {
		if n <= 0 || n > maxUnixSeconds {
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	}
	f, err := claims.Exp.Float64()
	if err != nil || math.IsNaN(f) || f <= 0 || f > maxUnixSeconds {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// validBearer reports whether s can go into an Authorization header as is:
// printable ASCII without spaces. A token that fails this would make every
// call fail in the transport, so it is treated as an undecodable answer.
func validBearer(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// bearerOf returns the bearer token of req's Authorization header, "" when
// there is none.
func bearerOf(h string) string {
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}
