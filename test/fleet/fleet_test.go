package fleet_test

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

// burst sends n calls at once, call i to replica i mod len(fleet), each
// with its own deadline, and returns their status codes by call.
func burst(fleet []*replica, n int, deadline time.Duration, do func(ctx context.Context, r *replica, i int) error) []codes.Code {
	out := make([]codes.Code, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			out[i] = status.Code(do(ctx, fleet[i%len(fleet)], i))
		})
	}
	wg.Wait()
	return out
}

func list(ctx context.Context, r *replica, id string) error {
	_, err := r.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
	return err
}

// tally counts codes, for logs and messages.
func tally(cs []codes.Code) map[codes.Code]int {
	m := map[codes.Code]int{}
	for _, c := range cs {
		m[c]++
	}
	return m
}

func allOK(t *testing.T, what string, cs []codes.Code) {
	t.Helper()
	if m := tally(cs); m[codes.OK] != len(cs) {
		t.Errorf("%s: codes %v, want all %d OK", what, m, len(cs))
	}
}

// TestFleet runs 5 replicas on one real redis-server against one emulator
// through a cold start, a revocation, the lost-update workload, duplicate
// request ids and a Redis outage, in this order: each scenario starts from
// the state the previous one left, as a long-lived fleet would.
func TestFleet(t *testing.T) {
	srv := redistest.Start(t)
	clk := &clock{}
	e := startEmulator(t, clk)
	fleet := newFleet(t, fleetConfig{redisURL: srv.URL(), emu: e, clk: clk, log: testLog()})

	t.Run("cold start: 500 calls, one exchange", func(t *testing.T) {
		cs := burst(fleet, 500, 30*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })
		allOK(t, "cold start", cs)
		// Counted at the emulator: what the account spent.
		if n := e.exchanges(); n != 1 {
			t.Errorf("%d exchanges reached the emulator for 500 calls on %d cold replicas, want 1 (sent per replica %v)",
				n, replicas, perReplica(fleet, (*replica).sent))
		}
		t.Logf("cold start: 500 concurrent calls over %d replicas, %d exchange(s) at the emulator", replicas, e.exchanges())
	})

	t.Run("revocation: one new exchange for the fleet", func(t *testing.T) {
		before := e.exchanges()
		e.RevokeTokens()
		cs := burst(fleet, 500, 30*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })
		allOK(t, "after revocation", cs)
		if n := e.exchanges() - before; n != 1 {
			t.Errorf("%d exchanges after the token was revoked, want 1 for the fleet (sent per replica %v)", n, perReplica(fleet, (*replica).sent))
		}
		t.Logf("revocation: 500 concurrent calls, %d new exchange(s)", e.exchanges()-before)
	})

	t.Run("8 profiles × 20 concurrent SetProfileContacts: no lost update", func(t *testing.T) {
		lostUpdates(t, fleet, e)
	})

	t.Run("one request_id on every replica: one PUT, one answer", func(t *testing.T) {
		id := strconv.Itoa(emulator.FirstExtraProperty)
		req := &contactsv1.SetProfileContactsRequest{PropertyId: id, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
			Contacts: []*contactsv1.Contact{named("invoices")}, RequestId: "0b8e6f7c-3d2a-4c1e-9f5b-7a6d4e3c2b1a"}
		answers := make([]*contactsv1.SetProfileContactsResponse, 4*replicas)
		cs := burst(fleet, len(answers), 30*time.Second, func(ctx context.Context, r *replica, i int) error {
			var err error
			answers[i], err = r.client.SetProfileContacts(ctx, req)
			return err
		})
		allOK(t, "duplicates", cs)
		if puts := e.Puts(emulator.FirstExtraProperty); puts != 1 {
			t.Errorf("%d upstream PUTs for %d duplicates over %d replicas, want 1", puts, len(answers), replicas)
		}
		for i, a := range answers[1:] {
			if !proto.Equal(a, answers[0]) {
				t.Errorf("the answer of replica %d differs from replica 0's", (i+1)%replicas)
			}
		}
	})

	t.Run("Redis killed, then back", func(t *testing.T) {
		redisOutage(t, srv, fleet, e, clk)
	})
}

// lostUpdates is the service's TestConcurrentSetProfileContacts spread
// over the fleet: 160 concurrent writes of one property without etags.
// The writes must form one chain (each read the state the previous one
// wrote), each profile must end with its last call's contacts, and the
// property must hold exactly the contacts the profiles imply.
func lostUpdates(t *testing.T, fleet []*replica, e *emu) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := fleet[0].client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fullID})
	if err != nil {
		t.Fatal(err)
	}
	putsBefore := e.Puts(emulator.DemoPropertyFull)
	calls := workload()
	type done struct {
		c    call
		resp *contactsv1.SetProfileContactsResponse
	}
	results := make(chan done, len(calls))
	var wg sync.WaitGroup
	for k, c := range calls {
		r := fleet[k%len(fleet)]
		wg.Go(func() {
			resp, err := r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: c.p, Contacts: c.want})
			if err != nil {
				t.Errorf("replica %d, profile %v call %d: %v", r.id, c.p, c.i, err)
				return
			}
			results <- done{c, resp}
		})
	}
	wg.Wait()
	close(results)

	byPrevious := map[string]done{}
	for d := range results {
		prev := safeedit.Etag(d.resp.GetPreviousContacts())
		if other, dup := byPrevious[prev]; dup {
			t.Fatalf("two writes read the same state (a lost update): %v call %d and %v call %d", d.c.p, d.c.i, other.c.p, other.c.i)
		}
		byPrevious[prev] = d
	}
	last := map[contactsv1.ProfileType]call{}
	etag, n := first.GetEtag(), 0
	for ; ; n++ {
		d, ok := byPrevious[etag]
		if !ok {
			break
		}
		last[d.c.p] = d.c
		etag = d.resp.GetEtag()
	}
	if n != len(calls) {
		t.Fatalf("the chain of writes has %d links, want %d", n, len(calls))
	}
	final, err := fleet[1].client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fullID})
	if err != nil {
		t.Fatal(err)
	}
	if final.GetEtag() != etag {
		t.Errorf("the property's etag %s is not the last write's %s", final.GetEtag(), etag)
	}
	implied := map[string]bool{}
	lost := 0
	for _, p := range allWrites {
		want := contentSet(withProfile(last[p].want, p), p)
		maps.Copy(implied, want)
		if got := contentSet(final.GetContacts(), p); !cmp.Equal(got, want) {
			lost++
			t.Errorf("%v holds %d contacts, not the %d of its last call (%d)", p, len(got), len(want), last[p].i)
		}
	}
	if len(final.GetContacts()) != len(implied) {
		t.Errorf("the property has %d contacts, the profiles imply %d", len(final.GetContacts()), len(implied))
	}
	if puts := e.Puts(emulator.DemoPropertyFull) - putsBefore; puts != len(calls) {
		t.Errorf("%d PUTs for %d calls", puts, len(calls))
	}
	t.Logf("SetProfileContacts over %d replicas: %d concurrent calls, %d lost updates, %d contacts at the end",
		len(fleet), len(calls), lost, len(final.GetContacts()))
}
