// Package bulktest checks that a bulk.Store keeps every promise of the
// bulk.Store and bulk.Lease interfaces. A Store's tests call Run with a
// way to open an empty Store.
package bulktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
)

// Backend is one empty Store under test, with what the suite needs
// around it.
type Backend struct {
	// Store is the Store under test.
	Store bulk.Store
	// Peer is another Store over the same state, as another replica's
	// would be (Store itself when the Store has no other view).
	Peer bulk.Store
	// Advance, when not nil, is called after the suite moved its clock
	// on by d, for a Store whose retention runs on another clock (Redis's
	// expiry) to move that one on too.
	Advance func(d time.Duration)
}

// Opener returns an empty Backend that keeps ended operations for
// retention by the clock now.
type Opener func(t *testing.T, retention time.Duration, now func() time.Time) Backend

// Retention is the retention the suite opens Stores with.
const Retention = time.Hour

// wait bounds every wait of the suite for something that must happen.
const wait = 10 * time.Second

// absent is how long the suite waits for a Take that must find nothing.
const absent = 300 * time.Millisecond

// clock is the suite's clock: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one subtest's Store and clock.
type env struct {
	t *testing.T
	Backend
	clock *clock
	seq   int
}

func (e *env) advance(d time.Duration) {
	e.clock.add(d)
	if e.Advance != nil {
		e.Advance(d)
	}
}

// header returns a new header of owner created at the clock's now plus
// offset, with a request holding contact data.
func (e *env) header(owner string, offset time.Duration) bulk.Header {
	e.seq++
	at := e.clock.Now().Add(offset)
	return bulk.Header{
		Name:    fmt.Sprintf("operations/%s-%d", e.t.Name(), e.seq),
		Owner:   owner,
		Method:  "/contacts.v1.Contacts/BulkEditProfile",
		Request: []byte(`{"email":"ada@example.com"}`),
		Total:   3,
		Created: at,
		Updated: at,
	}
}

func (e *env) create(owner string) bulk.Header {
	e.t.Helper()
	h := e.header(owner, 0)
	if err := e.Store.Create(e.t.Context(), h); err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return h
}

// take takes an operation, failing the test if none comes within wait.
func (e *env) take(s bulk.Store) bulk.Lease {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), wait)
	defer cancel()
	l, err := s.Take(ctx)
	if err != nil {
		e.t.Fatalf("Take: %v", err)
	}
	return l
}

// noTake checks that s has nothing to take.
func (e *env) noTake(s bulk.Store) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), absent)
	defer cancel()
	if l, err := s.Take(ctx); err == nil {
		e.t.Fatalf("Take returned %s, want nothing to take", l.Name())
	} else if !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("Take: %v, want the context's deadline", err)
	}
}

func (e *env) get(name string) bulk.Header {
	e.t.Helper()
	h, err := e.Store.Get(e.t.Context(), name)
	if err != nil {
		e.t.Fatalf("Get %s: %v", name, err)
	}
	return h
}

func (e *env) items(s bulk.Store, name string) map[int]bulk.Item {
	e.t.Helper()
	it, err := s.Items(e.t.Context(), name)
	if err != nil {
		e.t.Fatalf("Items %s: %v", name, err)
	}
	return it
}

// sameHeader reports how got differs from want, or "".
func sameHeader(got, want bulk.Header) string {
	switch {
	case got.Name != want.Name, got.Owner != want.Owner, got.Method != want.Method, got.Total != want.Total:
		return fmt.Sprintf("identity %q/%q/%q/%d, want %q/%q/%q/%d", got.Name, got.Owner, got.Method, got.Total, want.Name, want.Owner, want.Method, want.Total)
	case !bytes.Equal(got.Request, want.Request):
		return "request differs"
	case !got.Created.Equal(want.Created), !got.Updated.Equal(want.Updated), !got.Ended.Equal(want.Ended):
		return fmt.Sprintf("times %v/%v/%v, want %v/%v/%v", got.Created, got.Updated, got.Ended, want.Created, want.Updated, want.Ended)
	case got.Counts != want.Counts:
		return fmt.Sprintf("counts %+v, want %+v", got.Counts, want.Counts)
	case got.CancelRequested != want.CancelRequested:
		return fmt.Sprintf("CancelRequested %v, want %v", got.CancelRequested, want.CancelRequested)
	}
	return ""
}

