package service

import (
	"context"
	"errors"
	"strconv"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// The five write RPCs: each is its validation, its merge and its answer;
// write.go does the rest.

// ReplaceContacts implements contacts.v1.ContactsService.ReplaceContacts:
// a PUT of the request's contacts, the whole set.
func (s *Service) ReplaceContacts(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	return writeRPC(ctx, s, replaceSpec(req), func(w written) *contactsv1.ReplaceContactsResponse {
		return &contactsv1.ReplaceContactsResponse{Warnings: w.warnings, RequestId: w.upstreamID, UpstreamRequestId: w.upstreamID,
			Etag: w.etag, PreviousContacts: w.previous, Contacts: w.next, DeletedContacts: w.deleted}
	})
}

func replaceSpec(req *contactsv1.ReplaceContactsRequest) writeSpec {
	return writeSpec{
		rpc: contactsv1.ContactsService_ReplaceContacts_FullMethodName, req: req,
		call: errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()},
		etag: req.GetEtag(), requestID: req.GetRequestId(), violations: validateReplace(req), validateOnly: req.GetValidateOnly(),
		merge: func([]*contactsv1.Contact) ([]*contactsv1.Contact, error) { return req.GetContacts(), nil },
	}
}

// CreateContacts implements contacts.v1.ContactsService.CreateContacts: a
// POST of the request's contacts.
func (s *Service) CreateContacts(ctx context.Context, req *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
	return writeRPC(ctx, s, writeSpec{
		rpc: contactsv1.ContactsService_CreateContacts_FullMethodName, req: req,
		call:      errmap.Call{Method: upstream.MethodPost, PropertyID: req.GetPropertyId()},
		requestID: req.GetRequestId(), violations: validateCreate(req), validateOnly: req.GetValidateOnly(),
		merge: func([]*contactsv1.Contact) ([]*contactsv1.Contact, error) { return req.GetContacts(), nil },
	}, func(w written) *contactsv1.CreateContactsResponse {
		return &contactsv1.CreateContactsResponse{Warnings: w.warnings, RequestId: w.upstreamID, UpstreamRequestId: w.upstreamID,
			Etag: w.etag, PreviousContacts: w.previous, Contacts: w.after, DeletedContacts: w.deleted}
	})
}

// SetProfileContacts implements contacts.v1.ContactsService.SetProfileContacts.
func (s *Service) SetProfileContacts(ctx context.Context, req *contactsv1.SetProfileContactsRequest) (*contactsv1.SetProfileContactsResponse, error) {
	return writeRPC(ctx, s, setProfileSpec(req), func(w written) *contactsv1.SetProfileContactsResponse {
		return &contactsv1.SetProfileContactsResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
			Warnings: w.warnings, UpstreamRequestId: w.upstreamID, DeletedContacts: w.deleted}
	})
}

func setProfileSpec(req *contactsv1.SetProfileContactsRequest) writeSpec {
	c := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	return writeSpec{
		rpc: contactsv1.ContactsService_SetProfileContacts_FullMethodName, req: req, call: c,
		etag: req.GetEtag(), requestID: req.GetRequestId(), violations: validateSetProfile(req), validateOnly: req.GetValidateOnly(), profileEdit: true,
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, err := safeedit.SetProfile(cur, req.GetProfile(), req.GetContacts())
			return next, mergeFailed(c, err)
		},
	}
}

// UpdateProfileContact implements contacts.v1.ContactsService.UpdateProfileContact.
func (s *Service) UpdateProfileContact(ctx context.Context, req *contactsv1.UpdateProfileContactRequest) (*contactsv1.UpdateProfileContactResponse, error) {
	return writeRPC(ctx, s, updateProfileSpec(req), func(w written) *contactsv1.UpdateProfileContactResponse {
		return &contactsv1.UpdateProfileContactResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
			Warnings: w.warnings, UpstreamRequestId: w.upstreamID, DeletedContacts: w.deleted}
	})
}

func updateProfileSpec(req *contactsv1.UpdateProfileContactRequest) writeSpec {
	c := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	mask, vs := validateUpdateProfile(req)
	return writeSpec{
		rpc: contactsv1.ContactsService_UpdateProfileContact_FullMethodName, req: req, call: c,
		etag: req.GetEtag(), requestID: req.GetRequestId(), violations: vs, validateOnly: req.GetValidateOnly(), profileEdit: true,
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, updated, err := safeedit.UpdateProfile(cur, req.GetProfile(), req.GetContact(), mask)
			if err != nil {
				return nil, mergeFailed(c, err)
			}
			// The contact as updated must be one the upstream takes:
			// named in the request's terms, as contact.*.
			var vs violations
			validateContent(&vs, "contact", updated)
			if len(vs) > 0 {
				return nil, errmap.Invalid(vs, c).Err()
			}
			return next, nil
		},
	}
}

// ClearProfileContacts implements contacts.v1.ContactsService.ClearProfileContacts.
func (s *Service) ClearProfileContacts(ctx context.Context, req *contactsv1.ClearProfileContactsRequest) (*contactsv1.ClearProfileContactsResponse, error) {
	return writeRPC(ctx, s, clearProfileSpec(req), func(w written) *contactsv1.ClearProfileContactsResponse {
		return &contactsv1.ClearProfileContactsResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
			Warnings: w.warnings, UpstreamRequestId: w.upstreamID, DeletedContacts: w.deleted}
	})
}

func clearProfileSpec(req *contactsv1.ClearProfileContactsRequest) writeSpec {
	c := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	var refusal error
	if req.GetProfile() == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
		refusal = safeStatus(rowGeneralRequired, c, "", nil) // it can never succeed
	}
	return writeSpec{
		rpc: contactsv1.ContactsService_ClearProfileContacts_FullMethodName, req: req, call: c,
		etag: req.GetEtag(), requestID: req.GetRequestId(), violations: validateClearProfile(req), refusal: refusal, validateOnly: req.GetValidateOnly(), profileEdit: true,
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, err := safeedit.ClearProfile(cur, req.GetProfile())
			return next, mergeFailed(c, err)
		},
	}
}

// mergeFailed turns an error of a safeedit merge into its status; nil
// stays nil.
func mergeFailed(c errmap.Call, err error) error {
	var pce *safeedit.ProfileCountError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, safeedit.ErrGeneralRequired):
		return safeStatus(rowGeneralRequired, c, "", nil)
	case errors.As(err, &pce) && pce.Count == 0:
		return safeStatus(rowProfileNoContact, c, "", nil)
	case errors.As(err, &pce):
		return safeStatus(rowProfileSeveral, c, "", map[string]string{"contactCount": strconv.Itoa(pce.Count)})
	}
	return errmap.Internal(c).Err()
}
