package service

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// deadlineWrites reads an empty property and records the deadline of the
// context of each upstream call.
type deadlineWrites struct{ read, write time.Time }

func (d *deadlineWrites) List(ctx context.Context, _ string, _ bool) (*contactsv1.ListContactsResponse, error) {
	d.read, _ = ctx.Deadline()
	return &contactsv1.ListContactsResponse{}, nil
}

func (d *deadlineWrites) Replace(ctx context.Context, _ string, _ []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	d.write, _ = ctx.Deadline()
	return &contactsv1.ReplaceContactsResponse{}, nil
}

func (d *deadlineWrites) Create(ctx context.Context, _ string, _ []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	d.write, _ = ctx.Deadline()
	return &contactsv1.CreateContactsResponse{}, nil
}

// TestWriteTimeoutCapsTheUpstreamPart (issue 27, item 6): the fresh read
// and the PUT of a write end by WriteTimeout even when the caller would
// wait much longer, so a stalled upstream call holds the property's
// write lock no longer than that.
func TestWriteTimeoutCapsTheUpstreamPart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		writeCap time.Duration // Config.WriteTimeout; 0: the default
		want     time.Duration
	}{
		{"configured", time.Minute, time.Minute},
		{"default", 0, DefaultWriteTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := &deadlineWrites{}
			s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), WriteTimeout: tc.writeCap})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			before := time.Now()
			if _, err := s.SetProfileContacts(ctx, setRequest("")); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			for name, d := range map[string]time.Time{"fresh read": up.read, "PUT": up.write} {
				if d.IsZero() || d.After(after.Add(tc.want)) || d.Before(before.Add(tc.want)) {
					t.Errorf("%s deadline in %v, want %v (the caller's is an hour)", name, d.Sub(before), tc.want)
				}
			}
		})
	}
}

// pendingStore is a request store whose claims expire after pending.
type pendingStore struct {
	RequestStore
	pending time.Duration
}

func (p pendingStore) PendingTTL() time.Duration { return p.pending }

// TestPendingTTLOutlivesTheWrite (issue 27, item 6): New refuses a
// request store whose claims could expire while the write that holds one
// still runs (LockWait + WriteTimeout).
func TestPendingTTLOutlivesTheWrite(t *testing.T) {
	cfg := Config{Upstream: &deadlineWrites{}, Policy: AllowAll(), Audit: NoAudit(), LockWait: 10 * time.Second, WriteTimeout: 20 * time.Second}
	for _, tc := range []struct {
		pending time.Duration
		ok      bool
	}{
		{30 * time.Second, false},
		{29 * time.Second, false},
		{2 * time.Minute, true},
	} {
		cfg.Requests = pendingStore{pending: tc.pending}
		if _, err := New(cfg); (err == nil) != tc.ok {
			t.Errorf("pending TTL %v: New error %v, want ok=%v", tc.pending, err, tc.ok)
		}
	}
}

// vanishedLocks grant leases whose Check says the lock is gone, as a
// Redis that was flushed after the lock was taken does.
type vanishedLocks struct{ writelock.Locker }

func (v vanishedLocks) Lock(ctx context.Context, key string) (writelock.Lease, error) {
	l, err := v.Locker.Lock(ctx, key)
	return vanishedLease{l}, err
}

type vanishedLease struct{ writelock.Lease }

func (vanishedLease) Check(context.Context) error { return writelock.ErrLockLost }

// TestNoPutOnAVanishedLock (issue 27, item 3): a write whose lease the
// Locker no longer holds right before the PUT sends nothing and answers
// ABORTED WRITE_LOCK_LOST.
func TestNoPutOnAVanishedLock(t *testing.T) {
	up := &flakyWrites{write: func(int64) error { return nil }}
	s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), Locks: vanishedLocks{writelock.NewLocal()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetProfileContacts(t.Context(), setRequest(""))
	if wantReason(t, err, codes.Aborted, contactsv1.ErrorReason_WRITE_LOCK_LOST.String()); up.puts.Load() != 0 {
		t.Fatalf("%d PUTs on a lost lock", up.puts.Load())
	}
}

// classSeen reads an empty property and writes nothing, and records the
// upstream governor's class of each call.
type classSeen struct{ read, write governor.Class }

func (c *classSeen) List(ctx context.Context, _ string, _ bool) (*contactsv1.ListContactsResponse, error) {
	c.read = governor.ClassOf(ctx)
	return &contactsv1.ListContactsResponse{}, nil
}

func (c *classSeen) Replace(ctx context.Context, _ string, _ []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	c.write = governor.ClassOf(ctx)
	return &contactsv1.ReplaceContactsResponse{}, nil
}

func (c *classSeen) Create(ctx context.Context, _ string, _ []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	c.write = governor.ClassOf(ctx)
	return &contactsv1.CreateContactsResponse{}, nil
}

// TestUpstreamCallsCarryTheirClass (issue 28): a read a caller waits on
// is the governor's interactive class; a write's fresh read and PUT are
// its write class (untagged calls would be background, the lowest).
func TestUpstreamCallsCarryTheirClass(t *testing.T) {
	up := &classSeen{}
	s := newForTest(t, up, nil)
	if _, err := s.ListContacts(t.Context(), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); err != nil {
		t.Fatal(err)
	}
	if up.read != governor.Interactive {
		t.Errorf("ListContacts read as %v, want interactive", up.read)
	}
	if _, err := s.SetProfileContacts(t.Context(), setRequest("")); err != nil {
		t.Fatal(err)
	}
	if up.read != governor.Write || up.write != governor.Write {
		t.Errorf("a write's read as %v and PUT as %v, want write for both", up.read, up.write)
	}
}
