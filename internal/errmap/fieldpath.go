package errmap

import "strings"

// jsonToProtoNames renames the members of the REST body whose contacts.v1
// field has another name. Every other member has the same name in both.
var jsonToProtoNames = map[string]string{
	"contact_profiles": "profiles",
	"propertyId":       "property_id",
	"propertyID":       "property_id",
	"property":         "property_id",
}

// ProtoFieldPath translates a field path of the REST body, as the upstream
// names it in details.fields, into the path of the same field in the
// contacts.v1 request message: proto field names, dots between fields,
// 0-based [i] for repeated fields.
//
//	contacts[0].contact_profiles[1].type → contacts[0].profiles[1]
//	contacts.0.phones.1.phone_number    → contacts[0].phones[1].phone_number
//	contact_profiles                     → profiles
//
// ASSUMPTION (docs/assumptions.md#wire-format-and-errors): the upstream names fields by JSON path
// from the body root, with either [i] or .i for indexes. A bare member name
// (as a sibling API sends, "fields": ["country"]) is renamed and kept.
func ProtoFieldPath(jsonPath string) string {
	p := strings.TrimSpace(jsonPath)
	p = strings.TrimPrefix(p, "$.")
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return ""
	}
	// The path is built on the stack (for paths of the usual length); one
	// that comes out as the upstream sent it, already in proto names with
	// [i] indexes, is returned as a part of jsonPath without a copy.
	var scratch [128]byte
	b := scratch[:0]
	// lastName is the proto name of the previous named segment, so that
	// "profiles[1].type" can drop ".type": in contacts.v1 a profile is the
	// enum itself, not a message with a type field.
	lastName := ""
	afterIndex := false
	for seg := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == '.' || r == '/' }) {
		name, idx := splitIndexes(seg)
		if name != "" && isDigits(name) && idx == "" {
			// ".0" index style.
			b = append(append(append(b, '['), name...), ']')
			afterIndex = true
			continue
		}
		if name == "type" && lastName == "profiles" && afterIndex {
			continue
		}
		if n, ok := jsonToProtoNames[name]; ok {
			name = n
		}
		if len(b) > 0 && name != "" {
			b = append(b, '.')
		}
		b = append(append(b, name...), idx...)
		if name != "" {
			lastName = name
		}
		afterIndex = idx != ""
	}
	if string(b) == p {
		return p
	}
	return string(b)
}

// splitIndexes splits "phones[1]" into "phones" and "[1]".
func splitIndexes(seg string) (name, idx string) {
	if i := strings.IndexByte(seg, '['); i >= 0 {
		return seg[:i], seg[i:]
	}
	return seg, ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
