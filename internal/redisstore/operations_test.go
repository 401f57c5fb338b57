package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/bulk/bulktest"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// opsReplica opens a Store of account on srv, as one replica would.
func opsReplica(t *testing.T, srv *redistest.Server, account string) *Store {
	t.Helper()
	s, err := Open(Config{URL: srv.URL(), Account: account, Secret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// shiftTTLs moves Redis's expiry on by d for the keys under s's prefix:
// Redis has no clock to advance, so each key's remaining time is
// shortened instead (and a key whose time is up is deleted).
func shiftTTLs(t *testing.T, s *Store, d time.Duration) {
	t.Helper()
	ctx := t.Context()
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		ttl, err := s.rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ttl < 0: // no expiry (the queue)
		case ttl <= d:
			s.rdb.Del(ctx, k)
		default:
			s.rdb.PExpire(ctx, k, ttl-d)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestOperationsConformance(t *testing.T) {
	srv := redistest.Start(t)
	bulktest.Run(t, func(t *testing.T, retention time.Duration, _ func() time.Time) bulktest.Backend {
		a := opsReplica(t, srv, t.Name())
		b := opsReplica(t, srv, t.Name())
		return bulktest.Backend{
			Store:   a.Operations(OperationsConfig{Retention: retention, Consumer: "a"}),
			Peer:    b.Operations(OperationsConfig{Retention: retention, Consumer: "b"}),
			Advance: func(d time.Duration) { shiftTTLs(t, a, d) },
		}
	})
}

func newOp(name, owner string, request []byte) bulk.Header {
	now := time.Now()
	return bulk.Header{Name: name, Owner: owner, Method: "/m", Request: request, Total: 2, Created: now, Updated: now}
}

func takeWithin(t *testing.T, o *Operations, d time.Duration) (bulk.Lease, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	return o.Take(ctx)
}

func TestOperationsTakeoverAfterLeaseTime(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	const lease = 200 * time.Millisecond
	a := opsReplica(t, srv, "acct").Operations(OperationsConfig{LeaseTime: lease, Consumer: "a"})
	b := opsReplica(t, srv, "acct").Operations(OperationsConfig{LeaseTime: lease, Consumer: "b"})
	h := newOp("operations/1", "alice", nil)
	if err := a.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	la, err := takeWithin(t, a, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Put(ctx, h, 0, bulk.Item{Final: true, Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	// a stops renewing (its replica died): b's Take takes it over once
	// the entry has been idle for the lease time.
	began := time.Now()
	lb, err := takeWithin(t, b, 10*time.Second)
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if lb.Name() != h.Name || time.Since(began) < lease/2 {
		t.Fatalf("b took %s after %v", lb.Name(), time.Since(began))
	}
	if err := la.Put(ctx, h, 1, bulk.Item{Data: []byte("stale")}); !errors.Is(err, bulk.ErrLeaseLost) {
		t.Fatalf("Put on the lapsed lease: %v", err)
	}
	if err := la.Renew(ctx); !errors.Is(err, bulk.ErrLeaseLost) {
		t.Fatalf("Renew on the lapsed lease: %v", err)
	}
	if err := lb.Put(ctx, h, 1, bulk.Item{Data: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	items, err := b.Items(ctx, h.Name)
	if err != nil || string(items[0].Data) != "a" || string(items[1].Data) != "b" {
		t.Fatalf("Items: %v %v", items, err)
	}
}

func TestOperationsRenewKeepsLease(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	const lease = 300 * time.Millisecond
	a := opsReplica(t, srv, "acct").Operations(OperationsConfig{LeaseTime: lease, Consumer: "a"})
	b := opsReplica(t, srv, "acct").Operations(OperationsConfig{LeaseTime: lease, Consumer: "b"})
	if err := a.Create(ctx, newOp("operations/1", "alice", nil)); err != nil {
		t.Fatal(err)
	}
	la, err := takeWithin(t, a, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	renewing, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(lease / 5)
		defer tick.Stop()
		for {
			select {
			case <-renewing.Done():
				done <- nil
				return
			case <-tick.C:
				if err := la.Renew(ctx); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	// Several lease times pass: b must find nothing to take.
	if l, err := takeWithin(t, b, 5*lease); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("b took a renewed lease: %v %v", l, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Renew: %v", err)
	}
}

func TestOperationsSealed(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s := opsReplica(t, srv, "acct")
	o := s.Operations(OperationsConfig{})
	const marker = "ada.lovelace@example.com"
	const owner = "caller-Ada-Lovelace"
	h := newOp("operations/1", owner, []byte(`{"set":"`+marker+`"}`))
	if err := o.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := o.Cancel(ctx, h.Name); err != nil {
		t.Fatal(err)
	}
	l, err := takeWithin(t, o, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, h, 0, bulk.Item{Data: []byte("intent " + marker), Undo: []byte("undo " + marker)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, h, 1, bulk.Item{Final: true, Data: []byte("outcome " + marker)}); err != nil {
		t.Fatal(err)
	}
	if err := o.Create(ctx, newOp("operations/2", owner, []byte(marker))); err != nil {
		t.Fatal(err)
	}
	keys, err := s.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 5 {
		t.Fatalf("only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if bytes.Contains([]byte(k), []byte(owner)) || bytes.Contains([]byte(k), []byte(marker)) {
			t.Errorf("key name %q names the owner or contact data", k)
		}
		v := dumpKey(t, s.rdb, k)
		if bytes.Contains(v, []byte(marker)) || bytes.Contains(v, []byte(owner)) {
			t.Errorf("key %q holds the owner or contact data in clear", k)
		}
	}
	// And it all opens again.
	got, err := o.Get(ctx, h.Name)
	if err != nil || got.Owner != owner || string(got.Request) != string(h.Request) || !got.CancelRequested {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if ls, err := o.List(ctx, owner); err != nil || len(ls) != 2 {
		t.Fatalf("List: %v %v", ls, err)
	}
	items, err := o.Items(ctx, h.Name)
	if err != nil || string(items[1].Data) != "outcome "+marker || !items[1].Final {
		t.Fatalf("Items: %v %v", items, err)
	}
	if undo, err := o.Undo(ctx, h.Name); err != nil || len(undo) != 1 || string(undo[0]) != "undo "+marker {
		t.Fatalf("Undo: %v %v", undo, err)
	}
	// Another secret opens none of it: the operation is as good as gone.
	other, err := New(s.rdb, "acct", "another secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Operations(OperationsConfig{}).Get(ctx, h.Name); !errors.Is(err, bulk.ErrNotFound) {
		t.Fatalf("Get under another secret: %v", err)
	}
}

// dumpKey returns everything key k holds, whatever its type.
func dumpKey(t *testing.T, rdb redis.UniversalClient, k string) []byte {
	t.Helper()
	ctx := t.Context()
	typ, err := rdb.Type(ctx, k).Result()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	switch typ {
	case "string":
		b.WriteString(rdb.Get(ctx, k).Val())
	case "hash":
		for f, v := range rdb.HGetAll(ctx, k).Val() {
			b.WriteString(f + "=" + v + ";")
		}
	case "zset":
		for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
			b.WriteString(m + ";")
		}
	case "stream":
		for _, m := range rdb.XRange(ctx, k, "-", "+").Val() {
			fmt.Fprintf(&b, "%s %v;", m.ID, m.Values)
		}
	default:
		t.Fatalf("key %q of unexpected type %s", k, typ)
	}
	return b.Bytes()
}

func TestOperationsRetentionTTL(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s := opsReplica(t, srv, "acct")
	const retention = 2 * time.Hour
	o := s.Operations(OperationsConfig{Retention: retention})
	h := newOp("operations/1", "alice", nil)
	if err := o.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := o.Cancel(ctx, h.Name); err != nil {
		t.Fatal(err)
	}
	keys := []string{o.headerKey(h.Name), o.cancelKey(h.Name), o.ownerKey(h.Owner)}
	checkTTL := func(when string, keys []string) {
		t.Helper()
		for _, k := range keys {
			ttl, err := s.rdb.PTTL(ctx, k).Result()
			if err != nil || ttl <= retention-time.Minute || ttl > retention {
				t.Errorf("%s: TTL of %s is %v (%v), want about %v", when, k, ttl, err, retention)
			}
		}
	}
	checkTTL("running", keys)
	l, err := takeWithin(t, o, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, h, 0, bulk.Item{Data: []byte("x"), Undo: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, o.itemsKey(h.Name), o.undoKey(h.Name))
	// Shorten them, as time passing would: Finish must set them again.
	for _, k := range keys {
		s.rdb.PExpire(ctx, k, time.Minute)
	}
	h.Ended = time.Now()
	if err := l.Finish(ctx, h); err != nil {
		t.Fatal(err)
	}
	checkTTL("finished", keys)
	if n, err := s.rdb.XLen(ctx, o.queueKey()).Result(); err != nil || n != 0 {
		t.Fatalf("queue after Finish: %d entries (%v)", n, err)
	}
	if p, err := s.rdb.XPending(ctx, o.queueKey(), opsGroup).Result(); err != nil || p.Count != 0 {
		t.Fatalf("pending after Finish: %+v (%v)", p, err)
	}
}

func TestOperationsTakeoverBehindLiveLeases(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	a := opsReplica(t, srv, "acct").Operations(OperationsConfig{Consumer: "a"})
	b := opsReplica(t, srv, "acct").Operations(OperationsConfig{Consumer: "b"})
	var last bulk.Lease
	for i := range 30 {
		if err := a.Create(ctx, newOp(fmt.Sprintf("operations/%02d", i), "alice", nil)); err != nil {
			t.Fatal(err)
		}
		l, err := takeWithin(t, a, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		last = l
	}
	// Only the newest lease lapsed: its entry is the last of the pending
	// list, past what one XAUTOCLAIM looks at.
	id := last.(*opLease).id
	if err := a.s.rdb.Do(ctx, "XCLAIM", a.queueKey(), opsGroup, "a", 0, id, "IDLE", time.Hour.Milliseconds(), "JUSTID").Err(); err != nil {
		t.Fatal(err)
	}
	l, err := takeWithin(t, b, 5*time.Second)
	if err != nil || l.Name() != last.Name() {
		t.Fatalf("b took %v (%v), want %s", l, err, last.Name())
	}
	if l, err := takeWithin(t, b, 300*time.Millisecond); err == nil {
		t.Fatalf("b took a live lease: %s", l.Name())
	}
}
