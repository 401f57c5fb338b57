package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// Bulk operations: BulkEditProfile, ApplyContactsTemplate and
// RevertBulkEdit start one (startBulk); a bulk.Runner takes it from the
// Store, here or on another replica, and runOperation runs its items, each
// the single call it stands for through write; operationOf answers what
// the Operations service shows of it.

// Limits and pacing of bulk operations.
const (
	// MaxBulkTargets is the most targets one bulk operation takes.
	MaxBulkTargets = 10000
	// BulkConcurrency is how many items of one operation run at once: a
	// few, so that one item's round trips do not idle the operation, and
	// the governor's bulk share, not the operation, sets the pace.
	BulkConcurrency = 4
	// operationsPrefix starts every operation's name.
	operationsPrefix = "operations/"
)

// OperationStore keeps bulk operations and queues them for the replicas:
// in process by default (operations end with the process); shared by the
// replicas through Redis (redisstore.Operations), where a replica takes
// over the operations of one that died.
type OperationStore = bulk.Store

// itemRecord is what is kept of one item. Before its write is sent it
// holds the intent: the etags before and after (the contacts before go
// with it as the item's Undo, a contactsv1.ListContactsResponse, for a
// revert). Once the item ended it holds the result, and the status when
// it failed. A shared Store seals both.
type itemRecord struct {
	Result []byte `json:"result,omitempty"` // contactsv1.BulkItemResult
	Status []byte `json:"status,omitempty"` // google.rpc.Status of a failed item
	// The intent of a write about to be sent.
	EtagBefore string `json:"etag_before,omitempty"`
	EtagAfter  string `json:"etag_after,omitempty"`
}

// plan is what an operation's items are: the indexes of its items, in
// order, and the single call of each.
type plan struct {
	indexes []int
	item    func(index int) (proto.Message, writeSpec)
	// reverts is the operation a revert undoes.
	reverts string
	// validateOnly: a dry run.
	validateOnly bool
}

// BulkEditProfile implements contacts.v1.ContactsService.BulkEditProfile.
func (s *Service) BulkEditProfile(ctx context.Context, req *contactsv1.BulkEditProfileRequest) (*longrunningpb.Operation, error) {
	vs, refusal := validateBulkEdit(req)
	return s.startBulk(ctx, contactsv1.ContactsService_BulkEditProfile_FullMethodName, req, req.GetRequestId(), vs, refusal,
		func(call *access.Call) (bulk.Header, error) {
			return bulk.Header{Total: len(req.GetTargets())}, nil
		})
}

// ApplyContactsTemplate implements contacts.v1.ContactsService.ApplyContactsTemplate.
func (s *Service) ApplyContactsTemplate(ctx context.Context, req *contactsv1.ApplyContactsTemplateRequest) (*longrunningpb.Operation, error) {
	return s.startBulk(ctx, contactsv1.ContactsService_ApplyContactsTemplate_FullMethodName, req, req.GetRequestId(), validateTemplate(req), nil,
		func(call *access.Call) (bulk.Header, error) {
			return bulk.Header{Total: len(req.GetTargets())}, nil
		})
}

// RevertBulkEdit implements contacts.v1.ContactsService.RevertBulkEdit.
func (s *Service) RevertBulkEdit(ctx context.Context, req *contactsv1.RevertBulkEditRequest) (*longrunningpb.Operation, error) {
	var vs violations
	if !validOperationName(req.GetName()) {
		vs.add("name", otaInvalid, `name must be the name of an operation, e.g. "operations/0123abcd..."`)
	}
	validateRequestID(&vs, req.GetRequestId())
	return s.startBulk(ctx, contactsv1.ContactsService_RevertBulkEdit_FullMethodName, req, req.GetRequestId(), vs, nil,
		func(call *access.Call) (bulk.Header, error) {
			orig, err := s.ownOperation(ctx, call.Caller(), req.GetName())
			if err != nil {
				return bulk.Header{}, err
			}
			switch {
			case !orig.Done():
				return bulk.Header{}, operationStatus(rowOperationRunning, orig.Name)
			case orig.Counts.Changed == 0 || dryRun(orig):
				return bulk.Header{}, operationStatus(rowOperationNotRevertible, orig.Name)
			}
			return bulk.Header{Total: orig.Counts.Changed}, nil
		})
}

