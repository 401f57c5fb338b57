package service

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// Reasons of the errors of safe edits, in errmap.Domain. Like errmap's,
// they are a contract with callers: add new ones, never rename.
const (
	ReasonEtagMismatch        = "ETAG_MISMATCH"
	ReasonRequestIDReused     = "REQUEST_ID_REUSED"
	ReasonGeneralRequired     = "GENERAL_REQUIRED"
	ReasonProfileNoContact    = "PROFILE_HAS_NO_CONTACT"
	ReasonProfileSeveral      = "PROFILE_HAS_SEVERAL_CONTACTS"
	ReasonContactsNotWritable = "CONTACTS_NOT_WRITABLE"
	ReasonWriteLockTimeout    = "WRITE_LOCK_TIMEOUT"
	ReasonWriteLockLost       = "WRITE_LOCK_LOST"
	ReasonWriteStateDown      = "WRITE_STATE_UNAVAILABLE"
)

// MetaCurrentEtag is the ErrorInfo metadata key of the property's current
// etag, on ETAG_MISMATCH.
const MetaCurrentEtag = "currentEtag"

// helpSafeEdits documents the rows below.
const helpSafeEdits = "https://github.com/contacts-facade/contacts-facade#safe-edits"

// safeRow is one error of safe edits: found by the facade, never an
// upstream answer.
type safeRow struct {
	code    codes.Code
	reason  string
	message string
}

// The table of safe-edit errors. An etag mismatch is ABORTED (AIP-154,
// since 2021; code.proto's older text says FAILED_PRECONDITION): the
// caller re-reads and retries the whole read-modify-write.
var (
	rowEtagMismatch = safeRow{codes.Aborted, ReasonEtagMismatch,
		"the contacts changed since the etag was read; read them again and retry"}
	rowRequestIDReused = safeRow{codes.InvalidArgument, ReasonRequestIDReused,
		"request_id was already used for a different request; use a new UUID for a new request"}
	rowGeneralRequired = safeRow{codes.FailedPrecondition, ReasonGeneralRequired,
		"exactly one contact must serve PROFILE_TYPE_GENERAL: it cannot be cleared, only set"}
	rowProfileNoContact = safeRow{codes.FailedPrecondition, ReasonProfileNoContact,
		"no contact serves the profile: use SetProfileContacts"}
	rowProfileSeveral = safeRow{codes.FailedPrecondition, ReasonProfileSeveral,
		"several contacts serve the profile, so which to update is ambiguous: use SetProfileContacts"}
	rowContactsNotWritable = safeRow{codes.FailedPrecondition, ReasonContactsNotWritable,
		"the property's current contacts cannot be written back through the Contacts API, so the facade cannot edit them safely"}
	rowWriteLockTimeout = safeRow{codes.Unavailable, ReasonWriteLockTimeout,
		"other writes of this property held its write lock for too long; retry after the delay in RetryInfo"}
	rowWriteStateDown = safeRow{codes.Unavailable, ReasonWriteStateDown,
		"the facade could not reach the shared write locks or request records (Redis); nothing was written, retry after the delay in RetryInfo"}
	rowWriteLockLost = safeRow{codes.Aborted, ReasonWriteLockLost,
		"the facade lost the write lock of the property before writing; nothing was written, retry"}
)

// safeStatus builds the status of row in the shape of every error of the
// facade: one ErrorInfo with the six metadata keys (source "facade") plus
// extra keys, then the details given, then a Help link.
func safeStatus(row safeRow, call errmap.Call, upstreamRequestID string, extra map[string]string, details ...protoadapt.MessageV1) error {
	md := errmap.FacadeMetadata(call, upstreamRequestID)
	for k, v := range extra {
		md[k] = v
	}
	all := make([]protoadapt.MessageV1, 0, len(details)+2)
	all = append(all, &errdetails.ErrorInfo{Reason: row.reason, Domain: errmap.Domain, Metadata: md})
	all = append(all, details...)
	all = append(all, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: "What " + row.reason + " means and how to fix it", Url: helpSafeEdits}}})
	st, err := status.New(row.code, row.message).WithDetails(all...)
	if err != nil {
		return errmap.Internal(call).Err() // a detail that cannot be marshalled: a bug
	}
	return st.Err()
}

// waitFailed is the status of a wait (for the write lock, or for a
// duplicate request) that ended with the caller's context.
// The wait ended with the call's context, or the Locker or Store failed:
// a shared one (Redis) that does not answer. Writes are then refused
// rather than made without the lock that keeps replicas from losing each
// other's updates.
func waitFailed(call errmap.Call, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errmap.Translate(err, call).Err()
	}
	return safeStatus(rowWriteStateDown, call, "", nil, &errdetails.RetryInfo{RetryDelay: durationpb.New(lockBusyRetry)})
}

// lockBusyRetry is the RetryInfo of WRITE_LOCK_TIMEOUT: about one write's
// round trip.
const lockBusyRetry = time.Second

// lockBusy is the status of a write that could not have the property's
// write lock within Options.LockWait.
func lockBusy(call errmap.Call) error {
	return safeStatus(rowWriteLockTimeout, call, "", nil, &errdetails.RetryInfo{RetryDelay: durationpb.New(lockBusyRetry)})
}
