package service

import (
	"context"

	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// ListContacts implements contacts.v1.ContactsService.ListContacts.
func (s *Service) ListContacts(ctx context.Context, req *contactsv1.ListContactsRequest) (resp *contactsv1.ListContactsResponse, err error) {
	call, err := s.gate.Admit(ctx, contactsv1.ContactsService_ListContacts_FullMethodName, req)
	if err != nil {
		return nil, err
	}
	defer func() { err = cutShort(ctx, err); call.End(resp, err) }()
	return s.read(ctx, req.GetPropertyId(), req.GetNoLanguageFallback(), validateList(req))
}

// GetProfileContacts implements contacts.v1.ContactsService.GetProfileContacts.
func (s *Service) GetProfileContacts(ctx context.Context, req *contactsv1.GetProfileContactsRequest) (resp *contactsv1.GetProfileContactsResponse, err error) {
	call, err := s.gate.Admit(ctx, contactsv1.ContactsService_GetProfileContacts_FullMethodName, req)
	if err != nil {
		return nil, err
	}
	defer func() { err = cutShort(ctx, err); call.End(resp, err) }()
	all, err := s.read(ctx, req.GetPropertyId(), false, validateGetProfile(req))
	if err != nil {
		return nil, err
	}
	return &contactsv1.GetProfileContactsResponse{Contacts: safeedit.Serving(all.GetContacts(), req.GetProfile()),
		Etag: all.GetEtag(), Warnings: all.GetWarnings(), UpstreamRequestId: all.GetUpstreamRequestId()}, nil
}

// read is the read of ListContacts and GetProfileContacts: refused when
// the request has violations, else through the read path, telling the
// caller the age of a cached answer, with the etag of what it returns.
func (s *Service) read(ctx context.Context, propertyID string, noLanguageFallback bool, vs violations) (*contactsv1.ListContactsResponse, error) {
	c := errmap.Call{Method: upstream.MethodGet, PropertyID: propertyID}
	if len(vs) > 0 {
		return nil, errmap.Invalid(vs, c).Err()
	}
	// A read a caller waits on: the upstream governor's interactive class.
	res, err := s.reads.Read(governor.WithClass(ctx, governor.Interactive), propertyID, noLanguageFallback)
	if err != nil {
		return nil, s.fail(ctx, c, err)
	}
	// The read path hands each caller its own top-level message: setting
	// fields on it touches no other caller's answer nor the cache.
	resp := res.Resp
	if res.Cached {
		resp.CacheAge = durationpb.New(res.Age)
		resp.CacheStale = res.Stale
	}
	resp.Etag = safeedit.Etag(resp.GetContacts())
	resp.UpstreamRequestId = resp.GetRequestId()
	return resp, nil
}