// startBulk starts a bulk operation: admit the caller, refuse a request
// with violations, answer a retry of a remembered request_id with the
// operation it started, else store the operation and queue it.
func (s *Service) startBulk(ctx context.Context, rpc string, req proto.Message, requestID string, vs violations, refusal error,
	header func(*access.Call) (bulk.Header, error)) (op *longrunningpb.Operation, err error) {
	call, err := s.gate.Admit(ctx, rpc, req)
	if err != nil {
		return nil, err
	}
	c := errmap.Call{Method: upstream.MethodPut}
	defer func() { err = cutShort(ctx, err); call.End(nil, err) }()
	if len(vs) > 0 {
		return nil, errmap.Invalid(vs, c).Err()
	}
	if refusal != nil {
		return nil, refusal
	}
	if requestID != "" {
		begun, berr := s.beginBulk(ctx, c, req, call.Caller().Name, requestID)
		switch {
		case berr != nil:
			return nil, berr
		case begun.Done:
			return s.replayBulk(ctx, c, begun.Outcome)
		}
		// Only a started operation is remembered: a start refused before
		// it stored nothing, and runs again. (err and op are the results.)
		defer func() {
			var o idempotency.Outcome
			remember := false
			if err == nil && op != nil {
				var merr error
				o.Response, merr = proto.Marshal(op)
				remember = merr == nil
			}
			begun.Finish(o, remember)
		}()
	}

	h, err := header(call)
	if err != nil {
		return nil, err
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		return nil, errmap.Internal(c).Err()
	}
	now := s.now()
	id := call.Caller()
	h.Name, h.Owner, h.OwnerSource, h.Method, h.Request = operationsPrefix+strings.ToLower(rand.Text()), id.Name, string(id.Source), rpc, raw
	h.Created, h.Updated = now, now
	if err := s.ops.Create(ctx, h); err != nil {
		return nil, s.operationsDown(c, err)
	}
	s.startRunner()
	return s.operationOf(ctx, h, nil)
}

// beginBulk claims the request_id of a bulk start (AIP-155), or finds the
// operation it started.
func (s *Service) beginBulk(ctx context.Context, c errmap.Call, req proto.Message, caller, requestID string) (idempotency.Result, error) {
	fp, err := fingerprint(req, caller)
	if err != nil {
		return idempotency.Result{}, errmap.Internal(c).Err()
	}
	begun, err := s.requests.Begin(ctx, strings.ToLower(requestID), fp)
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		return begun, requestIDReused(c)
	case err != nil:
		return begun, waitFailed(c, err)
	}
	return begun, nil
}

// replayBulk answers a retried start with the operation the first call
// started, as it stands now.
func (s *Service) replayBulk(ctx context.Context, c errmap.Call, o idempotency.Outcome) (*longrunningpb.Operation, error) {
	first, err := replay[*longrunningpb.Operation](c, o)
	if err != nil {
		return nil, err
	}
	if h, err := s.ops.Get(ctx, first.GetName()); err == nil {
		return s.operationOf(ctx, h, nil)
	}
	return first, nil
}

// startRunner starts the runner of the operations the first time one is
// needed: at New with a shared Store (this replica takes its share of the
// fleet's operations, and those of a replica that died), else at the
// first operation started here.
func (s *Service) startRunner() {
	s.runnerOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		s.stopRunner = func() { cancel(); <-done }
		r := &bulk.Runner{Store: s.ops, Run: s.runOperation, Logger: s.log}
		go func() { defer close(done); _ = r.Serve(ctx) }()
	})
}

// Close stops the runner of bulk operations: items in flight end, and
// with a shared store the operations are released for other replicas at
// once. Call it when the server stops.
func (s *Service) Close() error {
	s.runnerOnce.Do(func() {}) // none starts after Close
	s.closeOnce.Do(func() {
		if s.stopRunner != nil {
			s.stopRunner()
		}
	})
	return nil
}

