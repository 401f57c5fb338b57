package main

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// hangAfter is how long a run may overrun its duration.
const hangAfter = 30 * time.Second

// sample is one measured slice of a run: every call's latency, the wall
// time, and the heap objects the whole process allocated meanwhile
// (callers, facade and emulator alike).
type sample struct {
	lats    []time.Duration
	elapsed time.Duration
	mallocs uint64
	gets    int64 // contacts GETs the emulator served meanwhile
	puts    int64 // PUTs the emulator counted meanwhile
}

// result sums the samples of one path.
type result struct {
	calls    int
	elapsed  time.Duration
	p50, p99 time.Duration
	mallocs  uint64
	gets     int64
	puts     int64
}

func summarize(samples []sample) result {
	var (
		r    result
		lats []time.Duration
	)
	for _, s := range samples {
		lats = append(lats, s.lats...)
		r.elapsed += s.elapsed
		r.mallocs += s.mallocs
		r.gets += s.gets
		r.puts += s.puts
	}
	slices.Sort(lats)
	r.calls = len(lats)
	r.p50 = percentile(lats, 50)
	r.p99 = percentile(lats, 99)
	return r
}

func (r result) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.calls) / r.elapsed.Seconds()
}

// getsPerCall is the upstream GETs per caller call.
func (r result) getsPerCall() float64 {
	if r.calls == 0 {
		return 0
	}
	return float64(r.gets) / float64(r.calls)
}

// putsPerCall is the upstream PUTs per caller call.
func (r result) putsPerCall() float64 {
	if r.calls == 0 {
		return 0
	}
	return float64(r.puts) / float64(r.calls)
}

func (r result) allocsPerCall() float64 {
	if r.calls == 0 {
		return 0
	}
	return float64(r.mallocs) / float64(r.calls)
}

// runLoad has callers goroutines call in a loop until d has passed or,
// when maxCalls > 0, maxCalls calls have started. The first failing call
// stops the run and is returned: figures of a broken run mean nothing.
func runLoad(ctx context.Context, callers int, d time.Duration, maxCalls int64, call func(context.Context) error) (sample, error) {
	// A call still running this long after the end has hung: its context
	// ends, it fails, and so does the run.
	ctx, cancelTimeout := context.WithTimeout(ctx, d+hangAfter)
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg      sync.WaitGroup
		started atomic.Int64
		lats    = make([][]time.Duration, callers)
		before  runtime.MemStats
		after   runtime.MemStats
	)
	runtime.ReadMemStats(&before)
	start := time.Now()
	end := start.Add(d)
	for i := range callers {
		wg.Go(func() {
			l := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				if maxCalls > 0 && started.Add(1) > maxCalls {
					break
				}
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				err := call(ctx)
				l = append(l, time.Since(t0))
				if err != nil {
					cancel(err)
					break
				}
			}
			lats[i] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return sample{}, err // the parent context ended (SIGINT)
	}
	return sample{lats: slices.Concat(lats...), elapsed: elapsed, mallocs: after.Mallocs - before.Mallocs}, nil
}

// percentile is the nearest-rank percentile p of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100), 1-based
	return sorted[max(i, 1)-1]
}
