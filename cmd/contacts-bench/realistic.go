package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
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
	return func(ctx context.Context, w workload) error { return readProperty(ctx, c, w.pick()) }
}

// readProperty reads property id through the facade, wanting contacts.
func readProperty(ctx context.Context, c contactsv1.ContactsServiceClient, id string) error {
	resp, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
	if err != nil {
		return err
	}
	if len(resp.GetContacts()) == 0 {
		return fmt.Errorf("%w: no contacts", errUnexpected)
	}
	return nil
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

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
