package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// row is one call at one number of callers, every path.
type row struct {
	call                  string
	callers               int
	direct, floor, facade result
}

// report is every table measured.
type report struct {
	floor     []row
	refusals  []refusalRow
	realistic []realRow
	mem       []memRow
	profile   []profileRow
	fairness  *fairness
	redis     *redisCost
	observe   []costRow
}

// machineInfo describes where the figures come from.
type machineInfo struct {
	cpus, maxProcs int
	cpuModel       string
	goVersion      string
	osArch         string
	loadAvg        string // of the last minute when the run started, "" when unknown
}

func machine() machineInfo {
	return machineInfo{
		cpus:      runtime.NumCPU(),
		maxProcs:  runtime.GOMAXPROCS(0),
		cpuModel:  cpuModel(),
		goVersion: runtime.Version(),
		osArch:    runtime.GOOS + "/" + runtime.GOARCH,
		loadAvg:   loadAverage(),
	}
}

// loadAverage is the first field of /proc/loadavg: other work on the
// machine skews every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// writeReport writes the Markdown tables with their legends.
func writeReport(w io.Writer, cfg config, m machineInfo, rep report) error {
	bw := bufio.NewWriter(w)
	load := ""
	if m.loadAvg != "" {
		load = ", load average " + m.loadAvg + " at start"
	}
	fmt.Fprintf(bw, "Machine: %d CPUs (GOMAXPROCS %d), %s; %s %s%s. The emulator, the facade, the floor and every client share one process, on loopback.\n\n",
		m.cpus, m.maxProcs, m.cpuModel, m.goVersion, m.osArch, load)
	if rep.floor != nil {
		writeFloor(bw, cfg, rep.floor)
	}
	if rep.refusals != nil {
		writeRefusals(bw, cfg, rep.refusals)
	}
	if rep.realistic != nil {
		writeRealistic(bw, cfg, rep.realistic)
	}
	if rep.profile != nil {
		writeProfile(bw, cfg, rep.profile)
	}
	if rep.fairness != nil {
		writeFairness(bw, cfg, rep.fairness)
	}
	if rep.redis != nil {
		writeRedis(bw, cfg, rep.redis)
	}
	if rep.observe != nil {
		writeObservability(bw, cfg, rep.observe)
	}
	if rep.mem != nil {
		writeMemory(bw, cfg, rep.mem)
	}
	return bw.Flush()
}

