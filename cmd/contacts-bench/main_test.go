package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRunPrintsEveryRow runs the whole tool briefly. It checks the shape of
// the table, never a figure: timings depend on the machine.
func TestRunPrintsEveryRow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	err := run(ctx, []string{"-duration", "50ms", "-warmup", "10ms", "-concurrency", "1,2"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, progress.String())
	}
	var header []string
	rows := map[string]int{}
	for line := range strings.Lines(out.String()) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
			continue
		case strings.HasPrefix(cells[0], "---"):
			continue
		}
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d cells, the header %d", line, len(cells), len(header))
		}
		for i, c := range cells {
			if c == "" {
				t.Errorf("row %q: empty %q", line, header[i])
			}
		}
		rows[cells[0]+" @"+cells[1]]++
	}
	if len(header) != 14 {
		t.Fatalf("header %q, want 14 columns\n%s", header, out.String())
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

func TestCountBoundsARun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	// A duration far beyond the test timeout: only -count can end the runs.
	err := run(ctx, []string{"-duration", "1h", "-warmup", "0s", "-count", "20", "-concurrency", "3", "-cases", "list"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| ListContacts (GET) | 3 |") {
		t.Fatalf("no list row:\n%s", out.String())
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
