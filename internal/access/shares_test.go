package access

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestLocalSharesAreTokenBuckets: the in-process shares are token
// buckets of Burst calls refilled at PerSecond, with the wait until the
// next call; a refusal spends nothing; a new rate (a reload) applies to
// the caller's bucket at once. Figures pinned by hand.
func TestLocalSharesAreTokenBuckets(t *testing.T) {
	s := NewLocalShares(0)
	t0 := time.Unix(1e9, 0)
	two := Rate{PerSecond: 2, Burst: 2}
	tests := []struct {
		name   string
		caller string
		r      Rate
		at     time.Duration // after t0
		ok     bool
		wait   time.Duration
	}{
		{"first of the burst", "a", two, 0, true, 0},
		{"second of the burst", "a", two, 0, true, 0},
		{"over: one token in 1/2 s", "a", two, 0, false, 500 * time.Millisecond},
		{"the refusal spent nothing", "a", two, 100 * time.Millisecond, false, 400 * time.Millisecond},
		{"refilled", "a", two, 500 * time.Millisecond, true, 0},
		{"another caller has its own bucket", "b", two, 500 * time.Millisecond, true, 0},
		{"reloaded to 10/s: a token in 1/10 s", "a", Rate{PerSecond: 10, Burst: 2}, 500 * time.Millisecond, false, 100 * time.Millisecond},
		{"at the new rate", "a", Rate{PerSecond: 10, Burst: 2}, 600 * time.Millisecond, true, 0},
		{"unlimited", "c", Rate{}, 0, true, 0},
		{"unlimited again", "c", Rate{}, 0, true, 0},
	}
	for _, tt := range tests {
		ok, wait, err := s.Take(context.Background(), tt.caller, tt.r, t0.Add(tt.at))
		if err != nil || ok != tt.ok || wait != tt.wait {
			t.Errorf("%s: ok=%v wait=%v err=%v, want ok=%v wait=%v", tt.name, ok, wait, err, tt.ok, tt.wait)
		}
	}
}

// TestLocalSharesBound: past the maximum, the least recently used bucket
// goes.
func TestLocalSharesBound(t *testing.T) {
	s := NewLocalShares(2)
	now := time.Unix(1e9, 0)
	slow := Rate{PerSecond: 0.001, Burst: 1}
	take := func(c string) bool { ok, _, _ := s.Take(context.Background(), c, slow, now); return ok }
	tests := []struct {
		caller string
		want   bool
	}{
		{"a", true}, {"b", true}, {"a", false}, // a is the most recently used
		{"c", true},  // drops b
		{"a", false}, // kept
		{"b", true},  // dropped: full again (drops c)
		{"c", true},  // dropped too
	}
	for i, tt := range tests {
		if got := take(tt.caller); got != tt.want {
			t.Errorf("%d %s: %v, want %v", i, tt.caller, got, tt.want)
		}
	}
	if n := len(s.limiters); n != 2 {
		t.Errorf("%d buckets, want 2", n)
	}
}

func TestRatePerReplica(t *testing.T) {
	tests := []struct {
		r    Rate
		n    int
		want Rate
	}{
		{Rate{PerSecond: 9, Burst: 9}, 3, Rate{PerSecond: 3, Burst: 3}},
		{Rate{PerSecond: 10, Burst: 10}, 3, Rate{PerSecond: 10.0 / 3, Burst: 3}},
		{Rate{PerSecond: 1, Burst: 2}, 3, Rate{PerSecond: 1.0 / 3, Burst: 1}}, // never below one call
		{Rate{PerSecond: 10, Burst: 10}, 1, Rate{PerSecond: 10, Burst: 10}},
		{Rate{}, 3, Rate{}}, // unlimited stays so
	}
	for _, tt := range tests {
		if got := tt.r.perReplica(tt.n); got != tt.want {
			t.Errorf("%+v / %d = %+v, want %+v", tt.r, tt.n, got, tt.want)
		}
	}
}

// fakeShares is a Config.Shares that answers what it is told and
// records what it was asked.
type fakeShares struct {
	mu    sync.Mutex
	err   error
	ok    bool
	wait  time.Duration
	asked []string
	rates []Rate
}

func (f *fakeShares) Take(_ context.Context, caller string, r Rate, _ time.Time) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked, f.rates = append(f.asked, caller), append(f.rates, r)
	return f.ok, f.wait, f.err
}

func (f *fakeShares) set(ok bool, wait time.Duration, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok, f.wait, f.err = ok, wait, err
}

