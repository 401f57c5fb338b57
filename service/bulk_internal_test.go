package service

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// memUpstream is an upstream in memory: every property it is asked about
// exists, with one GENERAL contact at first. It counts PUTs per property
// and records the governor class of every call. With hold set, each PUT
// first says so on started, is applied, and then waits for hold to close
// (or its context to end, which it returns).
type memUpstream struct {
	hold    chan struct{}
	started chan string
	// fail answers the n-th PUT (from 1) with a 503, after applying it
	// when applied is set.
	fail func(n int) (fail, applied bool)

	mu       sync.Mutex
	props    map[string][]*contactsv1.Contact
	puts     map[string]int
	attempts int
	classes  map[governor.Class]int
}

func newMemUpstream() *memUpstream {
	return &memUpstream{props: map[string][]*contactsv1.Contact{}, puts: map[string]int{}, classes: map[governor.Class]int{}}
}

func (u *memUpstream) contacts(id string) []*contactsv1.Contact {
	cs, ok := u.props[id]
	if !ok {
		g := requestContacts()[0]
		g.Email = "general." + id + "@example.com"
		cs = []*contactsv1.Contact{g}
		u.props[id] = cs
	}
	return cs
}

func (u *memUpstream) List(ctx context.Context, id string, _ bool) (*contactsv1.ListContactsResponse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.classes[governor.ClassOf(ctx)]++
	return &contactsv1.ListContactsResponse{Contacts: u.contacts(id), RequestId: "ruid-get-" + id}, nil
}

func (u *memUpstream) Replace(ctx context.Context, id string, cs []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	u.mu.Lock()
	u.classes[governor.ClassOf(ctx)]++
	u.attempts++
	if u.fail != nil {
		if fail, applied := u.fail(u.attempts); fail {
			if applied {
				u.props[id] = cs
				u.puts[id]++
			}
			u.mu.Unlock()
			return nil, &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 503}
		}
	}
	u.props[id] = cs
	u.puts[id]++
	u.mu.Unlock()
	if u.hold != nil {
		u.started <- id
		select {
		case <-u.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &contactsv1.ReplaceContactsResponse{RequestId: "ruid-put-" + id}, nil
}

func (u *memUpstream) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	panic("not used")
}

func (u *memUpstream) putsOf(id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.puts[id]
}

// bulkTargets are n properties, "1" to "n".
func bulkTargets(n int) []*contactsv1.BulkTarget {
	out := make([]*contactsv1.BulkTarget, n)
	for i := range out {
		out[i] = &contactsv1.BulkTarget{PropertyId: strconv.Itoa(i + 1)}
	}
	return out
}

// setInvoices is the bulk edit of these tests: one INVOICES contact.
func setInvoices(targets []*contactsv1.BulkTarget) *contactsv1.BulkEditProfileRequest {
	c := requestContacts()[0]
	c.Profiles, c.Email = nil, "invoices@example.com"
	return &contactsv1.BulkEditProfileRequest{Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{c}}}}
}

// waitFor waits for the operation to end.
func waitFor(t *testing.T, ops *operations, ctx context.Context, name string) *longrunningpb.Operation {
	t.Helper()
	for {
		op, err := ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name})
		if err != nil {
			t.Fatalf("WaitOperation: %v", err)
		}
		if op.GetDone() {
			return op
		}
	}
}

