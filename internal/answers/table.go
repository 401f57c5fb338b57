package answers

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Documentation the Help detail points at.
const (
	helpTroubleshooting = "https://developers.booking.com/connectivity/docs/contacts-api/troubleshooting-contacts-api"
	helpContactRules    = "https://developers.booking.com/connectivity/docs/contacts-api/implementing-contacts-api-ga"
	helpAuthentication  = "https://developers.booking.com/connectivity/docs/token-based-authentication"
	helpFacadeErrors    = "https://github.com/contacts-facade/contacts-facade#handling-errors"
)

// key identifies an upstream error answer: its HTTP status and OTA code.
type key struct {
	status int
	ota    string
}

// apiRows maps (HTTP status, OTA code) to a Row. It is the table of the
// seed (shared/seed/contacts-api-errors.md) plus codes other Connectivity
// APIs document for the same families. A row changes only with a reason
// written next to it.
//
// Cache: a refused validation (150, 320, 321, 394, 450) and a refused
// credential (497) or property (635) changed nothing, so the cached read
// stays; 447 and 448 invalidate (another writer is at work; a system
// error may have applied part of the write).
var apiRows = map[key]Row{
	// 150 on POST: the general contact exists already, the caller should
	// use ReplaceContacts. On any other call the state forbids the change.
	{http.StatusBadRequest, "150"}: {Code: codes.FailedPrecondition, CodeOnCreate: codes.AlreadyExists,
		Reason: contactsv1.ErrorReason_CHANGES_NOT_PERMITTED, Message: "changes are not permitted", Help: helpTroubleshooting},
	{http.StatusBadRequest, "320"}: {Code: codes.InvalidArgument,
		Reason: contactsv1.ErrorReason_INVALID_VALUE, Message: "the request has invalid values", Help: helpContactRules},
	{http.StatusBadRequest, "321"}: {Code: codes.InvalidArgument,
		Reason: contactsv1.ErrorReason_REQUIRED_FIELD_MISSING, Message: "the request lacks required fields", Help: helpContactRules},
	{http.StatusBadRequest, "394"}: {Code: codes.InvalidArgument,
		Reason: contactsv1.ErrorReason_INVALID_ITEM, Message: "the request has an unknown item", Help: helpTroubleshooting},
	// 450 names a field only for the CONTRACT profile, which the caller
	// chose; otherwise the facade sent a bad URL, method or body: a bug of
	// ours, so INTERNAL.
	{http.StatusBadRequest, "450"}: {Code: codes.Internal, CodeWithFields: codes.InvalidArgument,
		Reason: contactsv1.ErrorReason_UNABLE_TO_PROCESS, Message: "the upstream was unable to process the request", Help: helpTroubleshooting},
	// 447 "simultaneous updates, retry later" (Content API): retrying the
	// same call is what the upstream asks for, so UNAVAILABLE (AIP-194),
	// and a GET is retried. A write is not: the other update may be a
	// newer overlay.
	{http.StatusBadRequest, "447"}: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_SIMULTANEOUS_UPDATES, Message: "another update of this property is in progress; retry later", Help: helpTroubleshooting,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
	// 497 on 400 or 401: the credentials were refused; fresh ones may
	// succeed.
	{http.StatusBadRequest, "497"}: {Code: codes.Unauthenticated,
		Reason: contactsv1.ErrorReason_AUTHORIZATION_ERROR, Message: "the upstream refused the credentials", Help: helpAuthentication,
		RenewToken: true},
	{http.StatusUnauthorized, "497"}: {Code: codes.Unauthenticated,
		Reason: contactsv1.ErrorReason_AUTHORIZATION_ERROR, Message: "the upstream refused the credentials", Help: helpAuthentication,
		RenewToken: true},
	// 403/497 (Connections API): authenticated, but no access. Renewing
	// the token would spend the hourly token budget on calls that cannot
	// succeed.
	{http.StatusForbidden, "497"}: {Code: codes.PermissionDenied,
		Reason: contactsv1.ErrorReason_AUTHORIZATION_ERROR, Message: "the account has no access to this property", Help: helpAuthentication},
	// 635 also covers "no access to the property": the API does not tell
	// the two apart, and neither can we.
	{http.StatusNotFound, "635"}: {Code: codes.NotFound,
		Reason: contactsv1.ErrorReason_NOT_FOUND, Message: "property not found, or the account has no access to it", Help: helpTroubleshooting},
	// 500/448 "system error, retry later" (Connections API).
	{http.StatusInternalServerError, "448"}: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_SYSTEM_ERROR, Message: "the upstream had a system error; retry later", Help: helpTroubleshooting,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
}

