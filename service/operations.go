package service

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// The google.longrunning.Operations service of the bulk operations. A
// caller sees only the operations it started, and only while the policy
// lets it call the RPC that started them: any other name is
// OPERATION_NOT_FOUND, whether it exists or not.

// Limits of the Operations service.
const (
	// DefaultOperationsPageSize and MaxOperationsPageSize bound a page of
	// ListOperations (AIP-158).
	DefaultOperationsPageSize = 50
	MaxOperationsPageSize     = 1000
	// waitPoll is how often WaitOperation looks at the operation.
	waitPoll = 250 * time.Millisecond
)

// operations implements longrunningpb.OperationsServer over the service.
type operations struct {
	longrunningpb.UnimplementedOperationsServer
	s *Service
}

// The safe-edit style rows of the operations' errors.
var (
	rowOperationNotFound = safeRow{codes.NotFound, contactsv1.ErrorReason_OPERATION_NOT_FOUND,
		"no operation of this caller has this name: it never existed, was deleted, or is past its retention"}
	rowOperationRunning = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_OPERATION_RUNNING,
		"the operation is still running: wait for it (WaitOperation) or cancel it (CancelOperation) first"}
	rowOperationNotRevertible = safeRow{codes.FailedPrecondition, contactsv1.ErrorReason_OPERATION_NOT_REVERTIBLE,
		"the operation changed no property (or was a dry run): there is nothing to revert"}
	rowOperationCancelled = safeRow{codes.Canceled, contactsv1.ErrorReason_OPERATION_CANCELLED,
		"the operation was cancelled; the metadata counts what ran and the details hold the partial results"}
	rowOperationItemsFailed = safeRow{codes.Aborted, contactsv1.ErrorReason_OPERATION_ITEMS_FAILED,
		"every item of the operation failed; metadata.failed_requests holds each item's status"}
)

// operationStatus is the status of row about operation name, with a
// ResourceInfo naming it.
func operationStatus(row safeRow, name string) error {
	return safeStatus(row, errmap.Call{}, "", map[string]string{MetaOperation: boundName(name)},
		&errdetails.ResourceInfo{ResourceType: "google.longrunning.Operation", ResourceName: boundName(name)})
}

// boundName keeps a name from a request that goes into a status within
// bounds (it may be anything a caller sent).
func boundName(name string) string {
	if len(name) > 80 || !validOperationName(name) {
		return "invalid"
	}
	return name
}

// operationsDown is the status of a Store that failed: the shared state
// (Redis) does not answer.
func (s *Service) operationsDown(c errmap.Call, err error) error {
	return waitFailed(c, err)
}

// own returns the header of operation name when the caller of ctx's call
// started it and may still call the RPC that did; else the refusal
// (INVALID_ARGUMENT for a name that is not one, OPERATION_NOT_FOUND,
// CALLER_NOT_ALLOWED).
func (o *operations) own(ctx context.Context, name string) (bulk.Header, error) {
	s := o.s
	id := s.gate.Caller(ctx)
	if !validOperationName(name) {
		return bulk.Header{}, errmap.Invalid([]errmap.Violation{{Field: "name", OTACode: otaInvalid,
			Description: `name must be the name of an operation, e.g. "operations/0123abcd..."`}}, errmap.Call{}).Err()
	}
	h, err := s.ownOperation(ctx, id, name)
	if err != nil {
		return h, err
	}
	if err := s.gate.MayCall(ctx, id, methodName(h.Method)); err != nil {
		return bulk.Header{}, err
	}
	return h, nil
}

func methodName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// GetOperation implements google.longrunning.Operations.GetOperation.
func (o *operations) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	h, err := o.own(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return o.s.operationOf(ctx, h, nil)
}

