package errmap

// The words of every error of the facade, defined once: the domain and the
// ErrorInfo metadata keys. The reasons are the values of
// contactsv1.ErrorReason (proto/contacts/v1/errors.proto), whose names are
// the wire strings; errors.proto's comments list these keys too.

// Domain is the ErrorInfo domain of every error of the facade: the facade
// defines the reasons, so (Domain, reason) identifies an error.
const Domain = "contacts-facade.booking.connectivity"

// Metadata keys of ErrorInfo. Every error carries the first six (empty
// when a value is unknown): callers may rely on each. Once a key has
// appeared for a reason it keeps appearing (AIP-193).
const (
	MetaOTACode    = "otaCode"    // the OTA code of the first upstream error, e.g. "320"
	MetaOTACodes   = "otaCodes"   // every distinct OTA code, in order, comma-separated
	MetaHTTPStatus = "httpStatus" // the upstream HTTP status, e.g. "400"
	MetaRequestID  = "requestId"  // the upstream meta.ruid (or the token exchange's ruid)
	MetaPropertyID = "propertyId" // the property of the call
	MetaSource     = "source"     // "upstream": the REST API said so; "facade": the facade found it

	// MetaCurrentEtag is the property's current etag, on ETAG_MISMATCH.
	MetaCurrentEtag = "currentEtag"
	// MetaOperation is the name of the bulk operation a status is about.
	MetaOperation = "operation"
	// MetaMaxRequestBytes is the server's request size limit, in bytes, on
	// REQUEST_TOO_LARGE.
	MetaMaxRequestBytes = "maxRequestBytes"
	// MetaOutcome is "unknown" on SERVER_SHUTTING_DOWN of a write: it may
	// or may not have reached the upstream.
	MetaOutcome = "outcome"
	// MetaCaller is the caller's name, on CALLER_NOT_ALLOWED and
	// CALLER_RATE_LIMITED.
	MetaCaller = "caller"
	// MetaRPC is the method called, on CALLER_NOT_ALLOWED and
	// CALLER_RATE_LIMITED.
	MetaRPC = "rpc"
	// MetaMissing is what the policy lacks, on CALLER_NOT_ALLOWED:
	// "rpc:<Method>", "property" or "profile:<NAME>".
	MetaMissing = "missing"
)

// Values of MetaSource.
const (
	SourceUpstream = "upstream"
	SourceFacade   = "facade"
)
