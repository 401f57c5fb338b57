package access

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestRecordSaysTheOutcome: a write cut short by the shutdown is recorded
// with what the caller got, UNAVAILABLE SERVER_SHUTTING_DOWN, and the
// outcome its ErrorInfo gives: unknown.
func TestRecordSaysTheOutcome(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantReason  string
		wantOutcome string
	}{
		{"shutdown", errmap.Status(codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN, "shut down",
			map[string]string{"source": "facade", "outcome": "unknown"}).Err(), "Unavailable", "SERVER_SHUTTING_DOWN", "unknown"},
		{"no outcome", errmap.Status(codes.FailedPrecondition, contactsv1.ErrorReason_CHANGES_NOT_PERMITTED, "no",
			map[string]string{"source": "upstream"}).Err(), "FailedPrecondition", "CHANGES_NOT_PERMITTED", ""},
		{"outcome not a word", errmap.Status(codes.Unavailable, contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE, "x",
			map[string]string{"outcome": "jane@example.com"}).Err(), "Unavailable", "UPSTREAM_UNAVAILABLE", ""},
		{"ok", nil, "OK", "", ""},
	}
	for _, tt := range tests {
		w := &syncedBuffer{}
		g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, &clock{t: time.Unix(1e9, 0)})
		c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
		if err != nil {
			t.Fatal(err)
		}
		c.End(nil, tt.err)
		recs := w.records(t)
		if len(recs) != 1 || recs[0].Code != tt.wantCode || recs[0].Reason != tt.wantReason || recs[0].Outcome != tt.wantOutcome || !recs[0].Allowed {
			t.Errorf("%s: records %+v, want %s %s outcome %q", tt.name, recs, tt.wantCode, tt.wantReason, tt.wantOutcome)
		}
	}
	// Pinned by hand.
	w := &syncedBuffer{}
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, &clock{t: time.Unix(1e9, 0)})
	c, _ := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName, clearGeneral)
	c.End(nil, errmap.Status(codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN, "x", map[string]string{"outcome": "unknown"}).Err())
	if r := w.records(t); len(r) != 1 || r[0].Outcome != "unknown" {
		t.Errorf("records %+v", r)
	}
}