func opMetadata(t *testing.T, op *longrunningpb.Operation) *contactsv1.BulkEditMetadata {
	t.Helper()
	md := new(contactsv1.BulkEditMetadata)
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatal(err)
	}
	return md
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// TestBulkCancel: CancelOperation starts no new item; the items in flight
// finish; the operation ends CANCELLED, OPERATION_CANCELLED, with its
// partial results in the error's details and the others CANCELLED.
func TestBulkCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		up.hold, up.started = make(chan struct{}), make(chan string, 20)
		s := newForTest(t, up, nil)
		defer s.Close()
		ops := &operations{s: s}
		ctx := t.Context()
		started, err := s.BulkEditProfile(ctx, setInvoices(bulkTargets(20)))
		if err != nil {
			t.Fatal(err)
		}
		for range BulkConcurrency {
			<-up.started
		}
		if _, err := ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: started.GetName()}); err != nil {
			t.Fatal(err)
		}
		op, err := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: started.GetName()})
		if err != nil || op.GetDone() || !opMetadata(t, op).GetCancelRequested() {
			t.Fatalf("after the cancel, with items in flight: %v, %v", op, err)
		}
		close(up.hold)
		op = waitFor(t, ops, ctx, started.GetName())
		md := opMetadata(t, op)
		if md.GetChanged() != BulkConcurrency || md.GetCancelled() != 20-BulkConcurrency || md.GetRemaining() != 0 {
			t.Errorf("metadata %v: want %d changed, the rest cancelled", md, BulkConcurrency)
		}
		st := status.FromProto(op.GetError())
		if st.Code() != codes.Canceled || reasonOf(st.Err()) != "OPERATION_CANCELLED" {
			t.Fatalf("error %v, want CANCELLED OPERATION_CANCELLED", st)
		}
		var results []*contactsv1.BulkItemResult
		for _, d := range st.Details() {
			if r, ok := d.(*contactsv1.BulkEditResponse); ok {
				results = r.GetResults()
			}
		}
		if len(results) != 20 {
			t.Fatalf("%d partial results, want 20", len(results))
		}
		for i, r := range results {
			want := contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CANCELLED
			if i < BulkConcurrency {
				want = contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED
			}
			if r.GetOutcome() != want || up.putsOf(r.GetPropertyId()) != map[bool]int{true: 1, false: 0}[i < BulkConcurrency] {
				t.Errorf("item %d: %v with %d PUTs", i, r, up.putsOf(r.GetPropertyId()))
			}
		}
	})
}

// TestResumedItemIsNotWrittenTwice: a replica stops while an item's PUT
// is in flight (applied upstream, its outcome not recorded). The operation
// is resumed by another service over the same store: the item finds its
// own write, counts it as changed with the etag from before it, and no
// property is written twice.
func TestResumedItemIsNotWrittenTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		up.hold, up.started = make(chan struct{}), make(chan string, 20)
		store := bulk.NewMemory(0, nil)
		first, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), Operations: store})
		if err != nil {
			t.Fatal(err)
		}
		before := safeedit.Etag(up.contacts("1"))
		started, err := first.BulkEditProfile(t.Context(), setInvoices(bulkTargets(6)))
		if err != nil {
			t.Fatal(err)
		}
		for range BulkConcurrency {
			<-up.started // items 1-4 are applied upstream, their answers held
		}
		first.Close() // the replica stops: their outcomes are never recorded
		up.hold = nil

		second, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), Operations: store})
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close()
		op := waitFor(t, &operations{s: second}, t.Context(), started.GetName())
		if md := opMetadata(t, op); md.GetChanged() != 6 || md.GetFailed() != 0 {
			t.Fatalf("metadata %v, want 6 changed", md)
		}
		res := new(contactsv1.BulkEditResponse)
		if err := op.GetResponse().UnmarshalTo(res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res.GetResults() {
			if n := up.putsOf(r.GetPropertyId()); n != 1 {
				t.Errorf("property %s written %d times", r.GetPropertyId(), n)
			}
		}
		if r := res.GetResults()[0]; r.GetEtagBefore() != before || r.GetEtagAfter() != safeedit.Etag(up.contacts("1")) {
			t.Errorf("resumed item: %v; etag before %s", r, before)
		}
		// The resumed items can be reverted: their contacts before were
		// kept with their intent.
		rev, err := second.RevertBulkEdit(t.Context(), &contactsv1.RevertBulkEditRequest{Name: started.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, &operations{s: second}, t.Context(), rev.GetName())
		if got := safeedit.Etag(up.contacts("1")); got != before {
			t.Errorf("after the revert: etag %s, want %s", got, before)
		}
	})
}

// asBulkCaller is ctx as a call of the named caller (see asCaller).
func asBulkCaller(t *testing.T, uri string) context.Context { return asCaller(t.Context(), uri) }

