package service

import "github.com/contacts-facade/contacts-facade/internal/errmap"

// The error contract of the service: the ErrorInfo domain of every error,
// and the metadata keys every ErrorInfo carries (empty when unknown). The
// reasons are the names of contactsv1.ErrorReason's values.
const (
	Domain         = errmap.Domain
	MetaOTACode    = errmap.MetaOTACode    // the OTA code of the first upstream error, e.g. "320"
	MetaOTACodes   = errmap.MetaOTACodes   // every distinct OTA code, in order, comma-separated
	MetaHTTPStatus = errmap.MetaHTTPStatus // the upstream HTTP status, e.g. "400"
	MetaRequestID  = errmap.MetaRequestID  // the upstream's meta.ruid
	MetaPropertyID = errmap.MetaPropertyID // the property of the call
	MetaSource     = errmap.MetaSource     // "upstream": the REST API said so; "facade": the facade found it

	// MetaCurrentEtag is the property's current etag, on ETAG_MISMATCH.
	MetaCurrentEtag = errmap.MetaCurrentEtag
	// MetaOperation is the operation's name, on the OPERATION_* reasons.
	MetaOperation = errmap.MetaOperation
)