func sameItems(got, want map[int]bulk.Item) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		g, ok := got[i]
		if !ok || g.Final != w.Final || !bytes.Equal(g.Data, w.Data) || g.Undo != nil {
			return false
		}
	}
	return true
}

// Run runs the suite, each check on a Store of its own.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		test func(e *env)
	}{
		{"CreateThenGet", testCreateGet},
		{"CreateExistingName", testCreateExisting},
		{"NotFound", testNotFound},
		{"ListNewestFirstOwnersOnly", testList},
		{"Cancel", testCancel},
		{"Delete", testDelete},
		{"TakeEachOnce", testTakeOnce},
		{"TakeWaitsForCreate", testTakeWaits},
		{"TakeReturnsContextError", testTakeCtx},
		{"PutRecordsItemsAndCounts", testPut},
		{"FinishThenRetention", testFinish},
		{"ReleaseMakesTakeable", testRelease},
		{"TakeoverLosesLease", testTakeover},
		{"DeleteLosesLease", testDeleteLease},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			e := &env{t: t, clock: c, Backend: open(t, Retention, c.Now)}
			if e.Peer == nil {
				e.Peer = e.Store
			}
			tc.test(e)
		})
	}
}

func testCreateGet(e *env) {
	h := e.create("alice")
	if d := sameHeader(e.get(h.Name), h); d != "" {
		e.t.Fatalf("Get after Create: %s", d)
	}
	if got := e.get(h.Name); got.Done() {
		e.t.Fatal("a new operation is Done")
	}
	if d := sameHeader(must(e.Peer.Get(e.t.Context(), h.Name))(e.t), h); d != "" {
		e.t.Fatalf("Get on the peer: %s", d)
	}
	if it := e.items(e.Store, h.Name); len(it) != 0 {
		e.t.Fatalf("Items of a new operation: %v", it)
	}
}

func testCreateExisting(e *env) {
	h := e.create("alice")
	other := h
	other.Owner = "mallory"
	if err := e.Store.Create(e.t.Context(), other); err == nil {
		e.t.Fatal("Create with a name in use succeeded")
	}
	if got := e.get(h.Name); got.Owner != "alice" {
		e.t.Fatalf("the second Create replaced the first: owner %q", got.Owner)
	}
}

func testNotFound(e *env) {
	ctx := e.t.Context()
	const name = "operations/none"
	for _, c := range []struct {
		op  string
		err func() error
	}{
		{"Get", func() error { _, err := e.Store.Get(ctx, name); return err }},
		{"Items", func() error { _, err := e.Store.Items(ctx, name); return err }},
		{"Cancel", func() error { return e.Store.Cancel(ctx, name) }},
		{"Delete", func() error { return e.Store.Delete(ctx, name) }},
	} {
		if err := c.err(); !errors.Is(err, bulk.ErrNotFound) {
			e.t.Errorf("%s of an unknown name: %v, want ErrNotFound", c.op, err)
		}
	}
	if l, err := e.Store.List(ctx, "nobody"); err != nil || len(l) != 0 {
		e.t.Errorf("List of an owner with none: %v %v", l, err)
	}
}

func testList(e *env) {
	ctx := e.t.Context()
	var want []bulk.Header
	// Created out of order, and two at the same instant (ordered by name).
	for _, off := range []time.Duration{time.Minute, 3 * time.Minute, 0, 3 * time.Minute} {
		h := e.header("alice", off)
		if err := e.Store.Create(ctx, h); err != nil {
			e.t.Fatal(err)
		}
		want = append(want, h)
		b := e.header("bob", off)
		if err := e.Store.Create(ctx, b); err != nil {
			e.t.Fatal(err)
		}
	}
	want = []bulk.Header{want[1], want[3], want[0], want[2]}
	for _, s := range []bulk.Store{e.Store, e.Peer} {
		got, err := s.List(ctx, "alice")
		if err != nil {
			e.t.Fatal(err)
		}
		if len(got) != len(want) {
			e.t.Fatalf("List: %d operations, want %d", len(got), len(want))
		}
		for i := range want {
			if d := sameHeader(got[i], want[i]); d != "" {
				e.t.Fatalf("List[%d]: %s", i, d)
			}
		}
	}
}