// TestOperationsBelongToTheirCaller: another caller sees none of a
// caller's operations (OPERATION_NOT_FOUND, an empty list); a running
// operation cannot be deleted; one that ended can, and is then gone; a
// caller whose grant no longer has the RPC that started it is refused.
func TestOperationsBelongToTheirCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		up.hold, up.started = make(chan struct{}), make(chan string, 20)
		holder := AllowAll()
		s, err := New(Config{Upstream: up, Policy: holder, Audit: NoAudit(),
			Callers: access.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ops := &operations{s: s}
		a, b := asBulkCaller(t, "spiffe://a"), asBulkCaller(t, "spiffe://b")
		started, err := s.BulkEditProfile(a, setInvoices(bulkTargets(5)))
		if err != nil {
			t.Fatal(err)
		}
		name := started.GetName()
		<-up.started
		notFound := func(what string, err error) {
			t.Helper()
			if status.Code(err) != codes.NotFound || reasonOf(err) != "OPERATION_NOT_FOUND" {
				t.Errorf("%s: %v, want NOT_FOUND OPERATION_NOT_FOUND", what, err)
			}
		}
		_, err = ops.GetOperation(b, &longrunningpb.GetOperationRequest{Name: name})
		notFound("b gets a's", err)
		_, err = ops.CancelOperation(b, &longrunningpb.CancelOperationRequest{Name: name})
		notFound("b cancels a's", err)
		_, err = ops.DeleteOperation(b, &longrunningpb.DeleteOperationRequest{Name: name})
		notFound("b deletes a's", err)
		_, err = s.RevertBulkEdit(b, &contactsv1.RevertBulkEditRequest{Name: name})
		notFound("b reverts a's", err)
		if l, err := ops.ListOperations(b, &longrunningpb.ListOperationsRequest{}); err != nil || len(l.GetOperations()) != 0 {
			t.Errorf("b lists %v, %v", l, err)
		}
		_, err = ops.DeleteOperation(a, &longrunningpb.DeleteOperationRequest{Name: name})
		if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "OPERATION_RUNNING" {
			t.Errorf("deleting a running operation: %v", err)
		}
		close(up.hold)
		waitFor(t, ops, a, name)
		if l, err := ops.ListOperations(a, &longrunningpb.ListOperationsRequest{}); err != nil || len(l.GetOperations()) != 1 || l.GetOperations()[0].GetName() != name {
			t.Errorf("a lists %v, %v", l, err)
		}

		// The policy changes: a may no longer start bulk edits.
		p, err := access.ParsePolicy([]byte("default:\n  rpcs: [read]\n"))
		if err != nil {
			t.Fatal(err)
		}
		holder.Store(p)
		_, err = ops.GetOperation(a, &longrunningpb.GetOperationRequest{Name: name})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("a without the grant: %v, want PERMISSION_DENIED", err)
		}
		holder.Store(access.AllowAll().Load())

		if _, err := ops.DeleteOperation(a, &longrunningpb.DeleteOperationRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
		_, err = ops.GetOperation(a, &longrunningpb.GetOperationRequest{Name: name})
		notFound("a gets its deleted one", err)
	})
}

// TestOperationRetention: an operation that ended is kept for the
// retention (7 days by default), then gone.
func TestOperationRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newForTest(t, newMemUpstream(), nil)
		defer s.Close()
		ops := &operations{s: s}
		started, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(2)))
		if err != nil {
			t.Fatal(err)
		}
		end := opMetadata(t, waitFor(t, ops, t.Context(), started.GetName())).GetEndTime().AsTime()
		time.Sleep(time.Until(end.Add(bulk.DefaultRetention - time.Second)))
		if _, err := ops.GetOperation(t.Context(), &longrunningpb.GetOperationRequest{Name: started.GetName()}); err != nil {
			t.Fatalf("a second before the end of its retention: %v", err)
		}
		time.Sleep(time.Second)
		_, err = ops.GetOperation(t.Context(), &longrunningpb.GetOperationRequest{Name: started.GetName()})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("at the end of its retention: %v, want NOT_FOUND", err)
		}
	})
}

