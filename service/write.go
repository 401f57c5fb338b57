package service

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// A write is one read-modify-write of a property. The five write RPCs
// differ only in their writeSpec; the path itself is write, top to
// bottom, and writeRPC around it admits the caller and makes the write
// idempotent by request_id.

// writeSpec is what one write RPC asks for.
type writeSpec struct {
	// rpc is the full method name, for the access policy.
	rpc string
	// req is the request, for request_id's fingerprint.
	req proto.Message
	// call is the REST call the write maps to: PUT (an overlay of the
	// whole set) or POST (contacts added).
	call      errmap.Call
	etag      string
	requestID string
	// violations are what validation found in the request: the call is
	// refused before the lock when there are any.
	violations violations
	// refusal, when set, refuses a valid request before the lock: one
	// that can never succeed whatever the property holds.
	refusal error
	// merge computes the contacts to send from the property's current
	// ones. Its error is a status.
	merge func(current []*contactsv1.Contact) ([]*contactsv1.Contact, error)
	// validateOnly makes the write a dry run (AIP-163): every check, no
	// write, no request_id record.
	validateOnly bool
	// profileEdit marks the per-profile RPCs (Set, Update, Clear): they
	// write nothing when the merge changes nothing, and refuse to write
	// back a state the facade cannot represent. ReplaceContacts and
	// CreateContacts are the upstream's own calls and always write.
	profileEdit bool
	// bulk marks an item of a bulk operation: its upstream calls are the
	// governor's bulk class, it writes nothing when the property already
	// holds what it would write (a resumed item that was written before
	// its runner died finds its own write), and intend is told what it is
	// about to write before the write is sent.
	bulk   bool
	intend func(w written) error
}

// written is the outcome of a write.
type written struct {
	previous []*contactsv1.Contact
	// next is what the facade sent, or would have sent (nothing to write,
	// or a dry run).
	next []*contactsv1.Contact
	// after is what the property holds after the write: next, or for a
	// POST the previous contacts and next.
	after []*contactsv1.Contact
	// deleted are the contacts of previous that after no longer holds.
	deleted []*contactsv1.Contact
	// etag is the etag of after; for a dry run, of previous: the etag the
	// real call must carry to write what the dry run showed.
	etag     string
	warnings []*contactsv1.Warning
	// upstreamID is the ruid of the write, or of the read when no write
	// was needed.
	upstreamID string
}

// readableBy is w as the caller may see it: a caller whose grant has no
// read RPC sees only the contacts of the profiles it may write
// (access.Call.Readable), not the whole property through a write's answer.
func (w written) readableBy(call *access.Call) written {
	w.previous, w.next, w.after, w.deleted = call.Readable(w.previous), call.Readable(w.next), call.Readable(w.after), call.Readable(w.deleted)
	return w
}

// writeRPC runs one write RPC: admit the caller, refuse a request with
// violations, answer a retry of a remembered request_id with its first
// outcome, else write and remember the outcome.
func writeRPC[Resp proto.Message](ctx context.Context, s *Service, spec writeSpec, respond func(written) Resp) (resp Resp, err error) {
	var zero Resp
	call, err := s.gate.Admit(ctx, spec.rpc, spec.req)
	if err != nil {
		return zero, err
	}
	defer func() { err = cutShort(ctx, err); call.End(resp, err) }()
	if len(spec.violations) > 0 {
		return zero, errmap.Invalid(spec.violations, spec.call).Err()
	}
	if spec.refusal != nil {
		return zero, spec.refusal
	}
	if spec.requestID == "" || spec.validateOnly {
		w, _, err := s.write(ctx, call, spec)
		if err != nil {
			return zero, err
		}
		return respond(w.readableBy(call)), nil
	}

	fp, err := fingerprint(spec.req, call.Caller().Name)
	if err != nil {
		return zero, errmap.Internal(spec.call).Err()
	}
	begun, err := s.requests.Begin(ctx, strings.ToLower(spec.requestID), fp)
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		return zero, requestIDReused(spec.call)
	case err != nil:
		return zero, waitFailed(spec.call, err)
	case begun.Done:
		return replay[Resp](spec.call, begun.Outcome)
	}
	// A panic in write must not leave the id claimed: its duplicates
	// would wait for an outcome that never comes.
	var o idempotency.Outcome
	remember := false
	defer func() { begun.Finish(o, remember) }()
	w, sent, err := s.write(ctx, call, spec)
	if err != nil {
		kept := err
		if sent && !definite(err) && !spec.profileEdit && spec.etag == "" {
			// A whole-set write without an etag may have been applied: a
			// retry must not run it again over a write made since.
			kept = safeStatus(rowOutcomeUnknown, spec.call, "", nil)
		}
		var merr error
		o.Status, merr = proto.Marshal(status.Convert(kept).Proto())
		// An outcome that cannot be stored is not remembered: a retry
		// runs again rather than replay nothing as a success.
		remember = merr == nil && sent && (definite(err) || kept != err)
		return zero, err
	}
	resp = respond(w.readableBy(call))
	if o.Response, err = proto.Marshal(resp); err != nil {
		return zero, errmap.Internal(spec.call).Err()
	}
	remember = sent
	return resp, nil
}

