package main

import (
	"bufio"
	"context"
	"fmt"
	"slices"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// profileRow is one write at one number of callers.
type profileRow struct {
	call    string
	callers int
	res     result
}

// setProfileCall makes the SetProfileContacts case's next call (with a
// fresh request_id when requestID is set) and checks that it answered an
// etag.
func setProfileCall(c contactsv1.ContactsServiceClient, w *profileWrites, requestID bool) func(context.Context) error {
	return func(ctx context.Context) error {
		resp, err := c.SetProfileContacts(ctx, w.next(requestID))
		if err != nil {
			return err
		}
		if resp.GetEtag() == "" {
			return fmt.Errorf("%w: no etag", errUnexpected)
		}
		return nil
	}
}

// replaceCall replaces the property's contacts with twoContacts.
func replaceCall(c contactsv1.ContactsServiceClient) func(context.Context) error {
	req := &contactsv1.ReplaceContactsRequest{PropertyId: property, Contacts: twoContacts()}
	return func(ctx context.Context) error {
		resp, err := c.ReplaceContacts(ctx, req)
		if err != nil {
			return err
		}
		if resp.GetEtag() == "" {
			return fmt.Errorf("%w: no etag", errUnexpected)
		}
		return nil
	}
}

// runProfile measures SetProfileContacts, eight profiles in turn on one
// property, beside ReplaceContacts of the same property, at each number
// of callers, counting the upstream GETs and PUTs at the emulator.
func runProfile(ctx context.Context, cfg config, progress *bufio.Writer) ([]profileRow, error) {
	var cl closers
	defer cl.close()
	up, err := startUpstream(ctx, &cl, emulator.Options{}, slices.Max(cfg.profileConcurrency))
	if err != nil {
		return nil, err
	}
	facade, _, err := startFacade(ctx, &cl, up, cfg.logLevel, nil)
	if err != nil {
		return nil, err
	}
	writes := &profileWrites{property: property}
	counts := counters{gets: up.gets.Load, puts: func() int64 { return int64(up.emu.Puts(emulator.DemoPropertyFull)) }}
	calls := []struct {
		label string
		call  func(context.Context) error
	}{
		{"SetProfileContacts (8 profiles in turn)", setProfileCall(facade, writes, false)},
		{"ReplaceContacts (2 contacts)", replaceCall(facade)},
	}
	var rows []profileRow
	for _, n := range cfg.profileConcurrency {
		paths := make([]func(context.Context) error, len(calls))
		for i, c := range calls {
			paths[i] = c.call
		}
		res, err := measure(ctx, cfg.costWarmup, cfg.costDuration, 0, cfg.rounds, n, counts, paths)
		if err != nil {
			return nil, fmt.Errorf("%d callers: %w", n, err)
		}
		for i, c := range calls {
			r := res[i]
			fmt.Fprintf(progress, "%-40s %4d callers: %7.0f calls/s p50 %7.0fµs %.2f GETs/call %.2f PUTs/call\n",
				c.label, n, r.throughput(), micros(r.p50), r.getsPerCall(), r.putsPerCall())
			progress.Flush()
			rows = append(rows, profileRow{call: c.label, callers: n, res: r})
		}
	}
	return rows, nil
}

func writeProfile(bw *bufio.Writer, cfg config, rows []profileRow) {
	fmt.Fprintf(bw, "SetProfileContacts table. One property, through the facade (in-process write lock): each SetProfileContacts call sets the next of 8 profiles to a contact of its own (alternating between two versions, so every call writes); ReplaceContacts sends the same two contacts each time. Each row: %s warm-up, then %s in %d rounds alternating with the other call.\n\n",
		cfg.costWarmup, cfg.costDuration, cfg.rounds)
	fmt.Fprintln(bw, "| call | callers | calls/s | p50 µs | p99 µs | upstream GETs per call | upstream PUTs per call | allocs/call |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(bw, "| %s | %d | %.0f | %.0f | %.0f | %.3f | %.3f | %.0f |\n",
			r.call, r.callers, r.res.throughput(), micros(r.res.p50), micros(r.res.p99),
			r.res.getsPerCall(), r.res.putsPerCall(), r.res.allocsPerCall())
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- Both calls are a read-modify-write under the property's write lock (a GET for the etag and previous_contacts, then the PUT), so the callers of one property take turns: throughput is bounded by one GET and one PUT at a time, and p50 grows with the callers. GETs and PUTs are counted at the emulator.")
	fmt.Fprintln(bw)
}
