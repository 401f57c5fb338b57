package access

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestTrailDownLogsOncePerInterval: while the trail cannot be written,
// neither the records that fail nor the writes refused for it log a line
// each: one ERROR line per interval, the next one counting those held
// back.
func TestTrailDownLogsOncePerInterval(t *testing.T) {
	p, err := ParsePolicy([]byte("version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	disk := &fullDisk{}
	clk := &clock{t: time.Unix(1e9, 0)}
	var logs bytes.Buffer
	tr := NewTrail(disk)
	g, err := NewGate(Config{Policy: NewHolder(p), Audit: tr, Now: clk.now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var calls []*Call
	for range 10 {
		c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	disk.fail = true
	for _, c := range calls { // 10 records that fail
		c.End(&contactsv1.ClearProfileContactsResponse{}, nil)
	}
	for range 10 { // 10 writes refused for it
		if _, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral); err == nil {
			t.Fatal("admitted with the trail down")
		}
	}
	lines := func() []string { return strings.Split(strings.TrimSpace(logs.String()), "\n") }
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "level=ERROR") {
		t.Fatalf("%d log lines for 20 failures in one interval, want 1:\n%s", len(got), logs.String())
	}
	clk.add(10 * time.Second)
	_, _ = g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "suppressed=19") {
		t.Fatalf("after the interval: %d lines, want 2, the second counting 19:\n%s", len(got), logs.String())
	}
}