func testCancel(e *env) {
	h := e.create("alice")
	other := e.create("alice")
	if err := e.Store.Cancel(e.t.Context(), h.Name); err != nil {
		e.t.Fatal(err)
	}
	if !e.get(h.Name).CancelRequested {
		e.t.Fatal("Get after Cancel: CancelRequested is false")
	}
	if e.get(other.Name).CancelRequested {
		e.t.Fatal("Cancel of one operation cancelled another")
	}
	for name, want := range map[string]bool{h.Name: true, other.Name: false} {
		if got, err := e.Peer.Cancelled(e.t.Context(), name); err != nil || got != want {
			e.t.Fatalf("Cancelled(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := e.Peer.Cancelled(e.t.Context(), "operations/none"); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("Cancelled of an unknown name: %v, want ErrNotFound", err)
	}
	l, err := e.Peer.List(e.t.Context(), "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, got := range l {
		if got.CancelRequested != (got.Name == h.Name) {
			e.t.Fatalf("List: %s CancelRequested=%v", got.Name, got.CancelRequested)
		}
	}
}

func testDelete(e *env) {
	ctx := e.t.Context()
	gone := e.create("alice")
	kept := e.create("alice")
	if err := e.Store.Delete(ctx, gone.Name); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.Peer.Get(ctx, gone.Name); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("Get after Delete: %v", err)
	}
	if err := e.Store.Delete(ctx, gone.Name); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("second Delete: %v", err)
	}
	if l, err := e.Store.List(ctx, "alice"); err != nil || len(l) != 1 || l[0].Name != kept.Name {
		e.t.Fatalf("List after Delete: %v %v", l, err)
	}
	// A deleted operation is not run.
	if l := e.take(e.Store); l.Name() != kept.Name {
		e.t.Fatalf("Take: %s, want %s", l.Name(), kept.Name)
	}
	e.noTake(e.Store)
}

func testTakeOnce(e *env) {
	want := map[string]bool{}
	for range 3 {
		want[e.create("alice").Name] = true
	}
	stores := []bulk.Store{e.Store, e.Peer, e.Store}
	for _, s := range stores {
		l := e.take(s)
		if !want[l.Name()] {
			e.t.Fatalf("Take: %s again or unknown", l.Name())
		}
		delete(want, l.Name())
	}
	e.noTake(e.Store)
	e.noTake(e.Peer)
}

func testTakeWaits(e *env) {
	ctx, cancel := context.WithTimeout(e.t.Context(), wait)
	defer cancel()
	type taken struct {
		l   bulk.Lease
		err error
	}
	got := make(chan taken, 1)
	go func() {
		l, err := e.Peer.Take(ctx)
		got <- taken{l, err}
	}()
	h := e.create("alice")
	r := <-got
	if r.err != nil || r.l.Name() != h.Name {
		e.t.Fatalf("Take waiting for a Create: %v %v", r.l, r.err)
	}
}

func testTakeCtx(e *env) {
	ctx, cancel := context.WithCancel(e.t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := e.Store.Take(ctx)
		got <- err
	}()
	cancel()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			e.t.Fatalf("Take after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		e.t.Fatal("Take did not return after its context was cancelled")
	}
	// Nothing was taken by the abandoned Take.
	h := e.create("alice")
	if l := e.take(e.Store); l.Name() != h.Name {
		e.t.Fatalf("Take: %s", l.Name())
	}
}