// planOf decodes an operation's request into its plan.
func (s *Service) planOf(ctx context.Context, h bulk.Header) (plan, error) {
	switch h.Method {
	case contactsv1.ContactsService_BulkEditProfile_FullMethodName:
		req := new(contactsv1.BulkEditProfileRequest)
		if err := proto.Unmarshal(h.Request, req); err != nil {
			return plan{}, err
		}
		return plan{indexes: upTo(len(req.GetTargets())), validateOnly: req.GetValidateOnly(), item: func(i int) (proto.Message, writeSpec) {
			return editItem(req, i, itemRequestID(h.Name, i))
		}}, nil
	case contactsv1.ContactsService_ApplyContactsTemplate_FullMethodName:
		req := new(contactsv1.ApplyContactsTemplateRequest)
		if err := proto.Unmarshal(h.Request, req); err != nil {
			return plan{}, err
		}
		return plan{indexes: upTo(len(req.GetTargets())), validateOnly: req.GetValidateOnly(), item: func(i int) (proto.Message, writeSpec) {
			t := req.GetTargets()[i]
			r := &contactsv1.ReplaceContactsRequest{PropertyId: t.GetPropertyId(), Contacts: req.GetContacts(), Etag: t.GetEtag(),
				RequestId: itemRequestID(h.Name, i), ValidateOnly: req.GetValidateOnly()}
			return r, replaceSpec(r)
		}}, nil
	case contactsv1.ContactsService_RevertBulkEdit_FullMethodName:
		req := new(contactsv1.RevertBulkEditRequest)
		if err := proto.Unmarshal(h.Request, req); err != nil {
			return plan{}, err
		}
		return s.revertPlan(ctx, h, req)
	}
	return plan{}, fmt.Errorf("service: operation of unknown method %q", h.Method)
}

// revertPlan is the plan of a revert: for each item the reverted
// operation changed, by its index there, a ReplaceContacts of the
// contacts the property had before, with the etag the operation left.
func (s *Service) revertPlan(ctx context.Context, h bulk.Header, req *contactsv1.RevertBulkEditRequest) (plan, error) {
	items, err := s.ops.Items(ctx, req.GetName())
	if err != nil {
		return plan{}, err
	}
	befores, err := s.ops.Undo(ctx, req.GetName())
	if err != nil {
		return plan{}, err
	}
	type undo struct {
		property, etag string
		contacts       []*contactsv1.Contact
	}
	undos := make(map[int]undo)
	for i, it := range items {
		_, res, ok := decodeItem(it)
		b, kept := befores[i]
		if !ok || !kept || !it.Final || res.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED {
			continue
		}
		var prev contactsv1.ListContactsResponse
		if err := proto.Unmarshal(b, &prev); err != nil {
			continue
		}
		undos[i] = undo{property: res.GetPropertyId(), etag: res.GetEtagAfter(), contacts: prev.GetContacts()}
	}
	p := plan{reverts: req.GetName(), validateOnly: req.GetValidateOnly()}
	for i := range undos {
		p.indexes = append(p.indexes, i)
	}
	slices.Sort(p.indexes)
	p.item = func(i int) (proto.Message, writeSpec) {
		u := undos[i]
		r := &contactsv1.ReplaceContactsRequest{PropertyId: u.property, Contacts: u.contacts, Etag: u.etag,
			RequestId: itemRequestID(h.Name, i), ValidateOnly: req.GetValidateOnly()}
		return r, replaceSpec(r)
	}
	return p, nil
}

// editItem is item i of a BulkEditProfile: the single call it stands for.
func editItem(req *contactsv1.BulkEditProfileRequest, i int, requestID string) (proto.Message, writeSpec) {
	t := req.GetTargets()[i]
	switch e := req.GetEdit().(type) {
	case *contactsv1.BulkEditProfileRequest_Set:
		r := &contactsv1.SetProfileContactsRequest{PropertyId: t.GetPropertyId(), Profile: req.GetProfile(), Contacts: e.Set.GetContacts(),
			Etag: t.GetEtag(), RequestId: requestID, ValidateOnly: req.GetValidateOnly()}
		return r, setProfileSpec(r)
	case *contactsv1.BulkEditProfileRequest_Update:
		r := &contactsv1.UpdateProfileContactRequest{PropertyId: t.GetPropertyId(), Profile: req.GetProfile(), Contact: e.Update.GetContact(),
			UpdateMask: e.Update.GetUpdateMask(), Etag: t.GetEtag(), RequestId: requestID, ValidateOnly: req.GetValidateOnly()}
		return r, updateProfileSpec(r)
	default:
		r := &contactsv1.ClearProfileContactsRequest{PropertyId: t.GetPropertyId(), Profile: req.GetProfile(),
			Etag: t.GetEtag(), RequestId: requestID, ValidateOnly: req.GetValidateOnly()}
		return r, clearProfileSpec(r)
	}
}