// statusRows maps an HTTP status to a Row when no (status, OTA) row
// matches. It follows gax-go's HTTP→gRPC anchor for REST errors, except
// 500, which is UNAVAILABLE so that clients retry it (AIP-194).
//
// The client retries a GET only after the gateway family (502, 503, 504):
// the answer came from a proxy that could not get one from the upstream. A
// bare 500 is the upstream's own failure, and 429 goes back to the caller
// with its Retry-After. Every 5xx and 429 spends the retry budget; every
// 5xx, 408 and 409 invalidates the cache after a write, whose outcome is
// then unknown (or, for 409, someone else's).
var statusRows = map[int]Row{
	http.StatusBadRequest: {Code: codes.InvalidArgument,
		Reason: contactsv1.ErrorReason_UPSTREAM_ERROR, Message: "the upstream rejected the request", Help: helpTroubleshooting},
	// 401 whatever the body: the credentials were refused.
	http.StatusUnauthorized: {Code: codes.Unauthenticated,
		Reason: contactsv1.ErrorReason_AUTHENTICATION_FAILED, Message: "the upstream refused the credentials", Help: helpAuthentication,
		RenewToken: true},
	http.StatusForbidden: {Code: codes.PermissionDenied,
		Reason: contactsv1.ErrorReason_PERMISSION_DENIED, Message: "the account has no access to this property", Help: helpAuthentication},
	http.StatusNotFound: {Code: codes.NotFound,
		Reason: contactsv1.ErrorReason_NOT_FOUND, Message: "property not found, or the account has no access to it", Help: helpTroubleshooting},
	http.StatusRequestTimeout: {Code: codes.DeadlineExceeded,
		Reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT, Message: "the upstream timed out", Help: helpFacadeErrors,
		InvalidatesCache: true},
	http.StatusConflict: {Code: codes.Aborted,
		Reason: contactsv1.ErrorReason_CONFLICT, Message: "the change conflicts with another one; read and try again", Help: helpFacadeErrors,
		InvalidatesCache: true},
	http.StatusTooManyRequests: {Code: codes.ResourceExhausted,
		Reason: contactsv1.ErrorReason_RATE_LIMITED, Message: "the upstream rate limit is exceeded; retry later", Help: helpFacadeErrors,
		SpendsBudget: true},
	http.StatusInternalServerError: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors,
		SpendsBudget: true, InvalidatesCache: true},
	http.StatusBadGateway: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
	http.StatusServiceUnavailable: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
	http.StatusGatewayTimeout: {Code: codes.DeadlineExceeded,
		Reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT, Message: "the upstream timed out", Help: helpFacadeErrors,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
}

// Rows for an HTTP status in no table: by class, never a bare UNKNOWN.
var (
	other4xx = Row{Code: codes.FailedPrecondition,
		Reason: contactsv1.ErrorReason_UPSTREAM_ERROR, Message: "the upstream rejected the request", Help: helpFacadeErrors}
	other5xx = Row{Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors,
		SpendsBudget: true, InvalidatesCache: true}
	// A 1xx/2xx/3xx status with an error body (a 2xx with errors[] is a
	// failure, never half a success): the answer makes no sense, and what
	// a write did is unknown.
	otherStatus = Row{Code: codes.Internal,
		Reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE, Message: "the upstream answered with an unexpected status", Help: helpFacadeErrors,
		InvalidatesCache: true}
)

// Rows of answers whose body is not the documented JSON, when the status
// says nothing more (see Undecodable). A 2xx or 3xx one may have applied a
// write; a 4xx one did not.
var (
	badBody = Row{Code: codes.Internal,
		Reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE, Message: "the upstream answer could not be decoded", Help: helpFacadeErrors,
		InvalidatesCache: true}
	badBody5xx = Row{Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE, Message: "the upstream is unavailable; its answer could not be decoded", Help: helpFacadeErrors,
		SpendsBudget: true, InvalidatesCache: true}
)

