package client_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestOperationReasonsMatchServer: the client repeats the server's
// reasons of the operations.
func TestOperationReasonsMatchServer(t *testing.T) {
	for c, s := range map[string]contactsv1.ErrorReason{
		client.ReasonOperationCancelled:     contactsv1.ErrorReason_OPERATION_CANCELLED,
		client.ReasonOperationItemsFailed:   contactsv1.ErrorReason_OPERATION_ITEMS_FAILED,
		client.ReasonOperationNotFound:      contactsv1.ErrorReason_OPERATION_NOT_FOUND,
		client.ReasonOperationRunning:       contactsv1.ErrorReason_OPERATION_RUNNING,
		client.ReasonOperationNotRevertible: contactsv1.ErrorReason_OPERATION_NOT_REVERTIBLE,
	} {
		if c != s.String() {
			t.Errorf("client has %q, server %q", c, s)
		}
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// bulkOp is an operation of a bulk RPC with md, done or not.
func bulkOp(t *testing.T, md *contactsv1.BulkEditMetadata, done bool) *longrunningpb.Operation {
	t.Helper()
	return &longrunningpb.Operation{Name: "operations/test", Metadata: mustAny(t, md), Done: done}
}

// threeResults are the results of an operation of three targets, the
// middle one failed.
func threeResults() *contactsv1.BulkEditResponse {
	return &contactsv1.BulkEditResponse{Results: []*contactsv1.BulkItemResult{
		{Index: 0, PropertyId: "1000001", Outcome: contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED},
		{Index: 1, PropertyId: "9999999", Outcome: contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_FAILED},
		{Index: 2, PropertyId: "1000002", Outcome: contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CANCELLED},
	}}
}

func TestNewBulkResult(t *testing.T) {
	md := &contactsv1.BulkEditMetadata{Method: "BulkEditProfile", Total: 3, Changed: 1, Failed: 1, Cancelled: 1}
	running := bulkOp(t, &contactsv1.BulkEditMetadata{Total: 3, Remaining: 3}, false)
	succeeded := bulkOp(t, md, true)
	succeeded.Result = &longrunningpb.Operation_Response{Response: mustAny(t, threeResults())}
	cancelled := bulkOp(t, md, true)
	st, err := status.New(codes.Canceled, "cancelled").WithDetails(
		&errdetails.ErrorInfo{Reason: client.ReasonOperationCancelled, Domain: client.Domain}, threeResults())
	if err != nil {
		t.Fatal(err)
	}
	cancelled.Result = &longrunningpb.Operation_Error{Error: st.Proto()}
	bare := bulkOp(t, md, true) // an error without results
	bare.Result = &longrunningpb.Operation_Error{Error: &spb.Status{Code: int32(codes.Internal), Message: "lost"}}

	for _, c := range []struct {
		name    string
		op      *longrunningpb.Operation
		done    bool
		code    codes.Code
		reason  string
		results int
	}{
		{"running", running, false, codes.OK, "", 0},
		{"succeeded", succeeded, true, codes.OK, "", 3},
		{"cancelled", cancelled, true, codes.Canceled, client.ReasonOperationCancelled, 3},
		{"error without results", bare, true, codes.Internal, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := client.NewBulkResult(c.op)
			if err != nil {
				t.Fatal(err)
			}
			if r.Done() != c.done || status.Code(r.Err()) != c.code || client.ErrorInfo(r.Err()).GetReason() != c.reason {
				t.Errorf("done %v, error %v; want done %v, %v %s", r.Done(), r.Err(), c.done, c.code, c.reason)
			}
			if c.code == codes.OK && r.Err() != nil {
				t.Errorf("error %v, want nil", r.Err())
			}
			if len(r.Results) != c.results {
				t.Fatalf("%d results, want %d", len(r.Results), c.results)
			}
			if c.results > 0 {
				if diff := cmp.Diff(threeResults().GetResults(), r.Results, protocmp.Transform()); diff != "" {
					t.Errorf("results (-want +got):\n%s", diff)
				}
			}
			if !proto.Equal(r.Metadata, mustUnpack(t, c.op.GetMetadata())) {
				t.Errorf("metadata %v", r.Metadata)
			}
		})
	}

	// Not the operation of a bulk RPC, or a response that is not a
	// BulkEditResponse: an error, not an empty result.
	other := &longrunningpb.Operation{Name: "operations/x", Metadata: mustAny(t, &errdetails.ErrorInfo{})}
	if _, err := client.NewBulkResult(other); err == nil {
		t.Error("metadata of another type: no error")
	}
	wrongResponse := bulkOp(t, md, true)
	wrongResponse.Result = &longrunningpb.Operation_Response{Response: mustAny(t, &errdetails.ErrorInfo{})}
	if _, err := client.NewBulkResult(wrongResponse); err == nil {
		t.Error("response of another type: no error")
	}
}

func mustUnpack(t *testing.T, a *anypb.Any) proto.Message {
	t.Helper()
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFailures: FailedRequest finds a failed item by its index, and
// Failures yields them all in the order of the indexes, whatever the
// map's; a loop that breaks stops it.
func TestFailures(t *testing.T) {
	failed := map[int32]*spb.Status{}
	indexes := []int{2048, 3, 700, 17, 42}
	for _, i := range indexes {
		st, err := status.New(codes.NotFound, "not found").WithDetails(&errdetails.ErrorInfo{
			Reason: "NOT_FOUND", Domain: client.Domain, Metadata: map[string]string{client.MetaOTACode: "635", client.MetaPropertyID: string(rune('a' + i%26))}})
		if err != nil {
			t.Fatal(err)
		}
		failed[int32(i)] = st.Proto()
	}
	// A running operation's metadata already has the items that failed.
	r, err := client.NewBulkResult(bulkOp(t, &contactsv1.BulkEditMetadata{Total: 3000, Failed: 5, Remaining: 2995, FailedRequests: failed}, false))
	if err != nil {
		t.Fatal(err)
	}

	st, ok := r.FailedRequest(17)
	if !ok || st.Code() != codes.NotFound || client.OTACode(st.Err()) != "635" {
		t.Errorf("FailedRequest(17) = %v, %v", st, ok)
	}
	for _, i := range []int{0, 18, -1, 1 << 40} {
		if st, ok := r.FailedRequest(i); ok || st != nil {
			t.Errorf("FailedRequest(%d) = %v, %v; want none", i, st, ok)
		}
	}

	var got []int
	for i, st := range r.Failures() {
		if !proto.Equal(st.Proto(), failed[int32(i)]) {
			t.Errorf("index %d: status %v, want %v", i, st.Proto(), failed[int32(i)])
		}
		got = append(got, i)
	}
	if want := slices.Sorted(slices.Values(indexes)); !slices.Equal(got, want) {
		t.Errorf("Failures yields %v, want %v", got, want)
	}
	got = got[:0]
	for i := range r.Failures() {
		got = append(got, i)
		if len(got) == 2 {
			break
		}
	}
	if !slices.Equal(got, []int{3, 17}) {
		t.Errorf("broken off after two: %v, want [3 17]", got)
	}

	none, err := client.NewBulkResult(bulkOp(t, &contactsv1.BulkEditMetadata{Total: 1, Remaining: 1}, false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range none.Failures() {
		t.Errorf("no failure, yet Failures yields %d", i)
	}
}

// fakeOperations answers WaitOperation from a script: each call takes
// the next answer, or, past its end, waits for the call to end.
type fakeOperations struct {
	longrunningpb.UnimplementedOperationsServer
	mu      sync.Mutex
	script  []func() (*longrunningpb.Operation, error)
	calls   []*longrunningpb.WaitOperationRequest
	bounded []bool // whether each call came with a deadline of at most WaitCallTimeout
}

func (f *fakeOperations) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	d, ok := ctx.Deadline()
	f.bounded = append(f.bounded, ok && time.Until(d) <= client.WaitCallTimeout)
	var next func() (*longrunningpb.Operation, error)
	if len(f.script) > 0 {
		next, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if next == nil {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return next()
}

func serveOperations(t *testing.T, f *fakeOperations) *client.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	longrunningpb.RegisterOperationsServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return dialFake(t, client.Insecure(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
}

// TestWaitOperation: it asks again while the operation runs, and when a
// call ends at its own bound; reports the progress of each answer; and
// returns the operation once done.
func TestWaitOperation(t *testing.T) {
	answer := func(op *longrunningpb.Operation) func() (*longrunningpb.Operation, error) {
		return func() (*longrunningpb.Operation, error) { return op, nil }
	}
	done := bulkOp(t, &contactsv1.BulkEditMetadata{Total: 3, Changed: 3}, true)
	done.Result = &longrunningpb.Operation_Response{Response: mustAny(t, threeResults())}
	f := &fakeOperations{script: []func() (*longrunningpb.Operation, error){
		answer(bulkOp(t, &contactsv1.BulkEditMetadata{Total: 3, Remaining: 3}, false)),
		func() (*longrunningpb.Operation, error) {
			return nil, status.Error(codes.DeadlineExceeded, "this call's own deadline")
		},
		answer(bulkOp(t, &contactsv1.BulkEditMetadata{Total: 3, Changed: 1, Remaining: 2}, false)),
		answer(done),
	}}
	c := serveOperations(t, f)

	var remaining []int32
	r, err := c.WaitOperation(ctxT(t), "operations/test", func(md *contactsv1.BulkEditMetadata) {
		remaining = append(remaining, md.GetRemaining())
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Done() || r.Err() != nil || len(r.Results) != 3 {
		t.Errorf("result: done %v, error %v, %d results", r.Done(), r.Err(), len(r.Results))
	}
	if !slices.Equal(remaining, []int32{3, 2, 0}) {
		t.Errorf("progress saw remaining %v, want [3 2 0]", remaining)
	}
	if len(f.calls) != 4 {
		t.Fatalf("%d WaitOperation calls, want 4", len(f.calls))
	}
	for i, req := range f.calls {
		if req.GetName() != "operations/test" || req.GetTimeout().AsDuration() != client.WaitCallTimeout || !f.bounded[i] {
			t.Errorf("call %d: %v, deadline within WaitCallTimeout %v", i, req, f.bounded[i])
		}
	}
}

// TestWaitOperationErrors: an error of the waiting is returned at once,
// and the end of the caller's context ends the wait.
func TestWaitOperationErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		f := &fakeOperations{script: []func() (*longrunningpb.Operation, error){func() (*longrunningpb.Operation, error) {
			return nil, status.Error(codes.NotFound, "no such operation")
		}}}
		c := serveOperations(t, f)
		progress := 0
		_, err := c.WaitOperation(ctxT(t), "operations/gone", func(*contactsv1.BulkEditMetadata) { progress++ })
		if status.Code(err) != codes.NotFound || progress != 0 || len(f.calls) != 1 {
			t.Errorf("error %v after %d calls, %d progress reports; want NOT_FOUND after 1, none", err, len(f.calls), progress)
		}
	})
	t.Run("not a bulk operation", func(t *testing.T) {
		f := &fakeOperations{script: []func() (*longrunningpb.Operation, error){func() (*longrunningpb.Operation, error) {
			return &longrunningpb.Operation{Name: "operations/x"}, nil
		}}}
		c := serveOperations(t, f)
		if _, err := c.WaitOperation(ctxT(t), "operations/x", nil); err == nil {
			t.Error("an operation without metadata: no error")
		}
	})
	t.Run("caller's context", func(t *testing.T) {
		f := &fakeOperations{} // every call waits for its end
		c := serveOperations(t, f)
		ctx, cancel := context.WithCancel(ctxT(t))
		var err error
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			_, err = c.WaitOperation(ctx, "operations/test", nil)
		}()
		cancel()
		<-ended
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want one that is context.Canceled", err)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		f := &fakeOperations{}
		c := serveOperations(t, f)
		ctx, cancel := context.WithTimeout(ctxT(t), 50*time.Millisecond)
		defer cancel()
		_, err := c.WaitOperation(ctx, "operations/test", nil)
		if !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("error %v, want DEADLINE_EXCEEDED and context.DeadlineExceeded", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.calls) > 1 {
			t.Errorf("%d calls, want no call after the caller's deadline", len(f.calls))
		}
	})
}

// TestLargeOperationIsReceived: the operation of a 10,000-item job whose
// every item failed, each with a status of about 700 bytes (what the
// facade's NOT_FOUND carries), is over grpc-go's 4 MiB default, and Dial's
// client takes it.
func TestLargeOperationIsReceived(t *testing.T) {
	md := &contactsv1.BulkEditMetadata{Total: 10000, Failed: 10000, FailedRequests: map[int32]*spb.Status{}}
	for i := range int32(10000) {
		md.FailedRequests[i] = &spb.Status{Code: int32(codes.NotFound), Message: strings.Repeat("x", 690)}
	}
	op := bulkOp(t, md, true)
	op.Result = &longrunningpb.Operation_Error{Error: &spb.Status{Code: int32(codes.Aborted), Message: "every item failed"}}
	if n := proto.Size(op); n <= 4<<20 || n > client.MaxRecvBytes {
		t.Fatalf("the operation is %d bytes: the test needs one between 4 MiB and MaxRecvBytes", n)
	}
	f := &fakeOperations{script: []func() (*longrunningpb.Operation, error){func() (*longrunningpb.Operation, error) { return op, nil }}}
	c := serveOperations(t, f)
	r, err := c.WaitOperation(ctxT(t), "operations/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Metadata.GetFailedRequests()) != 10000 {
		t.Errorf("%d failed requests received", len(r.Metadata.GetFailedRequests()))
	}
}
