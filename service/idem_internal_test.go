package service

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// flakyWrites reads an empty property; its writes do what write says.
type flakyWrites struct {
	puts  atomic.Int64
	write func(n int64) error
}

func (f *flakyWrites) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return &contactsv1.ListContactsResponse{}, nil
}

func (f *flakyWrites) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	if err := f.write(f.puts.Add(1)); err != nil {
		return nil, err
	}
	return &contactsv1.ReplaceContactsResponse{}, nil
}

func (f *flakyWrites) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, errors.New("not used")
}

func setRequest(id string) *contactsv1.SetProfileContactsRequest {
	return &contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL,
		Contacts: requestContacts()[:1], RequestId: id}
}

// TestUncertainOutcomesAreNotRemembered: a write whose PUT failed with an
// unknown outcome (503) is not replayed to its retry: the retry runs,
// and its success is what later duplicates get.
func TestUncertainOutcomesAreNotRemembered(t *testing.T) {
	up := &flakyWrites{write: func(n int64) error {
		if n == 1 {
			return &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 503}
		}
		return nil
	}}
	s := newForTest(t, up, nil)
	id := "6f1c2a3e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"
	if _, err := s.SetProfileContacts(t.Context(), setRequest(id)); status.Code(err) != codes.Unavailable {
		t.Fatalf("first call: %v, want UNAVAILABLE", err)
	}
	if _, err := s.SetProfileContacts(t.Context(), setRequest(id)); err != nil {
		t.Fatalf("retry after the upstream healed: %v (the 503 was replayed?)", err)
	}
	if _, err := s.SetProfileContacts(t.Context(), setRequest(id)); err != nil || up.puts.Load() != 2 {
		t.Fatalf("duplicate of the success: %v, %d PUTs (want nil, 2)", err, up.puts.Load())
	}
	// A definite refusal is remembered: no second PUT.
	refused := &flakyWrites{write: func(int64) error {
		return &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 400, Errors: []upstream.Message{{Code: "320"}}}
	}}
	s = newForTest(t, refused, nil)
	for range 2 {
		if _, err := s.SetProfileContacts(t.Context(), setRequest(id)); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("refused write: %v", err)
		}
	}
	if refused.puts.Load() != 1 {
		t.Fatalf("%d PUTs for a refusal and its duplicate, want 1", refused.puts.Load())
	}
}

// TestPanicFreesTheRequestID: a write that panics (recovered by the
// server) leaves no claim behind; its retry runs instead of waiting.
func TestPanicFreesTheRequestID(t *testing.T) {
	up := &flakyWrites{write: func(n int64) error {
		if n == 1 {
			panic("a bug")
		}
		return nil
	}}
	s := newForTest(t, up, nil)
	id := "6f1c2a3e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"
	func() {
		defer func() { _ = recover() }()
		_, _ = s.SetProfileContacts(t.Context(), setRequest(id))
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := s.SetProfileContacts(ctx, setRequest(id)); err != nil {
		t.Fatalf("retry after a panic: %v", err)
	}
}

// asCaller is ctx as a call of the named caller, through a trusted proxy
// on loopback that forwarded its client certificate.
func asCaller(ctx context.Context, uri string) context.Context {
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}})
	return metadata.NewIncomingContext(ctx, metadata.Pairs(access.XFCCHeader, "By=spiffe://facade;URI="+uri))
}

