package service

import (
	"slices"
	"strconv"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

// Validation of the fields the safe edits add, with the helpers and the
// error shape of validate.go.

// validateEtag checks an optional etag: the shape of a value this API
// returns (W/"..."). Whether it is current is decided under the lock.
func validateEtag(vs *violations, etag string) {
	if etag != "" && !safeedit.WellFormedEtag(etag) {
		vs.add("etag", otaInvalid, `etag must be a value returned by this API, such as W/"3q2-7w..."`)
	}
}

// validateRequestID checks an optional AIP-155 request_id: a UUID in its
// canonical text form (8-4-4-4-12 hexadecimal digits).
func validateRequestID(vs *violations, id string) {
	if id != "" && !safeedit.IsRequestID(id) {
		vs.add("request_id", otaInvalid, `request_id must be a UUID such as "8f14e45f-ceea-467f-a0e6-4f0c3b1d9a21"`)
	}
}

// validateProfileField checks the profile of a per-profile request.
// CONTRACT can be read (GetProfileContacts) but not written.
func validateProfileField(vs *violations, p contactsv1.ProfileType, write bool) {
	switch {
	case p == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED:
		vs.add("profile", otaMissing, "profile is required. Allowed values: "+allowedProfiles)
	case contactsv1.ProfileType_name[int32(p)] == "":
		vs.add("profile", otaInvalid, "unknown profile type "+strconv.Itoa(int(p))+". Allowed values: "+allowedProfiles)
	case write && p == contactsv1.ProfileType_PROFILE_TYPE_CONTRACT:
		vs.add("profile", otaContract, "PROFILE_TYPE_CONTRACT cannot be written through the Contacts API")
	}
}

// validateContent checks what a contact is, its profiles aside.
func validateContent(vs *violations, field string, c *contactsv1.Contact) {
	p := fieldRoot(field)
	validatePerson(vs, p.dot("contact_person"), c.GetContactPerson())
	validateAddress(vs, p.dot("address"), c.GetAddress())
	validatePhones(vs, p.dot("phones"), c.GetPhones())
	validateEmail(vs, p.dot("email"), c.GetEmail())
}

func validateGetProfile(req *contactsv1.GetProfileContactsRequest) violations {
	var vs violations
	validatePropertyID(&vs, req.GetPropertyId())
	validateProfileField(&vs, req.GetProfile(), false)
	return vs
}

func validateSetProfile(req *contactsv1.SetProfileContactsRequest) violations {
	var vs violations
	validatePropertyID(&vs, req.GetPropertyId())
	p := req.GetProfile()
	validateProfileField(&vs, p, true)
	cs := req.GetContacts()
	switch {
	case len(cs) == 0:
		vs.add("contacts", otaMissing, "at least one contact is required; to have none serve the profile, call ClearProfileContacts")
	case p == contactsv1.ProfileType_PROFILE_TYPE_GENERAL && len(cs) > 1:
		vs.add("contacts", otaInvalid, "exactly one contact must serve PROFILE_TYPE_GENERAL")
	case len(cs) > maxContacts:
		vs.add("contacts", otaInvalid, "at most "+strconv.Itoa(maxContacts)+" contacts per request")
	default:
		for i, c := range cs {
			f := "contacts[" + strconv.Itoa(i) + "]"
			if c == nil {
				vs.add(f, otaMissing, "a contact is required here")
				continue
			}
			// A contact of a GetProfileContacts answer, sent back as it
			// is, names the request's profile among others: the others
			// are kept as they are, not set.
			if ps := c.GetProfiles(); len(ps) > 0 && !slices.Contains(ps, p) {
				vs.add(f+".profiles", otaInvalid, "leave profiles empty or include the request's profile: SetProfileContacts changes that profile only, and keeps the other profiles of existing contacts")
			}
			validateContent(&vs, f, c)
		}
	}
	validateEtag(&vs, req.GetEtag())
	validateRequestID(&vs, req.GetRequestId())
	return vs
}

// validateUpdateProfile checks the request and parses its mask. The
// contact as updated is checked once the current one is known.
func validateUpdateProfile(req *contactsv1.UpdateProfileContactRequest) (safeedit.Mask, violations) {
	var vs violations
	validatePropertyID(&vs, req.GetPropertyId())
	validateProfileField(&vs, req.GetProfile(), true)
	if req.GetContact() == nil {
		vs.add("contact", otaMissing, "contact is required: the new values of the fields named in update_mask")
	}
	var mask safeedit.Mask
	if paths := req.GetUpdateMask().GetPaths(); len(paths) > 0 {
		var errs []safeedit.PathError
		mask, errs = safeedit.ParseMask(paths)
		for _, e := range errs {
			vs.add("update_mask.paths["+strconv.Itoa(e.Index)+"]", otaInvalid, e.Problem)
		}
	} else {
		mask = safeedit.PopulatedMask(req.GetContact())
	}
	validateEtag(&vs, req.GetEtag())
	validateRequestID(&vs, req.GetRequestId())
	return mask, vs
}

func validateClearProfile(req *contactsv1.ClearProfileContactsRequest) violations {
	var vs violations
	validatePropertyID(&vs, req.GetPropertyId())
	validateProfileField(&vs, req.GetProfile(), true)
	validateEtag(&vs, req.GetEtag())
	validateRequestID(&vs, req.GetRequestId())
	return vs
}

// validateReplace is validateWrite plus the fields of safe edits.
func validateReplace(req *contactsv1.ReplaceContactsRequest) violations {
	vs := validateWrite(req.GetPropertyId(), req.GetContacts())
	validateEtag(&vs, req.GetEtag())
	validateRequestID(&vs, req.GetRequestId())
	return vs
}

func validateCreate(req *contactsv1.CreateContactsRequest) violations {
	vs := validateWrite(req.GetPropertyId(), req.GetContacts())
	validateRequestID(&vs, req.GetRequestId())
	return vs
}
