package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// Options are the shared state of safe edits. Zero fields get in-process
// defaults, right for one replica: replicas that serve the same
// properties must share both (Redis, in the scale-out issue).
type Options struct {
	// Locks serialises the writes of one property. Default
	// writelock.NewLocal().
	Locks writelock.Locker
	// Requests remembers the outcomes of writes by AIP-155 request_id.
	// Default idempotency.NewMemory with its defaults (24 h, bounded).
	Requests idempotency.Store
	// LockWait bounds the wait for a property's write lock (default
	// DefaultLockWait): past it the call gets UNAVAILABLE with RetryInfo
	// rather than spending its whole deadline in the queue.
	LockWait time.Duration
}

// DefaultLockWait is Options.LockWait's default: several writes' worth of
// upstream round trips.
const DefaultLockWait = 10 * time.Second

// NewWithOptions is New with the shared state of safe edits.
func NewWithOptions(up Upstream, logger *slog.Logger, opts Options) *Service {
	s := New(up, logger)
	if opts.Locks != nil {
		s.locks = opts.Locks
	}
	if opts.Requests != nil {
		s.requests = opts.Requests
	}
	if opts.LockWait > 0 {
		s.lockWait = opts.LockWait
	}
	return s
}

// readForWrite is the read of every read-modify-write: never from the
// read cache (readFresh), always with the language fallback, the form the facade writes
// back and the etag is defined on. Called with the property's write lock
// held, right before the write: the only moment a writer outside the
// facade can slip in is between this read and that write.
func (s *Service) readForWrite(ctx context.Context, propertyID string) (*contactsv1.ListContactsResponse, error) {
	return s.readFresh(ctx, propertyID)
}

// written is the outcome of a read-modify-write.
type written struct {
	previous []*contactsv1.Contact
	// next is what the property holds now, as far as the facade knows:
	// what it sent (PUT), or the previous contacts and the sent ones
	// (POST).
	next     []*contactsv1.Contact
	etag     string
	warnings []*contactsv1.Warning
	// upstreamID is the ruid of the write, or of the read when no write
	// was needed.
	upstreamID string
}

// rmw describes one read-modify-write.
type rmw struct {
	call errmap.Call
	etag string
	// merge computes the contacts to write from the current state; its
	// error is a status.
	merge func(current *contactsv1.ListContactsResponse) ([]*contactsv1.Contact, error)
	// always writes even when merge changes nothing (ReplaceContacts and
	// CreateContacts are the upstream's own calls).
	always bool
	// stored is what the property holds after writing next; nil: next.
	stored func(previous, next []*contactsv1.Contact) []*contactsv1.Contact
}

// readModifyWrite runs op under the property's write lock: read the
// current contacts, check the etag, merge, write. sent reports whether the
// upstream write was sent (from then on an outcome must be remembered: the
// write may have happened).
func (s *Service) readModifyWrite(ctx context.Context, op rmw) (w written, sent bool, err error) {
	lctx, lcancel := context.WithTimeout(ctx, s.lockWait)
	lease, err := s.locks.Lock(lctx, op.call.PropertyID)
	lcancel()
	if err != nil {
		if ctx.Err() == nil && lctx.Err() != nil {
			return w, false, lockBusy(op.call)
		}
		return w, false, waitFailed(op.call, err)
	}
	w, sent, err = s.locked(ctx, lease, op)
	// An upstream failure is translated once the lock is released: the
	// status (some µs for a refusal with violations) needs no lock, and
	// every write of the property queued behind this one waits for it.
	if f, ok := err.(*upstreamFailure); ok {
		err = s.fail(ctx, f.call, f.err)
	}
	return w, sent, err
}

// upstreamFailure is an upstream call's error that locked leaves to
// readModifyWrite to translate (Service.fail) after the lock.
type upstreamFailure struct {
	call errmap.Call
	err  error
}

func (f *upstreamFailure) Error() string { return f.err.Error() }

// locked is readModifyWrite's part under lease, which it releases.
func (s *Service) locked(ctx context.Context, lease writelock.Lease, op rmw) (w written, sent bool, err error) {
	defer lease.Unlock()
	// Upstream calls end when the lease is lost.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(lease.Context(), func() {
		if errors.Is(context.Cause(lease.Context()), writelock.ErrLockLost) {
			cancel(writelock.ErrLockLost)
		}
	})
	defer stop()

	readCall := errmap.Call{Method: upstream.MethodGet, PropertyID: op.call.PropertyID}
	cur, err := s.readForWrite(wctx, op.call.PropertyID)
	if err != nil {
		return w, false, &upstreamFailure{readCall, err}
	}
	curEtag := safeedit.Etag(cur.GetContacts())
	if op.etag != "" && op.etag != curEtag {
		return w, false, safeStatus(rowEtagMismatch, op.call, cur.GetRequestId(), map[string]string{MetaCurrentEtag: curEtag})
	}
	next, err := op.merge(cur)
	if err != nil {
		return w, false, err
	}
	after := next
	if op.stored != nil {
		after = op.stored(cur.GetContacts(), next)
	}
	if err := checkChanges(ctx, cur.GetContacts(), after); err != nil {
		return w, false, err
	}
	w = written{previous: cur.GetContacts(), next: next, etag: curEtag, upstreamID: cur.GetRequestId()}
	if !op.always && safeedit.SameState(cur.GetContacts(), next) {
		return w, false, nil // nothing to write
	}
	if context.Cause(wctx) != nil && errors.Is(context.Cause(wctx), writelock.ErrLockLost) {
		return w, false, safeStatus(rowWriteLockLost, op.call, cur.GetRequestId(), nil)
	}
	var resp interface {
		GetWarnings() []*contactsv1.Warning
		GetRequestId() string
	}
	if op.call.Method == upstream.MethodPost {
		resp, err = s.up.Create(wctx, op.call.PropertyID, next)
	} else {
		resp, err = s.up.Replace(wctx, op.call.PropertyID, next)
	}
	if err != nil {
		return w, true, &upstreamFailure{op.call, err}
	}
	w.etag, w.warnings, w.upstreamID = safeedit.Etag(after), resp.GetWarnings(), resp.GetRequestId()
	noteEtags(ctx, curEtag, w.etag)
	return w, true, nil
}