// write is the read-modify-write itself: take the property's write lock,
// read the current contacts afresh, check the etag, merge, check the
// result once (what the facade may write, what the caller may change),
// send it, and drop what the read path knows of the property. sent
// reports whether the upstream write was sent: from then on the write
// may have happened.
func (s *Service) write(ctx context.Context, call *access.Call, spec writeSpec) (w written, sent bool, err error) {
	id := spec.call.PropertyID
	lease, err := s.lock(ctx, spec.call)
	if err != nil {
		return w, false, err
	}
	defer lease.Unlock()
	// Upstream calls under the lease end when the lease is lost, and
	// after WriteTimeout whatever the caller's deadline. They are the
	// upstream governor's write class, the fresh read included.
	class := governor.Write
	if spec.bulk {
		class = governor.Bulk
	}
	capped, cancelCap := context.WithTimeout(governor.WithClass(ctx, class), s.writeCap)
	defer cancelCap()
	wctx, cancel := context.WithCancelCause(capped)
	defer cancel(nil)
	defer context.AfterFunc(lease.Context(), func() {
		if errors.Is(context.Cause(lease.Context()), writelock.ErrLockLost) {
			cancel(writelock.ErrLockLost)
		}
	})()

	got, err := s.reads.ReadFresh(wctx, id, false)
	if err != nil {
		// Translated without the lock, which the writes queued behind
		// this one wait for.
		lease.Unlock()
		return w, false, s.fail(ctx, errmap.Call{Method: upstream.MethodGet, PropertyID: id}, err)
	}
	cur := got.Resp
	before := cur.GetContacts()
	w = written{previous: before, etag: safeedit.Etag(before), upstreamID: cur.GetRequestId()}
	if spec.etag != "" && spec.etag != w.etag {
		return w, false, safeStatus(rowEtagMismatch, spec.call, cur.GetRequestId(), map[string]string{MetaCurrentEtag: w.etag})
	}

	if w.next, err = spec.merge(before); err != nil {
		return w, false, err
	}
	w.after = w.next
	if spec.call.Method == upstream.MethodPost {
		// ASSUMPTION (as the emulator's): POST adds the contacts to those
		// the property has.
		w.after = append(append(make([]*contactsv1.Contact, 0, len(before)+len(w.next)), before...), w.next...)
	}
	w.deleted = safeedit.Deleted(before, w.after)
	if (spec.profileEdit || spec.bulk) && safeedit.SameState(before, w.after) {
		return w, false, nil // nothing to write
	}
	if spec.profileEdit {
		if err := checkWritable(spec.call, cur, w.next); err != nil {
			return w, false, err
		}
	}
	if err := call.MayWrite(changedProfiles(before, w.after)...); err != nil {
		return w, false, err
	}
	if spec.validateOnly {
		return w, false, nil // every check made: a dry run stops here
	}
	// No PUT on a lease the Locker may no longer hold: one whose renewal
	// found it lost, or that vanished since (Redis flushed or restarted).
	if errors.Is(context.Cause(wctx), writelock.ErrLockLost) || lease.Check(wctx) != nil {
		return w, false, safeStatus(rowWriteLockLost, spec.call, cur.GetRequestId(), nil)
	}
	if spec.intend != nil {
		if err := spec.intend(w); err != nil {
			return w, false, err
		}
	}

	var resp interface {
		GetWarnings() []*contactsv1.Warning
		GetRequestId() string
	}
	if spec.call.Method == upstream.MethodPost {
		resp, err = s.up.Create(wctx, id, w.next)
	} else {
		resp, err = s.up.Replace(wctx, id, w.next)
	}
	// Whatever the outcome, what was read of the property may be stale.
	s.reads.Invalidate(ctx, id)
	if err != nil {
		lease.Unlock()
		return w, true, s.fail(ctx, spec.call, err)
	}
	etagBefore := w.etag
	w.etag, w.warnings, w.upstreamID = safeedit.Etag(w.after), resp.GetWarnings(), resp.GetRequestId()
	call.SetEtags(etagBefore, w.etag)
	return w, true, nil
}

