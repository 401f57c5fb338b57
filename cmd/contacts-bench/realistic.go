package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
)

// workload is a set of properties callers read at random.
type workload struct {
	name  string
	props []string
}

func (w workload) pick() string { return w.props[rand.IntN(len(w.props))] }

// extraIDs are the ids of the first n extra properties of the emulator.
func extraIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(emulator.FirstExtraProperty + i)
	}
	return ids
}

// realRow is one workload along one path.
type realRow struct {
	workload, path string
	callers        int
	res            result
}

// realPath is one way of reading.
type realPath struct {
	name string
	call func(ctx context.Context, w workload) error
}

func directRead(rest *restClient) func(context.Context, workload) error {
	return func(ctx context.Context, w workload) error {
		env, err := rest.call(ctx, "GET", rest.contactsURL(w.pick()), nil, 200)
		if err != nil {
			return err
		}
		if env.Data == nil || len(env.Data.Contacts) == 0 {
			return fmt.Errorf("%w: no contacts", errUnexpected)
		}
		return nil
	}
}

func facadeRead(c contactsv1.ContactsServiceClient) func(context.Context, workload) error {
	return func(ctx context.Context, w workload) error {
		resp, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: w.pick()})
		if err != nil {
			return err
		}
		if len(resp.GetContacts()) == 0 {
			return fmt.Errorf("%w: no contacts", errUnexpected)
		}
		return nil
	}
}

// runRealistic measures the hot and the uniform workload against an
// emulator with injected latency: direct, through the facade with
// coalescing and no cache, and through the facade with the read cache.
func runRealistic(ctx context.Context, cfg config, stderr *bufio.Writer) ([]realRow, error) {
	var cl closers
	defer cl.close()
	n := max(cfg.hotProps, cfg.uniformProps)
	up, err := startUpstream(ctx, &cl, emulator.Options{Latency: cfg.latency, LatencyJitter: cfg.jitter, ExtraProperties: n}, cfg.realCallers)
	if err != nil {
		return nil, err
	}
	coalescing, _, err := startFacade(ctx, &cl, up, cfg.logLevel, &readpath.Options{})
	if err != nil {
		return nil, err
	}
	cached, _, err := startFacade(ctx, &cl, up, cfg.logLevel, &readpath.Options{TTL: cfg.cacheTTL})
	if err != nil {
		return nil, err
	}
	paths := []realPath{
		{"direct", directRead(up.rest)},
		{"facade, coalescing, no cache", facadeRead(coalescing)},
		{fmt.Sprintf("facade, coalescing, %s cache", cfg.cacheTTL), facadeRead(cached)},
	}
	ids := extraIDs(n)
	workloads := []workload{
		{fmt.Sprintf("hot: %d properties", cfg.hotProps), ids[:cfg.hotProps]},
		{fmt.Sprintf("uniform: %d properties", cfg.uniformProps), ids[:cfg.uniformProps]},
	}
	var rows []realRow
	for _, w := range workloads {
		calls := make([]func(context.Context) error, len(paths))
		for i, p := range paths {
			calls[i] = func(ctx context.Context) error { return p.call(ctx, w) }
		}
		results, err := measure(ctx, cfg.realWarmup, cfg.realDuration, 0, cfg.rounds, cfg.realCallers, counters{gets: up.gets.Load}, calls)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		for i, p := range paths {
			r := results[i]
			fmt.Fprintf(stderr, "%-22s %-34s %8.0f calls/s p50 %7.1fms %5.2f GETs/call\n", w.name, p.name, r.throughput(), millis(r.p50), r.getsPerCall())
			stderr.Flush()
			rows = append(rows, realRow{workload: w.name, path: p.name, callers: cfg.realCallers, res: r})
		}
	}
	return rows, nil
}

// memResult is the memory of the bench process while many calls wait on
// a slow upstream.
type memResult struct {
	callers                 int
	latency                 time.Duration
	calls                   int
	rssBefore, rssPeak      int64 // bytes, 0 when unknown
	goroutinesPeak          int
	heapInusePeak, stackMax uint64
}

// runMemory holds cfg.inflight calls in flight through the facade
// (coalescing on, no cache, every call to another property) against an
// emulator that answers after cfg.slowLatency, and samples the process's
// resident set meanwhile.
func runMemory(ctx context.Context, cfg config) (memResult, error) {
	var cl closers
	defer cl.close()
	m := memResult{callers: cfg.inflight, latency: cfg.slowLatency}
	up, err := startUpstream(ctx, &cl, emulator.Options{Latency: cfg.slowLatency, ExtraProperties: cfg.inflight}, 1)
	if err != nil {
		return m, err
	}
	facade, _, err := startFacade(ctx, &cl, up, cfg.logLevel, &readpath.Options{})
	if err != nil {
		return m, err
	}
	w := workload{props: extraIDs(cfg.inflight)}
	runtime.GC()
	debug.FreeOSMemory()
	m.rssBefore = rss()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			m.rssPeak = max(m.rssPeak, rss())
			m.goroutinesPeak = max(m.goroutinesPeak, runtime.NumGoroutine())
			runtime.ReadMemStats(&ms)
			m.heapInusePeak = max(m.heapInusePeak, ms.HeapInuse)
			m.stackMax = max(m.stackMax, ms.StackInuse)
		}
	})
	// Callers read at random over as many properties as there are
	// callers: little to share.
	s, err := runLoad(ctx, cfg.inflight, cfg.memDuration, 0, func(ctx context.Context) error {
		return facadeRead(facade)(ctx, w)
	})
	close(stop)
	wg.Wait()
	m.calls = len(s.lats)
	return m, err
}

// rss is the resident set of this process from /proc/self/status, 0 when
// unknown.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
