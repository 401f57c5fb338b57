// Package answers is the one table of what an answer of the Contacts REST
// API means, and what every failure without an answer means: the gRPC code
// and ErrorInfo reason a caller gets (errmap builds the status from it),
// and what the upstream client does next (resend with fresh credentials,
// retry, count the send against the retry budget), plus whether a write
// so answered must drop the property's cached read.
//
// Both the upstream client and the error translation ask this table; no
// other code decides from an HTTP status or an OTA code what an answer
// means. The package depends on nothing of the facade but the generated
// contacts.v1 API, whose ErrorReason (contacts/v1/errors.proto) names every
// reason, so that upstream and errmap can both import it.
//
// An upstream error answer is looked up by its HTTP status and the OTA code
// of its first errors[] entry (API): first the (status, code) rows, then
// the rows of the status alone, then the status class. The rows of the
// other failures are named by a Failure (Of), the undecodable answers by
// their status (Undecodable), and the facade's own refusals by the OTA code
// the upstream would have answered (Local). All lists every row, for tests
// and documentation.
package answers

import (
	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Row is one line of the table: everything one kind of answer means.
type Row struct {
	// Code is the gRPC code.
	Code codes.Code
	// CodeOnCreate, when set, replaces Code for CreateContacts (POST):
	// OTA 150 there means the contacts already exist.
	CodeOnCreate codes.Code
	// CodeWithFields, when set, replaces Code when the upstream named the
	// offending fields: OTA 450 with a field is the caller's CONTRACT
	// profile; without one it is a malformed request of the facade itself.
	CodeWithFields codes.Code
	// Reason is the ErrorInfo reason: on the wire, its name
	// (contacts/v1/errors.proto). ERROR_REASON_UNSPECIFIED only in the
	// row of Success, which builds no status.
	Reason contactsv1.ErrorReason
	// Message is the short, human, English status message.
	Message string
	// Help is the documentation of the error.
	Help string

	// RetryGet: a GET so answered may be sent again, within the retry
	// policy (attempts, backoff, budget, deadline).
	RetryGet bool
	// RetryWrite: a PUT or POST so answered may be sent again. Only when
	// the request provably never left: a replayed overlay or create could
	// undo a newer write or fail with 150.
	RetryWrite bool
	// RenewToken: the upstream refused the credentials; the client tells
	// the Authorizer and, if it agrees, sends once more with fresh ones.
	RenewToken bool
	// SpendsBudget: the send counts as failed against the retry budget, a
	// sign of an unhealthy upstream rather than of a bad request.
	SpendsBudget bool
	// InvalidatesCache: after a PUT or POST so answered the property's
	// cached read must be dropped, because the write may have changed the
	// state (a success, a timeout, a lost connection, a 5xx) or another
	// writer is changing it (447, 409). A GET never invalidates.
	InvalidatesCache bool
}

// Failure names a row that is not chosen by an upstream status.
type Failure int

// The failures with a row of their own.
const (
	// Success is a 2xx answer that decoded: no error. Its row only says
	// what a successful write means for the cache.
	Success Failure = iota
	// Unreachable: the connection could not be opened (refused, DNS), so
	// the request provably never left.
	Unreachable
	// ConnectionLost: the request may have left, but no complete answer
	// came (reset, closed early, malformed response).
	ConnectionLost
	// Timeout: the call's deadline passed before an answer came.
	Timeout
	// Cancelled: the caller went away.
	Cancelled
	// BodyTooLarge: the answer's body passed the client's size cap.
	BodyTooLarge
	// HeadersTooLarge: the answer's headers passed the transport's cap
	// (httpx.MaxResponseHeaderBytes).
	HeadersTooLarge
	// ExchangeRefused: the token exchange refused the client id/secret.
	ExchangeRefused
	// ExchangeUnavailable: the token exchange is unreachable, 5xx or slow.
	ExchangeUnavailable
	// ExchangeRateLimited: the token exchange answered 429.
	ExchangeRateLimited
	// TokenBudget: the facade's own hourly token guard refused.
	TokenBudget
	// Internal: a bug of the facade.
	Internal

	numFailures
)

// Of returns the row of a failure; an unknown Failure gets Internal's.
func Of(f Failure) Row {
	if f < 0 || f >= numFailures {
		return failureRows[Internal]
	}
	return failureRows[f]
}

// API returns the row of an upstream error answer with HTTP status status
// whose first errors[] entry carries OTA code ota ("" when none).
func API(status int, ota string) Row {
	if r, ok := apiRows[key{status, ota}]; ok {
		return r
	}
	r := byStatus(status)
	if ota != "" && r.Reason != contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE {
		// The status is known but the OTA code is not: keep the meaning
		// of the HTTP status, and say the OTA code is new to us.
		r.Reason = contactsv1.ErrorReason_UNKNOWN_OTA_ERROR
	}
	return r
}

// byStatus is the row of an HTTP status alone.
func byStatus(status int) Row {
	if r, ok := statusRows[status]; ok {
		return r
	}
	switch {
	case status >= 400 && status < 500:
		return other4xx
	case status >= 500 && status < 600:
		return other5xx
	}
	return otherStatus
}

// Undecodable returns the row of an answer with HTTP status status whose
// body is not the documented JSON (an HTML page, an empty or truncated
// body). A gateway's HTML 401, 404, 429 or 503 says enough by its status.
// A 400 does not: an undecodable one means the facade and the upstream
// disagree, not that the caller erred.
func Undecodable(status int) Row {
	if r, ok := statusRows[status]; ok && status != 400 {
		return r
	}
	if status >= 500 {
		return badBody5xx
	}
	return badBody
}

// Local returns the row of a problem the facade finds in a request itself,
// by the OTA code the upstream would answer: "320", "321" or "450". Any
// other code is treated as 320.
func Local(ota string) Row {
	if r, ok := localRows[ota]; ok {
		return r
	}
	return localRows["320"]
}

// Entry is a row with the name it is listed under.
type Entry struct {
	// Name is "API 400/150" for a (status, OTA) row, "API 400" for a
	// status row, "API 4xx"/"API 5xx"/"API other" for the class rows,
	// "undecodable 4xx"/"undecodable 5xx", "local 320" and the Failure
	// names ("Unreachable").
	Name string
	Row  Row
}
