package service

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// withEtag adds the etag, and the upstream id under its unambiguous name,
// to a ListContacts answer.
func withEtag(resp *contactsv1.ListContactsResponse, err error) (*contactsv1.ListContactsResponse, error) {
	if err != nil {
		return nil, err
	}
	resp.Etag = safeedit.Etag(resp.GetContacts())
	resp.UpstreamRequestId = resp.GetRequestId()
	return resp, nil
}

// replace is ReplaceContacts: a PUT of the request's contacts under the
// write lock, after a read for the etag check and previous_contacts.
func (s *Service) replace(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	if vs := validateReplace(req); len(vs) > 0 {
		return nil, errmap.Invalid(vs, call).Err()
	}
	return idempotent(ctx, s, call, req.GetRequestId(), req, func() *contactsv1.ReplaceContactsResponse { return new(contactsv1.ReplaceContactsResponse) },
		func() (*contactsv1.ReplaceContactsResponse, bool, error) {
			w, sent, err := s.readModifyWrite(ctx, rmw{call: call, etag: req.GetEtag(), always: true,
				merge: func(*contactsv1.ListContactsResponse) ([]*contactsv1.Contact, error) { return req.GetContacts(), nil }})
			if err != nil {
				return nil, sent, err
			}
			return &contactsv1.ReplaceContactsResponse{Warnings: w.warnings, RequestId: w.upstreamID, UpstreamRequestId: w.upstreamID,
				Etag: w.etag, PreviousContacts: w.previous}, sent, nil
		})
}

// create is CreateContacts: a POST under the write lock, after a read for
// previous_contacts.
func (s *Service) create(ctx context.Context, req *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
	call := errmap.Call{Method: upstream.MethodPost, PropertyID: req.GetPropertyId()}
	if vs := validateCreate(req); len(vs) > 0 {
		return nil, errmap.Invalid(vs, call).Err()
	}
	return idempotent(ctx, s, call, req.GetRequestId(), req, func() *contactsv1.CreateContactsResponse { return new(contactsv1.CreateContactsResponse) },
		func() (*contactsv1.CreateContactsResponse, bool, error) {
			w, sent, err := s.readModifyWrite(ctx, rmw{call: call, always: true,
				merge: func(*contactsv1.ListContactsResponse) ([]*contactsv1.Contact, error) { return req.GetContacts(), nil },
				// ASSUMPTION (as the emulator's): POST adds the contacts
				// to those the property has.
				stored: func(previous, next []*contactsv1.Contact) []*contactsv1.Contact {
					return append(append(make([]*contactsv1.Contact, 0, len(previous)+len(next)), previous...), next...)
				}})
			if err != nil {
				return nil, sent, err
			}
			return &contactsv1.CreateContactsResponse{Warnings: w.warnings, RequestId: w.upstreamID, UpstreamRequestId: w.upstreamID,
				Etag: w.etag, PreviousContacts: w.previous}, sent, nil
		})
}

// GetProfileContacts implements contacts.v1.ContactsService.GetProfileContacts.
func (s *Service) GetProfileContacts(ctx context.Context, req *contactsv1.GetProfileContactsRequest) (*contactsv1.GetProfileContactsResponse, error) {
	return serve(ctx, s, upstream.MethodGet, req.GetPropertyId(), validateGetProfile(req),
		func() (*contactsv1.GetProfileContactsResponse, error) {
			all, err := s.read(ctx, req.GetPropertyId(), false)
			if err != nil {
				return nil, err
			}
			return &contactsv1.GetProfileContactsResponse{Contacts: safeedit.Serving(all.GetContacts(), req.GetProfile()),
				Etag: all.GetEtag(), Warnings: all.GetWarnings(), UpstreamRequestId: all.GetUpstreamRequestId()}, nil
		})
}

// profileWrite is what Set, Update and Clear share: validation, then an
// idempotent read-modify-write whose merge is checked for writability.
type profileWrite struct {
	call      errmap.Call
	vs        violations
	requestID string
	etag      string
	// merge computes the new contacts from the current ones; its error is
	// a status.
	merge func(current []*contactsv1.Contact) ([]*contactsv1.Contact, error)
}