// failureRows are the rows of Of, by Failure.
var failureRows = [numFailures]Row{
	// Only a successful write's meaning for the cache; no status is built.
	Success: {Code: codes.OK, InvalidatesCache: true},
	// Never sent: even a write may be retried, and nothing changed.
	Unreachable: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream cannot be reached; retry later", Help: helpFacadeErrors,
		RetryGet: true, RetryWrite: true, SpendsBudget: true},
	// Maybe sent: a GET is retried, a write is not, and its outcome is
	// unknown.
	ConnectionLost: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, Message: "the upstream cannot be reached; retry later", Help: helpFacadeErrors,
		RetryGet: true, SpendsBudget: true, InvalidatesCache: true},
	// The deadline is spent, so nothing is retried; the client counts
	// no send made after the context ended.
	Timeout: {Code: codes.DeadlineExceeded,
		Reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT, Message: "the upstream did not answer before the deadline", Help: helpFacadeErrors,
		SpendsBudget: true, InvalidatesCache: true},
	Cancelled: {Code: codes.Canceled,
		Reason: contactsv1.ErrorReason_CANCELLED, Message: "the call was cancelled", Help: helpFacadeErrors,
		InvalidatesCache: true},
	// The facade's cap is smaller than the answer: asking again gets the
	// same answer. A write's outcome is unknown.
	BodyTooLarge: {Code: codes.Internal,
		Reason: contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE, Message: "the upstream answer is larger than the facade accepts", Help: helpFacadeErrors,
		InvalidatesCache: true},
	// Headers that large come from a broken proxy or a hostile server,
	// not from the Contacts API: the caller can only wait it out, so
	// UNAVAILABLE; the client does not ask for another one.
	HeadersTooLarge: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE, Message: "the upstream answered with headers larger than the facade accepts; retry later", Help: helpFacadeErrors,
		SpendsBudget: true, InvalidatesCache: true},
	// The token exchange comes before any send: nothing changed.
	ExchangeRefused: {Code: codes.Unauthenticated,
		Reason: contactsv1.ErrorReason_TOKEN_EXCHANGE_FAILED, Message: "the token exchange refused the facade's client credentials", Help: helpAuthentication},
	ExchangeUnavailable: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_TOKEN_EXCHANGE_UNAVAILABLE, Message: "the token exchange is unavailable; retry later", Help: helpAuthentication},
	ExchangeRateLimited: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_TOKEN_EXCHANGE_RATE_LIMITED, Message: "the token exchange refuses more tokens for now; retry later", Help: helpAuthentication},
	TokenBudget: {Code: codes.Unavailable,
		Reason: contactsv1.ErrorReason_TOKEN_BUDGET_EXHAUSTED, Message: "the hourly token budget of the machine account is spent; retry later", Help: helpAuthentication},
	// A bug: what happened upstream is unknown.
	Internal: {Code: codes.Internal,
		Reason: contactsv1.ErrorReason_INTERNAL, Message: "internal error of the facade", Help: helpFacadeErrors,
		InvalidatesCache: true},
}

var failureNames = [numFailures]string{
	Success: "Success", Unreachable: "Unreachable", ConnectionLost: "ConnectionLost", Timeout: "Timeout",
	Cancelled: "Cancelled", BodyTooLarge: "BodyTooLarge", HeadersTooLarge: "HeadersTooLarge",
	ExchangeRefused: "ExchangeRefused", ExchangeUnavailable: "ExchangeUnavailable",
	ExchangeRateLimited: "ExchangeRateLimited", TokenBudget: "TokenBudget", Internal: "Internal",
}

// String is the Failure's name, as in the constant.
func (f Failure) String() string {
	if f < 0 || f >= numFailures {
		return "Failure(" + strconv.Itoa(int(f)) + ")"
	}
	return failureNames[f]
}

// localRows are the rows of problems the facade finds in a request before
// any upstream call. They carry the OTA code the upstream would answer, so
// that a caller sees one error model whoever found the problem. Nothing
// was sent: no retry, no renewal, no cache change.
var localRows = map[string]Row{
	"320": apiRows[key{http.StatusBadRequest, "320"}],
	"321": apiRows[key{http.StatusBadRequest, "321"}],
	// A CONTRACT profile: the caller's fault, so INVALID_ARGUMENT.
	"450": {Code: codes.InvalidArgument, Reason: contactsv1.ErrorReason_UNABLE_TO_PROCESS,
		Message: "the request has a profile the API does not accept", Help: helpTroubleshooting},
}

// All lists every row of the table under its name, in a fixed order: the
// (status, OTA) rows, the status rows, the class rows, the undecodable
// rows, the failures, then the local rows.
func All() []Entry {
	out := make([]Entry, 0, len(apiRows)+len(statusRows)+len(localRows)+int(numFailures)+5)
	keys := make([]key, 0, len(apiRows))
	for k := range apiRows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.status, b.status), cmp.Compare(a.ota, b.ota)) })
	for _, k := range keys {
		out = append(out, Entry{"API " + strconv.Itoa(k.status) + "/" + k.ota, apiRows[k]})
	}
	statuses := make([]int, 0, len(statusRows))
	for s := range statusRows {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	for _, s := range statuses {
		out = append(out, Entry{"API " + strconv.Itoa(s), statusRows[s]})
	}
	out = append(out,
		Entry{"API 4xx", other4xx}, Entry{"API 5xx", other5xx}, Entry{"API other", otherStatus},
		Entry{"undecodable 4xx", badBody}, Entry{"undecodable 5xx", badBody5xx})
	for f := range numFailures {
		out = append(out, Entry{f.String(), failureRows[f]})
	}
	for _, ota := range []string{"320", "321", "450"} {
		out = append(out, Entry{"local " + ota, localRows[ota]})
	}
	return out
}

// APIKeys lists the (status, OTA) rows as "STATUS/OTA" and the status rows
// as "STATUS", sorted: the answers a recording must exist for.
func APIKeys() []string {
	keys := make([]string, 0, len(apiRows)+len(statusRows))
	for k := range apiRows {
		keys = append(keys, strconv.Itoa(k.status)+"/"+k.ota)
	}
	for s := range statusRows {
		keys = append(keys, strconv.Itoa(s))
	}
	slices.Sort(keys)
	return keys
}
