package upstream

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Method names the REST call an error came from; the error translation uses
// it (OTA 150 means ALREADY_EXISTS on POST, FAILED_PRECONDITION otherwise).
type Method string

// The REST methods of the Contacts API.
const (
	MethodGet  Method = "GET"
	MethodPut  Method = "PUT"
	MethodPost Method = "POST"
)

// APIError is an answer with a non-2xx HTTP status whose body decoded as the
// documented envelope (it may still have no errors[] entries, e.g. a 429
// with an empty JSON object).
type APIError struct {
	Method     Method
	HTTPStatus int
	// Errors are the entries of errors[], in upstream order.
	Errors []Message
	// Warnings are the entries of warnings[].
	Warnings []Message
	// RequestID is meta.ruid, empty when absent.
	RequestID string
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
}

// Error names the method, the status, every OTA code and the request id.
// It leaves out the upstream texts: they may quote personal data.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "contacts api: %s: HTTP %d", e.Method, e.HTTPStatus)
	for i, m := range e.Errors {
		if i == 0 {
			b.WriteString(" OTA ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(cmp.Or(string(m.Code), "?"))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (ruid %s)", e.RequestID)
	}
	return b.String()
}

// HasCode reports whether any entry of errors[] carries the OTA code: the
// code, not the first entry nor the HTTP status, is what decides what an
// answer means (400 is both "bad credentials" 497 and "not permitted" 150).
func (e *APIError) HasCode(code string) bool {
	for _, m := range e.Errors {
		if string(m.Code) == code {
			return true
		}
	}
	return false
}

// DecodeError is an answer whose body is not the documented JSON: HTML from
// a proxy, an empty or truncated body, a body over the size cap, or a 2xx
// body that does not hold what the call needs.
type DecodeError struct {
	Method      Method
	HTTPStatus  int
	ContentType string
	// Snippet is at most the first 256 bytes of the body, for logs only: it
	// may hold personal data and must never go into a gRPC status.
	Snippet string
	// TooLarge is set when the body passed the client's size cap.
	TooLarge bool
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
	Err        error
}

// Error names the method, status, content type and cause; never the
// snippet, which may hold personal data.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("contacts api: %s: HTTP %d: undecodable body (%s): %v", e.Method, e.HTTPStatus, e.ContentType, e.Err)
}

// Unwrap gives the decoding failure (a json error, "empty body", ...).
func (e *DecodeError) Unwrap() error { return e.Err }

// TransportError is a failure to get an HTTP answer at all: refused or reset
// connection, DNS failure, TLS failure, timeout or cancellation (Err then
// wraps context.DeadlineExceeded or context.Canceled).
type TransportError struct {
	Method Method
	// NotSent is true when the request provably never reached the upstream
	// (dial failure), so even a write may be retried.
	NotSent bool
	Err     error
}

// Error names the method and the transport failure.
func (e *TransportError) Error() string {
	return fmt.Sprintf("contacts api: %s: %v", e.Method, e.Err)
}

// Unwrap gives the failure, so errors.Is finds context.DeadlineExceeded,
// syscall.ECONNREFUSED and the like.
func (e *TransportError) Unwrap() error { return e.Err }
