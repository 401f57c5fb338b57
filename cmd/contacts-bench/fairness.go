package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/service"
)

// The identities of the fairness table, sent as a mesh proxy would in
// x-forwarded-client-cert.
const (
	quietCaller    = "spiffe://bench/quiet"
	floodingCaller = "spiffe://bench/flooder"
)

// loopback is where the gate believes the proxy header from: the bench's
// own clients.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// asCaller is ctx with the proxy header that names id.
func asCaller(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, access.XFCCHeader, "URI="+id)
}

// fairSharePolicy gives every caller everything, with perSecond calls a
// second each (a bucket of as many).
func fairSharePolicy(perSecond int) string {
	return fmt.Sprintf("version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n  rate: {per_second: %d, burst: %d}\n", perSecond, perSecond)
}

// checkPolicy is what the cost rows pay for: a rule for the caller (read
// and write, every profile) among others, with a share too large to refuse
// anything.
const checkPolicy = `version: 1
default:
  rpcs: [read]
callers:
  - id: "spiffe://bench/quiet"
    rpcs: [read, write]
    write_profiles: ["*"]
    rate: {per_second: 1000000000, burst: 1000000000}
  - id: "spiffe://bench/invoicer"
    rpcs: [read, SetProfileContacts]
    write_profiles: [INVOICES]
  - id: "spiffe://bench/team-*"
    rpcs: [read]
`

// gateInterceptor is the access gate over the policy in doc, trusting the
// proxy header from loopback; with withAudit, writes are audited to
// nowhere.
func gateInterceptor(doc string, withAudit bool) (grpc.UnaryServerInterceptor, error) {
	p, err := access.ParsePolicy([]byte(doc))
	if err != nil {
		return nil, err
	}
	cfg := access.Config{
		Resolver: access.Resolver{TrustProxyHeader: true, Proxies: loopback},
		Policy:   access.NewHolder(p),
		Audit:    access.NoAudit(),
	}
	if withAudit {
		cfg.Audit = access.NewTrail(io.Discard)
	}
	g, err := access.NewGate(cfg)
	if err != nil {
		return nil, err
	}
	// TEMPORARY (issue 25): the service's bridge, until its handlers
	// call the gate themselves.
	return service.GateInterceptor(g), nil
}

// fairPhase is the quiet caller's figures in one phase, and the
// flooder's over the same time.
type fairPhase struct {
	upstream      string
	name          string
	quiet         result
	quietRefused  int
	floodCalls    int64
	floodRefused  int64
	floodDuration time.Duration
}

// fairness is the fairness table and the cost of the gate.
type fairness struct {
	phases []fairPhase
	cost   []costRow
}

// listAs is one ListContacts as caller id; refused reports a
// RESOURCE_EXHAUSTED.
func listAs(c contactsv1.ContactsServiceClient, id string) func(context.Context) (refused bool, err error) {
	req := &contactsv1.ListContactsRequest{PropertyId: property}
	return func(ctx context.Context) (bool, error) {
		resp, err := c.ListContacts(asCaller(ctx, id), req)
		switch {
		case status.Code(err) == codes.ResourceExhausted:
			return true, nil
		case err != nil:
			return false, err
		case len(resp.GetContacts()) == 0:
			return false, fmt.Errorf("%w: no contacts", errUnexpected)
		}
		return false, nil
	}
}

// runFairness measures the quiet caller alone and while another caller
// floods, in alternating rounds, through a gated facade where each caller
// has cfg.callerRate calls a second: against the emulator on loopback and,
// when cfg.fairLatency is set, against one that far away. Then the gate's
// cost per call.
func runFairness(ctx context.Context, cfg config, progress *bufio.Writer) (*fairness, error) {
	var cl closers
	defer cl.close()
	f := &fairness{}
	latencies := []time.Duration{0}
	if cfg.fairLatency > 0 {
		latencies = append(latencies, cfg.fairLatency)
	}
	var loopbackUp *upstreamSide
	for _, lat := range latencies {
		opts := emulator.Options{Latency: lat}
		if lat > 0 {
			opts.LatencyJitter = min(cfg.jitter, lat)
		}
		up, err := startUpstream(ctx, &cl, opts, cfg.floodCallers+1)
		if err != nil {
			return nil, err
		}
		if lat == 0 {
			loopbackUp = up
		}
		name := "loopback"
		if lat > 0 {
			name = fmt.Sprintf("%s ± %s", lat, opts.LatencyJitter)
		}
		phases, err := fairPhases(ctx, cfg, &cl, up, name)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", name, err)
		}
		fmt.Fprintf(progress, "fairness (%s): quiet p50 alone %.0fµs, under flood %.0fµs (×%s); flooder refused %d of %d\n",
			name, micros(phases[0].quiet.p50), micros(phases[1].quiet.p50), ratio(micros(phases[1].quiet.p50), micros(phases[0].quiet.p50)),
			phases[1].floodRefused, phases[1].floodCalls)
		progress.Flush()
		f.phases = append(f.phases, phases...)
	}
	var err error
	if f.cost, err = runGateCost(ctx, cfg, &cl, loopbackUp); err != nil {
		return nil, err
	}
	return f, nil
}