// TestListOperationsPages: pages of ListOperations hold every operation
// once, newest first.
func TestListOperationsPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		s := newForTest(t, up, nil)
		defer s.Close()
		ops := &operations{s: s}
		var names []string
		for i := range 5 {
			op, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(i+1)))
			if err != nil {
				t.Fatal(err)
			}
			names = append([]string{op.GetName()}, names...)
			time.Sleep(time.Second) // each a second apart, on the bubble's clock
		}
		var got []string
		tok := ""
		for range 4 {
			page, err := ops.ListOperations(t.Context(), &longrunningpb.ListOperationsRequest{PageSize: 2, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range page.GetOperations() {
				got = append(got, op.GetName())
			}
			if tok = page.GetNextPageToken(); tok == "" {
				break
			}
		}
		if strings.Join(got, " ") != strings.Join(names, " ") {
			t.Errorf("listed %v, want %v", got, names)
		}
		_, err := ops.ListOperations(t.Context(), &longrunningpb.ListOperationsRequest{PageToken: "bm9wZQ"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("a made-up page token: %v", err)
		}

		// Filters: the newest is still running, the others ended.
		up.hold = make(chan struct{})
		up.started = make(chan string, 10)
		// A property none of the others wrote, so that its item writes.
		running, err := s.BulkEditProfile(t.Context(), setInvoices([]*contactsv1.BulkTarget{{PropertyId: "99"}}))
		if err != nil {
			t.Fatal(err)
		}
		<-up.started
		for _, tc := range []struct {
			filter string
			want   int
		}{{"done = false", 1}, {"done=true", 5}, {" done =  true ", 5}, {"", 6}} {
			page, err := ops.ListOperations(t.Context(), &longrunningpb.ListOperationsRequest{Filter: tc.filter})
			if err != nil || len(page.GetOperations()) != tc.want {
				t.Errorf("filter %q: %d operations, %v; want %d", tc.filter, len(page.GetOperations()), err, tc.want)
			}
		}
		for _, bad := range []string{"done = maybe", "name = x", "done"} {
			if _, err := ops.ListOperations(t.Context(), &longrunningpb.ListOperationsRequest{Filter: bad}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("filter %q: %v, want INVALID_ARGUMENT", bad, err)
			}
		}
		close(up.hold)
		waitFor(t, ops, t.Context(), running.GetName())
	})
}

// TestBulkItemsAreBulkClassAndAudited: every upstream call of an item is
// the governor's bulk class; each item's write has an audit record of
// the single call, naming the operation, with the item's derived
// request_id and no contact data.
func TestBulkItemsAreBulkClassAndAudited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		var trail bytes.Buffer
		var mu sync.Mutex
		s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: access.NewTrail(&lockedWriter{w: &trail, mu: &mu})})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		started, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(3)))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, &operations{s: s}, t.Context(), started.GetName())
		up.mu.Lock()
		if len(up.classes) != 1 || up.classes[governor.Bulk] != 6 {
			t.Errorf("upstream calls by class %v, want 6 bulk", up.classes)
		}
		up.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		var items int
		for line := range strings.Lines(trail.String()) {
			var rec access.Record
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.RPC == "BulkEditProfile" {
				continue
			}
			items++
			i, _ := strconv.Atoi(rec.PropertyID)
			if rec.RPC != "SetProfileContacts" || rec.Operation != started.GetName() || rec.RequestID != itemRequestID(started.GetName(), i-1) || rec.EtagAfter == "" {
				t.Errorf("item record %+v", rec)
			}
		}
		if items != 3 || strings.Contains(trail.String(), "@example.com") {
			t.Errorf("%d item records, want 3; trail:\n%s", items, trail.String())
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestItemRequestID: the derived key is a UUID, the same for the same
// operation and item, another for another item or operation.
func TestItemRequestID(t *testing.T) {
	a := itemRequestID("operations/abc", 0)
	if !safeedit.IsRequestID(a) || a != itemRequestID("operations/abc", 0) ||
		a == itemRequestID("operations/abc", 1) || a == itemRequestID("operations/abd", 0) {
		t.Errorf("itemRequestID: %s", a)
	}
	_ = proto.Clone
}

// TestBulkItemRetries: an item whose PUT fails for now (a 503) is tried
// again and succeeds; when the failed PUT had in fact been applied, the
// retry finds its own write and sends nothing. A failure a retry cannot
// change is not retried (TestBulkEditFailedRequests).
func TestBulkItemRetries(t *testing.T) {
	for _, applied := range []bool{false, true} {
		t.Run(map[bool]string{false: "not applied", true: "applied"}[applied], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				up := newMemUpstream()
				up.fail = func(n int) (bool, bool) { return n == 1, applied }
				s := newForTest(t, up, nil)
				defer s.Close()
				before := safeedit.Etag(up.contacts("1"))
				started, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(1)))
				if err != nil {
					t.Fatal(err)
				}
				op := waitFor(t, &operations{s: s}, t.Context(), started.GetName())
				res := new(contactsv1.BulkEditResponse)
				if err := op.GetResponse().UnmarshalTo(res); err != nil {
					t.Fatalf("operation %v: %v", op, err)
				}
				r := res.GetResults()[0]
				if r.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED || r.GetEtagBefore() != before ||
					r.GetEtagAfter() != safeedit.Etag(up.contacts("1")) {
					t.Errorf("result %v; etag before %s", r, before)
				}
				if up.putsOf("1") != 1 {
					t.Errorf("%d PUTs applied, want 1", up.putsOf("1"))
				}
				if want := map[bool]int{false: 2, true: 1}[applied]; up.attempts != want {
					t.Errorf("%d PUTs sent, want %d", up.attempts, want)
				}
			})
		})
	}
}

