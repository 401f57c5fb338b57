package service

import (
	"context"
	"errors"
	"maps"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// helpSafeEdits documents the rows below.
const helpSafeEdits = "https://github.com/contacts-facade/contacts-facade#safe-edits"

// safeRow is one error of safe edits: found by the facade, never an
// upstream answer. The reasons are declared, with what a caller should do,
// in proto/contacts/v1/errors.proto.
type safeRow struct {
	code    codes.Code
	reason  contactsv1.ErrorReason
	message string
}

// The table of safe-edit errors. An etag mismatch is ABORTED (AIP-154,
// since 2021; code.proto's older text says FAILED_PRECONDITION): the
// caller re-reads and retries the whole read-modify-write.
var (
	rowEtagMismatch = safeRow{codes.Aborted, contactsv1.ErrorReason_ETAG_MISMATCH,
		"the contacts changed since the etag was read; read them again and retry"}
	rowRequestIDReused = safeRow{codes.InvalidArgument, contactsv1.ErrorReason_REQUEST_ID_REUSED,
		"request_id was already used for a different request; use a new UUID for a new request"}
	rowGeneralRequired = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_GENERAL_REQUIRED,
		"exactly one contact must serve PROFILE_TYPE_GENERAL: it cannot be cleared, only set"}
	rowProfileNoContact = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_PROFILE_HAS_NO_CONTACT,
		"no contact serves the profile: use SetProfileContacts"}
	rowProfileSeveral = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_PROFILE_HAS_SEVERAL_CONTACTS,
		"several contacts serve the profile, so which to update is ambiguous: use SetProfileContacts"}
	rowContactsNotWritable = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_CONTACTS_NOT_WRITABLE,
		"the property's current contacts cannot be written back through the Contacts API, so the facade cannot edit them safely"}
	rowWriteLockTimeout = safeRow{codes.Unavailable, contactsv1.ErrorReason_WRITE_LOCK_TIMEOUT,
		"other writes of this property held its write lock for too long; retry after the delay in RetryInfo"}
	rowWriteStateDown = safeRow{codes.Unavailable, contactsv1.ErrorReason_WRITE_STATE_UNAVAILABLE,
		"the facade could not reach the shared write locks or request records (Redis); nothing was written, retry after the delay in RetryInfo"}
	rowWriteLockLost = safeRow{codes.Aborted, contactsv1.ErrorReason_WRITE_LOCK_LOST,
		"the facade lost the write lock of the property before writing; nothing was written, retry"}
	rowOutcomeUnknown = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_OUTCOME_UNKNOWN,
		"an earlier attempt with this request_id sent its write without an etag and its outcome is unknown; read the contacts, and if the write is not there send it again with their etag and a new request_id"}
)

// safeStatus builds the status of row with errmap.Status, in the shape of
// every error of the facade: one ErrorInfo with the six metadata keys
// (source "facade") plus extra keys, then the details given, then a Help
// link.
func safeStatus(row safeRow, call errmap.Call, upstreamRequestID string, extra map[string]string, details ...protoadapt.MessageV1) error {
	md := errmap.FacadeMetadata(call, upstreamRequestID)
	maps.Copy(md, extra)
	all := make([]protoadapt.MessageV1, 0, len(details)+1)
	all = append(all, details...)
	all = append(all, errmap.Help(row.reason, helpSafeEdits))
	return errmap.Status(row.code, row.reason, row.message, md, all...).Err()
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