// fairPhases measures the quiet caller alone and under flood through a
// gated facade of up.
func fairPhases(ctx context.Context, cfg config, cl *closers, up *upstreamSide, upstreamName string) ([]fairPhase, error) {
	gate, err := gateInterceptor(fairSharePolicy(cfg.callerRate), false)
	if err != nil {
		return nil, err
	}
	gated, _, err := startFacadeWith(ctx, cl, up, cfg.logLevel, facadeOptions{unary: []grpc.UnaryServerInterceptor{gate}})
	if err != nil {
		return nil, err
	}
	quiet, flood := listAs(gated, quietCaller), listAs(gated, floodingCaller)
	if _, err := quiet(ctx); err != nil {
		return nil, fmt.Errorf("quiet caller: %w", err)
	}
	alone := fairPhase{upstream: upstreamName, name: "quiet caller alone"}
	flooded := fairPhase{upstream: upstreamName, name: fmt.Sprintf("quiet caller while %d callers flood as one other identity", cfg.floodCallers)}
	var aloneS, floodS []sample
	slice := cfg.fairDuration / time.Duration(cfg.rounds)
	for range cfg.rounds {
		s, refused, err := runPaced(ctx, cfg.quietInterval, slice, quiet)
		if err != nil {
			return nil, fmt.Errorf("quiet caller alone: %w", err)
		}
		aloneS, alone.quietRefused = append(aloneS, s), alone.quietRefused+refused

		s, refused, fl, err := underFlood(ctx, cfg.floodCallers, flood, func() (sample, int, error) {
			return runPaced(ctx, cfg.quietInterval, slice, quiet)
		})
		if err != nil {
			return nil, fmt.Errorf("quiet caller under flood: %w", err)
		}
		floodS, flooded.quietRefused = append(floodS, s), flooded.quietRefused+refused
		flooded.floodCalls += fl.calls
		flooded.floodRefused += fl.refused
		flooded.floodDuration += fl.elapsed
	}
	alone.quiet, flooded.quiet = summarize(aloneS), summarize(floodS)
	return []fairPhase{alone, flooded}, nil
}

// runGateCost measures one caller's ListContacts and ReplaceContacts
// through the facade without the gate and with it (policy check, fair
// share spent, and for writes the audit record, written to nowhere). The
// caller sends the proxy header on both.
func runGateCost(ctx context.Context, cfg config, cl *closers, up *upstreamSide) ([]costRow, error) {
	plain, _, err := startFacade(ctx, cl, up, cfg.logLevel, nil)
	if err != nil {
		return nil, err
	}
	gate, err := gateInterceptor(checkPolicy, true)
	if err != nil {
		return nil, err
	}
	gated, _, err := startFacadeWith(ctx, cl, up, cfg.logLevel, facadeOptions{unary: []grpc.UnaryServerInterceptor{gate}})
	if err != nil {
		return nil, err
	}
	as := func(call func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error { return call(asCaller(ctx, quietCaller)) }
	}
	list := func(c contactsv1.ContactsServiceClient) func(context.Context) error {
		l := listAs(c, quietCaller)
		return func(ctx context.Context) error {
			refused, err := l(ctx)
			if refused {
				return errors.New("the gate refused a call of the cost rows")
			}
			return err
		}
	}
	calls := []struct {
		label        string
		plain, gated func(context.Context) error
	}{
		{"ListContacts", list(plain), list(gated)},
		{"ReplaceContacts (2 contacts)", as(replaceCall(plain)), as(replaceCall(gated))},
	}
	var rows []costRow
	for _, c := range calls {
		res, err := measure(ctx, cfg.costWarmup, cfg.costDuration, 0, cfg.rounds, 1, counters{}, []func(context.Context) error{c.plain, c.gated})
		if err != nil {
			return nil, fmt.Errorf("gate cost, %s: %w", c.label, err)
		}
		rows = append(rows,
			costRow{call: c.label, callers: 1, path: "facade", res: res[0]},
			costRow{call: c.label, callers: 1, path: "facade + access gate (policy, fair share, audit of writes)", res: res[1]})
	}
	return rows, nil
}

// flood is what the flooding callers did while the quiet caller was
// measured.
type flood struct {
	calls, refused int64
	elapsed        time.Duration
}