func testPut(e *env) {
	ctx := e.t.Context()
	h := e.create("alice")
	l := e.take(e.Store)
	if err := l.Renew(ctx); err != nil {
		e.t.Fatalf("Renew: %v", err)
	}
	want := map[int]bulk.Item{}
	wantUndo := map[int]string{}
	for i, step := range []struct {
		index int
		it    bulk.Item
		c     bulk.Counts
	}{
		{0, bulk.Item{Data: []byte("intent 0"), Undo: []byte("before 0")}, bulk.Counts{}},
		{0, bulk.Item{Final: true, Data: []byte("changed 0")}, bulk.Counts{Changed: 1}},
		{2, bulk.Item{Data: []byte("intent 2"), Undo: []byte("before 2")}, bulk.Counts{Changed: 1}},
		{2, bulk.Item{Data: []byte("intent 2 again"), Undo: []byte("before 2 again")}, bulk.Counts{Changed: 1}},
		{2, bulk.Item{Final: true, Data: []byte("failed 2")}, bulk.Counts{Changed: 1, Failed: 1}},
		{1, bulk.Item{Final: true}, bulk.Counts{Changed: 1, Failed: 1, Unchanged: 1}},
	} {
		e.advance(time.Second)
		h.Counts, h.Updated = step.c, e.clock.Now()
		if err := l.Put(ctx, h, step.index, step.it); err != nil {
			e.t.Fatalf("Put %d: %v", i, err)
		}
		want[step.index] = bulk.Item{Final: step.it.Final, Data: step.it.Data} // Items leaves Undo out
		if step.it.Undo != nil {
			wantUndo[step.index] = string(step.it.Undo)
		}
		if got := e.items(e.Peer, h.Name); !sameItems(got, want) {
			e.t.Fatalf("Items after Put %d: %v, want %v", i, got, want)
		}
		undo, err := e.Peer.Undo(ctx, h.Name)
		if err != nil {
			e.t.Fatalf("Undo after Put %d: %v", i, err)
		}
		got := map[int]string{}
		for k, v := range undo {
			got[k] = string(v)
		}
		if !maps.Equal(got, wantUndo) {
			e.t.Fatalf("Undo after Put %d: %v, want %v (a nil Undo leaves it as it is)", i, got, wantUndo)
		}
		if d := sameHeader(e.get(h.Name), h); d != "" {
			e.t.Fatalf("Get after Put %d: %s", i, d)
		}
	}
}

func testFinish(e *env) {
	ctx := e.t.Context()
	h := e.create("alice")
	l := e.take(e.Store)
	if err := l.Put(ctx, h, 0, bulk.Item{Final: true, Data: []byte("x")}); err != nil {
		e.t.Fatal(err)
	}
	e.advance(time.Minute)
	h.Counts = bulk.Counts{Changed: 1, Cancelled: 2}
	h.Updated, h.Ended = e.clock.Now(), e.clock.Now()
	if err := l.Finish(ctx, h); err != nil {
		e.t.Fatalf("Finish: %v", err)
	}
	got := e.get(h.Name)
	if d := sameHeader(got, h); d != "" || !got.Done() {
		e.t.Fatalf("Get after Finish: %s (done %v)", d, got.Done())
	}
	if err := l.Put(ctx, h, 1, bulk.Item{}); !errors.Is(err, bulk.ErrLeaseLost) {
		e.t.Fatalf("Put after Finish: %v, want ErrLeaseLost", err)
	}
	e.noTake(e.Peer) // an ended operation is not run again

	e.advance(Retention - time.Minute)
	if d := sameHeader(e.get(h.Name), h); d != "" {
		e.t.Fatalf("Get within the retention: %s", d)
	}
	if it := e.items(e.Store, h.Name); len(it) != 1 {
		e.t.Fatalf("Items within the retention: %v", it)
	}
	e.advance(2 * time.Minute)
	if _, err := e.Store.Get(ctx, h.Name); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("Get past the retention: %v, want ErrNotFound", err)
	}
	if _, err := e.Peer.Items(ctx, h.Name); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("Items past the retention: %v, want ErrNotFound", err)
	}
	if ls, err := e.Store.List(ctx, "alice"); err != nil || len(ls) != 0 {
		e.t.Fatalf("List past the retention: %v %v", ls, err)
	}
}

