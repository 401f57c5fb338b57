package client

import (
	"crypto/rand"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reasons and metadata of safe edits (the README's "Safe edits").
const (
	// ReasonEtagMismatch: ABORTED, the contacts changed since the etag
	// sent was read; nothing was written. Read again (the current etag is
	// in the metadata under MetaCurrentEtag), redo the edit and retry.
	ReasonEtagMismatch = "ETAG_MISMATCH"
	// ReasonRequestIDReused: INVALID_ARGUMENT, the request_id was used
	// before for a different request.
	ReasonRequestIDReused = "REQUEST_ID_REUSED"
	// MetaCurrentEtag is the ErrorInfo metadata key of the current etag on
	// ETAG_MISMATCH.
	MetaCurrentEtag = "currentEtag"
)

// NewRequestID returns a random UUID (version 4) for the request_id of a
// write (AIP-155). Make one per intended change and send it again on every
// retry of that change: the facade then writes at most once, and a retry
// gets the first answer. Never reuse it for another change.
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
