package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what the flags say.
type config struct {
	duration    time.Duration
	warmup      time.Duration
	count       int64
	rounds      int
	concurrency []int
	cases       []benchCase
	logLevel    slog.Level
	cpuProfile  string
	memProfile  string
}

// maxCallers bounds -concurrency: every caller is a goroutine with its own
// upstream connection, all on loopback.
const maxCallers = 1024

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("contacts-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         config
		concurrency string
		cases       string
		logLevel    string
	)
	fs.DurationVar(&cfg.duration, "duration", 2*time.Second, "measured `time` of each path (direct, facade) of each row (one call, one number of callers)")
	fs.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured `time` of each path of each row, before measuring")
	fs.Int64Var(&cfg.count, "count", 0, "stop measuring a path after this many calls even before -duration (0: no limit)")
	fs.IntVar(&cfg.rounds, "rounds", 4, "measure each row in this many alternating direct/facade slices of -duration/rounds, so that a change of machine load hits both paths alike")
	fs.StringVar(&concurrency, "concurrency", "1,16,64", "comma-separated numbers of concurrent callers")
	fs.StringVar(&cases, "cases", strings.Join(caseKeys(), ","), "comma-separated calls to measure: "+strings.Join(caseKeys(), ", "))
	fs.StringVar(&logLevel, "log-level", "info", "level of the facade's logger, which writes nowhere (info is contactsd's default)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `file`")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile of the whole run to `file`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: contacts-bench [flags]\n\nCompares direct REST calls to the emulator with the same calls through the facade.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.duration <= 0 || cfg.warmup < 0 || cfg.count < 0 || cfg.rounds < 1 || cfg.rounds > 100 {
		return cfg, errors.New("-duration must be positive, -warmup and -count not negative, -rounds from 1 to 100")
	}
	for f := range strings.SplitSeq(concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxCallers {
			return cfg, fmt.Errorf("-concurrency: %q is not a number of callers from 1 to %d", f, maxCallers)
		}
		cfg.concurrency = append(cfg.concurrency, n)
	}
	all := allCases()
	for k := range strings.SplitSeq(cases, ",") {
		k = strings.TrimSpace(k)
		i := slices.IndexFunc(all, func(c benchCase) bool { return c.key == k })
		if i < 0 {
			return cfg, fmt.Errorf("-cases: unknown call %q (want %s)", k, strings.Join(caseKeys(), ", "))
		}
		cfg.cases = append(cfg.cases, all[i])
	}
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("-log-level: %w", err)
	}
	return cfg, nil
}

// run measures every case at every concurrency, direct then through the
// facade, and writes the table to stdout; progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	m := machine() // before the load, for the load average
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	st, err := startStack(ctx, cfg.logLevel, slices.Max(cfg.concurrency))
	if err != nil {
		return err
	}
	defer st.close()

	var rows []row
	for _, c := range cfg.cases {
		if err := c.check(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		for _, n := range cfg.concurrency {
			direct, facade, err := measure(ctx, cfg, n,
				func(ctx context.Context) error { return c.direct(ctx, st.rest) },
				func(ctx context.Context) error { return c.facade(ctx, st.grpc) })
			if err != nil {
				return fmt.Errorf("%s, %d callers: %w", c.key, n, err)
			}
			fmt.Fprintf(stderr, "%-8s %4d callers: direct %8.0f calls/s p50 %6.0fµs | facade %8.0f calls/s p50 %6.0fµs\n",
				c.key, n, direct.throughput(), micros(direct.p50), facade.throughput(), micros(facade.p50))
			rows = append(rows, row{call: c.label, callers: n, direct: direct, facade: facade})
		}
	}

	if cfg.memProfile != "" {
		f, err := os.Create(cfg.memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return writeReport(stdout, cfg, m, rows)
}

// measure warms both paths up, then measures them in alternating rounds,
// each starting on a collected heap.
func measure(ctx context.Context, cfg config, callers int, direct, facade func(context.Context) error) (d, f result, err error) {
	paths := []func(context.Context) error{direct, facade}
	if cfg.warmup > 0 {
		for _, call := range paths {
			if _, err := runLoad(ctx, callers, cfg.warmup, cfg.count, call); err != nil {
				return d, f, err
			}
		}
	}
	slice := cfg.duration / time.Duration(cfg.rounds)
	var maxCalls int64
	if cfg.count > 0 {
		maxCalls = (cfg.count + int64(cfg.rounds) - 1) / int64(cfg.rounds)
	}
	samples := make([][]sample, len(paths))
	for range cfg.rounds {
		for i, call := range paths {
			runtime.GC()
			s, err := runLoad(ctx, callers, slice, maxCalls, call)
			if err != nil {
				return d, f, fmt.Errorf("%s: %w", [...]string{"direct", "facade"}[i], err)
			}
			samples[i] = append(samples[i], s)
		}
	}
	return summarize(samples[0]), summarize(samples[1]), nil
}
