package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// short are flags that make the cost tables quick; the tests check the
// shape of what they print and the request counts, never a timing.
var short = []string{"-cost-duration", "30ms", "-cost-warmup", "0s", "-rounds", "1"}

func runTables(t *testing.T, args ...string) []table {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	if err := run(ctx, append(slices.Clone(short), args...), &out, &progress); err != nil {
		t.Fatalf("run %q: %v\nstderr:\n%s", args, err, progress.String())
	}
	t.Log(out.String())
	return parseTables(t, out.String())
}

func column(t *testing.T, tb table, name string) int {
	t.Helper()
	i := slices.Index(tb.header, name)
	if i < 0 {
		t.Fatalf("no column %q in %q", name, tb.header)
	}
	return i
}

// TestProfileTable: a row per call and number of callers, and the
// emulator's counts: every ReplaceContacts and every SetProfileContacts
// of a single caller is one GET and one PUT.
func TestProfileTable(t *testing.T) {
	tables := runTables(t, "-tables", "profile", "-profile-concurrency", "1,3")
	if len(tables) != 1 || len(tables[0].rows) != 4 {
		t.Fatalf("want one table of 4 rows, got %d tables", len(tables))
	}
	tb := tables[0]
	gets, puts := column(t, tb, "upstream GETs per call"), column(t, tb, "upstream PUTs per call")
	seen := map[string]bool{}
	for _, r := range tb.rows {
		seen[r[0]+" @"+r[1]] = true
		if r[gets] != "1.000" {
			t.Errorf("%s @%s: %s GETs per call, want 1.000", r[0], r[1], r[gets])
		}
		if (strings.HasPrefix(r[0], "ReplaceContacts") || r[1] == "1") && r[puts] != "1.000" {
			t.Errorf("%s @%s: %s PUTs per call, want 1.000", r[0], r[1], r[puts])
		}
	}
	for _, k := range []string{"SetProfileContacts (8 profiles in turn) @1", "SetProfileContacts (8 profiles in turn) @3",
		"ReplaceContacts (2 contacts) @1", "ReplaceContacts (2 contacts) @3"} {
		if !seen[k] {
			t.Errorf("no row %s", k)
		}
	}
}

// TestFairnessTable: the phases on loopback and on a distant emulator,
// then the gate's cost rows; the flooder's share of refusals is a
// percentage.
func TestFairnessTable(t *testing.T) {
	tables := runTables(t, "-tables", "fairness", "-fairness-duration", "40ms", "-quiet-interval", "5ms",
		"-flood-callers", "3", "-caller-rate", "5", "-fairness-latency", "2ms", "-latency-jitter", "1ms")
	if len(tables) != 2 {
		t.Fatalf("%d tables, want the fairness table and the gate's cost", len(tables))
	}
	fair, cost := tables[0], tables[1]
	if len(fair.rows) != 4 {
		t.Fatalf("%d fairness rows, want 4", len(fair.rows))
	}
	share := column(t, fair, "flooder RESOURCE_EXHAUSTED share")
	column(t, fair, "quiet p50 ×alone")
	for i, r := range fair.rows {
		alone := i%2 == 0
		if strings.Contains(r[1], "alone") != alone {
			t.Errorf("row %d is %q", i, r[1])
		}
		if alone != (r[share] == "–") || !alone && !strings.HasSuffix(r[share], "%") {
			t.Errorf("row %q: share %q", r[1], r[share])
		}
	}
	if fair.rows[0][0] != "loopback" || fair.rows[2][0] != "2ms ± 1ms" {
		t.Errorf("upstreams %q, %q", fair.rows[0][0], fair.rows[2][0])
	}
	if len(cost.rows) != 4 || !strings.Contains(cost.rows[1][2], "access gate") || cost.rows[0][6] != "1.00" {
		t.Errorf("gate cost rows: %q", cost.rows)
	}
}

func TestFairnessLoopbackOnly(t *testing.T) {
	tables := runTables(t, "-tables", "fairness", "-fairness-duration", "20ms", "-quiet-interval", "5ms",
		"-flood-callers", "2", "-fairness-latency", "0s")
	if len(tables) != 2 || len(tables[0].rows) != 2 {
		t.Fatalf("want 2 loopback phases and the cost table")
	}
}

// TestRedisTable runs the Redis table when redis-server is installed;
// without it, or with -redis-server none, the table is a note.
func TestRedisTable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), append(slices.Clone(short), "-tables", "redis", "-redis-server", "none"), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Redis table skipped") || strings.Contains(out.String(), "|") {
		t.Errorf("-redis-server none: want the note and no table:\n%s", out.String())
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; .ci/run installs Debian's redis-server package")
		}
		t.Skip("redis-server is not installed (skipped outside CI): only the skip note is checked")
	}
	tables := runTables(t, "-tables", "redis")
	if len(tables) != 1 || len(tables[0].rows) != 6 {
		t.Fatalf("want one table of 6 rows")
	}
	for i, r := range tables[0].rows {
		if want := i%2 == 1; strings.Contains(r[2], "redisstore") != want {
			t.Errorf("row %d: variant %q", i, r[2])
		}
	}
}

func TestObservabilityTable(t *testing.T) {
	tables := runTables(t, "-tables", "observability")
	if len(tables) != 1 || len(tables[0].rows) != 6 {
		t.Fatalf("want one table of 6 rows")
	}
	for i, r := range tables[0].rows {
		if want := []string{"facade", "+ metrics", "+ metrics + tracing"}[i%3]; !strings.HasPrefix(r[2], want) {
			t.Errorf("row %d: variant %q, want %s…", i, r[2], want)
		}
	}
}

// TestProfileWritesAlwaysChange: eight calls in a row name eight
// profiles, and a profile's next request differs from its last, so that
// no call of the case is a write the facade skips.
func TestProfileWritesAlwaysChange(t *testing.T) {
	w := &profileWrites{property: property}
	var reqs []proto.Message
	seen := map[string]bool{}
	for i := range 24 {
		r := w.next(false)
		if i < 8 {
			if seen[r.GetProfile().String()] {
				t.Fatalf("profile %s twice in the first 8 calls", r.GetProfile())
			}
			seen[r.GetProfile().String()] = true
		}
		if r.GetRequestId() != "" {
			t.Fatal("a request_id without asking")
		}
		reqs = append(reqs, r)
	}
	for i := 8; i < len(reqs); i++ {
		if proto.Equal(reqs[i], reqs[i-8]) {
			t.Errorf("call %d repeats call %d", i, i-8)
		}
	}
	if id := w.next(true).GetRequestId(); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("request_id %q is not a version 4 UUID", id)
	}
}