func writeFloor(bw *bufio.Writer, cfg config, rows []row) {
	limit := ""
	if cfg.count > 0 {
		limit = fmt.Sprintf(" or %d calls", cfg.count)
	}
	coalesce := "without"
	if cfg.coalesce {
		coalesce = "with"
	}
	fmt.Fprintf(bw, "Floor table. Each row: %s warm-up, then %s%s per path in %d alternating direct/floor/facade rounds; the facade %s request coalescing.\n\n",
		cfg.warmup, cfg.duration, limit, cfg.rounds, coalesce)
	fmt.Fprintln(bw, "| call | callers | direct calls/s | floor calls/s | facade calls/s | throughput facade/direct | throughput facade/floor | direct p50 µs | floor p50 µs | facade p50 µs | p50 facade/floor | floor p99 µs | facade p99 µs | allocs/call direct | allocs/call floor | allocs/call facade |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		d, fl, f := r.direct, r.floor, r.facade
		fmt.Fprintf(bw, "| %s | %d | %.0f | %.0f | %.0f | %s | %s | %.0f | %.0f | %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
			r.call, r.callers,
			d.throughput(), fl.throughput(), f.throughput(),
			ratio(f.throughput(), d.throughput()), ratio(f.throughput(), fl.throughput()),
			micros(d.p50), micros(fl.p50), micros(f.p50), ratio(micros(f.p50), micros(fl.p50)),
			micros(fl.p99), micros(f.p99),
			d.allocsPerCall(), fl.allocsPerCall(), f.allocsPerCall())
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- direct: net/http with a keep-alive pool and a bearer token, JSON encoded and decoded by the caller; floor: a bare gRPC unary handler (no interceptors) that makes the HTTP calls (a read: the GET; a write: under the property's lock, the GET and then the PUT, as a safe write must), decodes each answer into a map and replies with an empty message or a bare status; facade: the facade as contactsd wires it. Floor and facade each serve one shared gRPC connection.")
	fmt.Fprintln(bw, "- allocs/call: heap objects allocated by the whole process per call (runtime.MemStats.Mallocs): the emulator, the caller and, for floor and facade, the gRPC server and client.")
	fmt.Fprintln(bw)
}

func writeRealistic(bw *bufio.Writer, cfg config, rows []realRow) {
	fmt.Fprintf(bw, "Realistic table. The emulator answers after %s ± %s. Each row: %s warm-up, then %s per path in %d alternating rounds; every call reads a property drawn at random from the workload's.\n\n",
		cfg.latency, cfg.jitter, cfg.realWarmup, cfg.realDuration, cfg.rounds)
	fmt.Fprintln(bw, "| workload | callers | path | calls/s | throughput ×direct | p50 ms | p99 ms | upstream GETs per call | GETs: direct/path |")
	fmt.Fprintln(bw, "|---|--:|---|--:|--:|--:|--:|--:|--:|")
	var direct result
	for _, r := range rows {
		if r.path == "direct" {
			direct = r.res
		}
		fmt.Fprintf(bw, "| %s | %d | %s | %.0f | %s | %.1f | %.1f | %.3f | %s |\n",
			r.workload, r.callers, r.path, r.res.throughput(), ratio(r.res.throughput(), direct.throughput()),
			millis(r.res.p50), millis(r.res.p99), r.res.getsPerCall(), ratio(direct.getsPerCall(), r.res.getsPerCall()))
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- upstream GETs per call: contacts GETs the emulator served during the measurement, per call the callers made.")
	fmt.Fprintln(bw)
}

func writeMemory(bw *bufio.Writer, cfg config, rows []memRow) {
	fmt.Fprintf(bw, "\nMemory table: contactsd as a process of its own, %d callers keeping calls in flight through it for %s against an emulator (in the bench) answering after %s; the floor rows run the floor (the bare pass-through of the floor table, on the transport contactsd uses) as a process of its own the same way. Peak RSS is the kernel's VmHWM; the other peaks are sampled.\n\n",
		cfg.inflight, cfg.memDuration, cfg.slowLatency)
	fmt.Fprintln(bw, "| process | properties in flight | calls | p50 ms | RSS idle MiB | peak RSS MiB | peak anonymous MiB | binary's pages MiB | goroutines | stacks MiB | heap in use MiB |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		props := "distinct"
		if r.props > 0 {
			props = fmt.Sprintf("random of %d", r.props)
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %d | %.1f | %.1f |\n",
			r.variant.name, props, r.calls, millis(r.p50), mib(r.idle), mib(r.peak), mib(r.anon), mib(r.file), r.goroutines, mib(r.stacks), mib(r.heap))
	}
}

func writeRefusals(bw *bufio.Writer, cfg config, rows []refusalRow) {
	fmt.Fprintf(bw, "Refused and successful writes (the last two calls of the floor table) measured together: %s warm-up, then %s per path in %d alternating rounds of the six paths.\n\n",
		cfg.warmup, cfg.duration, cfg.rounds)
	fmt.Fprintln(bw, "| callers | facade success p50 µs | facade refused p50 µs | p50 refused/success facade | p50 refused/success floor | status alone: success p50 µs | status alone: refused p50 µs | status alone: refused − success µs | allocs/call facade success | allocs/call facade refused | allocs refused/success facade |")
	fmt.Fprintln(bw, "|---:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(bw, "| %d | %.0f | %.0f | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n",
			r.callers, micros(r.facadeOK.p50), micros(r.facadeRefused.p50),
			ratio(float64(r.facadeRefused.p50), float64(r.facadeOK.p50)), ratio(float64(r.floorRefused.p50), float64(r.floorOK.p50)),
			micros(r.statusOK.p50), micros(r.statusRefused.p50), micros(r.statusRefused.p50-r.statusOK.p50),
			r.facadeOK.allocsPerCall(), r.facadeRefused.allocsPerCall(), ratio(r.facadeRefused.allocsPerCall(), r.facadeOK.allocsPerCall()))
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- status alone: a bare gRPC handler that calls nothing and answers the same two requests with an empty message, or with the facade's status for the emulator's refusal (errmap.Translate of it, a new ruid per call), read by the same caller (client.FieldViolations): what carrying and reading that status costs by itself.")
	fmt.Fprintln(bw)
}
