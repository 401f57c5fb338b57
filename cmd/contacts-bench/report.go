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

// row is one call at one number of callers, both ways.
type row struct {
	call           string
	callers        int
	direct, facade result
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

// writeReport writes the Markdown table with its legend.
func writeReport(w io.Writer, cfg config, m machineInfo, rows []row) error {
	bw := bufio.NewWriter(w)
	limit := ""
	if cfg.count > 0 {
		limit = fmt.Sprintf(" or %d calls", cfg.count)
	}
	load := ""
	if m.loadAvg != "" {
		load = ", load average " + m.loadAvg + " at start"
	}
	fmt.Fprintf(bw, "Machine: %d CPUs (GOMAXPROCS %d), %s; %s %s%s. Each row: %s warm-up, then %s%s per path in %d alternating direct/facade rounds; the emulator, the facade and both clients share one process.\n\n",
		m.cpus, m.maxProcs, m.cpuModel, m.goVersion, m.osArch, load, cfg.warmup, cfg.duration, limit, cfg.rounds)
	fmt.Fprintln(bw, "| call | callers | direct calls/s | facade calls/s | throughput facade/direct | direct p50 µs | facade p50 µs | p50 facade/direct | added p50 µs | direct p99 µs | facade p99 µs | allocs/call direct | allocs/call facade | allocs/call added |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		d, f := r.direct, r.facade
		fmt.Fprintf(bw, "| %s | %d | %.0f | %.0f | %s | %.0f | %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
			r.call, r.callers,
			d.throughput(), f.throughput(), ratio(f.throughput(), d.throughput()),
			micros(d.p50), micros(f.p50), ratio(micros(f.p50), micros(d.p50)), micros(f.p50-d.p50),
			micros(d.p99), micros(f.p99),
			d.allocsPerCall(), f.allocsPerCall(), f.allocsPerCall()-d.allocsPerCall())
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "- direct: net/http with a keep-alive pool and a bearer token, JSON encoded and decoded by the caller; facade: one shared gRPC connection to the facade, which calls the same emulator.")
	fmt.Fprintln(bw, "- allocs/call: heap objects allocated by the whole process per call (runtime.MemStats.Mallocs). Direct counts the emulator and the REST caller; facade counts the emulator, the facade (gRPC server, service, REST client) and the gRPC caller; added = facade − direct, what the facade adds per call, its gRPC caller included.")
	return bw.Flush()
}