// itemRequestID is the idempotency key of item i of operation name: a
// UUID (version 8, RFC 9562) derived from both, the same on every replica
// and every run. It names the item's write in the audit trail; the
// operation's record of the item (its intent, then its outcome) is what
// keeps a resumed operation from writing the item twice.
func itemRequestID(name string, i int) string {
	sum := sha256.Sum256([]byte(name + "\x00" + strconv.Itoa(i)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// runOperation runs the items of an operation not run yet, BulkConcurrency
// at a time in index order, until they are all done or the operation is
// cancelled; then it ends the operation.
func (s *Service) runOperation(ctx context.Context, l bulk.Lease) error {
	h, err := s.ops.Get(ctx, l.Name())
	if err != nil {
		return err
	}
	items, err := s.ops.Items(ctx, h.Name)
	if err != nil {
		return err
	}
	p, err := s.planOf(ctx, h)
	if err != nil {
		// A request that no longer decodes (or a reverted operation that
		// is gone) can never run: the operation ends, its items failed.
		s.log.Error("bulk operation cannot run", "operation", h.Name, "error", err.Error())
		h.Counts = bulk.Counts{Failed: h.Total}
		h.Ended, h.Updated = s.now(), s.now()
		return l.Finish(ctx, h)
	}
	// The counts are those of the items recorded: a resumed operation
	// counts what its earlier runner finished.
	h.Counts = bulk.Counts{}
	var todo []int
	for _, i := range p.indexes {
		it, ok := items[i]
		if !ok || !it.Final {
			todo = append(todo, i)
			continue
		}
		_, res, _ := decodeItem(it)
		count(&h.Counts, res.GetOutcome())
	}

	var mu sync.Mutex // h, and the order of Puts
	slots := make(chan struct{}, BulkConcurrency)
	var wg sync.WaitGroup
	var putErr error
	cancelled := false
	for _, i := range todo {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		failed := putErr
		mu.Unlock()
		if failed != nil {
			<-slots
			break
		}
		if c, err := s.ops.Cancelled(ctx, h.Name); err == nil && c {
			<-slots
			cancelled = true
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			prior := items[i]
			var rec itemRecord
			for attempt := 1; ; attempt++ {
				rec = s.runItem(ctx, l, &h, p, i, &prior, &mu)
				delay, again := retryItem(rec, attempt)
				if !again || ctx.Err() != nil {
					break
				}
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			if ctx.Err() != nil {
				return // shutting down or lost: a later run does the item again
			}
			data, err := json.Marshal(rec)
			if err != nil {
				return
			}
			var res contactsv1.BulkItemResult
			_ = proto.Unmarshal(rec.Result, &res)
			mu.Lock()
			defer mu.Unlock()
			count(&h.Counts, res.GetOutcome())
			h.Updated = s.now()
			if err := l.Put(ctx, h, i, bulk.Item{Final: true, Data: data}); err != nil {
				if putErr == nil {
					putErr = err
				}
				return
			}
			s.metrics.BulkItem(methodName(h.Method), outcomeLabel(res.GetOutcome()))
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if putErr != nil {
		return putErr
	}
	if !cancelled {
		if c, err := s.ops.Cancelled(ctx, h.Name); err == nil && c {
			cancelled = h.Counts.Sum() < len(p.indexes)
		}
	}
	if cancelled {
		h.Counts.Cancelled = len(p.indexes) - h.Counts.Sum()
	}
	h.Ended, h.Updated = s.now(), s.now()
	if err := l.Finish(ctx, h); err != nil {
		return err
	}
	result := "done"
	switch {
	case h.Counts.Cancelled > 0:
		result = "cancelled"
	case h.Total > 0 && h.Counts.Failed == h.Total:
		result = "failed"
	}
	s.metrics.BulkOperationEnded(methodName(h.Method), result)
	return nil
}

// outcomeLabel is an item's outcome as the metrics name it.
func outcomeLabel(o contactsv1.BulkItemOutcome) string {
	switch o {
	case contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED:
		return "changed"
	case contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_UNCHANGED:
		return "unchanged"
	}
	return "failed"
}

// Retries of an item that failed for now.
const (
	maxItemAttempts = 3
	itemRetryDelay  = time.Second
)

// retryItem reports whether an item that ended as rec is worth another
// attempt, and after what delay: one that failed for now (the upstream or
// the shared state unavailable, the upstream limit reached, the write
// lock busy or lost), up to maxItemAttempts, after its RetryInfo or a
// second per attempt. Firestore's BulkWriter retries the same way; a
// failure a retry cannot change (a refusal, an etag that moved) is final.
func retryItem(rec itemRecord, attempt int) (time.Duration, bool) {
	if rec.Status == nil || attempt >= maxItemAttempts {
		return 0, false
	}
	var sp spb.Status
	if proto.Unmarshal(rec.Status, &sp) != nil {
		return 0, false
	}
	st := status.FromProto(&sp)
	switch st.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
	case codes.Aborted:
		if reasonOfStatus(st) != contactsv1.ErrorReason_WRITE_LOCK_LOST.String() {
			return 0, false
		}
	default:
		return 0, false
	}
	if reasonOfStatus(st) == contactsv1.ErrorReason_CALLER_RATE_LIMITED.String() {
		return 0, false
	}
	delay := time.Duration(attempt) * itemRetryDelay
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	return delay, true
}

// reasonOfStatus is the reason of st's ErrorInfo.
func reasonOfStatus(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// count adds an item's outcome to c.
func count(c *bulk.Counts, o contactsv1.BulkItemOutcome) {
	switch o {
	case contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED:
		c.Changed++
	case contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_UNCHANGED:
		c.Unchanged++
	case contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CANCELLED:
		c.Cancelled++
	default:
		c.Failed++
	}
}

// runItem runs item i: the single call it stands for, admitted for the
// operation's owner under the policy now in force, at the governor's bulk
// class, with its intent recorded before its write is sent. prior is
// what an earlier run recorded of it: an intent whose write the property
// now holds is that write's outcome, not a write to make again.
//
// h is the operation's header, shared by the items in flight: mu guards
// its counts, and orders the Puts.
func (s *Service) runItem(ctx context.Context, l bulk.Lease, h *bulk.Header, p plan, i int, prior *bulk.Item, mu *sync.Mutex) itemRecord {
	req, spec := p.item(i)
	res := &contactsv1.BulkItemResult{Index: int32(i), PropertyId: spec.call.PropertyID}
	var rec itemRecord
	fail := func(err error) itemRecord {
		res.Outcome = contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_FAILED
		rec.Result, _ = proto.Marshal(res)
		rec.Status, _ = proto.Marshal(status.Convert(err).Proto())
		return rec
	}
	call, err := s.gate.Item(access.Identity{Name: h.Owner, Source: access.Source(h.OwnerSource)}, spec.rpc, h.Name, req)
	if err != nil {
		return fail(err)
	}
	var resp *contactsv1.BulkItemResult
	defer func() { call.End(resp, err) }()
	if len(spec.violations) > 0 {
		err = errmap.Invalid(spec.violations, spec.call).Err()
		return fail(err)
	}
	if spec.refusal != nil {
		err = spec.refusal
		return fail(err)
	}
	var earlier itemRecord
	if len(prior.Data) > 0 && !prior.Final {
		_ = json.Unmarshal(prior.Data, &earlier)
	}
	spec.bulk, spec.requestID = true, ""
	spec.intend = func(w written) error {
		prev, err := proto.Marshal(&contactsv1.ListContactsResponse{Contacts: w.previous})
		if err != nil {
			return errmap.Internal(spec.call).Err()
		}
		intent, err := json.Marshal(itemRecord{EtagBefore: w.etag, EtagAfter: safeedit.Etag(w.after)})
		if err != nil {
			return errmap.Internal(spec.call).Err()
		}
		mu.Lock()
		defer mu.Unlock()
		// The contacts before, kept apart: read only by a revert. Never
		// nil, so that a property that had none is undone too.
		if err := l.Put(ctx, *h, i, bulk.Item{Data: intent, Undo: append([]byte{}, prev...)}); err != nil {
			return s.operationsDown(spec.call, err)
		}
		*prior = bulk.Item{Data: intent} // for a retry of the item
		return nil
	}
	if s.pacer != nil {
		// The item's GET, and its PUT unless it is a dry run, admitted
		// before it takes the lock.
		calls := 2
		if p.validateOnly {
			calls = 1
		}
		paced, perr := s.pacer.Reserve(governor.WithClass(ctx, governor.Bulk), governor.Bulk, calls)
		if perr != nil {
			err = perr
			return fail(err)
		}
		ctx = paced
	}
	w, sent, werr := s.write(ctx, call, spec)
	if werr != nil {
		err = werr
		return fail(err)
	}
	before, after := safeedit.Etag(w.previous), safeedit.Etag(w.after)
	res.EtagBefore, res.EtagAfter, res.UpstreamRequestId = before, after, w.upstreamID
	res.Outcome = contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_UNCHANGED
	switch {
	case sent || (p.validateOnly && before != after):
		res.Outcome = contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED
	case earlier.EtagAfter != "" && earlier.EtagAfter == before:
		// The earlier run's write reached the property before its runner
		// stopped: that write is this item's outcome.
		// Its contacts before are the Undo recorded with the intent.
		res.Outcome = contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED
		res.EtagBefore = earlier.EtagBefore
	}
	rec.Result, _ = proto.Marshal(res)
	resp = res
	return rec
}

// decodeItem reads an item's record and result.
func decodeItem(it bulk.Item) (itemRecord, *contactsv1.BulkItemResult, bool) {
	var rec itemRecord
	res := new(contactsv1.BulkItemResult)
	if json.Unmarshal(it.Data, &rec) != nil || proto.Unmarshal(rec.Result, res) != nil {
		return rec, res, false
	}
	return rec, res, true
}

// dryRun reports whether the operation of h is a dry run.
func dryRun(h bulk.Header) bool {
	v, _ := requestInfo(h)
	return v
}

// requestInfo is what the metadata says of h's request: whether it is a
// dry run, and for a revert the operation it undoes. It decodes the
// request, and reads nothing else.
func requestInfo(h bulk.Header) (validateOnly bool, reverts string) {
	switch h.Method {
	case contactsv1.ContactsService_BulkEditProfile_FullMethodName:
		var req contactsv1.BulkEditProfileRequest
		_ = proto.Unmarshal(h.Request, &req)
		return req.GetValidateOnly(), ""
	case contactsv1.ContactsService_ApplyContactsTemplate_FullMethodName:
		var req contactsv1.ApplyContactsTemplateRequest
		_ = proto.Unmarshal(h.Request, &req)
		return req.GetValidateOnly(), ""
	case contactsv1.ContactsService_RevertBulkEdit_FullMethodName:
		var req contactsv1.RevertBulkEditRequest
		_ = proto.Unmarshal(h.Request, &req)
		return req.GetValidateOnly(), req.GetName()
	}
	return false, ""
}

// operationOf is the google.longrunning.Operation of h: its metadata
// always, its result once it ended. items are its items when the caller
// has them; nil reads them.
func (s *Service) operationOf(ctx context.Context, h bulk.Header, items map[int]bulk.Item) (*longrunningpb.Operation, error) {
	c := errmap.Call{Method: upstream.MethodGet}
	if items == nil && h.Counts.Sum() > 0 {
		var err error
		if items, err = s.ops.Items(ctx, h.Name); err != nil {
			return nil, s.operationsDown(c, err)
		}
	}
	validateOnly, reverts := requestInfo(h)
	md := &contactsv1.BulkEditMetadata{
		Method:          methodName(h.Method),
		Reverts:         reverts,
		ValidateOnly:    validateOnly,
		CreateTime:      timestamppb.New(h.Created),
		UpdateTime:      timestamppb.New(h.Updated),
		Total:           int32(h.Total),
		Changed:         int32(h.Counts.Changed),
		Unchanged:       int32(h.Counts.Unchanged),
		Failed:          int32(h.Counts.Failed),
		Cancelled:       int32(h.Counts.Cancelled),
		Remaining:       int32(max(0, h.Total-h.Counts.Sum())),
		CancelRequested: h.CancelRequested,
	}
	if h.Done() {
		md.EndTime = timestamppb.New(h.Ended)
	}
	md.Estimate = s.estimate(h, validateOnly)
	var results []*contactsv1.BulkItemResult // once it ended
	for i, it := range items {
		if !it.Final {
			continue
		}
		rec, res, ok := decodeItem(it)
		if !ok {
			continue
		}
		if h.Done() {
			results = append(results, res)
		}
		if res.GetOutcome() == contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_FAILED {
			st := new(spb.Status)
			if proto.Unmarshal(rec.Status, st) != nil {
				st = status.New(codes.Internal, "the item's status was lost").Proto()
			}
			if md.FailedRequests == nil {
				md.FailedRequests = make(map[int32]*spb.Status)
			}
			md.FailedRequests[int32(i)] = st
		}
	}
	meta, err := anypb.New(md)
	if err != nil {
		return nil, errmap.Internal(c).Err()
	}
	op := &longrunningpb.Operation{Name: h.Name, Metadata: meta, Done: h.Done()}
	if !h.Done() {
		return op, nil
	}
	// The results of the items that never ran (it was cancelled), from
	// its plan: for a revert, that reads the reverted operation's items.
	if h.Counts.Cancelled > 0 {
		if p, err := s.planOf(ctx, h); err == nil {
			for _, i := range p.indexes {
				if it, ok := items[i]; !ok || !it.Final {
					_, spec := p.item(i)
					results = append(results, &contactsv1.BulkItemResult{Index: int32(i), PropertyId: spec.call.PropertyID,
						Outcome: contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CANCELLED})
				}
			}
		}
	}
	slices.SortFunc(results, func(a, b *contactsv1.BulkItemResult) int { return int(a.GetIndex()) - int(b.GetIndex()) })
	resp := &contactsv1.BulkEditResponse{Results: results}
	var row *safeRow
	switch {
	case h.Counts.Cancelled > 0:
		row = &rowOperationCancelled
	case h.Total > 0 && h.Counts.Failed == h.Total:
		row = &rowOperationItemsFailed
	}
	if row != nil {
		st := status.Convert(operationStatus(*row, h.Name))
		if withResults, err := st.WithDetails(resp); err == nil {
			st = withResults
		}
		op.Result = &longrunningpb.Operation_Error{Error: st.Proto()}
		return op, nil
	}
	r, err := anypb.New(resp)
	if err != nil {
		return nil, errmap.Internal(c).Err()
	}
	op.Result = &longrunningpb.Operation_Response{Response: r}
	return op, nil
}

// estimate is the upstream cost of h: a GET per item, and a PUT per item
// that writes (all of those not known not to, until a run shows it), at
// the governor's bulk share.
func (s *Service) estimate(h bulk.Header, dryRun bool) *contactsv1.BulkEstimate {
	writes := h.Total - h.Counts.Unchanged - h.Counts.Failed - h.Counts.Cancelled
	calls := h.Total + writes
	if dryRun && h.Done() {
		// The dry run is over: its reads showed which items write.
		calls = h.Total + h.Counts.Changed
	}
	e := &contactsv1.BulkEstimate{UpstreamCalls: int32(calls), BulkCallsPerMinute: s.bulkRate}
	if s.bulkRate > 0 {
		e.Duration = durationpb.New(time.Duration(float64(calls) / s.bulkRate * float64(time.Minute)).Round(time.Second))
	}
	return e
}

// ownOperation returns the operation name if caller started it; any
// other is OPERATION_NOT_FOUND, whether it exists or not.
func (s *Service) ownOperation(ctx context.Context, caller access.Identity, name string) (bulk.Header, error) {
	h, err := s.ops.Get(ctx, name)
	switch {
	case errors.Is(err, bulk.ErrNotFound):
		return h, operationStatus(rowOperationNotFound, name)
	case err != nil:
		return h, s.operationsDown(errmap.Call{Method: upstream.MethodGet}, err)
	case h.Owner != caller.Name:
		return bulk.Header{}, operationStatus(rowOperationNotFound, name)
	}
	return h, nil
}
