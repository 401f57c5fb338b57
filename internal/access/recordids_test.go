package access

import (
	"context"
	"strings"
	"testing"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestRecordHoldsOnlyWellFormedIDs: what a caller sends in property_id,
// request_id or etag reaches the trail only when it has the shape of such
// an id; anything else (an e-mail, a name, a phone number) is "invalid".
func TestRecordHoldsOnlyWellFormedIDs(t *testing.T) {
	const (
		uuid = "0b6f1c2e-8f1d-4c1a-9e0b-3f2a1d4c5b6e"
		etag = `W/"abcdefghijklmnopqrstuv-_"`
	)
	tests := []struct {
		name                          string
		property, requestID, etag     string
		wantProp, wantReq, wantBefore string
	}{
		{"well-formed", "1000001", uuid, etag, "1000001", uuid, etag},
		{"upper-case uuid", "1", strings.ToUpper(uuid), etag, "1", strings.ToUpper(uuid), etag},
		{"none sent", "", "", "", "", "", ""},
		{"e-mail as property", "jane@example.com", uuid, etag, "invalid", uuid, etag},
		{"property too long", "12345678901", uuid, etag, "invalid", uuid, etag},
		{"name as request id", "1", "Jane Doe", etag, "1", "invalid", etag},
		{"phone as etag", "1", uuid, "+31201234567", "1", uuid, "invalid"},
		{"quoted e-mail as etag", "1", uuid, `W/"jane@example.com"`, "1", uuid, "invalid"},
		{"etag one short", "1", uuid, `W/"abcdefghijklmnopqrstuv-"`, "1", uuid, "invalid"},
	}
	for _, tt := range tests {
		w := &syncedBuffer{}
		g, tr := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, &clock{t: time.Unix(1e9, 0)})
		c, err := g.Admit(context.Background(), contactsv1.ContactsService_ReplaceContacts_FullMethodName,
			&contactsv1.ReplaceContactsRequest{PropertyId: tt.property, RequestId: tt.requestID, Etag: tt.etag})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c.End(&contactsv1.ReplaceContactsResponse{}, nil)
		_ = tr.Flush()
		recs := w.records(t)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tt.name, len(recs))
		}
		r := recs[0]
		if r.PropertyID != tt.wantProp || r.RequestID != tt.wantReq || r.EtagBefore != tt.wantBefore {
			t.Errorf("%s: record property %q request %q etag %q, want %q %q %q", tt.name, r.PropertyID, r.RequestID, r.EtagBefore,
				tt.wantProp, tt.wantReq, tt.wantBefore)
		}
		for _, pii := range []string{"jane", "Jane", "+3120"} {
			if strings.Contains(w.buf.String(), pii) {
				t.Errorf("%s: the trail holds %q", tt.name, pii)
			}
		}
	}
	// Pinned by hand: an e-mail sent as the etag is not on the trail.
	w := &syncedBuffer{}
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", w, &clock{t: time.Unix(1e9, 0)})
	c, err := g.Admit(context.Background(), contactsv1.ContactsService_ReplaceContacts_FullMethodName,
		&contactsv1.ReplaceContactsRequest{PropertyId: "1", Etag: "jane@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c.End(&contactsv1.ReplaceContactsResponse{}, nil)
	if r := w.records(t); len(r) != 1 || r[0].EtagBefore != "invalid" || strings.Contains(w.buf.String(), "jane") {
		t.Errorf("records %+v", r)
	}
}