func testRelease(e *env) {
	ctx := e.t.Context()
	h := e.create("alice")
	l := e.take(e.Store)
	if err := l.Release(ctx); err != nil {
		e.t.Fatalf("Release: %v", err)
	}
	again := e.take(e.Store)
	if again.Name() != h.Name {
		e.t.Fatalf("Take after Release: %s", again.Name())
	}
	if err := again.Put(ctx, h, 0, bulk.Item{Data: []byte("i")}); err != nil {
		e.t.Fatalf("Put on the new lease: %v", err)
	}
}

func testTakeover(e *env) {
	ctx := e.t.Context()
	h := e.create("alice")
	first := e.take(e.Store)
	if err := first.Put(ctx, h, 0, bulk.Item{Final: true, Data: []byte("done by the first")}); err != nil {
		e.t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		e.t.Fatal(err)
	}
	second := e.take(e.Peer)
	if second.Name() != h.Name {
		e.t.Fatalf("peer took %s", second.Name())
	}
	// The new runner sees what the first recorded.
	if it := e.items(e.Peer, h.Name); !it[0].Final || string(it[0].Data) != "done by the first" {
		e.t.Fatalf("Items after takeover: %v", it)
	}
	for _, c := range []struct {
		op  string
		err error
	}{
		{"Put", first.Put(ctx, h, 1, bulk.Item{Data: []byte("stale")})},
		{"Renew", first.Renew(ctx)},
		{"Finish", first.Finish(ctx, bulk.Header{Name: h.Name, Ended: e.clock.Now()})},
	} {
		if !errors.Is(c.err, bulk.ErrLeaseLost) {
			e.t.Errorf("%s on the lease taken over: %v, want ErrLeaseLost", c.op, c.err)
		}
	}
	if err := second.Put(ctx, h, 1, bulk.Item{Data: []byte("fresh")}); err != nil {
		e.t.Fatalf("Put on the new lease: %v", err)
	}
	if it := e.items(e.Store, h.Name); string(it[1].Data) != "fresh" || e.get(h.Name).Done() {
		e.t.Fatalf("the stale lease wrote: %v", it)
	}
}

func testDeleteLease(e *env) {
	ctx := e.t.Context()
	h := e.create("alice")
	l := e.take(e.Store)
	if err := e.Peer.Delete(ctx, h.Name); err != nil {
		e.t.Fatal(err)
	}
	if err := l.Put(ctx, h, 0, bulk.Item{Data: []byte("x")}); !errors.Is(err, bulk.ErrLeaseLost) {
		e.t.Fatalf("Put after Delete: %v, want ErrLeaseLost", err)
	}
	if _, err := e.Store.Get(ctx, h.Name); !errors.Is(err, bulk.ErrNotFound) {
		e.t.Fatalf("Put after Delete brought it back: %v", err)
	}
	// The name used again is a new operation: the old lease has no hold
	// on it (even one that did not write since the Delete), and it is run
	// afresh.
	h = e.create("alice")
	l = e.take(e.Store)
	if err := l.Put(ctx, h, 0, bulk.Item{Data: []byte("old")}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.Peer.Delete(ctx, h.Name); err != nil {
		e.t.Fatal(err)
	}
	if err := e.Store.Create(ctx, h); err != nil {
		e.t.Fatal(err)
	}
	if err := l.Put(ctx, h, 0, bulk.Item{Data: []byte("x")}); !errors.Is(err, bulk.ErrLeaseLost) {
		e.t.Fatalf("Put of the deleted operation's lease on its successor: %v, want ErrLeaseLost", err)
	}
	again := e.take(e.Peer)
	if again.Name() != h.Name {
		e.t.Fatalf("Take: %s", again.Name())
	}
	if it := e.items(e.Store, h.Name); len(it) != 0 {
		e.t.Fatalf("Items of the new operation: %v", it)
	}
	e.noTake(e.Store)
}

// must fails t on err.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
