package service

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
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
