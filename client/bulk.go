package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Reasons of a bulk operation that ended with an error
// (BulkResult.Err), and of the Operations calls.
const (
	// ReasonOperationCancelled: CANCELLED, the operation was cancelled
	// (CancelOperation); BulkResult.Results holds the partial results.
	ReasonOperationCancelled = "OPERATION_CANCELLED"
	// ReasonOperationItemsFailed: ABORTED, every item failed; each one's
	// status is in BulkResult.Failures.
	ReasonOperationItemsFailed = "OPERATION_ITEMS_FAILED"
	// ReasonOperationNotFound: NOT_FOUND, the caller has no operation of
	// this name (never started, deleted, past its retention, or another
	// caller's).
	ReasonOperationNotFound = "OPERATION_NOT_FOUND"
	// ReasonOperationRunning: FAILED_PRECONDITION, RevertBulkEdit or
	// DeleteOperation of an operation that has not ended.
	ReasonOperationRunning = "OPERATION_RUNNING"
	// ReasonOperationNotRevertible: FAILED_PRECONDITION, RevertBulkEdit of
	// a dry run or of an operation that changed nothing.
	ReasonOperationNotRevertible = "OPERATION_NOT_REVERTIBLE"
)

// WaitCallTimeout bounds each WaitOperation call that Client.WaitOperation
// makes: the server answers at its end with the operation as it stands,
// and Client.WaitOperation reports the progress and asks again.
const WaitCallTimeout = 10 * time.Second

// BulkResult is a bulk operation (BulkEditProfile, ApplyContactsTemplate,
// RevertBulkEdit) decoded: its metadata, and once it is done its per-item
// results and its error.
type BulkResult struct {
	// Operation is the operation as the server answered it.
	Operation *longrunningpb.Operation
	// Metadata is its progress: counts, failed_requests, estimate.
	Metadata *contactsv1.BulkEditMetadata
	// Results holds one result per item, in the order of the request's
	// targets, once the operation is done: from its response, or for a
	// cancelled operation or one whose every item failed, from its error's
	// details. Nil while it runs.
	Results []*contactsv1.BulkItemResult
}

// NewBulkResult decodes op, an operation of a bulk RPC, as any call of
// the Operations service or the bulk RPCs themselves answer it.
func NewBulkResult(op *longrunningpb.Operation) (*BulkResult, error) {
	r := &BulkResult{Operation: op, Metadata: new(contactsv1.BulkEditMetadata)}
	if err := op.GetMetadata().UnmarshalTo(r.Metadata); err != nil {
		return nil, fmt.Errorf("operation %q: metadata: %w", op.GetName(), err)
	}
	switch {
	case !op.GetDone():
	case op.GetError() != nil:
		for _, d := range status.FromProto(op.GetError()).Details() {
			if resp, ok := d.(*contactsv1.BulkEditResponse); ok {
				r.Results = resp.GetResults()
				break
			}
		}
	default:
		resp := new(contactsv1.BulkEditResponse)
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			return nil, fmt.Errorf("operation %q: response: %w", op.GetName(), err)
		}
		r.Results = resp.GetResults()
	}
	return r, nil
}

// Done reports whether the operation has ended.
func (r *BulkResult) Done() bool { return r.Operation.GetDone() }

// Err is the operation's error: nil while it runs, and when it ran to its
// end, even with some failed items (see Failures). CANCELLED
// (ReasonOperationCancelled) or ABORTED (ReasonOperationItemsFailed)
// otherwise; ErrorInfo reads its reason.
func (r *BulkResult) Err() error {
	if e := r.Operation.GetError(); e != nil {
		return status.FromProto(e).Err()
	}
	return nil
}

// FailedRequest returns the status of the item at index (its index in the
// request's targets) if it failed: the status the single call would have
// returned, with the same details, so ErrorInfo, OTACode,
// FieldViolations and EtagMismatch read its Err.
func (r *BulkResult) FailedRequest(index int) (*status.Status, bool) {
	p, ok := r.Metadata.GetFailedRequests()[int32(index)]
	if !ok {
		return nil, false
	}
	return status.FromProto(p), true
}

// Failures yields each failed item's index and status, by index.
func (r *BulkResult) Failures() iter.Seq2[int, *status.Status] {
	return func(yield func(int, *status.Status) bool) {
		failed := r.Metadata.GetFailedRequests()
		for _, i := range slices.Sorted(maps.Keys(failed)) {
			if !yield(int(i), status.FromProto(failed[i])) {
				return
			}
		}
	}
}

// WaitOperation waits for the bulk operation name to end, and returns it
// decoded. It calls the Operations service's WaitOperation again and
// again, each call bounded by WaitCallTimeout, and calls progress (when
// not nil) with the metadata of each answer, the last one included.
//
// Its error is that of the waiting (ctx done, the operation unknown to
// this caller, the server unreachable): the operation goes on on the
// server, and can be waited for again by name. An operation that ended
// with an error is not an error here: see BulkResult.Err.
func (c *Client) WaitOperation(ctx context.Context, name string, progress func(*contactsv1.BulkEditMetadata)) (*BulkResult, error) {
	for {
		op, err := c.waitOnce(ctx, name)
		switch {
		case err == nil:
		case status.Code(err) == codes.DeadlineExceeded && ctx.Err() == nil:
			continue // this call's own bound, not the caller's: ask again
		case ctx.Err() != nil:
			return nil, errors.Join(err, ctx.Err())
		default:
			return nil, err
		}
		r, err := NewBulkResult(op)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(r.Metadata)
		}
		if r.Done() {
			return r, nil
		}
	}
}

// waitOnce is one WaitOperation call of at most WaitCallTimeout.
func (c *Client) waitOnce(ctx context.Context, name string) (*longrunningpb.Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, WaitCallTimeout)
	defer cancel()
	return c.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(WaitCallTimeout)})
}
