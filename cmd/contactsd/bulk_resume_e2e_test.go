//go:build e2e

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// Figures of TestBulkResumeAfterReplicaKilled.
const (
	resumeProperties = 200
	resumeLatency    = 30 * time.Millisecond // per upstream call
	resumeLease      = 2 * time.Second       // -operation-lease
	resumeKillAfter  = 30                    // items changed before B starts
	resumeInFlight   = 60                    // the item whose PUT is applied, unanswered, when A is killed
	resumePoll       = 20 * time.Millisecond
)

// TestBulkResumeAfterReplicaKilled runs the resume scenario with
// real processes: two contactsd replicas on one redis-server, in front of
// one emulator, with token auth (Redis values are sealed with the client
// secret). A BulkEditProfile over 200 properties starts on replica A; once
// some of its items are done, replica B starts and A is killed with
// SIGKILL. B takes the operation over when A's lease lapses and finishes
// it: every property changed, none failed, and — the point — every
// property written exactly once upstream, including the items A had in
// flight when it died.
func TestBulkResumeAfterReplicaKilled(t *testing.T) {
	bin := os.Getenv("CONTACTSD_BIN")
	if bin == "" {
		bin, _ = buildSessionBinaries(t)
	}
	rds := redistest.Start(t)
	emu := emulator.New(emulator.Options{ExtraProperties: resumeProperties, Latency: resumeLatency})
	// The emulator behind a gate that applies the PUT of the item
	// resumeInFlight but holds its answer back: A dies knowing only its
	// intent, with the write applied upstream, the case the intent is for.
	applied := make(chan struct{})
	released := make(chan struct{})
	inFlightPath := "/properties/" + resumePropertyID(resumeInFlight) + "/contacts"
	upstreamSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != inFlightPath {
			emu.ServeHTTP(w, r)
			return
		}
		held := httptest.NewRecorder()
		emu.ServeHTTP(held, r)
		select {
		case applied <- struct{}{}:
		case <-r.Context().Done():
		case <-released:
		}
		select {
		case <-r.Context().Done(): // A was killed
		case <-released:
		}
		for k, v := range held.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(held.Code)
		_, _ = w.Write(held.Body.Bytes())
	}))
	t.Cleanup(func() {
		close(released)
		upstreamSrv.Close()
	})
	base := upstreamSrv.URL

	// Secrets by environment, as in production; nothing of the test's own
	// CONTACTS_* environment leaks in.
	env := []string{
		"CONTACTS_API_CLIENT_ID=" + emulator.DemoClientID,
		"CONTACTS_API_CLIENT_SECRET=" + emulator.DemoClientSecret,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTACTS_") {
			env = append(env, kv)
		}
	}
	args := []string{
		"-listen", "127.0.0.1:0",
		"-upstream", base,
		"-auth-url", base + "/token-based-authentication/exchange",
		"-redis-url", rds.URL(),
		"-operation-lease", resumeLease.String(),
		"-upstream-rate-per-minute", "1000000",
	}

	// 1. Replica A alone starts the operation.
	a := startContactsdWith(t, bin, env, args...)
	connA := dial(t, a.addr)
	clientA := contactsv1.NewContactsServiceClient(connA)
	opsA := longrunningpb.NewOperationsClient(connA)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	targets := make([]*contactsv1.BulkTarget, resumeProperties)
	for i := range targets {
		targets[i] = &contactsv1.BulkTarget{PropertyId: resumePropertyID(i)}
	}
	started, err := clientA.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{
		Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
		Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{resumeContact()}}},
	})
	if err != nil {
		t.Fatalf("BulkEditProfile through A: %v", err)
	}
	name := started.GetName()

	// Until some items are done, but not all.
	var beforeKill *contactsv1.BulkEditMetadata
	for {
		op, err := opsA.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		if err != nil {
			t.Fatalf("GetOperation through A: %v\n%s", err, a.logText())
		}
		md := resumeMetadata(t, op)
		if op.GetDone() {
			t.Fatalf("the operation ended on A before it could be killed (%v): make the job slower", md)
		}
		if md.GetChanged() >= resumeKillAfter {
			beforeKill = md
			break
		}
		pollWait(t, ctx)
	}

	// 2. Replica B joins; A dies, with the PUT of item resumeInFlight
	// applied upstream but not answered.
	b := startContactsdWith(t, bin, env, args...)
	connB := dial(t, b.addr)
	clientB := contactsv1.NewContactsServiceClient(connB)
	opsB := longrunningpb.NewOperationsClient(connB)
	select {
	case <-applied:
	case <-ctx.Done():
		t.Fatalf("A never sent the PUT of item %d: %v\n%s", resumeInFlight, ctx.Err(), a.logText())
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-a.drained
	_ = a.cmd.Wait() // "signal: killed"
	op, err := opsB.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
	if err != nil {
		t.Fatalf("GetOperation through B: %v\n%s", err, b.logText())
	}
	atKill := resumeMetadata(t, op)
	putsAtKill := 0
	for i := range resumeProperties {
		putsAtKill += emu.Puts(int32(emulator.FirstExtraProperty + i))
	}

	// 3. B finishes it.
	for !op.GetDone() {
		op, err = opsB.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(5 * time.Second)})
		if err != nil {
			t.Fatalf("WaitOperation through B: %v\nB's log:\n%s", err, b.logText())
		}
	}
	took := time.Since(killed)
	md := resumeMetadata(t, op)
	t.Logf("lease %v; A had changed %d items at the last poll, %d were recorded and %d PUTs sent when it was killed; "+
		"B finished the operation %v after the kill (%d changed, %d unchanged, %d failed)",
		resumeLease, beforeKill.GetChanged(), atKill.GetChanged(), putsAtKill, took.Round(time.Millisecond),
		md.GetChanged(), md.GetUnchanged(), md.GetFailed())

	if e := op.GetError(); e != nil {
		t.Fatalf("the operation ended with an error: %v\nB's log:\n%s", e, b.logText())
	}
	if md.GetChanged() != resumeProperties || md.GetUnchanged() != 0 || md.GetFailed() != 0 || md.GetCancelled() != 0 || md.GetRemaining() != 0 {
		t.Errorf("counts: changed %d unchanged %d failed %d cancelled %d remaining %d, want %d changed and nothing else",
			md.GetChanged(), md.GetUnchanged(), md.GetFailed(), md.GetCancelled(), md.GetRemaining(), resumeProperties)
	}
	for id, st := range md.GetFailedRequests() {
		t.Errorf("item %d failed: %v", id, st)
	}

	// The key assertion: no property was written twice, none was skipped.
	for i := range resumeProperties {
		if n := emu.Puts(int32(emulator.FirstExtraProperty + i)); n != 1 {
			t.Errorf("property %s: %d PUTs upstream, want exactly 1", resumePropertyID(i), n)
		}
	}

	resp := new(contactsv1.BulkEditResponse)
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response: %v", err)
	}
	if len(resp.GetResults()) != resumeProperties {
		t.Fatalf("%d results, want %d", len(resp.GetResults()), resumeProperties)
	}
	// The properties' etags now, read through B a few at a time.
	etags := make([]string, resumeProperties)
	readErrs := make([]error, resumeProperties)
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i := range resumeProperties {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			cur, err := clientB.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: resumePropertyID(i)})
			etags[i], readErrs[i] = cur.GetEtag(), err
		})
	}
	wg.Wait()
	for i, r := range resp.GetResults() {
		id := resumePropertyID(i)
		if r.GetIndex() != int32(i) || r.GetPropertyId() != id || r.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED {
			t.Errorf("result %d: %v, want property %s CHANGED", i, r, id)
			continue
		}
		if readErrs[i] != nil {
			t.Fatalf("ListContacts %s through B: %v", id, readErrs[i])
		}
		if r.GetEtagAfter() == "" || r.GetEtagAfter() != etags[i] {
			t.Errorf("property %s: etag_after %q, the property's etag now %q", id, r.GetEtagAfter(), etags[i])
		}
		if r.GetEtagBefore() == "" || r.GetEtagBefore() == r.GetEtagAfter() {
			t.Errorf("property %s: etag_before %q, etag_after %q: want the etag before the change", id, r.GetEtagBefore(), r.GetEtagAfter())
		}
	}
	if r := resp.GetResults()[resumeInFlight]; !t.Failed() {
		t.Logf("item %d (PUT applied, A killed before the answer): %v, resumed by B without a second PUT", resumeInFlight, r.GetOutcome())
	}
	if t.Failed() {
		t.Logf("B's log:\n%s", b.logText())
	}
	b.stop(t)
}

func resumePropertyID(i int) string { return strconv.Itoa(emulator.FirstExtraProperty + i) }

// resumeContact is the RESERVATIONS contact the operation sets.
func resumeContact() *contactsv1.Contact {
	return &contactsv1.Contact{
		Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS},
		ContactPerson: &contactsv1.ContactPerson{Name: "Resume Test", LanguageCode: "en-gb", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
		Email:         "bookings@example.com",
	}
}

func resumeMetadata(t *testing.T, op *longrunningpb.Operation) *contactsv1.BulkEditMetadata {
	t.Helper()
	md := new(contactsv1.BulkEditMetadata)
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("metadata of %s: %v", op.GetName(), err)
	}
	return md
}

// dial is a plaintext gRPC client of addr, closed when the test ends.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// pollWait waits one poll interval, or fails the test when ctx ends.
func pollWait(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-time.After(resumePoll):
	case <-ctx.Done():
		t.Fatalf("gave up polling: %v", ctx.Err())
	}
}