// WaitOperation implements google.longrunning.Operations.WaitOperation: it
// answers when the operation ends, or at the end of timeout (default and
// at most the service's DefaultTimeout) or of the call's deadline, with
// the operation as it stands.
func (o *operations) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	h, err := o.own(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	wait := o.s.timeout
	if t := req.GetTimeout(); t != nil && t.AsDuration() > 0 {
		wait = min(wait, t.AsDuration())
	}
	if d, ok := ctx.Deadline(); ok {
		// Answer a little before the caller gives up, so that it gets the
		// operation rather than DEADLINE_EXCEEDED.
		wait = min(wait, time.Until(d)*9/10)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for !h.Done() {
		select {
		case <-tick.C:
		case <-timer.C:
			return o.s.operationOf(ctx, h, nil)
		case <-ctx.Done():
			return nil, errmap.Translate(ctx.Err(), errmap.Call{Method: upstream.MethodGet}).Err()
		}
		if h, err = o.s.ops.Get(ctx, h.Name); err != nil {
			if errors.Is(err, bulk.ErrNotFound) {
				return nil, operationStatus(rowOperationNotFound, req.GetName())
			}
			return nil, o.s.operationsDown(errmap.Call{Method: upstream.MethodGet}, err)
		}
	}
	return o.s.operationOf(ctx, h, nil)
}

// ListOperations implements google.longrunning.Operations.ListOperations:
// the caller's operations, newest first. name must be "" or "operations";
// filter is empty, or "done = true" or "done = false" (AIP-160's syntax,
// for the one field it makes sense to filter on).
func (o *operations) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	s := o.s
	id := s.gate.Caller(ctx)
	var vs violations
	if n := req.GetName(); n != "" && n != "operations" {
		vs.add("name", otaInvalid, `name must be empty or "operations"`)
	}
	done, filtered, ok := parseDoneFilter(req.GetFilter())
	if !ok {
		vs.add("filter", otaInvalid, `filter must be empty, "done = true" or "done = false" (AIP-160)`)
	}
	if req.GetPageSize() < 0 {
		vs.add("page_size", otaInvalid, "page_size must not be negative")
	}
	after, ok := decodePageToken(req.GetPageToken())
	if !ok {
		vs.add("page_token", otaInvalid, "page_token must be a next_page_token of an earlier ListOperations")
	}
	c := errmap.Call{Method: upstream.MethodGet}
	if len(vs) > 0 {
		return nil, errmap.Invalid(vs, c).Err()
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = DefaultOperationsPageSize
	}
	size = min(size, MaxOperationsPageSize)
	all, err := s.ops.List(ctx, id.Name)
	if err != nil {
		return nil, s.operationsDown(c, err)
	}
	resp := &longrunningpb.ListOperationsResponse{}
	var last bulk.Header // of the page
	for _, h := range all {
		if after != "" && !listedAfter(h, after) {
			continue
		}
		if !s.gate.Allows(id, methodName(h.Method)) || (filtered && h.Done() != done) {
			continue
		}
		if len(resp.Operations) == size {
			resp.NextPageToken = encodePageToken(last)
			break
		}
		op, err := s.operationOf(ctx, h, nil)
		if err != nil {
			return nil, err
		}
		resp.Operations = append(resp.Operations, op)
		last = h
	}
	return resp, nil
}

// parseDoneFilter reads a ListOperations filter: "" (filtered false), or
// "done = true" / "done = false", spaces optional around "=".
func parseDoneFilter(f string) (done, filtered, ok bool) {
	f = strings.TrimSpace(f)
	if f == "" {
		return false, false, true
	}
	field, value, found := strings.Cut(f, "=")
	if !found || strings.TrimSpace(field) != "done" {
		return false, false, false
	}
	switch strings.TrimSpace(value) {
	case "true":
		return true, true, true
	case "false":
		return false, true, true
	}
	return false, false, false
}

// A page token is the position after the last operation of a page: its
// creation time and name, the order of List.
func encodePageToken(last bulk.Header) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.Created.UnixNano(), 10) + " " + last.Name))
}

func decodePageToken(tok string) (string, bool) {
	if tok == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	ns, name, ok := strings.Cut(string(b), " ")
	if _, err := strconv.ParseInt(ns, 10, 64); !ok || err != nil || !validOperationName(name) {
		return "", false
	}
	return string(b), true
}

// listedAfter reports whether h comes after the position after in the
// order of List (newest first, then by name).
func listedAfter(h bulk.Header, after string) bool {
	ns, name, _ := strings.Cut(after, " ")
	at, _ := strconv.ParseInt(ns, 10, 64)
	created := h.Created.UnixNano()
	return created < at || (created == at && h.Name > name)
}

// CancelOperation implements google.longrunning.Operations.CancelOperation:
// no new item of the operation starts; the items in flight finish, and the
// operation ends with CANCELLED and its partial results. Cancelling an
// operation that ended changes nothing.
func (o *operations) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	h, err := o.own(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if h.Done() {
		return &emptypb.Empty{}, nil
	}
	if err := o.s.ops.Cancel(ctx, h.Name); err != nil && !errors.Is(err, bulk.ErrNotFound) {
		return nil, o.s.operationsDown(errmap.Call{}, err)
	}
	return &emptypb.Empty{}, nil
}

// DeleteOperation implements google.longrunning.Operations.DeleteOperation:
// the facade forgets an operation that ended. A running one is
// FAILED_PRECONDITION OPERATION_RUNNING: cancel it first.
func (o *operations) DeleteOperation(ctx context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	h, err := o.own(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if !h.Done() {
		return nil, operationStatus(rowOperationRunning, h.Name)
	}
	if err := o.s.ops.Delete(ctx, h.Name); err != nil && !errors.Is(err, bulk.ErrNotFound) {
		return nil, o.s.operationsDown(errmap.Call{}, err)
	}
	return &emptypb.Empty{}, nil
}

// registerOperations registers the Operations service on r.
func (s *Service) registerOperations(r grpc.ServiceRegistrar) {
	longrunningpb.RegisterOperationsServer(r, &operations{s: s})
}
