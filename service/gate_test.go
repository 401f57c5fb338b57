package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
	"github.com/contacts-facade/contacts-facade/service"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestGateSeesWhatAReplaceDeletes: a caller that may write GENERAL and
// INVOICES sends a Replace that would delete the property's RESERVATIONS
// contact: the service refuses it under the lock, before the PUT. A
// per-profile write of INVOICES goes through and leaves an audit record
// with both etags.
func TestGateSeesWhatAReplaceDeletes(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [\"*\"]\n  write_profiles: [GENERAL, INVOICES]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var trail syncBuf
	s := newGatedStack(t, service.Config{Policy: access.NewHolder(p), Audit: access.NewTrail(&trail)})
	ctx := ctxLong(t)
	gen, inv := contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	puts := s.emu.Puts(emulator.DemoPropertyFull)

	_, err = s.client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: fullID,
		Contacts: []*contactsv1.Contact{validContact(gen, inv)}})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "RESERVATIONS") {
		t.Fatalf("Replace deleting RESERVATIONS: %v, want PermissionDenied naming it", err)
	}
	if s.emu.Puts(emulator.DemoPropertyFull) != puts {
		t.Fatal("the refused Replace reached the upstream")
	}
	before := list(t, s, fullID).GetEtag()
	w, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: inv,
		Contacts: []*contactsv1.Contact{validContact(inv)}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(trail.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d audit records, want 2:\n%s", len(lines), trail.String())
	}
	var refused, ok access.Record
	_ = json.Unmarshal([]byte(lines[0]), &refused)
	_ = json.Unmarshal([]byte(lines[1]), &ok)
	if refused.Code != "PermissionDenied" || refused.Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || refused.Allowed {
		t.Errorf("refused record %+v", refused)
	}
	if ok.Code != "OK" || ok.EtagBefore != before || ok.EtagAfter != w.GetEtag() || strings.Join(ok.Profiles, ",") != "INVOICES" {
		t.Errorf("write record %+v, want etags %s → %s and profiles INVOICES", ok, before, w.GetEtag())
	}
	if strings.Contains(trail.String(), "@") {
		t.Errorf("audit trail holds an e-mail:\n%s", trail.String())
	}
}

// heldLocker is a writelock.Locker whose lock another writer holds for
// ever.
type heldLocker struct{}

func (heldLocker) Lock(ctx context.Context, _ string) (writelock.Lease, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestLockWaitIsBounded: a write that cannot have the property's lock
// within LockWait gets UNAVAILABLE with RetryInfo, long before its own
// deadline, and nothing reaches the upstream.
func TestLockWaitIsBounded(t *testing.T) {
	svc := newService(t, service.Config{Upstream: failsWith{}, Locks: heldLocker{}, LockWait: time.Millisecond})
	client := contactsv1.NewContactsServiceClient(serveService(t, svc, grpcserver.Config{}))
	_, err := client.SetProfileContacts(ctxLong(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID,
		Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_INVOICES)}})
	st := status.Convert(err)
	var retry *errdetails.RetryInfo
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			retry = d
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if st.Code() != codes.Unavailable || info.GetReason() != contactsv1.ErrorReason_WRITE_LOCK_TIMEOUT.String() || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("got %v %v %v, want UNAVAILABLE WRITE_LOCK_TIMEOUT with RetryInfo", st.Code(), info, retry)
	}
}

// TestGateCreateKeepsWhatItDoesNotSend: a Create adds to the contacts a
// property has (the upstream refuses it where there are any): a caller
// that may write GENERAL only is not refused for the profiles it leaves
// alone, and gets the upstream's answer.
func TestGateCreateKeepsWhatItDoesNotSend(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [\"*\"]\n  write_profiles: [GENERAL]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newGatedStack(t, service.Config{Policy: access.NewHolder(p)})
	_, err = s.client.CreateContacts(ctxLong(t), &contactsv1.CreateContactsRequest{PropertyId: fullID,
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("Create on a property with contacts: %v, want the upstream's ALREADY_EXISTS", err)
	}
}

// TestWriteOnlyGrantReadsNothingElse (issue 27, item 4): a caller that may
// clear PARITY but call no read RPC clears it on a property where no
// contact serves it (no PUT) and gets neither the property's other
// contacts nor their e-mails, in contacts or previous_contacts.
func TestWriteOnlyGrantReadsNothingElse(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [ClearProfileContacts]\n  write_profiles: [PARITY]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newGatedStack(t, service.Config{Policy: access.NewHolder(p)})
	resp, err := s.client.ClearProfileContacts(ctxLong(t), &contactsv1.ClearProfileContactsRequest{PropertyId: fullID,
		Profile: contactsv1.ProfileType_PROFILE_TYPE_PARITY})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetContacts()) != 0 || len(resp.GetPreviousContacts()) != 0 || strings.Contains(resp.String(), "@") {
		t.Fatalf("a write-only caller read the property: %v", resp)
	}
}

// refusingShares is a CallerShares whose every share is spent.
type refusingShares struct {
	mu     sync.Mutex
	asked  []string
	passed []access.Rate
}

func (r *refusingShares) Take(_ context.Context, caller string, rate access.Rate, _ time.Time) (bool, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked, r.passed = append(r.asked, caller), append(r.passed, rate)
	return false, 2 * time.Second, nil
}

// TestConfigSharesReachTheGate: Config.Shares spends the callers' fair
// shares (the fleet's, in contactsd with Redis): its refusal is the
// caller's RESOURCE_EXHAUSTED with its wait, before the upstream.
func TestConfigSharesReachTheGate(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [read]\n  rate: {per_second: 5, burst: 7}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sh := &refusingShares{}
	s := newGatedStack(t, service.Config{Policy: access.NewHolder(p), Audit: service.NoAudit(), Shares: sh})
	_, err = s.client.ListContacts(ctxLong(t), &contactsv1.ListContactsRequest{PropertyId: fullID})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("ListContacts: %v, want ResourceExhausted", err)
	}
	var delay time.Duration
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if delay != 2*time.Second || len(sh.asked) != 1 || sh.passed[0] != (access.Rate{PerSecond: 5, Burst: 7}) {
		t.Errorf("RetryInfo %v, asked %q with %+v; want 2s, once, 5/s burst 7", delay, sh.asked, sh.passed)
	}
}
