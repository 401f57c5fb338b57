package errmap

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// Domain is the ErrorInfo domain of every error of the facade: the facade
// defines the reasons below, so (Domain, Reason) identifies an error.
const Domain = "contacts-facade.booking.connectivity"

// Documentation the Help detail points at.
const (
	helpTroubleshooting = "https://developers.booking.com/connectivity/docs/contacts-api/troubleshooting-contacts-api"
	helpContactRules    = "https://developers.booking.com/connectivity/docs/contacts-api/implementing-contacts-api-ga"
	helpAuthentication  = "https://developers.booking.com/connectivity/docs/token-based-authentication"
	helpFacadeErrors    = "https://github.com/contacts-facade/contacts-facade#handling-errors"
)

// Reasons: the ErrorInfo.reason values. They are a contract with callers;
// add new ones, never rename.
const (
	ReasonChangesNotPermitted  = "CHANGES_NOT_PERMITTED"  // OTA 150
	ReasonInvalidValue         = "INVALID_VALUE"          // OTA 320
	ReasonRequiredFieldMissing = "REQUIRED_FIELD_MISSING" // OTA 321
	ReasonInvalidItem          = "INVALID_ITEM"           // OTA 394
	ReasonSimultaneousUpdates  = "SIMULTANEOUS_UPDATES"   // OTA 447
	ReasonSystemError          = "SYSTEM_ERROR"           // OTA 448
	ReasonUnableToProcess      = "UNABLE_TO_PROCESS"      // OTA 450
	ReasonAuthorizationError   = "AUTHORIZATION_ERROR"    // OTA 497
	ReasonNotFound             = "NOT_FOUND"              // OTA 635
	ReasonUnknownOTAError      = "UNKNOWN_OTA_ERROR"      // an OTA code not in the table

	ReasonAuthenticationFailed = "AUTHENTICATION_FAILED" // HTTP 401 without a known OTA code
	ReasonPermissionDenied     = "PERMISSION_DENIED"     // HTTP 403
	ReasonConflict             = "CONFLICT"              // HTTP 409
	ReasonRateLimited          = "RATE_LIMITED"          // HTTP 429
	ReasonUpstreamTimeout      = "UPSTREAM_TIMEOUT"      // HTTP 408/504, or our deadline passed
	ReasonUpstreamUnavailable  = "UPSTREAM_UNAVAILABLE"  // HTTP 500/502/503, refused or reset connection
	ReasonUpstreamError        = "UPSTREAM_ERROR"        // any other HTTP status

	ReasonBadUpstreamResponse = "BAD_UPSTREAM_RESPONSE"       // a body that is not the documented JSON
	ReasonUpstreamTooLarge    = "UPSTREAM_RESPONSE_TOO_LARGE" // a body over the size cap
	ReasonCancelled           = "CANCELLED"                   // the caller went away

	ReasonTokenExchangeFailed      = "TOKEN_EXCHANGE_FAILED"       // client id/secret refused
	ReasonTokenExchangeUnavailable = "TOKEN_EXCHANGE_UNAVAILABLE"  // exchange unreachable, 5xx, timeout
	ReasonTokenExchangeRateLimited = "TOKEN_EXCHANGE_RATE_LIMITED" // exchange answered 429
	ReasonTokenBudgetExhausted     = "TOKEN_BUDGET_EXHAUSTED"      // our own 30-per-hour guard

	ReasonInternal = "INTERNAL" // a facade bug, never an upstream answer
)

// Row is one line of the mapping: what a caller gets for one kind of error.
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
	// Reason is the ErrorInfo reason.
	Reason string
	// Message is the short, human, English status message.
	Message string
	// Help is the documentation of the error.
	Help string
}

// key identifies an upstream error answer: its HTTP status and OTA code.
type key struct {
	status int
	ota    string
}