// cutShort is the error the caller gets for err: when the server cut the
// call short (its context ended with a status as its cause, such as
// UNAVAILABLE SERVER_SHUTTING_DOWN), that status, which the audit trail
// then records too.
func cutShort(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if cause := context.Cause(ctx); cause != ctx.Err() {
		if _, ok := status.FromError(cause); ok {
			return cause
		}
	}
	return err
}

// lock takes the property's write lock, waiting at most lockWait.
func (s *Service) lock(ctx context.Context, c errmap.Call) (writelock.Lease, error) {
	lctx, cancel := context.WithTimeout(ctx, s.lockWait)
	defer cancel()
	lease, err := s.locks.Lock(lctx, c.PropertyID)
	switch {
	case err == nil:
		return lease, nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return nil, lockBusy(c)
	}
	return nil, waitFailed(c, err)
}

// definite reports whether a write's outcome is known: it succeeded, or
// an answer refused it for good. An outcome that is not (a timeout, a lost
// connection, a 5xx, a shutdown: the write may or may not have been
// applied; a 429 or a lock lost: refused for now) is not remembered, so
// that a retry with the same request_id runs again instead of being told
// the same uncertainty for 24 hours. Running again is safe: under the
// write lock the retry reads the state afresh, and a per-profile write
// that finds it already done writes nothing; an etag'd Replace finds the
// etag moved. A Replace or Create without an etag has no such guard: its
// retry is answered OUTCOME_UNKNOWN instead (writeRPC).
func definite(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal, codes.Aborted, codes.ResourceExhausted:
		return false
	}
	return true
}

// requestIDReused is the status of a request_id remembered for another
// request.
func requestIDReused(c errmap.Call) error {
	return safeStatus(rowRequestIDReused, c, "", nil, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: "request_id", Reason: contactsv1.ErrorReason_REQUEST_ID_REUSED.String(), Description: "this request_id was used for a different request"}}})
}

// replay answers a remembered outcome.
func replay[Resp proto.Message](c errmap.Call, o idempotency.Outcome) (Resp, error) {
	var zero Resp
	if o.Status != nil {
		var st spb.Status
		if err := proto.Unmarshal(o.Status, &st); err != nil {
			return zero, errmap.Internal(c).Err()
		}
		return zero, status.FromProto(&st).Err()
	}
	resp := zero.ProtoReflect().New().Interface().(Resp)
	if err := proto.Unmarshal(o.Response, resp); err != nil {
		return zero, errmap.Internal(c).Err()
	}
	return resp, nil
}

// fingerprint identifies a request of a caller: the caller, the request's
// type and its deterministic bytes without request_id, which is the key it
// is remembered under (compared without case: a UUID is the same in upper
// case). The same request_id from another caller is another request: one
// caller can never read another's outcome by replaying its id.
func fingerprint(req proto.Message, caller string) ([]byte, error) {
	m := proto.Clone(req).ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("request_id"); fd != nil {
		m.Clear(fd)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Interface())
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(caller), []byte(m.Descriptor().FullName()), b} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return h.Sum(nil), nil
}

// unknownValueWarning ends the warnings upstream.ContactsFromWire adds for
// a value the facade has no enum for.
const unknownValueWarning = "value unknown to the facade, returned as unspecified"

// checkWritable refuses to write back a state the facade cannot represent
// (a value it has no enum for would be lost) or that the Contacts API
// would refuse (a CONTRACT profile, a contact the upstream holds but a
// PUT may not send): writing it back would lose or delete data the
// request did not name.
func checkWritable(c errmap.Call, cur *contactsv1.ListContactsResponse, next []*contactsv1.Contact) error {
	var pf errdetails.PreconditionFailure
	for _, w := range cur.GetWarnings() {
		if w.GetCode() == "" && strings.HasSuffix(w.GetMessage(), unknownValueWarning) {
			subject, _, _ := strings.Cut(w.GetMessage(), ":")
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: "UNKNOWN_VALUE", Subject: subject,
				Description: "the upstream holds a value the facade does not know, which a write would lose"})
		}
	}
	if len(pf.Violations) == 0 {
		for _, v := range validateWrite(c.PropertyID, next) {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: "NOT_WRITABLE", Subject: v.Field,
				Description: "in the contacts the facade would write: " + v.Description})
		}
	}
	if len(pf.Violations) == 0 {
		return nil
	}
	return safeStatus(rowContactsNotWritable, c, cur.GetRequestId(), nil, &pf)
}
