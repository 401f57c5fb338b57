package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the memory table run this test binary as the floor's
// process, as it runs the bench's executable.
func TestMain(m *testing.M) {
	if os.Getenv(floorProcessEnv) == "1" {
		if err := serveFloorProcess(os.Args[1:], os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "floor process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// table is one Markdown table of the report.
type table struct {
	header []string
	rows   [][]string
}

// parseTables reads the report's tables, checking that every row has a
// cell under every column.
func parseTables(t *testing.T, out string) []table {
	t.Helper()
	var (
		tables []table
		cur    *table
	)
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			cur = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case cur == nil:
			tables = append(tables, table{header: cells})
			cur = &tables[len(tables)-1]
			continue
		case strings.HasPrefix(cells[0], "---"):
			continue
		}
		if len(cells) != len(cur.header) {
			t.Fatalf("row %q has %d cells, the header %d", line, len(cells), len(cur.header))
		}
		for i, c := range cells {
			if c == "" {
				t.Errorf("row %q: empty %q", line, cur.header[i])
			}
		}
		cur.rows = append(cur.rows, cells)
	}
	return tables
}

// TestRunPrintsEveryRow runs the floor table briefly. It checks the shape
// of the table, never a figure: timings depend on the machine.
func TestRunPrintsEveryRow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	err := run(ctx, []string{"-tables", "floor", "-duration", "50ms", "-warmup", "10ms", "-concurrency", "1,2"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, progress.String())
	}
	tables := parseTables(t, out.String())
	if len(tables) != 2 {
		t.Fatalf("%d tables, want the floor table and the refusals'\n%s", len(tables), out.String())
	}
	if ref := tables[1]; len(ref.rows) != 2 || ref.rows[0][0] != "1" || ref.rows[1][0] != "2" ||
		slices.Index(ref.header, "p50 refused/success facade") < 0 {
		t.Errorf("refusals table %q %q, want a row for 1 and for 2 callers", ref.header, ref.rows)
	}
	tb := tables[0]
	if len(tb.header) != 16 || tb.header[3] != "floor calls/s" {
		t.Fatalf("header %q, want 16 columns with the floor\n%s", tb.header, out.String())
	}
	rows := map[string]int{}
	for _, r := range tb.rows {
		rows[r[0]+" @"+r[1]]++
	}
	for _, c := range allCases() {
		for _, n := range []string{"1", "2"} {
			if rows[c.label+" @"+n] != 1 {
				t.Errorf("no single row for %s with %s callers", c.label, n)
			}
		}
	}
	if len(rows) != 6 {
		t.Errorf("%d rows, want 6:\n%s", len(rows), out.String())
	}
	if !strings.HasPrefix(out.String(), "Machine: ") {
		t.Errorf("no machine line:\n%s", out.String())
	}
}

