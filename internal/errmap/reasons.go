package errmap

import "github.com/contacts-facade/contacts-facade/internal/answers"

// Domain is the ErrorInfo domain of every error of the facade.
const Domain = answers.Domain

// Reasons: the ErrorInfo.reason values, defined with their rows in
// internal/answers and repeated here for the callers of errmap. They are a
// contract with callers; add new ones, never rename.
const (
	ReasonChangesNotPermitted  = answers.ReasonChangesNotPermitted
	ReasonInvalidValue         = answers.ReasonInvalidValue
	ReasonRequiredFieldMissing = answers.ReasonRequiredFieldMissing
	ReasonInvalidItem          = answers.ReasonInvalidItem
	ReasonSimultaneousUpdates  = answers.ReasonSimultaneousUpdates
	ReasonSystemError          = answers.ReasonSystemError
	ReasonUnableToProcess      = answers.ReasonUnableToProcess
	ReasonAuthorizationError   = answers.ReasonAuthorizationError
	ReasonNotFound             = answers.ReasonNotFound
	ReasonUnknownOTAError      = answers.ReasonUnknownOTAError

	ReasonAuthenticationFailed = answers.ReasonAuthenticationFailed
	ReasonPermissionDenied     = answers.ReasonPermissionDenied
	ReasonConflict             = answers.ReasonConflict
	ReasonRateLimited          = answers.ReasonRateLimited
	ReasonUpstreamTimeout      = answers.ReasonUpstreamTimeout
	ReasonUpstreamUnavailable  = answers.ReasonUpstreamUnavailable
	ReasonUpstreamError        = answers.ReasonUpstreamError

	ReasonBadUpstreamResponse = answers.ReasonBadUpstreamResponse
	ReasonUpstreamTooLarge    = answers.ReasonUpstreamTooLarge
	ReasonCancelled           = answers.ReasonCancelled

	ReasonTokenExchangeFailed      = answers.ReasonTokenExchangeFailed
	ReasonTokenExchangeUnavailable = answers.ReasonTokenExchangeUnavailable
	ReasonTokenExchangeRateLimited = answers.ReasonTokenExchangeRateLimited
	ReasonTokenBudgetExhausted     = answers.ReasonTokenBudgetExhausted

	ReasonInternal = answers.ReasonInternal

	// ReasonViolationsOmitted is the reason of the last FieldViolation of
	// a BadRequest cut short to keep the status small; its description
	// says how many violations were left out.
	ReasonViolationsOmitted = "VIOLATIONS_OMITTED"
)