// runProfileWrite runs pw for req; build makes the answer.
func runProfileWrite[Resp proto.Message](ctx context.Context, s *Service, req proto.Message, pw profileWrite,
	newResp func() Resp, build func(written) Resp) (Resp, error) {
	var zero Resp
	if len(pw.vs) > 0 {
		return zero, errmap.Invalid(pw.vs, pw.call).Err()
	}
	return idempotent(ctx, s, pw.call, pw.requestID, req, newResp, func() (Resp, bool, error) {
		w, sent, err := s.readModifyWrite(ctx, rmw{call: pw.call, etag: pw.etag,
			merge: func(cur *contactsv1.ListContactsResponse) ([]*contactsv1.Contact, error) {
				next, err := pw.merge(cur.GetContacts())
				if err != nil {
					return nil, err
				}
				if safeedit.SameState(cur.GetContacts(), next) {
					return next, nil // nothing will be written
				}
				if err := checkWritable(pw.call, cur, next); err != nil {
					return nil, err
				}
				return next, nil
			}})
		if err != nil {
			return zero, sent, err
		}
		return build(w), sent, nil
	})
}

// mergeFailed turns an error of a safeedit merge into its status.
func mergeFailed(call errmap.Call, err error) error {
	var pce *safeedit.ProfileCountError
	switch {
	case errors.Is(err, safeedit.ErrGeneralRequired):
		return safeStatus(rowGeneralRequired, call, "", nil)
	case errors.As(err, &pce) && pce.Count == 0:
		return safeStatus(rowProfileNoContact, call, "", nil)
	case errors.As(err, &pce):
		return safeStatus(rowProfileSeveral, call, "", map[string]string{"contactCount": strconv.Itoa(pce.Count)})
	}
	return errmap.Internal(call).Err()
}

// SetProfileContacts implements contacts.v1.ContactsService.SetProfileContacts.
func (s *Service) SetProfileContacts(ctx context.Context, req *contactsv1.SetProfileContactsRequest) (*contactsv1.SetProfileContactsResponse, error) {
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	return runProfileWrite(ctx, s, req, profileWrite{call: call, vs: validateSetProfile(req), requestID: req.GetRequestId(), etag: req.GetEtag(),
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, err := safeedit.SetProfile(cur, req.GetProfile(), req.GetContacts())
			if err != nil {
				return nil, mergeFailed(call, err)
			}
			return next, nil
		}},
		func() *contactsv1.SetProfileContactsResponse { return new(contactsv1.SetProfileContactsResponse) },
		func(w written) *contactsv1.SetProfileContactsResponse {
			return &contactsv1.SetProfileContactsResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
				Warnings: w.warnings, UpstreamRequestId: w.upstreamID}
		})
}

// UpdateProfileContact implements contacts.v1.ContactsService.UpdateProfileContact.
func (s *Service) UpdateProfileContact(ctx context.Context, req *contactsv1.UpdateProfileContactRequest) (*contactsv1.UpdateProfileContactResponse, error) {
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	mask, vs := validateUpdateProfile(req)
	return runProfileWrite(ctx, s, req, profileWrite{call: call, vs: vs, requestID: req.GetRequestId(), etag: req.GetEtag(),
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, updated, err := safeedit.UpdateProfile(cur, req.GetProfile(), req.GetContact(), mask)
			if err != nil {
				return nil, mergeFailed(call, err)
			}
			// The contact as updated must be one the upstream takes:
			// named in the request's terms, as contact.*.
			var vs violations
			validateContent(&vs, "contact", updated)
			if len(vs) > 0 {
				return nil, errmap.Invalid(vs, call).Err()
			}
			return next, nil
		}},
		func() *contactsv1.UpdateProfileContactResponse { return new(contactsv1.UpdateProfileContactResponse) },
		func(w written) *contactsv1.UpdateProfileContactResponse {
			return &contactsv1.UpdateProfileContactResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
				Warnings: w.warnings, UpstreamRequestId: w.upstreamID}
		})
}

// ClearProfileContacts implements contacts.v1.ContactsService.ClearProfileContacts.
func (s *Service) ClearProfileContacts(ctx context.Context, req *contactsv1.ClearProfileContactsRequest) (*contactsv1.ClearProfileContactsResponse, error) {
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()}
	vs := validateClearProfile(req)
	if len(vs) == 0 && req.GetProfile() == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
		// Refused before any upstream call: it can never succeed.
		return nil, safeStatus(rowGeneralRequired, call, "", nil)
	}
	return runProfileWrite(ctx, s, req, profileWrite{call: call, vs: vs, requestID: req.GetRequestId(), etag: req.GetEtag(),
		merge: func(cur []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
			next, err := safeedit.ClearProfile(cur, req.GetProfile())
			if err != nil {
				return nil, mergeFailed(call, err)
			}
			return next, nil
		}},
		func() *contactsv1.ClearProfileContactsResponse { return new(contactsv1.ClearProfileContactsResponse) },
		func(w written) *contactsv1.ClearProfileContactsResponse {
			return &contactsv1.ClearProfileContactsResponse{Contacts: w.next, Etag: w.etag, PreviousContacts: w.previous,
				Warnings: w.warnings, UpstreamRequestId: w.upstreamID}
		})
}