// TestRealisticAndMemory runs the realistic table and the memory table on
// a small scale. Upstream GETs are counted at the emulator: a direct call
// is exactly one GET, which proves the count. The memory table builds and
// runs contactsd (go build, as go run of the bench does).
func TestRealisticAndMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	err := run(ctx, []string{"-tables", "realistic,memory", "-latency", "2ms", "-latency-jitter", "1ms",
		"-realistic-callers", "8", "-uniform-properties", "50", "-realistic-duration", "100ms", "-realistic-warmup", "0s", "-rounds", "2",
		"-inflight", "20", "-slow-latency", "20ms", "-memory-duration", "300ms", "-cache-ttl", "1h",
		"-memory-variants", "default,GOMEMLIMIT,floor: HTTP"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, progress.String())
	}
	tables := parseTables(t, out.String())
	if len(tables) != 2 || len(tables[0].rows) != 6 || len(tables[1].rows) != 3 {
		t.Fatalf("want a table of 6 rows and one of 3:\n%s", out.String())
	}
	tb := tables[0]
	col := slices.Index(tb.header, "upstream GETs per call")
	if col < 0 {
		t.Fatalf("no GETs column in %q", tb.header)
	}
	seen := map[string]bool{}
	for _, r := range tb.rows {
		seen[r[0]+" / "+r[2]] = true
		if r[2] == "direct" && r[col] != "1.000" {
			t.Errorf("%s: direct made %s GETs per call, want 1.000", r[0], r[col])
		}
		if strings.Contains(r[2], "1h0m0s cache") && r[0] == "hot: 4 properties" && r[col] == "1.000" {
			t.Errorf("hot workload with a 1h cache: a GET per call")
		}
	}
	for _, w := range []string{"hot: 4 properties", "uniform: 50 properties"} {
		for _, p := range []string{"direct", "facade, coalescing, no cache", "facade, coalescing, 1h0m0s cache"} {
			if !seen[w+" / "+p] {
				t.Errorf("no row %s / %s:\n%s", w, p, out.String())
			}
		}
	}
	// The memory table: each process (contactsd, or the bench's as the
	// floor) answered on its /metrics and was measured under load.
	mem := tables[1]
	for _, name := range []string{"HTTP/1.1 to the upstream (default)", "-upstream-h2c, GOMEMLIMIT=40MiB", "floor: HTTP/1.1"} {
		r := findRow(t, mem, name)
		if r == nil {
			continue
		}
		calls, idle, peak, goroutines := cellNumber(t, mem, r, "calls"), cellNumber(t, mem, r, "RSS idle MiB"),
			cellNumber(t, mem, r, "peak RSS MiB"), cellNumber(t, mem, r, "goroutines")
		if calls < 20 || idle <= 0 || peak < idle || goroutines < 20 || r[1] != "distinct" {
			t.Errorf("memory row %q: calls %v, idle %v MiB, peak %v MiB, goroutines %v, properties %q", name, calls, idle, peak, goroutines, r[1])
		}
	}
}

// findRow is the row of tb whose first cell is name.
func findRow(t *testing.T, tb table, name string) []string {
	t.Helper()
	for _, r := range tb.rows {
		if r[0] == name {
			return r
		}
	}
	t.Errorf("no row %q in %q", name, tb.rows)
	return nil
}

// cellNumber is the number in r under the column named col.
func cellNumber(t *testing.T, tb table, r []string, col string) float64 {
	t.Helper()
	i := slices.Index(tb.header, col)
	if i < 0 || i >= len(r) {
		t.Fatalf("no column %q in %q", col, tb.header)
	}
	f, err := strconv.ParseFloat(r[i], 64)
	if err != nil {
		t.Errorf("column %q: %q is not a number", col, r[i])
	}
	return f
}

func TestCountBoundsARun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	// A duration far beyond the test timeout: only -count can end the runs.
	err := run(ctx, []string{"-tables", "floor", "-duration", "1h", "-warmup", "0s", "-count", "20", "-concurrency", "3", "-cases", "list"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| ListContacts (GET) | 3 |") {
		t.Fatalf("no list row:\n%s", out.String())
	}
	if strings.Contains(out.String(), "Refused and successful writes") {
		t.Errorf("a refusals table without the write cases:\n%s", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-concurrency", "0"},
		{"-concurrency", "1,x"},
		{"-concurrency", "100000"},
		{"-cases", "list,nope"},
		{"-duration", "0s"},
		{"-count", "-1"},
		{"-rounds", "0"},
		{"-log-level", "loud"},
		{"extra"},
		{"-tables", "floor,nope"},
		{"-latency", "-1ms"},
		{"-latency-jitter", "-1ms"},
		{"-cache-ttl", "0s"},
		{"-realistic-callers", "0"},
		{"-realistic-duration", "0s"},
		{"-inflight", "2000"},
		{"-hot-properties", "0"},
		{"-uniform-properties", "1000000"},
		{"-memory-duration", "0s"},
		{"-tables", "profile,fair"},
		{"-profile-concurrency", "0"},
		{"-cost-duration", "0s"},
		{"-cost-warmup", "-1ms"},
		{"-fairness-duration", "0s"},
		{"-fairness-latency", "-1ms"},
		{"-quiet-interval", "0s"},
		{"-flood-callers", "0"},
		{"-caller-rate", "0"},
		{"-redis-server", ""},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i))
	}
	for p, want := range map[int]time.Duration{50: 50, 99: 99, 100: 100, 1: 1} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%d = %d, want %d", p, got, want)
		}
	}
	if got := percentile(lat[:1], 99); got != 1 {
		t.Errorf("p99 of one = %d", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %d", got)
	}
}