// TestRequestIDIsBoundToTheCaller (issue 27, item 8): caller B sending
// caller A's exact request, request_id included, is refused
// REQUEST_ID_REUSED; it never gets A's remembered outcome (and its
// previous_contacts), and no second PUT is made.
func TestRequestIDIsBoundToTheCaller(t *testing.T) {
	up := &flakyWrites{write: func(int64) error { return nil }}
	s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(),
		Callers: access.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := "6f1c2a3e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"
	if _, err := s.SetProfileContacts(asCaller(t.Context(), "spiffe://a"), setRequest(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetProfileContacts(asCaller(t.Context(), "spiffe://a"), setRequest(id)); err != nil || up.puts.Load() != 1 {
		t.Fatalf("A's own retry: %v, %d PUTs; want its outcome replayed, 1 PUT", err, up.puts.Load())
	}
	_, err = s.SetProfileContacts(asCaller(t.Context(), "spiffe://b"), setRequest(id))
	if wantReason(t, err, codes.InvalidArgument, contactsv1.ErrorReason_REQUEST_ID_REUSED.String()); up.puts.Load() != 1 {
		t.Fatalf("%d PUTs, want 1", up.puts.Load())
	}
}

// TestRequestIDIgnoresCase (issue 27, item 14): the same request with its
// request_id in upper case is the same request: its outcome is replayed,
// not refused REQUEST_ID_REUSED.
func TestRequestIDIgnoresCase(t *testing.T) {
	up := &flakyWrites{write: func(int64) error { return nil }}
	s := newForTest(t, up, nil)
	id := "6f1c2a3e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"
	if _, err := s.SetProfileContacts(t.Context(), setRequest(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetProfileContacts(t.Context(), setRequest(strings.ToUpper(id))); err != nil || up.puts.Load() != 1 {
		t.Fatalf("upper-case retry: %v, %d PUTs; want the outcome replayed, 1 PUT", err, up.puts.Load())
	}
}

// failingLocker is a Locker whose store does not answer.
type failingLocker struct{}

func (failingLocker) Lock(context.Context, string) (writelock.Lease, error) {
	return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// TestLockStoreDownIsNotALockTimeout (issue 27, item 9): a Locker that
// fails (Redis down) gives UNAVAILABLE WRITE_STATE_UNAVAILABLE, not
// WRITE_LOCK_TIMEOUT ("other writes held the lock").
func TestLockStoreDownIsNotALockTimeout(t *testing.T) {
	s, err := New(Config{Upstream: &flakyWrites{}, Policy: AllowAll(), Audit: NoAudit(), Locks: failingLocker{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetProfileContacts(t.Context(), setRequest(""))
	wantReason(t, err, codes.Unavailable, contactsv1.ErrorReason_WRITE_STATE_UNAVAILABLE.String())
}

// wantReason fails t unless err is a status of code whose ErrorInfo has
// reason.
func wantReason(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && st.Code() == code && info.GetReason() == reason {
			return
		}
	}
	t.Fatalf("got %v %v, want %v %s", st.Code(), st.Details(), code, reason)
}

// replaceRequest is a ReplaceContacts of one GENERAL contact.
func replaceRequest(id, etag string) *contactsv1.ReplaceContactsRequest {
	return &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: requestContacts()[:1], RequestId: id, Etag: etag}
}

// TestOverlayWithUnknownOutcomeIsNotRunAgain (issue 27, weak spot): a
// ReplaceContacts without an etag whose PUT got a 503 (it may have been
// applied) is not run again by its retry, which could overwrite a newer
// write: the retry is answered FAILED_PRECONDITION OUTCOME_UNKNOWN. With
// an etag the retry runs (the etag guards it), and so does a per-profile
// write (it merges on the fresh state).
func TestOverlayWithUnknownOutcomeIsNotRunAgain(t *testing.T) {
	firstFails := func() *flakyWrites {
		return &flakyWrites{write: func(n int64) error {
			if n == 1 {
				return &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 503}
			}
			return nil
		}}
	}
	id := "6f1c2a3e-8b4d-4f6a-9c1e-2d3b4a5c6d7e"

	up := firstFails()
	s := newForTest(t, up, nil)
	if _, err := s.ReplaceContacts(t.Context(), replaceRequest(id, "")); status.Code(err) != codes.Unavailable {
		t.Fatalf("first attempt: %v, want the upstream's UNAVAILABLE", err)
	}
	_, err := s.ReplaceContacts(t.Context(), replaceRequest(id, ""))
	if wantReason(t, err, codes.FailedPrecondition, contactsv1.ErrorReason_OUTCOME_UNKNOWN.String()); up.puts.Load() != 1 {
		t.Fatalf("%d PUTs, want 1: the retry ran the overlay again", up.puts.Load())
	}

	up = firstFails()
	s = newForTest(t, up, nil)
	etag := safeedit.Etag(nil) // the empty property's
	_, _ = s.ReplaceContacts(t.Context(), replaceRequest(id, etag))
	if _, err := s.ReplaceContacts(t.Context(), replaceRequest(id, etag)); err != nil || up.puts.Load() != 2 {
		t.Fatalf("retry with an etag: %v, %d PUTs; want it run (2 PUTs)", err, up.puts.Load())
	}
}
