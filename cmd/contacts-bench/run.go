package main

import (
	"bufio"
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
	tables      []string
	duration    time.Duration
	warmup      time.Duration
	count       int64
	rounds      int
	concurrency []int
	cases       []benchCase
	coalesce    bool
	logLevel    slog.Level
	cpuProfile  string
	memProfile  string

	// The realistic table.
	latency, jitter          time.Duration
	realCallers              int
	hotProps, uniformProps   int
	realDuration, realWarmup time.Duration
	cacheTTL                 time.Duration

	// The memory table.
	inflight    int
	slowLatency time.Duration
	memDuration time.Duration
	contactsd   string   // the binary the memory table runs; empty: build it
	memVariants []string // the memory table's variants to run; empty: all

	// The profile, fairness, Redis and observability tables.
	costDuration, costWarmup  time.Duration
	profileConcurrency        []int
	fairDuration, fairLatency time.Duration
	quietInterval             time.Duration
	floodCallers              int
	callerRate                int
	redisServer               string
}

// maxCallers bounds -concurrency: every caller is a goroutine with its own
// upstream connection, all on loopback.
const maxCallers = 1024

// The tables -tables may name.
const (
	tableFloor     = "floor"
	tableRealistic = "realistic"
	tableMemory    = "memory"
	tableProfile   = "profile"
	tableFairness  = "fairness"
	tableRedis     = "redis"
	tableObserve   = "observability"
)

