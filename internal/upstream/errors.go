package upstream

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
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
// with an empty JSON object), or a 2xx answer with errors[].
type APIError struct {
	Method     Method
	HTTPStatus int
	// Errors are the entries of errors[], in upstream order. Their texts
	// may quote personal data: they go into statuses, never into logs.
	Errors []Message
	// Warnings are the entries of warnings[].
	Warnings []Message
	// RequestID is meta.ruid, empty when absent.
	RequestID string
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
}

// maxCodeInError bounds each OTA code and the request id that Error
// repeats, so that a hostile answer cannot make an error string long.
const (
	maxCodeInError  = 16
	maxCodesInError = 8
	maxRUIDInError  = 64
)

// Error names the method, the status, the OTA codes (at most 8, each cut
// at 16 bytes) and the request id (cut at 64 bytes). It leaves out the
// upstream texts: they may quote personal data.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "contacts api: %s: HTTP %d", e.Method, e.HTTPStatus)
	for i, m := range e.Errors {
		if i == maxCodesInError {
			fmt.Fprintf(&b, " and %d more", len(e.Errors)-i)
			break
		}
		if i == 0 {
			b.WriteString(" OTA ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(cut(cmp.Or(string(m.Code), "?"), maxCodeInError))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (ruid %s)", cut(e.RequestID, maxRUIDInError))
	}
	return b.String()
}

// firstCode is the OTA code of the first entry of errors[], which decides
// the answer's row in the answers table; "" when there is none.
func (e *APIError) firstCode() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return string(e.Errors[0].Code)
}

// DecodeKind says what is wrong with an answer that could not be decoded.
type DecodeKind string

// The kinds of undecodable answers.
const (
	DecodeEmpty           DecodeKind = "empty body"
	DecodeNotObject       DecodeKind = "body is not a JSON object"
	DecodeSyntax          DecodeKind = "malformed JSON"
	DecodeType            DecodeKind = "wrong JSON type"
	DecodeNoEnvelope      DecodeKind = "no envelope member (data, errors, warnings, meta)"
	DecodeNoContacts      DecodeKind = "data.contacts missing or not a list"
	DecodeBodyTooLarge    DecodeKind = "body larger than the cap"
	DecodeHeadersTooLarge DecodeKind = "headers larger than the cap"
)

// DecodeError is an answer whose body is not the documented JSON: HTML from
// a proxy, an empty or truncated body, a body over the size cap, headers
// over the transport's cap, or a 2xx body that does not hold what the call
// needs.
//
// It says what kind of problem it is and where, never what the body held:
// no byte of the body is kept, so none can reach a log or a status.
type DecodeError struct {
	Method Method
	// HTTPStatus is the answer's status; 0 when the headers were too
	// large to read it.
	HTTPStatus int
	// ContentType is the media type of the answer ("text/html") without
	// parameters when it is a common one, "other" when it is not, "" when
	// the answer had none.
	ContentType string
	// BodyBytes is how many bytes of body were read, or the announced
	// Content-Length when that was over the cap.
	BodyBytes int64
	Kind      DecodeKind
	// Path is the JSON path of the offending value, with the REST names
	// and 0-based indexes ("data.contacts[3].phones[0].phone_tech_type");
	// a member the API does not define is written "?". Empty when the
	// problem is not at one place.
	Path string
	// Want and Got are, for DecodeType, the JSON type the API defines at
	// Path ("integer") and the JSON type the answer had there ("string").
	Want, Got string
	// TooLarge is set when the body or the headers passed a size cap.
	TooLarge bool
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
}

// Error names the method, status, content type, size, and the kind and
// place of the problem; never a byte of the body.
func (e *DecodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "contacts api: %s: HTTP %d: undecodable answer (%s, %d bytes): ", e.Method, e.HTTPStatus, cmp.Or(e.ContentType, "no content type"), e.BodyBytes)
	b.WriteString(e.Problem())
	return b.String()
}

// Problem is the kind and place of the problem, e.g.
// "data.contacts[3].phones[0].phone_tech_type: want integer, got string",
// for logs.
func (e *DecodeError) Problem() string {
	switch {
	case e.Kind == DecodeType && e.Path != "":
		return e.Path + ": want " + e.Want + ", got " + e.Got
	case e.Kind == DecodeType:
		return "want " + e.Want + ", got " + e.Got
	case e.Path != "":
		return string(e.Kind) + " at " + e.Path
	}
	return string(e.Kind)
}

// TransportError is a failure to get an HTTP answer at all: refused or reset
// connection, DNS failure, TLS failure, timeout or cancellation (Err then
// wraps context.DeadlineExceeded or context.Canceled).
type TransportError struct {
	Method Method
	// NotSent is true when the request provably never reached the upstream
	// (dial failure), so even a write may be retried.
	NotSent bool
	// Err is the failure, for errors.Is and errors.As. Its text may quote
	// what a broken upstream sent (a malformed status line): log Cause,
	// not Err.
	Err error
}

// Error names the method and the kind of transport failure (Cause), never
// the text of the underlying error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("contacts api: %s: %s", e.Method, e.Cause())
}

// Unwrap gives the failure, so errors.Is finds context.DeadlineExceeded,
// syscall.ECONNREFUSED and the like.
func (e *TransportError) Unwrap() error { return e.Err }

// Cause is the kind of the transport failure in a few fixed words
// ("connection refused", "TLS failure"), with, for a failed dial, the
// operation and the upstream address, which come from the configuration.
func (e *TransportError) Cause() string {
	err := e.Err
	kind := "transport failure"
	var dns *net.DNSError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = "deadline exceeded"
	case errors.Is(err, context.Canceled):
		kind = "cancelled"
	case errors.As(err, &dns):
		kind = "name not resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		kind = "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		kind = "connection closed before the answer ended"
	case errors.As(err, &cv), errors.As(err, &rh), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		kind = "TLS failure"
	case errors.As(err, &ne) && ne.Timeout():
		kind = "network timeout"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Addr != nil {
		kind += " (dial " + op.Net + " " + op.Addr.String() + ")"
	}
	return kind
}

// cut shortens s to at most n bytes at a character boundary, marking the
// cut with "…" (n must be at least 4).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !isRuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// itoa is strconv.Itoa, for the few places that format a number.
func itoa(n int) string { return strconv.Itoa(n) }