// apiRows maps (HTTP status, OTA code) to a Row. It is the table of the
// seed (shared/seed/contacts-api-errors.md) plus codes other Connectivity
// APIs document for the same families. A row changes only with a reason
// written next to it.
var apiRows = map[key]Row{
	// 150 on POST: the general contact exists already, the caller should
	// use ReplaceContacts. On any other call the state forbids the change.
	{http.StatusBadRequest, "150"}: {Code: codes.FailedPrecondition, CodeOnCreate: codes.AlreadyExists,
		Reason: ReasonChangesNotPermitted, Message: "changes are not permitted", Help: helpTroubleshooting},
	{http.StatusBadRequest, "320"}: {Code: codes.InvalidArgument,
		Reason: ReasonInvalidValue, Message: "the request has invalid values", Help: helpContactRules},
	{http.StatusBadRequest, "321"}: {Code: codes.InvalidArgument,
		Reason: ReasonRequiredFieldMissing, Message: "the request lacks required fields", Help: helpContactRules},
	{http.StatusBadRequest, "394"}: {Code: codes.InvalidArgument,
		Reason: ReasonInvalidItem, Message: "the request has an unknown item", Help: helpTroubleshooting},
	// 450 names a field only for the CONTRACT profile, which the caller
	// chose; otherwise the facade sent a bad URL, method or body: a bug of
	// ours, so INTERNAL.
	{http.StatusBadRequest, "450"}: {Code: codes.Internal, CodeWithFields: codes.InvalidArgument,
		Reason: ReasonUnableToProcess, Message: "the upstream was unable to process the request", Help: helpTroubleshooting},
	// 447 "simultaneous updates, retry later" (Content API): retrying the
	// same call is what the upstream asks for, so UNAVAILABLE (AIP-194).
	{http.StatusBadRequest, "447"}: {Code: codes.Unavailable,
		Reason: ReasonSimultaneousUpdates, Message: "another update of this property is in progress; retry later", Help: helpTroubleshooting},
	{http.StatusBadRequest, "497"}: {Code: codes.Unauthenticated,
		Reason: ReasonAuthorizationError, Message: "the upstream refused the credentials", Help: helpAuthentication},
	{http.StatusUnauthorized, "497"}: {Code: codes.Unauthenticated,
		Reason: ReasonAuthorizationError, Message: "the upstream refused the credentials", Help: helpAuthentication},
	// 403/497 (Connections API): authenticated, but no access.
	{http.StatusForbidden, "497"}: {Code: codes.PermissionDenied,
		Reason: ReasonAuthorizationError, Message: "the account has no access to this property", Help: helpAuthentication},
	// 635 also covers "no access to the property": the API does not tell
	// the two apart, and neither can we.
	{http.StatusNotFound, "635"}: {Code: codes.NotFound,
		Reason: ReasonNotFound, Message: "property not found, or the account has no access to it", Help: helpTroubleshooting},
	// 500/448 "system error, retry later" (Connections API).
	{http.StatusInternalServerError, "448"}: {Code: codes.Unavailable,
		Reason: ReasonSystemError, Message: "the upstream had a system error; retry later", Help: helpTroubleshooting},
}

// statusRows maps an HTTP status to a Row when no (status, OTA) row
// matches. It follows gax-go's HTTP→gRPC anchor for REST errors, except
// 500, which is UNAVAILABLE so that clients retry it (AIP-194).
var statusRows = map[int]Row{
	http.StatusBadRequest: {Code: codes.InvalidArgument,
		Reason: ReasonUpstreamError, Message: "the upstream rejected the request", Help: helpTroubleshooting},
	http.StatusUnauthorized: {Code: codes.Unauthenticated,
		Reason: ReasonAuthenticationFailed, Message: "the upstream refused the credentials", Help: helpAuthentication},
	http.StatusForbidden: {Code: codes.PermissionDenied,
		Reason: ReasonPermissionDenied, Message: "the account has no access to this property", Help: helpAuthentication},
	http.StatusNotFound: {Code: codes.NotFound,
		Reason: ReasonNotFound, Message: "property not found, or the account has no access to it", Help: helpTroubleshooting},
	http.StatusRequestTimeout: {Code: codes.DeadlineExceeded,
		Reason: ReasonUpstreamTimeout, Message: "the upstream timed out", Help: helpFacadeErrors},
	http.StatusConflict: {Code: codes.Aborted,
		Reason: ReasonConflict, Message: "the change conflicts with another one; read and try again", Help: helpFacadeErrors},
	http.StatusTooManyRequests: {Code: codes.ResourceExhausted,
		Reason: ReasonRateLimited, Message: "the upstream rate limit is exceeded; retry later", Help: helpFacadeErrors},
	http.StatusInternalServerError: {Code: codes.Unavailable,
		Reason: ReasonUpstreamUnavailable, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors},
	http.StatusBadGateway: {Code: codes.Unavailable,
		Reason: ReasonUpstreamUnavailable, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors},
	http.StatusServiceUnavailable: {Code: codes.Unavailable,
		Reason: ReasonUpstreamUnavailable, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors},
	http.StatusGatewayTimeout: {Code: codes.DeadlineExceeded,
		Reason: ReasonUpstreamTimeout, Message: "the upstream timed out", Help: helpFacadeErrors},
}