// idempotent runs a mutating call once per AIP-155 request_id: a retry
// with the same id and the same request gets the remembered outcome; the
// same id with another request is refused. run reports whether it sent the
// upstream write; an outcome is remembered only then (before, nothing was
// written, and running the request again is safe).
func idempotent[Resp proto.Message](ctx context.Context, s *Service, call errmap.Call, requestID string, req proto.Message,
	newResp func() Resp, run func() (Resp, bool, error)) (Resp, error) {
	var zero Resp
	if requestID == "" {
		resp, _, err := run()
		return resp, err
	}
	fp, err := fingerprint(req)
	if err != nil {
		return zero, errmap.Internal(call).Err()
	}
	begun, err := s.requests.Begin(ctx, strings.ToLower(requestID), fp)
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		return zero, safeStatus(rowRequestIDReused, call, "", nil, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field: "request_id", Reason: contactsv1.ErrorReason_REQUEST_ID_REUSED.String(), Description: "this request_id was used for a different request"}}})
	case err != nil:
		return zero, waitFailed(call, err)
	case begun.Done:
		return replay(call, begun.Outcome, newResp)
	}
	// A panic in run must not leave the id claimed: its duplicates would
	// wait for an outcome that never comes.
	finished := false
	defer func() {
		if !finished {
			begun.Finish(idempotency.Outcome{}, false)
		}
	}()
	resp, sent, err := run()
	var o idempotency.Outcome
	if err != nil {
		o.Status, _ = proto.Marshal(status.Convert(err).Proto())
	} else if o.Response, err = proto.Marshal(resp); err != nil {
		finished = true
		begun.Finish(o, false)
		return zero, errmap.Internal(call).Err()
	}
	finished = true
	begun.Finish(o, sent && definite(err))
	if o.Status != nil {
		return zero, status.Convert(err).Err()
	}
	return resp, nil
}

// definite reports whether a write's outcome is known: it succeeded, or
// an answer refused it for good. An outcome that is not (a timeout, a lost
// connection, a 5xx, a shutdown: the write may or may not have been
// applied; a 429 or a lock lost: refused for now) is not remembered, so that a retry with the same request_id
// runs again instead of being told the same uncertainty for 24 hours.
// Running again is safe: under the write lock the retry reads the state
// afresh, and a per-profile write that finds it already done writes
// nothing; an etag'd Replace finds the etag moved.
func definite(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal, codes.Aborted, codes.ResourceExhausted:
		return false
	}
	return true
}

// replay answers a remembered outcome.
func replay[Resp proto.Message](call errmap.Call, o idempotency.Outcome, newResp func() Resp) (Resp, error) {
	var zero Resp
	if o.Status != nil {
		var st spb.Status
		if err := proto.Unmarshal(o.Status, &st); err != nil {
			return zero, errmap.Internal(call).Err()
		}
		return zero, status.FromProto(&st).Err()
	}
	resp := newResp()
	if err := proto.Unmarshal(o.Response, resp); err != nil {
		return zero, errmap.Internal(call).Err()
	}
	return resp, nil
}

// fingerprint identifies a request: its type and its deterministic bytes.
func fingerprint(req proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(req.ProtoReflect().Descriptor().FullName()))
	h.Write([]byte{0})
	h.Write(b)
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
func checkWritable(call errmap.Call, cur *contactsv1.ListContactsResponse, next []*contactsv1.Contact) error {
	var pf errdetails.PreconditionFailure
	for _, w := range cur.GetWarnings() {
		if w.GetCode() == "" && strings.HasSuffix(w.GetMessage(), unknownValueWarning) {
			subject, _, _ := strings.Cut(w.GetMessage(), ":")
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: "UNKNOWN_VALUE", Subject: subject,
				Description: "the upstream holds a value the facade does not know, which a write would lose"})
		}
	}
	if len(pf.Violations) == 0 {
		for _, v := range validateWrite(call.PropertyID, next) {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: "NOT_WRITABLE", Subject: v.Field,
				Description: "in the contacts the facade would write: " + v.Description})
		}
	}
	if len(pf.Violations) == 0 {
		return nil
	}
	return safeStatus(rowContactsNotWritable, call, cur.GetRequestId(), nil, &pf)
}