// TestRefusedStartIsNotRemembered: a start refused after its request_id
// was claimed (a revert of an operation still running) is not remembered:
// the same request, retried once the operation ended, starts the revert.
func TestRefusedStartIsNotRemembered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		up.hold, up.started = make(chan struct{}), make(chan string, 20)
		s := newForTest(t, up, nil)
		defer s.Close()
		started, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(1)))
		if err != nil {
			t.Fatal(err)
		}
		<-up.started
		revert := &contactsv1.RevertBulkEditRequest{Name: started.GetName(), RequestId: "0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e"}
		if _, err := s.RevertBulkEdit(t.Context(), revert); reasonOf(err) != "OPERATION_RUNNING" {
			t.Fatalf("revert of a running operation: %v", err)
		}
		close(up.hold)
		waitFor(t, &operations{s: s}, t.Context(), started.GetName())
		rev, err := s.RevertBulkEdit(t.Context(), revert)
		if err != nil || !strings.HasPrefix(rev.GetName(), "operations/") || rev.GetName() == started.GetName() {
			t.Fatalf("the retried revert: %v, %v", rev, err)
		}
		again, err := s.RevertBulkEdit(t.Context(), revert)
		if err != nil || again.GetName() != rev.GetName() {
			t.Errorf("a retry of the started revert: %v, %v; want %s", again.GetName(), err, rev.GetName())
		}
	})
}

// recordedMetrics records what a service tells its BulkMetrics.
type recordedMetrics struct {
	mu    sync.Mutex
	items map[string]int // "rpc outcome"
	ended []string       // "rpc result"
}

func (r *recordedMetrics) BulkItem(rpc, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[rpc+" "+outcome]++
}

func (r *recordedMetrics) BulkOperationEnded(rpc, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, rpc+" "+result)
}

// TestBulkMetricsAreTold: each item that ends, and each operation, is
// told to the service's BulkMetrics with its outcome.
func TestBulkMetricsAreTold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMemUpstream()
		m := &recordedMetrics{items: map[string]int{}}
		s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), BulkMetrics: m})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ops := &operations{s: s}
		first, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(3)))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, ops, t.Context(), first.GetName())
		again, err := s.BulkEditProfile(t.Context(), setInvoices(bulkTargets(2)))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, ops, t.Context(), again.GetName())
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.items["BulkEditProfile changed"] != 3 || m.items["BulkEditProfile unchanged"] != 2 || len(m.items) != 2 {
			t.Errorf("items told: %v", m.items)
		}
		if strings.Join(m.ended, ",") != "BulkEditProfile done,BulkEditProfile done" {
			t.Errorf("operations told: %v", m.ended)
		}
	})
}