// Rows for an HTTP status in no table: by class, never a bare UNKNOWN.
var (
	other4xx = Row{Code: codes.FailedPrecondition,
		Reason: ReasonUpstreamError, Message: "the upstream rejected the request", Help: helpFacadeErrors}
	other5xx = Row{Code: codes.Unavailable,
		Reason: ReasonUpstreamUnavailable, Message: "the upstream is unavailable; retry later", Help: helpFacadeErrors}
	// A 1xx/2xx/3xx status with an error body: the answer makes no sense.
	otherStatus = Row{Code: codes.Internal,
		Reason: ReasonBadUpstreamResponse, Message: "the upstream answered with an unexpected status", Help: helpFacadeErrors}
)

// Rows for failures without an upstream error body.
var (
	rowBadBody4xx = Row{Code: codes.Internal,
		Reason: ReasonBadUpstreamResponse, Message: "the upstream answer could not be decoded", Help: helpFacadeErrors}
	rowBadBody5xx = Row{Code: codes.Unavailable,
		Reason: ReasonBadUpstreamResponse, Message: "the upstream is unavailable; its answer could not be decoded", Help: helpFacadeErrors}
	rowTooLarge = Row{Code: codes.Internal,
		Reason: ReasonUpstreamTooLarge, Message: "the upstream answer is larger than the facade accepts", Help: helpFacadeErrors}
	rowUnreachable = Row{Code: codes.Unavailable,
		Reason: ReasonUpstreamUnavailable, Message: "the upstream cannot be reached; retry later", Help: helpFacadeErrors}
	rowTimeout = Row{Code: codes.DeadlineExceeded,
		Reason: ReasonUpstreamTimeout, Message: "the upstream did not answer before the deadline", Help: helpFacadeErrors}
	rowCancelled = Row{Code: codes.Canceled,
		Reason: ReasonCancelled, Message: "the call was cancelled", Help: helpFacadeErrors}
	rowExchangeFailed = Row{Code: codes.Unauthenticated,
		Reason: ReasonTokenExchangeFailed, Message: "the token exchange refused the facade's client credentials", Help: helpAuthentication}
	rowExchangeUnavailable = Row{Code: codes.Unavailable,
		Reason: ReasonTokenExchangeUnavailable, Message: "the token exchange is unavailable; retry later", Help: helpAuthentication}
	rowExchangeRateLimited = Row{Code: codes.Unavailable,
		Reason: ReasonTokenExchangeRateLimited, Message: "the token exchange refuses more tokens for now; retry later", Help: helpAuthentication}
	rowTokenBudget = Row{Code: codes.Unavailable,
		Reason: ReasonTokenBudgetExhausted, Message: "the hourly token budget of the machine account is spent; retry later", Help: helpAuthentication}
	rowInternal = Row{Code: codes.Internal,
		Reason: ReasonInternal, Message: "internal error of the facade", Help: helpFacadeErrors}
)

// localRows are the rows of problems the facade finds in a request before
// any upstream call. They carry the OTA code the upstream would answer, so
// that a caller sees one error model whoever found the problem.
var localRows = map[string]Row{
	"320": apiRows[key{http.StatusBadRequest, "320"}],
	"321": apiRows[key{http.StatusBadRequest, "321"}],
	// A CONTRACT profile: the caller's fault, so INVALID_ARGUMENT.
	"450": {Code: codes.InvalidArgument, Reason: ReasonUnableToProcess,
		Message: "the request has a profile the API does not accept", Help: helpTroubleshooting},
}

// rowFor picks the row of an upstream error answer.
func rowFor(status int, ota string) Row {
	if r, ok := apiRows[key{status, ota}]; ok {
		return r
	}
	r, ok := statusRows[status]
	switch {
	case ok:
	case status >= 400 && status < 500:
		r = other4xx
	case status >= 500 && status < 600:
		r = other5xx
	default:
		r = otherStatus
	}
	if ota != "" && r.Reason != ReasonBadUpstreamResponse {
		// The status is known but the OTA code is not: keep the code by
		// HTTP class, and say the OTA code is new to us.
		r.Reason = ReasonUnknownOTAError
	}
	return r
}
