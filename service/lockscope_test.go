package service_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
	"github.com/contacts-facade/contacts-facade/service"
)

// failsWith reads an empty property, or fails the read with readErr, and
// fails every write with writeErr.
type failsWith struct{ readErr, writeErr error }

func (f failsWith) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	if f.readErr != nil {
		return nil, f.readErr
	}
	return &contactsv1.ListContactsResponse{}, nil
}
func (f failsWith) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, f.writeErr
}
func (f failsWith) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, f.writeErr
}

// watchedLocker is the in-process Locker that counts the leases held.
type watchedLocker struct {
	inner writelock.Locker
	held  atomic.Int32
}

func (l *watchedLocker) Lock(ctx context.Context, key string) (writelock.Lease, error) {
	lease, err := l.inner.Lock(ctx, key)
	if err != nil {
		return nil, err
	}
	l.held.Add(1)
	return &watchedLease{Lease: lease, l: l}, nil
}

type watchedLease struct {
	writelock.Lease
	l    *watchedLocker
	done atomic.Bool
}

func (w *watchedLease) Unlock() {
	if w.done.CompareAndSwap(false, true) {
		w.l.held.Add(-1)
	}
	w.Lease.Unlock()
}

// lockSeen is a debug log handler that records, for the failure line of
// Service.fail, whether a lease was held when it was written.
type lockSeen struct {
	locks              *watchedLocker
	lines, underALease atomic.Int32
}

func (h *lockSeen) Enabled(context.Context, slog.Level) bool { return true }
func (h *lockSeen) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "upstream call failed" {
		h.lines.Add(1)
		if h.locks.held.Load() > 0 {
			h.underALease.Add(1)
		}
	}
	return nil
}
func (h *lockSeen) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lockSeen) WithGroup(string) slog.Handler      { return h }

// TestRefusalIsTranslatedAfterTheLock: the status of a write the upstream
// refuses (and of a failed read before it) is built once the property's
// write lock is released, so that the writes queued behind it do not wait
// for the translation. Service.fail translates and logs in one go: its
// line is written with no lease held.
func TestRefusalIsTranslatedAfterTheLock(t *testing.T) {
	refusal := &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 400, RequestID: "r1",
		Errors: []upstream.Message{{Code: "320", Message: "Invalid value.", Details: &upstream.Details{Fields: []string{"contacts[0].email"}}}}}
	notFound := &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 404, RequestID: "r2", Errors: []upstream.Message{{Code: "635"}}}
	for name, up := range map[string]service.Upstream{
		"refused PUT": failsWith{writeErr: refusal},
		"failed GET":  failsWith{readErr: notFound},
	} {
		t.Run(name, func(t *testing.T) {
			locks := &watchedLocker{inner: writelock.NewLocal()}
			h := &lockSeen{locks: locks}
			svc := newService(t, service.Config{Upstream: up, Logger: slog.New(h), Locks: locks})
			client := contactsv1.NewContactsServiceClient(serveService(t, svc, grpcserver.Config{}))
			_, err := client.ReplaceContacts(ctxLong(t), &contactsv1.ReplaceContactsRequest{PropertyId: fullID,
				Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}})
			if c := status.Code(err); c != codes.InvalidArgument && c != codes.NotFound {
				t.Fatalf("got %v", err)
			}
			if h.lines.Load() != 1 || h.underALease.Load() != 0 {
				t.Fatalf("%d failure lines, %d of them under a lease; want 1 and 0", h.lines.Load(), h.underALease.Load())
			}
		})
	}
}
