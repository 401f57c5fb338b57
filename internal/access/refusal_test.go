package access

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// syncedBuffer is a trail's writer that counts its syncs.
type syncedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	syncs int
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncedBuffer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return nil
}

func (s *syncedBuffer) records(t *testing.T) []Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, line := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func refusalGate(t *testing.T, policy string, w *syncedBuffer, clk *clock) (*Gate, *Trail) {
	t.Helper()
	p, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrail(w)
	tr.now = clk.now
	mesh := Resolver{TrustProxyHeader: true, Proxies: mustPrefixes("10.0.0.0/8")}
	g, err := NewGate(Config{Resolver: mesh, Policy: NewHolder(p), Audit: tr, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return g, tr
}

var clearGeneral = &contactsv1.ClearProfileContactsRequest{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL}

const readOnlyPolicy = "version: 1\ndefault:\n  rpcs: [read]\n  rate: {per_second: 1, burst: 2}\n"

// TestRefusalsSpendTheCallerShare: a refused call costs a token of the
// caller's bucket, so a caller hammering what it may not do is slowed
// down in what it may.
func TestRefusalsSpendTheCallerShare(t *testing.T) {
	tests := []struct {
		refusals int
		want     codes.Code
	}{
		{0, codes.OK},
		{1, codes.OK},
		{2, codes.ResourceExhausted},
		{5, codes.ResourceExhausted},
	}
	for _, tt := range tests {
		clk := &clock{t: time.Unix(1e9, 0)}
		g, _ := refusalGate(t, readOnlyPolicy, &syncedBuffer{}, clk)
		for range tt.refusals {
			if _, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral); status.Code(err) != codes.PermissionDenied {
				t.Fatalf("write: %v, want PermissionDenied", err)
			}
		}
		_, err := g.Admit(context.Background(), contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1"})
		if status.Code(err) != tt.want {
			t.Errorf("after %d refusals: read %v, want %v", tt.refusals, status.Code(err), tt.want)
		}
	}
	// Pinned by hand: two refusals empty a bucket of two.
	clk := &clock{t: time.Unix(1e9, 0)}
	g, _ := refusalGate(t, readOnlyPolicy, &syncedBuffer{}, clk)
	for range 2 {
		_, _ = g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
	}
	if _, err := g.Admit(context.Background(), contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1"}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("read after two refusals: %v", err)
	}
}

// TestRepeatedRefusalsAreSummedUp: a caller refused 100 times in one
// interval leaves its first refusal and, when the interval ends, one
// record that counts the 99 others.
func TestRepeatedRefusalsAreSummedUp(t *testing.T) {
	w := &syncedBuffer{}
	t0 := time.Unix(1e9, 0).UTC()
	clk := &clock{t: t0}
	g, tr := refusalGate(t, "version: 1\ndefault:\n  rpcs: [read]\n", w, clk)
	for range 100 {
		_, _ = g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
		clk.add(90 * time.Millisecond) // 100 refusals in 9 s
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if recs := w.records(t); len(recs) != 1 || recs[0].Count != 0 || recs[0].PropertyID != "1000001" || recs[0].Allowed {
		t.Fatalf("within the interval: %+v, want the first refusal alone", recs)
	}
	clk.add(time.Second) // the interval has ended
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := w.records(t)
	if len(recs) != 2 {
		t.Fatalf("after the interval: %d records, want 2: %+v", len(recs), recs)
	}
	sum := recs[1]
	if sum.Count != 99 || !sum.Since.Equal(t0) || sum.Caller != Anonymous || sum.RPC != "ClearProfileContacts" ||
		sum.Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || sum.Code != "PermissionDenied" || sum.Allowed {
		t.Errorf("summary %+v, want 99 refusals since %v", sum, t0)
	}
	// A refusal in the next interval is recorded again, as it is.
	_, _ = g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if recs := w.records(t); len(recs) != 3 || recs[2].Count != 0 || recs[2].PropertyID != "1000001" {
		t.Errorf("records %+v", recs)
	}
}

// TestRefusalsAreGroupCommitted: refusals of 50 callers cost no sync each:
// their records are committed together, with one sync.
func TestRefusalsAreGroupCommitted(t *testing.T) {
	w := &syncedBuffer{}
	clk := &clock{t: time.Unix(1e9, 0)}
	g, tr := refusalGate(t, "version: 1\ndefault:\n  rpcs: [read]\n", w, clk)
	for i := range 50 {
		ctx := peerCtx("10.0.0.1:5", nil, "URI=spiffe://corp/c"+strings.Repeat("x", i))
		if _, err := g.Admit(ctx, contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	w.mu.Lock()
	syncs := w.syncs
	w.mu.Unlock()
	if syncs != 0 {
		t.Errorf("%d syncs for 50 refusals before the commit, want 0", syncs)
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if recs := w.records(t); len(recs) != 50 || w.syncs != 1 {
		t.Errorf("%d records with %d syncs, want 50 with 1", len(recs), w.syncs)
	}
}

// TestAllowedWriteIsSyncedWhenEndReturns: a record written is a record
// kept: End returns after the sync of its record.
func TestAllowedWriteIsSyncedWhenEndReturns(t *testing.T) {
	w := &syncedBuffer{}
	clk := &clock{t: time.Unix(1e9, 0)}
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, clk)
	c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
	if err != nil {
		t.Fatal(err)
	}
	c.End(&contactsv1.ClearProfileContactsResponse{}, nil)
	if recs := w.records(t); len(recs) != 1 || !recs[0].Allowed || w.syncs != 1 {
		t.Errorf("after End: %+v with %d syncs, want the record synced", recs, w.syncs)
	}
}

// TestConcurrentWritesAllKept: writes ending together are committed in
// groups, each End returning after its record's sync, none lost.
func TestConcurrentWritesAllKept(t *testing.T) {
	w := &syncedBuffer{}
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, &clock{t: time.Unix(1e9, 0)})
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
			if err != nil {
				t.Error(err)
				return
			}
			c.End(&contactsv1.ClearProfileContactsResponse{}, nil)
			w.mu.Lock()
			synced := w.syncs > 0
			w.mu.Unlock()
			if !synced {
				t.Error("End returned before any sync")
			}
		})
	}
	wg.Wait()
	if recs := w.records(t); len(recs) != n || w.syncs > n || w.syncs < 1 {
		t.Errorf("%d records with %d syncs, want %d with 1 to %d", len(recs), w.syncs, n, n)
	}
}
