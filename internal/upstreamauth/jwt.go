package upstreamauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

const (
	// documentedLifetime is the one assumption this package makes about
	// token lifetime: Booking.com's tokens live an hour (the exchange
	// answer has no expires_in; in the documented examples the JWT's
	// exp - iat is 3600, see contacts-api.md "Authentication"). It is the
	// lifetime assumed when a JWT has no usable exp, and the most believed
	// when its exp says more (an exp ten years ahead is a garbled claim or
	// a wrong issuer clock, and trusting it would keep a dead token for
	// years). Should tokens ever live longer, renewing hourly costs one
	// exchange an hour of a budget of 30.
	documentedLifetime = time.Hour
	// maxClockSkew is how far in the past an exp may lie and still be put
	// down to our clock running ahead of the issuer's; further back, the
	// token is taken as already expired.
	maxClockSkew = time.Minute
)

// errInvalidToken is the cause (errors.Is) of the *Error of an exchange
// that answered 200 with a token that cannot be used: not a bearer string,
// or a JWT that had expired before it arrived. Its Kind is
// KindUnavailable.
var errInvalidToken = errors.New("the exchange issued an unusable token")

// tokenExpiry works out until when a token obtained at obtained may be
// used: its exp, cut to documentedLifetime; documentedLifetime when it has
// no usable exp or the exp lies in the past within maxClockSkew (our clock
// ahead of the issuer's; a 401 will correct a wrong guess). An exp further
// in the past is an error wrapping ErrInvalidToken. fromJWT reports
// whether the exp was used as is.
func tokenExpiry(jwt string, obtained time.Time) (expires time.Time, fromJWT bool, err error) {
	latest := obtained.Add(documentedLifetime)
	exp, ok := jwtExpiry(jwt)
	switch {
	case !ok:
		return latest, false, nil
	case exp.Before(obtained.Add(-maxClockSkew)):
		return time.Time{}, false, fmt.Errorf("%w: its exp lies %s before it was received",
			errInvalidToken, obtained.Sub(exp).Truncate(time.Second))
	case !exp.After(obtained):
		return latest, false, nil
	case exp.After(latest):
		return latest, false, nil
	default:
		return exp, true, nil
	}
}
