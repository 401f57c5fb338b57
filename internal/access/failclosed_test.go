package access

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// failingDetails is errmap.Status whose WithDetails fails: a metadata key
// that is not UTF-8 does not marshal.
func failingDetails(code codes.Code, reason contactsv1.ErrorReason, msg string, md map[string]string, details ...protoadapt.MessageV1) *status.Status {
	md["\xff"] = "x"
	return errmap.Status(code, reason, msg, md, details...)
}

// disk is an audit writer whose writes fail while full, and that keeps
// what it was given.
type disk struct {
	full bool
	buf  bytes.Buffer
}

func (d *disk) Write(p []byte) (int, error) {
	if d.full {
		return (&fullDisk{fail: true}).Write(p)
	}
	return d.buf.Write(p)
}

// TestRefusalsSurviveFailingDetails: each refusal of the gate (it was
// `st, _ := ...WithDetails(...)`, which admitted the call when the details
// did not marshal) stays a refusal with its code when its details cannot
// be attached, and the refused write is on the trail.
func TestRefusalsSurviveFailingDetails(t *testing.T) {
	if st := failingDetails(codes.PermissionDenied, contactsv1.ErrorReason_CALLER_NOT_ALLOWED, "m", map[string]string{}); len(st.Details()) != 0 {
		t.Fatal("the test's WithDetails does not fail")
	}
	set := &contactsv1.SetProfileContactsRequest{PropertyId: "1", Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES}
	tests := []struct {
		name        string
		policy      string
		admitted    int  // calls before the one refused, each admitted
		trailBroken bool // the last write of the trail failed
		code        codes.Code
		reason      contactsv1.ErrorReason
	}{
		{"denied", "default:\n  rpcs: [read]\n", 0, false, codes.PermissionDenied, contactsv1.ErrorReason_CALLER_NOT_ALLOWED},
		{"rate limited", "default:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n  rate: {per_second: 1, burst: 2}\n", 2, false,
			codes.ResourceExhausted, contactsv1.ErrorReason_CALLER_RATE_LIMITED},
		{"audit unavailable", "default:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", 0, true, codes.Unavailable, contactsv1.ErrorReason_AUDIT_UNAVAILABLE},
	}
	for _, tt := range tests {
		p, err := ParsePolicy([]byte(tt.policy))
		if err != nil {
			t.Fatal(err)
		}
		d := &disk{}
		tr := NewTrail(d)
		g, err := NewGate(Config{Policy: NewHolder(p), Audit: tr, Now: func() time.Time { return time.Unix(0, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		g.refuse = failingDetails
		for i := range tt.admitted {
			call, err := g.Admit(context.Background(), contactsv1.ContactsService_SetProfileContacts_FullMethodName, set)
			if err != nil {
				t.Fatalf("%s: call %d refused: %v", tt.name, i, err)
			}
			call.End(&contactsv1.SetProfileContactsResponse{}, nil)
		}
		if tt.trailBroken {
			d.full = true
			_ = tr.write(Record{})
			d.full = false // the disk has room again; the trail does not know yet
		}
		d.buf.Reset()
		call, err := g.Admit(context.Background(), contactsv1.ContactsService_SetProfileContacts_FullMethodName, set)
		st := status.Convert(err)
		if call != nil || err == nil || st.Code() != tt.code || len(st.Details()) != 0 {
			t.Errorf("%s: call %v, %v with %d details; want %v without details", tt.name, call, st.Code(), len(st.Details()), tt.code)
		}
		_ = tr.Flush()
		var rec Record
		if err := json.Unmarshal(d.buf.Bytes(), &rec); err != nil || rec.Allowed || rec.Reason != tt.reason.String() || rec.Code != tt.code.String() {
			t.Errorf("%s: record %s (%v), want the refusal with reason %s", tt.name, d.buf.String(), err, tt.reason)
		}
	}
}