// underFlood starts callers goroutines calling call in a loop, waits until
// the flood has spent its share (its first RESOURCE_EXHAUSTED, or a
// second at most), runs measured, and stops the flood.
func underFlood(ctx context.Context, callers int, call func(context.Context) (bool, error), measured func() (sample, int, error)) (sample, int, flood, error) {
	fctx, stop := context.WithCancelCause(ctx)
	var (
		wg             sync.WaitGroup
		calls, refused atomic.Int64
		spent          = make(chan struct{})
		once           sync.Once
	)
	for range callers {
		wg.Go(func() {
			for fctx.Err() == nil {
				r, err := call(fctx)
				if fctx.Err() != nil {
					return
				}
				if err != nil {
					stop(fmt.Errorf("flooding caller: %w", err))
					return
				}
				calls.Add(1)
				if r {
					refused.Add(1)
					once.Do(func() { close(spent) })
				}
			}
		})
	}
	select {
	case <-spent:
	case <-time.After(time.Second):
	case <-fctx.Done():
	}
	c0, r0 := calls.Load(), refused.Load()
	t0 := time.Now()
	s, quietRefused, err := measured()
	fl := flood{calls: calls.Load() - c0, refused: refused.Load() - r0, elapsed: time.Since(t0)}
	stop(nil)
	wg.Wait()
	if cause := context.Cause(fctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return s, quietRefused, fl, err
}

// runPaced calls once every interval (never catching up in a burst after
// a slow call) for d, and returns the latencies of the calls that were
// admitted and the number refused.
func runPaced(ctx context.Context, interval, d time.Duration, call func(context.Context) (bool, error)) (sample, int, error) {
	var (
		s       sample
		refused int
	)
	t := time.NewTimer(0)
	defer t.Stop()
	start := time.Now()
	end := start.Add(d)
	for next := start; next.Before(end); {
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return s, refused, ctx.Err()
		case <-t.C:
		}
		t0 := time.Now()
		r, err := call(ctx)
		lat := time.Since(t0)
		if err != nil {
			return s, refused, err
		}
		if r {
			refused++
		} else {
			s.lats = append(s.lats, lat)
		}
		next = next.Add(interval)
		if now := time.Now(); next.Before(now) {
			next = now
		}
	}
	s.elapsed = time.Since(start)
	slices.Sort(s.lats)
	return s, refused, nil
}

func writeFairness(bw *bufio.Writer, cfg config, f *fairness) {
	fmt.Fprintf(bw, "Fairness table. The facade behind the access gate; every caller has a fair share of %d calls/s (bucket of %d), identified by x-forwarded-client-cert from loopback. The quiet caller lists one property every %s; the flood is %d closed-loop callers of one other identity, ignoring RetryInfo. %s per phase in %d alternating rounds.\n\n",
		cfg.callerRate, cfg.callerRate, cfg.quietInterval, cfg.floodCallers, cfg.fairDuration, cfg.rounds)
	fmt.Fprintln(bw, "| upstream | phase | quiet calls | quiet p50 µs | quiet p99 µs | quiet p50 ×alone | quiet refused | flooder calls/s | flooder admitted calls/s | flooder RESOURCE_EXHAUSTED share |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	var alone result
	for i, p := range f.phases {
		if i == 0 || f.phases[i-1].upstream != p.upstream {
			alone = p.quiet
		}
		floodRate, admitted, share := "–", "–", "–"
		if p.floodDuration > 0 {
			floodRate = fmt.Sprintf("%.0f", float64(p.floodCalls)/p.floodDuration.Seconds())
			admitted = fmt.Sprintf("%.0f", float64(p.floodCalls-p.floodRefused)/p.floodDuration.Seconds())
		}
		if p.floodCalls > 0 {
			share = fmt.Sprintf("%.1f%%", 100*float64(p.floodRefused)/float64(p.floodCalls))
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %.0f | %.0f | %s | %d | %s | %s | %s |\n",
			p.upstream, p.name, p.quiet.calls, micros(p.quiet.p50), micros(p.quiet.p99), ratio(micros(p.quiet.p50), micros(alone.p50)),
			p.quietRefused, floodRate, admitted, share)
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- The target is quiet p50 ×alone ≤ 1.5. Refused calls are answered by the gate before the service; the quiet caller's latencies are of its admitted calls. The flooders run in the same process and on the same cores as the facade: what the quiet caller still pays under flood is mostly CPU the flood takes (its client side included), which a fair share of the upstream cannot give back.")
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "Access gate cost. One caller, %s warm-up, then %s per variant in %d alternating rounds; the caller sends x-forwarded-client-cert on both.\n\n", cfg.costWarmup, cfg.costDuration, cfg.rounds)
	writeCost(bw, f.cost)
}
