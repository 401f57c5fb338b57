package service

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// Limits of FindProperties.
const (
	// MaxFindProperties is the most property_ids one FindProperties call
	// takes: the portfolio of a large hotel group.
	MaxFindProperties = 10000
	// FindConcurrency is how many reads one FindProperties call has in
	// flight at most: a few, so that one call moves on while a read waits,
	// and the governor's bulk share, not one caller, sets the pace.
	FindConcurrency = 4
)

// FindProperties implements contacts.v1.ContactsService.FindProperties.
//
// The caller is admitted once for the call, and each property is checked
// against its grant: one it may not use is an answer with PERMISSION_DENIED,
// not the end of the stream. The request is validated whole before any
// upstream call. Reads go through the read path at the governor's bulk
// class, FindConcurrency at a time, and the answers are sent in the order
// of property_ids (a read that finishes early waits for those before it;
// no more than FindConcurrency reads are ever started and not yet sent).
// When the caller cancels or its deadline passes, no new read starts and
// the stream ends with the caller's status.
func (s *Service) FindProperties(req *contactsv1.FindPropertiesRequest, stream grpc.ServerStreamingServer[contactsv1.FindPropertiesResponse]) (err error) {
	ctx := stream.Context()
	call, err := s.gate.Admit(ctx, contactsv1.ContactsService_FindProperties_FullMethodName, req)
	if err != nil {
		return err
	}
	defer func() { err = cutShort(ctx, err); call.End(nil, err) }()
	if vs := validateFind(req); len(vs) > 0 {
		return errmap.Invalid(vs, errmap.Call{Method: upstream.MethodGet}).Err()
	}
	match := findFilter(req)

	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel the reads still running, and wait for them and the starter:
	// nothing of this call outlives it.
	defer wg.Wait()
	defer cancel()

	// slots bounds the reads started and not yet sent; pending holds the
	// answer channel of each read started, in the order of property_ids.
	slots := make(chan struct{}, FindConcurrency)
	pending := make(chan chan *contactsv1.FindPropertiesResponse, FindConcurrency)
	wg.Go(func() {
		defer close(pending)
		for _, id := range req.GetPropertyIds() {
			select {
			case slots <- struct{}{}:
			case <-rctx.Done():
				return
			}
			if rctx.Err() != nil { // a free slot and a cancellation at once
				return
			}
			answer := make(chan *contactsv1.FindPropertiesResponse, 1)
			pending <- answer // never blocks: at most FindConcurrency pending
			wg.Go(func() { answer <- s.findOne(rctx, call, id) })
		}
	})

	for answer := range pending {
		var resp *contactsv1.FindPropertiesResponse
		select {
		case resp = <-answer:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		<-slots
		if resp.GetError() == nil && !match(resp.GetContacts()) {
			continue
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

// findOne reads one property of a FindProperties call: its answer, with
// error set when the caller may not use the property or the read failed,
// as ListContacts would have failed.
func (s *Service) findOne(ctx context.Context, call *access.Call, id string) *contactsv1.FindPropertiesResponse {
	resp := &contactsv1.FindPropertiesResponse{PropertyId: id}
	if err := call.MayUseProperty(id); err != nil {
		resp.Error = status.Convert(err).Proto()
		return resp
	}
	// Work nobody waits on item by item: the governor's bulk class. The
	// stream has no default deadline; each read has the service's.
	rctx := governor.WithClass(ctx, governor.Bulk)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(rctx, s.timeout)
		defer cancel()
	}
	res, err := s.reads.Read(rctx, id, false)
	if err != nil {
		resp.Error = status.Convert(s.fail(ctx, errmap.Call{Method: upstream.MethodGet, PropertyID: id}, err)).Proto()
		return resp
	}
	resp.Contacts = res.Resp.GetContacts()
	resp.Etag = safeedit.Etag(resp.Contacts)
	resp.UpstreamRequestId = res.Resp.GetRequestId()
	return resp
}

// findFilter is whether a property's contacts match the request's filter;
// every property does when it has none.
func findFilter(req *contactsv1.FindPropertiesRequest) func([]*contactsv1.Contact) bool {
	switch f := req.GetFilter().(type) {
	case *contactsv1.FindPropertiesRequest_MissingProfile:
		return func(cs []*contactsv1.Contact) bool { return len(safeedit.Serving(cs, f.MissingProfile)) == 0 }
	case *contactsv1.FindPropertiesRequest_Email:
		return func(cs []*contactsv1.Contact) bool {
			for _, c := range cs {
				if strings.EqualFold(c.GetEmail(), f.Email) {
					return true
				}
			}
			return false
		}
	}
	return func([]*contactsv1.Contact) bool { return true }
}

// validateFind checks a FindProperties request: every violation, one per
// bad property id, before any upstream call.
func validateFind(req *contactsv1.FindPropertiesRequest) violations {
	var vs violations
	ids := req.GetPropertyIds()
	switch {
	case len(ids) == 0:
		vs.add("property_ids", otaMissing, "property_ids is required: 1 to "+strconv.Itoa(MaxFindProperties)+" Booking.com property IDs, e.g. \"1000001\"")
	case len(ids) > MaxFindProperties:
		vs.add("property_ids", otaInvalid, "at most "+strconv.Itoa(MaxFindProperties)+" property_ids per call")
	default:
		first := make(map[string]int, len(ids))
		for i, id := range ids {
			field := "property_ids[" + strconv.Itoa(i) + "]"
			var one violations
			validatePropertyID(&one, id)
			for _, v := range one {
				v.Field = field
				vs = append(vs, v)
			}
			if len(one) > 0 {
				continue
			}
			if j, ok := first[id]; ok {
				vs.add(field, otaInvalid, "duplicates property_ids["+strconv.Itoa(j)+"]: give each property once")
				continue
			}
			first[id] = i
		}
	}
	switch f := req.GetFilter().(type) {
	case *contactsv1.FindPropertiesRequest_MissingProfile:
		if f.MissingProfile == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			vs.add("missing_profile", otaMissing, "missing_profile must name a profile, e.g. PROFILE_TYPE_RESERVATIONS")
		} else if _, known := contactsv1.ProfileType_name[int32(f.MissingProfile)]; !known {
			vs.add("missing_profile", otaInvalid, "missing_profile is not a known profile")
		}
	case *contactsv1.FindPropertiesRequest_Email:
		switch {
		case f.Email == "":
			vs.add("email", otaMissing, "email must not be empty: the address to look for, e.g. \"reservations@example.com\"")
		case len(f.Email) > maxEmail:
			vs.add("email", otaInvalid, "email is too long: at most "+strconv.Itoa(maxEmail)+" bytes")
		}
	}
	return vs
}
