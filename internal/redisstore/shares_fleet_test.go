package redisstore_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// replica is one gate of the fleet, with its own Store on the shared
// Redis (as each replica of contactsd opens its own).
type replica struct {
	gate *access.Gate
	log  *strings.Builder
	mu   *sync.Mutex
}

// newReplica returns a gate whose callers have rate (policy YAML), with
// the account's shares on url; clock is the gate's (used by the
// fallback only).
func newReplica(t *testing.T, url, rate string, clock func() time.Time) *replica {
	t.Helper()
	s, err := redisstore.Open(redisstore.Config{URL: url, Account: "acct-fleet", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	p, err := access.ParsePolicy([]byte("version: 1\ndefault:\n  rpcs: [read]\n  rate: " + rate + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{log: &strings.Builder{}, mu: &sync.Mutex{}}
	g, err := access.NewGate(access.Config{
		Resolver: access.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		Policy:   access.NewHolder(p), Audit: access.NoAudit(), Now: clock,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{r}, nil)),
		Shares: s.Shares(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.gate = g
	return r
}

type lockedWriter struct{ r *replica }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.log.Write(p)
}

// read is one ListContacts of caller through the replica's gate, as from
// a mesh proxy that names the caller.
func (r *replica) read(caller string) codes.Code {
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.1:5"))})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(access.XFCCHeader, "URI=spiffe://corp/"+caller))
	_, err := r.gate.Admit(ctx, contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1"})
	return status.Code(err)
}

// TestTwoReplicasShareACallersRate is issue 28 point 4: two gates (two
// replicas) on one Redis give a caller of 10/s burst 10 ten calls in
// all, not twenty; the share refills once for the fleet; another caller
// has its own; and with Redis away each replica gives the caller a third
// of its share (10/3 a second, burst 3) on its own, never the whole of
// it, and says so. Redis's clock (miniredis's) and the gates' are moved
// by hand.
func TestTwoReplicasShareACallersRate(t *testing.T) {
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	t0 := time.Unix(1e9, 0)
	mr.SetTime(t0)
	var mu sync.Mutex
	gateNow := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return gateNow }
	fleet := []*replica{
		newReplica(t, "redis://"+addr, "{per_second: 10, burst: 10}", clock),
		newReplica(t, "redis://"+addr, "{per_second: 10, burst: 10}", clock),
	}
	// admitted counts, per replica, the OKs of n calls of caller made in
	// turn on each replica.
	admitted := func(caller string, n int) [2]int {
		var out [2]int
		for i := range n {
			if fleet[i%2].read(caller) == codes.OK {
				out[i%2]++
			}
		}
		return out
	}
	steps := []struct {
		name    string
		advance time.Duration // both clocks
		caller  string
		calls   int
		want    [2]int
		down    bool
	}{
		{"burst of 10 for the fleet, 5 on each", 0, "batch", 20, [2]int{5, 5}, false},
		{"still over on both", 0, "batch", 4, [2]int{0, 0}, false},
		{"another caller: its own 10", 0, "ui", 20, [2]int{5, 5}, false},
		{"1/10 s later: one call for the fleet", 100 * time.Millisecond, "batch", 4, [2]int{1, 0}, false},
		{"1 s later: 10 more for the fleet", time.Second, "batch", 30, [2]int{5, 5}, false},
		{"Redis away: burst 10/3 = 3 per replica", 0, "batch", 10, [2]int{3, 3}, true},
		{"1 s later: 10/3 a second per replica", time.Second, "batch", 10, [2]int{3, 3}, true},
	}
	for _, st := range steps {
		mu.Lock()
		gateNow = gateNow.Add(st.advance)
		mu.Unlock()
		if st.down {
			mr.Close()
		} else {
			mr.SetTime(clock())
		}
		if got := admitted(st.caller, st.calls); got != st.want {
			t.Errorf("%s: admitted %v per replica, want %v", st.name, got, st.want)
		}
	}
	for i, r := range fleet {
		r.mu.Lock()
		out := r.log.String()
		r.mu.Unlock()
		if n := strings.Count(out, "shared fair shares unavailable"); n != 1 {
			t.Errorf("replica %d: %d WARN lines, want 1 (a minute):\n%s", i, n, out)
		}
		if strings.Contains(out, "batch") || strings.Contains(out, addr) {
			t.Errorf("replica %d logs the caller or the address:\n%s", i, out)
		}
	}
}

// TestSharesOnRealRedis runs the script on a real redis-server (Redis's
// own Lua and TIME): five replicas' stores, 40 concurrent calls each, of
// one caller of 0.01/s burst 10 (no refill in the test's time): exactly
// 10 admitted, the next refused for about 100 s, and the key lives until
// the bucket is full again (about 1000 s).
func TestSharesOnRealRedis(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := access.Rate{PerSecond: 0.01, Burst: 10}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted, failed := 0, 0
	var last *redisstore.Store
	for range 5 {
		s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: "acct-real", Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		last = s
		sh := s.Shares()
		for range 40 {
			wg.Go(func() {
				ok, _, err := sh.Take(ctx, "spiffe://corp/batch", r, time.Now())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					failed++
				case ok:
					admitted++
				}
			})
		}
	}
	wg.Wait()
	if admitted != 10 || failed != 0 {
		t.Fatalf("admitted %d of 200 (%d failed), want 10", admitted, failed)
	}
	ok, wait, err := last.Shares().Take(ctx, "spiffe://corp/batch", r, time.Now())
	if err != nil || ok || wait <= 99*time.Second || wait > 100*time.Second {
		t.Fatalf("11th: ok=%v wait=%v err=%v, want refused for about 100 s", ok, wait, err)
	}
	if ok, _, err := last.Shares().Take(ctx, "spiffe://corp/ui", r, time.Now()); err != nil || !ok {
		t.Fatalf("another caller: ok=%v err=%v, want its own share", ok, err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	keys, err := c.Keys(ctx, "contacts-facade:*:share:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %q (%v), want 2", keys, err)
	}
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > 1000*time.Second {
			t.Errorf("key %s: TTL %v (%v), want in (0, 1000 s]", k, ttl, err)
		}
	}
}
