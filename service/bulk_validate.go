package service

import (
	"strconv"
	"strings"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Validation of the bulk requests: each is checked whole before an
// operation starts, its edit once for all targets, in the single call's
// terms, with its fields named in the bulk request's.

// validOperationName reports whether name is the name of an operation.
func validOperationName(name string) bool {
	id, ok := strings.CutPrefix(name, operationsPrefix)
	if !ok || len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// validateTargets checks the targets of a bulk request: 1 to
// MaxBulkTargets, each a well-formed property id given once, each etag
// well-formed.
func validateTargets(vs *violations, targets []*contactsv1.BulkTarget) {
	switch {
	case len(targets) == 0:
		vs.add("targets", otaMissing, "targets is required: 1 to "+strconv.Itoa(MaxBulkTargets)+" properties, e.g. {property_id: \"1000001\"}")
		return
	case len(targets) > MaxBulkTargets:
		vs.add("targets", otaInvalid, "at most "+strconv.Itoa(MaxBulkTargets)+" targets per operation")
		return
	}
	first := make(map[string]int, len(targets))
	for i, t := range targets {
		at := "targets[" + strconv.Itoa(i) + "]."
		var one violations
		validatePropertyID(&one, t.GetPropertyId())
		validateEtag(&one, t.GetEtag())
		for _, v := range one {
			v.Field = at + v.Field
			*vs = append(*vs, v)
		}
		if len(one) > 0 {
			continue
		}
		if j, ok := first[t.GetPropertyId()]; ok {
			vs.add(at+"property_id", otaInvalid, "duplicates targets["+strconv.Itoa(j)+"]: give each property once")
			continue
		}
		first[t.GetPropertyId()] = i
	}
}

// sampleProperty stands in for the targets when the edit is validated
// once for all of them.
const sampleProperty = "1"

// validateBulkEdit checks a BulkEditProfile request whole: the targets,
// then the edit as the single call checks it (once: it is the same for
// every target), its fields named in the bulk request's terms. refusal is
// set for an edit that every item would refuse (clearing GENERAL).
func validateBulkEdit(req *contactsv1.BulkEditProfileRequest) (vs violations, refusal error) {
	validateTargets(&vs, req.GetTargets())
	validateRequestID(&vs, req.GetRequestId())
	if req.GetEdit() == nil {
		vs.add("edit", otaMissing, "one of set, update or clear is required")
		return vs, nil
	}
	_, spec := editItem(&contactsv1.BulkEditProfileRequest{Targets: []*contactsv1.BulkTarget{{PropertyId: sampleProperty}},
		Profile: req.GetProfile(), Edit: req.GetEdit()}, 0, "")
	prefix := ""
	switch req.GetEdit().(type) {
	case *contactsv1.BulkEditProfileRequest_Set:
		prefix = "set."
	case *contactsv1.BulkEditProfileRequest_Update:
		prefix = "update."
	}
	for _, v := range spec.violations {
		if v.Field != "profile" {
			v.Field = prefix + v.Field
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 && spec.refusal != nil {
		return nil, spec.refusal
	}
	return vs, nil
}

// validateTemplate checks an ApplyContactsTemplate request whole: the
// targets, then the template as ReplaceContacts checks its contacts.
func validateTemplate(req *contactsv1.ApplyContactsTemplateRequest) violations {
	var vs violations
	validateTargets(&vs, req.GetTargets())
	validateRequestID(&vs, req.GetRequestId())
	vs = append(vs, validateReplace(&contactsv1.ReplaceContactsRequest{PropertyId: sampleProperty, Contacts: req.GetContacts()})...)
	return vs
}
