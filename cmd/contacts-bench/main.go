// Command contacts-bench measures what the facade costs on one machine: it
// starts the emulator and the facade in its own process, on loopback, and
// calls the same emulator two ways, with plain REST (net/http and JSON) and
// through the facade (gRPC), at several numbers of concurrent callers. It
// prints a Markdown table of throughput, p50/p99 latency, the facade/direct
// ratios and the allocations per call. Other tables (-tables) measure a
// distant upstream with coalescing and caching, the memory of contactsd
// (built and run as a process of its own) with many calls in flight,
// SetProfileContacts, the access gate's fairness and cost, the
// Redis-backed write lock and idempotency store, and metrics and tracing.
// Run `contacts-bench -h` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	if os.Getenv(floorProcessEnv) == "1" {
		if err := serveFloorProcess(os.Args[1:], os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "contacts-bench floor:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "contacts-bench:", err)
		os.Exit(1)
	}
}