func sharesGate(t *testing.T, sh Shares, replicas int, log *syncedBuffer, clk *clock) *Gate {
	t.Helper()
	p, err := ParsePolicy([]byte("version: 1\ndefault:\n  rpcs: [read]\n  rate: {per_second: 9, burst: 9}\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate(Config{
		Resolver: Resolver{TrustProxyHeader: true, Proxies: mustPrefixes("10.0.0.0/8")},
		Policy:   NewHolder(p), Audit: NoAudit(), Now: clk.now,
		Logger: slog.New(slog.NewTextHandler(log, nil)), Shares: sh, FallbackReplicas: replicas,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func readAs(ctx context.Context, g *Gate, caller string) error {
	_, err := g.Admit(peerCtxWith(ctx, "10.0.0.1:5", "URI=spiffe://corp/"+caller),
		contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1"})
	return err
}

func peerCtxWith(ctx context.Context, addr, xfcc string) context.Context {
	pc := peerCtx(addr, nil, xfcc)
	// the peer and metadata of pc, the cancellation of ctx
	return mergedCtx{Context: pc, done: ctx}
}

type mergedCtx struct {
	context.Context
	done context.Context
}

func (m mergedCtx) Done() <-chan struct{} { return m.done.Done() }
func (m mergedCtx) Err() error            { return m.done.Err() }

// TestGateSpendsConfiguredShares: with Config.Shares the gate asks it,
// with the caller's name and the grant's rate, and its refusal's wait is
// the RetryInfo.
func TestGateSpendsConfiguredShares(t *testing.T) {
	f := &fakeShares{ok: true}
	g := sharesGate(t, f, 0, &syncedBuffer{}, &clock{t: time.Unix(1e9, 0)})
	if err := readAs(context.Background(), g, "batch"); err != nil {
		t.Fatal(err)
	}
	f.set(false, 250*time.Millisecond, nil)
	err := readAs(context.Background(), g, "batch")
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("refused share: %v", err)
	}
	var delay time.Duration
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != 250*time.Millisecond {
		t.Errorf("RetryInfo %v, want 250ms", delay)
	}
	want := Rate{PerSecond: 9, Burst: 9}
	if len(f.asked) != 2 || f.asked[0] != "spiffe://corp/batch" || f.rates[0] != want {
		t.Errorf("asked %q with %+v", f.asked, f.rates)
	}
}

// TestGateFallsBackToAPerReplicaShare: while Config.Shares fails, a
// caller of 9/s burst 9 gets 9/3 from this replica's buckets (3 calls at
// once, then one per 1/3 s), not every call refused and not its whole
// rate; the gate asks the shares again once a second (one call), not on
// every call; one WARN a minute says so, with the error's kind and never
// the caller; the first success says the shares are back.
func TestGateFallsBackToAPerReplicaShare(t *testing.T) {
	f := &fakeShares{err: errors.Join(errors.New("dial tcp 10.1.2.3:6379"), syscall.ECONNREFUSED)}
	log, clk := &syncedBuffer{}, &clock{t: time.Unix(1e9, 0)}
	g := sharesGate(t, f, 3, log, clk)
	ctx := context.Background()
	codesOf := func(n int) []codes.Code {
		var out []codes.Code
		for range n {
			out = append(out, status.Code(readAs(ctx, g, "batch")))
		}
		return out
	}
	ok, over := codes.OK, codes.ResourceExhausted
	steps := []struct {
		name    string
		advance time.Duration
		recover bool
		calls   int
		want    []codes.Code
		asked   int // calls of the shares so far
	}{
		{"burst 9/3", 0, false, 4, []codes.Code{ok, ok, ok, over}, 1},
		{"one more after 1/3 s, no probe", 334 * time.Millisecond, false, 2, []codes.Code{ok, over}, 1},
		{"a second later: one probe", time.Second, false, 2, []codes.Code{ok, ok}, 2},
		{"a minute later: one probe, full local bucket", time.Minute, false, 4, []codes.Code{ok, ok, ok, over}, 3},
		{"Redis back: the next probe, then every call", time.Second, true, 2, []codes.Code{ok, ok}, 5},
	}
	for _, st := range steps {
		clk.add(st.advance)
		if st.recover {
			f.set(true, 0, nil)
		}
		if got := codesOf(st.calls); !slices.Equal(got, st.want) {
			t.Errorf("%s: %v, want %v", st.name, got, st.want)
		}
		f.mu.Lock()
		asked := len(f.asked)
		f.mu.Unlock()
		if asked != st.asked {
			t.Errorf("%s: shares asked %d times, want %d", st.name, asked, st.asked)
		}
	}
	out := log.String()
	if n := strings.Count(out, "shared fair shares unavailable"); n != 2 {
		t.Errorf("%d WARN lines over a minute and a bit, want 2 (one a minute):\n%s", n, out)
	}
	for _, want := range []string{"error_kind=unreachable", "fallback_replicas=3", "suppressed=1", "shared fair shares available again"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, never := range []string{"batch", "10.1.2.3"} {
		if strings.Contains(out, never) {
			t.Errorf("log names %q:\n%s", never, out)
		}
	}
}

// TestGateFallbackIgnoresTheCallersCancellation: a call whose context is
// done when the shares fail is not Redis's failure: no WARN.
func TestGateFallbackIgnoresTheCallersCancellation(t *testing.T) {
	f := &fakeShares{err: context.Canceled}
	log := &syncedBuffer{}
	g := sharesGate(t, f, 3, log, &clock{t: time.Unix(1e9, 0)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = readAs(ctx, g, "batch")
	if out := log.String(); out != "" {
		t.Errorf("logged %q", out)
	}
}

// String is what was written.
func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestGateRefusesNegativeFallbackReplicas(t *testing.T) {
	if _, err := NewGate(Config{Policy: AllowAll(), Audit: NoAudit(), FallbackReplicas: -1}); err == nil {
		t.Error("FallbackReplicas -1 accepted")
	}
}

// hangingShares never answers before its context ends.
type hangingShares struct{}

func (hangingShares) Take(ctx context.Context, _ string, _ Rate, _ time.Time) (bool, time.Duration, error) {
	<-ctx.Done()
	return false, 0, ctx.Err()
}

// TestGateBoundsTheSharesWait: a Redis that does not answer holds a call
// for sharesTimeout at most, which then goes on with this replica's part
// of the share; the WARN says "timeout".
func TestGateBoundsTheSharesWait(t *testing.T) {
	log := &syncedBuffer{}
	g := sharesGate(t, hangingShares{}, 3, log, &clock{t: time.Unix(1e9, 0)})
	start := time.Now()
	if err := readAs(context.Background(), g, "batch"); err != nil {
		t.Fatalf("read: %v, want admitted by the fallback", err)
	}
	if d := time.Since(start); d > 5*sharesTimeout {
		t.Errorf("the call waited %v", d)
	}
	if out := log.String(); !strings.Contains(out, "error_kind=timeout") {
		t.Errorf("log: %s", out)
	}
}
