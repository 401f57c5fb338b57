package client

import (
	"crypto/rand"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reasons of the facade's own refusals (ErrorInfo.Reason, in Domain), with
// the code each comes with; docs/errors.md says what to do about each.
// Like every reason, they are stable: new ones may be added, none is
// renamed.
const (
	// ReasonEtagMismatch: ABORTED, the contacts changed since the etag
	// sent was read; nothing was written. Read again (the current etag is
	// in the metadata under MetaCurrentEtag), redo the edit and write it
	// as a new request. See EtagMismatch.
	ReasonEtagMismatch = "ETAG_MISMATCH"
	// ReasonRequestIDReused: INVALID_ARGUMENT, the request_id was used
	// before for a different request.
	ReasonRequestIDReused = "REQUEST_ID_REUSED"
	// ReasonGeneralRequired: FAILED_PRECONDITION, ClearProfileContacts of
	// PROFILE_TYPE_GENERAL; set it with SetProfileContacts instead.
	ReasonGeneralRequired = "GENERAL_REQUIRED"
	// ReasonProfileHasNoContact: FAILED_PRECONDITION, UpdateProfileContact
	// of a profile that no contact serves; use SetProfileContacts.
	ReasonProfileHasNoContact = "PROFILE_HAS_NO_CONTACT"
	// ReasonProfileHasSeveralContacts: FAILED_PRECONDITION,
	// UpdateProfileContact of a profile that several contacts serve; use
	// SetProfileContacts with the whole list.
	ReasonProfileHasSeveralContacts = "PROFILE_HAS_SEVERAL_CONTACTS"
	// ReasonContactsNotWritable: FAILED_PRECONDITION, the property's
	// current contacts hold something the facade cannot write back (a
	// CONTRACT contact, an unknown value); the PreconditionFailure detail
	// says what. Retrying does not help.
	ReasonContactsNotWritable = "CONTACTS_NOT_WRITABLE"
	// ReasonWriteLockTimeout: UNAVAILABLE, other writes of the property
	// held its lock longer than the server's lock wait; nothing was
	// written, resend the same request after RetryDelay.
	ReasonWriteLockTimeout = "WRITE_LOCK_TIMEOUT"
	// ReasonWriteStateUnavailable: UNAVAILABLE, the facade could not
	// reach the shared write locks or request records (its Redis);
	// nothing was written, resend the same request after RetryDelay.
	ReasonWriteStateUnavailable = "WRITE_STATE_UNAVAILABLE"
	// ReasonWriteLockLost: ABORTED, the facade lost the property's write
	// lock before writing; nothing was written, resend the same request.
	ReasonWriteLockLost = "WRITE_LOCK_LOST"
	// ReasonOutcomeUnknown: FAILED_PRECONDITION, a retry of a Replace or
	// Create sent without an etag whose first attempt may have been
	// applied; read the contacts, and send it again with their etag and a
	// new request_id only if it was not.
	ReasonOutcomeUnknown = "OUTCOME_UNKNOWN"
	// ReasonUpstreamRateLimited: RESOURCE_EXHAUSTED, the fleet's calls to
	// Booking.com are at their limit and no slot freed before the call's
	// deadline; nothing was sent. Resend after RetryDelay.
	ReasonUpstreamRateLimited = "UPSTREAM_RATE_LIMITED"

	// ReasonCallerNotAllowed: PERMISSION_DENIED, the facade's policy does
	// not let this caller make the call (the RPC, the property or a
	// profile it changes). Not an upstream refusal.
	ReasonCallerNotAllowed = "CALLER_NOT_ALLOWED"
	// ReasonCallerRateLimited: RESOURCE_EXHAUSTED, the caller is over its
	// fair share of the upstream; RetryDelay says how long to wait.
	ReasonCallerRateLimited = "CALLER_RATE_LIMITED"
	// ReasonAuditUnavailable: UNAVAILABLE, the audit trail cannot be
	// written, so writes are refused; reads are still served.
	ReasonAuditUnavailable = "AUDIT_UNAVAILABLE"

	// ReasonMalformedRequest: INVALID_ARGUMENT, the request is not valid
	// protobuf of the method's request type (stubs from another proto?).
	ReasonMalformedRequest = "MALFORMED_REQUEST"
	// ReasonRequestTooLarge: RESOURCE_EXHAUSTED, the request is over the
	// server's size limit.
	ReasonRequestTooLarge = "REQUEST_TOO_LARGE"
	// ReasonUnknownMethod: UNIMPLEMENTED, the server has no such method
	// (a client newer than the server).
	ReasonUnknownMethod = "UNKNOWN_METHOD"
	// ReasonServerShuttingDown: UNAVAILABLE, the server shut down before
	// the call finished. A write may or may not have been made.
	ReasonServerShuttingDown = "SERVER_SHUTTING_DOWN"
)

// MetaCurrentEtag is the ErrorInfo metadata key of the current etag on
// ETAG_MISMATCH.
const MetaCurrentEtag = "currentEtag"

// NewRequestID returns a random UUID (version 4) for the request_id of a
// write (AIP-155). Make one per request, and send it again only with that
// very request: a resend after UNAVAILABLE or a lost answer then gets the
// first outcome, and the facade writes at most once. An edit redone after
// ABORTED (new etag, new contacts) is a new request with a new id; the
// same id with another request fails with REQUEST_ID_REUSED.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// EtagMismatch reports whether err is the facade's ETAG_MISMATCH, and
// returns the property's current etag. A caller re-reads the contacts
// (the etag alone says nothing of what changed), redoes its edit on them,
// and writes again with the new etag.
func EtagMismatch(err error) (currentEtag string, ok bool) {
	if status.Code(err) != codes.Aborted {
		return "", false
	}
	ei := ErrorInfo(err)
	if ei.GetDomain() != Domain || ei.GetReason() != ReasonEtagMismatch {
		return "", false
	}
	return ei.GetMetadata()[MetaCurrentEtag], true
}
