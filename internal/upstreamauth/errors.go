package upstreamauth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies a failure to obtain credentials, so that the facade can
// choose the gRPC status without looking at HTTP details.
type Kind int

// The kinds of *Error.
const (
	// KindCredentialsRejected: the exchange refused the Client ID or Secret
	// (HTTP 400, 401 or 403). Retrying does not help until the
	// configuration changes; the facade answers UNAUTHENTICATED with
	// reason TOKEN_EXCHANGE_FAILED.
	KindCredentialsRejected Kind = iota + 1
	// KindUnavailable: the exchange could not be reached, timed out,
	// answered 5xx or another unexpected status, or answered 200 with a
	// body that holds no usable token. The facade answers UNAVAILABLE.
	KindUnavailable
	// KindRateLimited: the exchange answered 429; RetryAfter holds its
	// Retry-After header when present.
	KindRateLimited
	// KindBudgetExhausted: our own guard refused to start another exchange
	// because MaxExchangesPerHour attempts were sent in the last hour;
	// nothing was sent. RetryAfter says when the oldest attempt leaves the
	// window.
	KindBudgetExhausted
)

// String names the kind in snake case, as it appears in logs.
func (k Kind) String() string {
	switch k {
	case KindCredentialsRejected:
		return "credentials_rejected"
	case KindUnavailable:
		return "unavailable"
	case KindRateLimited:
		return "rate_limited"
	case KindBudgetExhausted:
		return "budget_exhausted"
	default:
		return fmt.Sprintf("kind(%d)", int(k))
	}
}

// errClosed is the cause of the error Authorize returns once the
// TokenSource has been closed, so that shutdown is told apart from an
// upstream outage.
var errClosed = errors.New("token source closed")

// Error is the failure to obtain a token. Authorize returns it unchanged
// (the REST client passes it through), so the error translation can map it
// with errors.As. Its message never holds the Client Secret or a token.
type Error struct {
	Kind Kind
	// HTTPStatus is the exchange's answer status, 0 when there was none.
	HTTPStatus int
	// RequestID is the exchange answer's ruid when present, for
	// Booking.com support.
	RequestID string
	// RetryAfter is when trying again may help: the exchange's Retry-After
	// header, or for KindBudgetExhausted the time until the budget frees
	// up. Zero when unknown.
	RetryAfter time.Duration
	// Err is the underlying cause (transport error, decode error), if any.
	Err error
}

// Error describes the failure with its kind, HTTP status, ruid and
// Retry-After, which is what an operator needs; it holds no credentials.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream token exchange: ")
	switch e.Kind {
	case KindCredentialsRejected:
		b.WriteString("credentials rejected")
	case KindUnavailable:
		b.WriteString("unavailable")
	case KindRateLimited:
		b.WriteString("rate limited")
	case KindBudgetExhausted:
		b.WriteString("hourly exchange budget exhausted")
	default:
		b.WriteString(e.Kind.String())
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " ruid %s", e.RequestID)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the cause, so that errors.Is finds e.g.
// context.DeadlineExceeded after an exchange timeout.
func (e *Error) Unwrap() error { return e.Err }