var allTables = []string{tableFloor, tableRealistic, tableMemory, tableProfile, tableFairness, tableRedis, tableObserve}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("contacts-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         config
		tables      string
		concurrency string
		cases       string
		logLevel    string
		profileConc string
	)
	fs.StringVar(&tables, "tables", strings.Join(allTables, ","), "comma-separated tables to measure: floor (direct, floor and facade per call), realistic (a distant upstream, hot and uniform workloads), memory (many calls in flight through contactsd, run as a process of its own), profile (SetProfileContacts beside ReplaceContacts, upstream GETs and PUTs per call), fairness (a quiet caller while another floods, behind the access gate; the gate's cost), redis (the in-process write lock and idempotency store against Redis), observability (metrics and tracing on and off)")
	fs.DurationVar(&cfg.duration, "duration", time.Second, "floor table: measured `time` of each path (direct, floor, facade) of each row (one call, one number of callers)")
	fs.DurationVar(&cfg.warmup, "warmup", 200*time.Millisecond, "floor table: unmeasured `time` of each path of each row, before measuring")
	fs.Int64Var(&cfg.count, "count", 0, "floor table: stop measuring a path after this many calls even before -duration (0: no limit)")
	fs.IntVar(&cfg.rounds, "rounds", 4, "measure each row in this many alternating slices of each path, so that a change of machine load hits every path alike")
	fs.StringVar(&concurrency, "concurrency", "1,16,64", "floor table: comma-separated numbers of concurrent callers")
	fs.StringVar(&cases, "cases", strings.Join(caseKeys(), ","), "floor table: comma-separated calls to measure: "+strings.Join(caseKeys(), ", "))
	fs.BoolVar(&cfg.coalesce, "floor-coalesce", false, "floor table: read through the read path decorator (coalescing on). Off by default: the table measures what one call costs, and identical concurrent reads would share")
	fs.StringVar(&logLevel, "log-level", "info", "level of the facade's logger, which writes nowhere (info is contactsd's default)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `file`")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile of the whole run to `file`")
	fs.DurationVar(&cfg.latency, "latency", 50*time.Millisecond, "realistic table: the emulator's injected latency")
	fs.DurationVar(&cfg.jitter, "latency-jitter", 10*time.Millisecond, "realistic table: the latency's jitter (±)")
	fs.IntVar(&cfg.realCallers, "realistic-callers", 64, "realistic table: concurrent callers")
	fs.IntVar(&cfg.hotProps, "hot-properties", 4, "realistic table: properties of the hot workload")
	fs.IntVar(&cfg.uniformProps, "uniform-properties", 10_000, "realistic table: properties of the uniform workload")
	fs.DurationVar(&cfg.realDuration, "realistic-duration", 2*time.Second, "realistic table: measured `time` of each path of each workload")
	fs.DurationVar(&cfg.realWarmup, "realistic-warmup", 300*time.Millisecond, "realistic table: unmeasured `time` of each path of each workload, before measuring")
	fs.DurationVar(&cfg.cacheTTL, "cache-ttl", time.Second, "realistic table: the read cache's TTL on the cached path")
	fs.IntVar(&cfg.inflight, "inflight", 1000, "memory table: calls held in flight through contactsd")
	fs.DurationVar(&cfg.slowLatency, "slow-latency", time.Second, "memory table: the slow upstream's latency")
	fs.DurationVar(&cfg.memDuration, "memory-duration", 3*time.Second, "memory table: how long the calls are kept in flight")
	fs.StringVar(&cfg.contactsd, "contactsd", "", "memory table: the contactsd `binary` to run; empty: go build it from this module")
	var memVariants string
	fs.StringVar(&memVariants, "memory-variants", "", "memory table: comma-separated parts of the names of the variants to run (e.g. h2c); empty: all")
	fs.DurationVar(&cfg.costDuration, "cost-duration", 500*time.Millisecond, "profile, redis and observability tables and the gate's cost: measured `time` of each variant of each row")
	fs.DurationVar(&cfg.costWarmup, "cost-warmup", 100*time.Millisecond, "profile, redis and observability tables and the gate's cost: unmeasured `time` of each variant of each row, before measuring")
	fs.StringVar(&profileConc, "profile-concurrency", "1,8,64", "profile table: comma-separated numbers of concurrent callers")
	fs.DurationVar(&cfg.fairDuration, "fairness-duration", 2*time.Second, "fairness table: measured `time` of the quiet caller in each phase (alone, under flood)")
	fs.DurationVar(&cfg.fairLatency, "fairness-latency", 50*time.Millisecond, "fairness table: also measure against an emulator this far away (jitter -latency-jitter); 0: loopback only")
	fs.DurationVar(&cfg.quietInterval, "quiet-interval", 10*time.Millisecond, "fairness table: the quiet caller calls once per `interval`")
	fs.IntVar(&cfg.floodCallers, "flood-callers", 64, "fairness table: concurrent callers of the flooding identity")
	fs.IntVar(&cfg.callerRate, "caller-rate", 200, "fairness table: each caller's fair share in calls a second (and its bucket)")
	fs.StringVar(&cfg.redisServer, "redis-server", "redis-server", "redis table: the redis-server `binary` to start on a free loopback port (looked up in PATH); none, or not found, skips the table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: contacts-bench [flags]\n\nCompares direct REST calls to the emulator with the same calls through a bare pass-through (the floor) and through the facade.")
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	if err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for v := range strings.SplitSeq(memVariants, ",") {
		if v = strings.TrimSpace(v); v != "" {
			cfg.memVariants = append(cfg.memVariants, v)
		}
	}
	for t := range strings.SplitSeq(tables, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(allTables, t) {
			return cfg, fmt.Errorf("-tables: unknown table %q (want %s)", t, strings.Join(allTables, ", "))
		}
		if !slices.Contains(cfg.tables, t) {
			cfg.tables = append(cfg.tables, t)
		}
	}
	if cfg.duration <= 0 || cfg.warmup < 0 || cfg.count < 0 || cfg.rounds < 1 || cfg.rounds > 100 {
		return cfg, errors.New("-duration must be positive, -warmup and -count not negative, -rounds from 1 to 100")
	}
	if cfg.latency < 0 || cfg.jitter < 0 || cfg.realDuration <= 0 || cfg.realWarmup < 0 || cfg.cacheTTL <= 0 ||
		cfg.slowLatency < 0 || cfg.memDuration <= 0 {
		return cfg, errors.New("-latency, -latency-jitter, -realistic-warmup and -slow-latency must not be negative; -realistic-duration, -memory-duration and -cache-ttl must be positive")
	}
	if cfg.realCallers < 1 || cfg.realCallers > maxCallers || cfg.inflight < 1 || cfg.inflight > maxCallers {
		return cfg, fmt.Errorf("-realistic-callers and -inflight must be from 1 to %d", maxCallers)
	}
	if cfg.hotProps < 1 || cfg.uniformProps < 1 || cfg.hotProps > 100_000 || cfg.uniformProps > 100_000 {
		return cfg, errors.New("-hot-properties and -uniform-properties must be from 1 to 100000")
	}
	if cfg.concurrency, err = parseCallers("-concurrency", concurrency); err != nil {
		return cfg, err
	}
	if cfg.profileConcurrency, err = parseCallers("-profile-concurrency", profileConc); err != nil {
		return cfg, err
	}
	if cfg.costDuration <= 0 || cfg.costWarmup < 0 || cfg.fairDuration <= 0 || cfg.quietInterval <= 0 || cfg.fairLatency < 0 {
		return cfg, errors.New("-cost-duration, -fairness-duration and -quiet-interval must be positive, -cost-warmup and -fairness-latency not negative")
	}
	if cfg.floodCallers < 1 || cfg.floodCallers > maxCallers {
		return cfg, fmt.Errorf("-flood-callers must be from 1 to %d", maxCallers)
	}
	if cfg.callerRate < 1 || cfg.callerRate > 1_000_000 {
		return cfg, errors.New("-caller-rate must be from 1 to 1000000")
	}
	if cfg.redisServer == "" {
		return cfg, errors.New("-redis-server: name a binary, or none")
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

// parseCallers reads a comma-separated list of numbers of callers.
func parseCallers(flagName, list string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxCallers {
			return nil, fmt.Errorf("%s: %q is not a number of callers from 1 to %d", flagName, f, maxCallers)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c config) has(table string) bool { return slices.Contains(c.tables, table) }

// run measures the tables asked for and writes them to stdout; progress
// goes to stderr.
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
	progress := bufio.NewWriter(stderr)
	defer progress.Flush()

	var rep report
	if cfg.has(tableMemory) {
		if rep.mem, err = runMemory(ctx, cfg, progress); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if cfg.has(tableFloor) {
		if rep.floor, err = runFloor(ctx, cfg, progress); err != nil {
			return err
		}
		if rep.refusals, err = runRefusals(ctx, cfg, progress); err != nil {
			return err
		}
	}
	if cfg.has(tableRealistic) {
		if rep.realistic, err = runRealistic(ctx, cfg, progress); err != nil {
			return fmt.Errorf("realistic: %w", err)
		}
	}
	if cfg.has(tableProfile) {
		if rep.profile, err = runProfile(ctx, cfg, progress); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
	}
	if cfg.has(tableFairness) {
		if rep.fairness, err = runFairness(ctx, cfg, progress); err != nil {
			return fmt.Errorf("fairness: %w", err)
		}
	}
	if cfg.has(tableRedis) {
		if rep.redis, err = runRedis(ctx, cfg, progress); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	if cfg.has(tableObserve) {
		if rep.observe, err = runObservability(ctx, cfg, progress); err != nil {
			return fmt.Errorf("observability: %w", err)
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
	return writeReport(stdout, cfg, m, rep)
}

// runFloor measures every case at every concurrency: direct, the floor,
// the facade.
func runFloor(ctx context.Context, cfg config, progress *bufio.Writer) ([]row, error) {
	st, err := startStack(ctx, cfg.logLevel, slices.Max(cfg.concurrency), cfg.coalesce)
	if err != nil {
		return nil, err
	}
	defer st.close()
	var rows []row
	for _, c := range cfg.cases {
		if err := c.check(ctx, st); err != nil {
			return nil, fmt.Errorf("%s: %w", c.key, err)
		}
		for _, n := range cfg.concurrency {
			res, err := measure(ctx, cfg.warmup, cfg.duration, cfg.count, cfg.rounds, n, counters{}, []func(context.Context) error{
				func(ctx context.Context) error { return c.direct(ctx, st.rest) },
				func(ctx context.Context) error { return c.floor(ctx, st.floor) },
				func(ctx context.Context) error { return c.facade(ctx, st.grpc) },
			})
			if err != nil {
				return nil, fmt.Errorf("%s, %d callers: %w", c.key, n, err)
			}
			r := row{call: c.label, callers: n, direct: res[0], floor: res[1], facade: res[2]}
			fmt.Fprintf(progress, "%-8s %4d callers: direct %8.0f calls/s | floor %8.0f calls/s p50 %6.0fµs | facade %8.0f calls/s p50 %6.0fµs\n",
				c.key, n, r.direct.throughput(), r.floor.throughput(), micros(r.floor.p50), r.facade.throughput(), micros(r.facade.p50))
			progress.Flush()
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// refusalRow compares the refused write with the successful one, both
// measured in the same alternating rounds, through the facade and the
// floor.
type refusalRow struct {
	callers                 int
	facadeOK, facadeRefused result
	floorOK, floorRefused   result
	statusOK, statusRefused result // statusServer: the refusal's status alone
}

// runRefusals measures, when both are among the cases, the successful and
// the refused write in alternating rounds: rows of the floor table are
// measured one after the other, so a change of load between two rows would
// pass for a difference between the calls.
func runRefusals(ctx context.Context, cfg config, progress *bufio.Writer) ([]refusalRow, error) {
	i := slices.IndexFunc(cfg.cases, func(c benchCase) bool { return c.key == caseReplace })
	j := slices.IndexFunc(cfg.cases, func(c benchCase) bool { return c.key == caseInvalid })
	if i < 0 || j < 0 {
		return nil, nil
	}
	ok, refused := cfg.cases[i], cfg.cases[j]
	st, err := startStack(ctx, cfg.logLevel, slices.Max(cfg.concurrency), cfg.coalesce)
	if err != nil {
		return nil, err
	}
	defer st.close()
	var cl closers
	defer cl.close()
	carrier, err := startStatusServer(ctx, &cl, st.rest)
	if err != nil {
		return nil, err
	}
	var rows []refusalRow
	for _, n := range cfg.concurrency {
		res, err := measure(ctx, cfg.warmup, cfg.duration, cfg.count, cfg.rounds, n, counters{}, []func(context.Context) error{
			func(ctx context.Context) error { return ok.facade(ctx, st.grpc) },
			func(ctx context.Context) error { return refused.facade(ctx, st.grpc) },
			func(ctx context.Context) error { return ok.floor(ctx, st.floor) },
			func(ctx context.Context) error { return refused.floor(ctx, st.floor) },
			func(ctx context.Context) error { return ok.floor(ctx, carrier) },
			func(ctx context.Context) error { return refused.facade(ctx, carrier) },
		})
		if err != nil {
			return nil, fmt.Errorf("refused and successful writes, %d callers: %w", n, err)
		}
		r := refusalRow{callers: n, facadeOK: res[0], facadeRefused: res[1], floorOK: res[2], floorRefused: res[3],
			statusOK: res[4], statusRefused: res[5]}
		fmt.Fprintf(progress, "refused/success %4d callers: facade p50 %6.0f/%6.0fµs | floor p50 %6.0f/%6.0fµs\n",
			n, micros(r.facadeRefused.p50), micros(r.facadeOK.p50), micros(r.floorRefused.p50), micros(r.floorOK.p50))
		progress.Flush()
		rows = append(rows, r)
	}
	return rows, nil
}

// pathNames name the paths of measure's errors.
func pathName(i, n int) string {
	if n == 3 {
		return [...]string{"direct", "floor", "facade"}[i]
	}
	return "path " + strconv.Itoa(i+1)
}

// counters read the emulator's request counts; either may be nil.
type counters struct {
	gets, puts func() int64
}

func (c counters) read() (gets, puts int64) {
	if c.gets != nil {
		gets = c.gets()
	}
	if c.puts != nil {
		puts = c.puts()
	}
	return gets, puts
}

// measure warms every path up, then measures them in alternating rounds,
// each starting on a collected heap. Each sample gets the emulator's GETs
// and PUTs that counts saw during it.
func measure(ctx context.Context, warmup, duration time.Duration, count int64, rounds, callers int, counts counters, paths []func(context.Context) error) ([]result, error) {
	if warmup > 0 {
		for _, call := range paths {
			if _, err := runLoad(ctx, callers, warmup, count, call); err != nil {
				return nil, err
			}
		}
	}
	slice := duration / time.Duration(rounds)
	var maxCalls int64
	if count > 0 {
		maxCalls = (count + int64(rounds) - 1) / int64(rounds)
	}
	samples := make([][]sample, len(paths))
	for range rounds {
		for i, call := range paths {
			runtime.GC()
			gets, puts := counts.read()
			s, err := runLoad(ctx, callers, slice, maxCalls, call)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pathName(i, len(paths)), err)
			}
			g, p := counts.read()
			s.gets, s.puts = g-gets, p-puts
			samples[i] = append(samples[i], s)
		}
	}
	results := make([]result, len(paths))
	for i := range paths {
		results[i] = summarize(samples[i])
	}
	return results, nil
}
