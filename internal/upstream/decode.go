package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// decodeAnswer turns a complete HTTP answer into env or a typed error,
// without guessing:
//
//   - the body must be a JSON object, else *DecodeError (HTML from a proxy,
//     empty, truncated, trailing garbage);
//   - a non-2xx status gives *APIError, with whatever the object held;
//   - a 2xx object must hold at least one envelope member (data, errors,
//     warnings, meta), so that some unrelated JSON is never taken for a
//     successful write; GET needs data.contacts as a list;
//   - a 2xx envelope with errors[] is an *APIError, never half a success.
func decodeAnswer(m Method, status int, h http.Header, body []byte, env *Envelope) error {
	fail := func(kind DecodeKind) *DecodeError {
		return &DecodeError{
			Method:      m,
			HTTPStatus:  status,
			ContentType: mediaType(h.Get("Content-Type")),
			BodyBytes:   int64(len(body)),
			Kind:        kind,
			RetryAfter:  httpx.ParseRetryAfter(h.Get("Retry-After"), time.Now()),
		}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return fail(DecodeEmpty)
	}
	if trimmed[0] != '{' {
		return fail(DecodeNotObject)
	}
	if err := unmarshalEnvelope(body, env); err != nil {
		return describeJSONError(fail, body, err)
	}
	ok := status >= 200 && status <= 299
	if ok && len(env.Errors) == 0 {
		switch {
		case env.Data == nil && env.Errors == nil && env.Warnings == nil && env.Meta == nil:
			return fail(DecodeNoEnvelope)
		case m == MethodGet && (env.Data == nil || env.Data.Contacts == nil):
			return fail(DecodeNoContacts)
		}
		return nil
	}
	return &APIError{
		Method:     m,
		HTTPStatus: status,
		Errors:     env.Errors,
		Warnings:   env.Warnings,
		RequestID:  env.requestID(),
		RetryAfter: httpx.ParseRetryAfter(h.Get("Retry-After"), time.Now()),
	}
}

// unmarshalEnvelope decodes body into env with encoding/json, whose
// errors describeJSONError reads.
func unmarshalEnvelope(body []byte, env *Envelope) error {
	return json.Unmarshal(body, env)
}

// describeJSONError turns a json error into a DecodeError that says where
// the problem is and of what kind, never what the value was: a json error's
// own text may quote the value (a strconv error does, whole).
func describeJSONError(fail func(DecodeKind) *DecodeError, body []byte, err error) *DecodeError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		de := fail(DecodeType)
		de.Want = jsonTypeOf(te.Type)
		de.Path, de.Got = locateTypeError(body, te)
		return de
	}
	de := fail(DecodeSyntax)
	de.Path, _ = locate(body, "", nil)
	return de
}

// maxPathBytes bounds DecodeError.Path, whatever the nesting of the body.
const maxPathBytes = 256

// locateTypeError finds the value a type error is about: the first value
// at the error's field path (which has no indexes) that does not decode
// into the error's type. It returns the value's path with indexes and the
// JSON type the value had; when no value is found, the field path alone.
func locateTypeError(body []byte, te *json.UnmarshalTypeError) (path, got string) {
	typ := te.Type
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	bad := func(raw []byte, delim json.Delim) bool {
		switch delim {
		case '{':
			return typ.Kind() != reflect.Struct && typ.Kind() != reflect.Map
		case '[':
			return typ.Kind() != reflect.Slice && typ.Kind() != reflect.Array
		}
		return json.Unmarshal(raw, reflect.New(typ).Interface()) != nil
	}
	path, raw, ok := locateValue(body, te.Field, bad)
	if !ok {
		return sanitizePath(te.Field), "another type"
	}
	return path, jsonTypeOfRaw(raw)
}

// locate walks body; with a nil bad it returns the path at which body
// stops being valid JSON.
func locate(body []byte, field string, bad func([]byte, json.Delim) bool) (string, bool) {
	path, _, ok := locateValue(body, field, bad)
	return path, ok
}

// seg is one level of the path being walked.
type seg struct {
	array   bool
	index   int    // of the current element, -1 before the first
	key     string // of the current member
	haveKey bool   // key read, its value not finished
}

// locateValue walks the tokens of body. When bad is set it returns the
// path and raw bytes of the first value whose index-free path is field and
// for which bad reports true (a compound value is passed as its opening
// delimiter). When bad is nil it returns the path where the body stops
// being valid JSON.
func locateValue(body []byte, field string, bad func([]byte, json.Delim) bool) (string, []byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []seg
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return renderPath(stack), nil, bad == nil
		}
		delim, isDelim := tok.(json.Delim)
		if n := len(stack); n > 0 && !stack[n-1].array && !stack[n-1].haveKey && !(isDelim && delim == '}') {
			k, _ := tok.(string)
			stack[n-1].key, stack[n-1].haveKey = k, true
			continue
		}
		if isDelim && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			valueDone(stack)
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].array {
			stack[n-1].index++
		}
		if bad != nil && strippedPath(stack) == field {
			raw := bytes.TrimLeft(body[before:dec.InputOffset()], " \t\r\n,:")
			var d json.Delim
			if isDelim {
				d = delim
			}
			if bad(raw, d) {
				return renderPath(stack), raw, true
			}
		}
		if isDelim {
			stack = append(stack, seg{array: delim == '[', index: -1})
			continue
		}
		valueDone(stack)
	}
}

func valueDone(stack []seg) {
	if n := len(stack); n > 0 && !stack[n-1].array {
		stack[n-1].haveKey = false
	}
}

// strippedPath is the path of the member names only, dot-separated, as
// encoding/json names a field in an UnmarshalTypeError.
func strippedPath(stack []seg) string {
	var b strings.Builder
	for _, s := range stack {
		if s.array {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// renderPath writes the path with indexes; member names the API does not
// define become "?", so that no key chosen by the body reaches a log.
func renderPath(stack []seg) string {
	var b strings.Builder
	for _, s := range stack {
		if b.Len() > maxPathBytes {
			break
		}
		if s.array {
			if s.index >= 0 {
				b.WriteByte('[')
				b.WriteString(itoa(s.index))
				b.WriteByte(']')
			}
			continue
		}
		if !s.haveKey {
			continue // between members: the object itself is the place
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(knownKey(s.key))
	}
	return cut(b.String(), maxPathBytes)
}

// sanitizePath applies knownKey to every member of a dotted path.
func sanitizePath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		parts[i] = knownKey(s)
	}
	return cut(strings.Join(parts, "."), maxPathBytes)
}

// wireKeys are the member names of the REST API's JSON (wire.go).
var wireKeys = map[string]bool{
	"data": true, "contacts": true, "errors": true, "warnings": true, "meta": true, "ruid": true,
	"code": true, "message": true, "description": true, "details": true, "fields": true, "allowed_values": true,
	"contact_profiles": true, "type": true, "contact_person": true, "name": true, "gender": true,
	"job_title": true, "language_code": true, "address": true, "address_line": true, "city_name": true,
	"postal_code": true, "country_code": true, "state_prov_code": true, "phones": true,
	"phone_number": true, "phone_tech_type": true, "extension": true, "email": true,
}

func knownKey(k string) string {
	if wireKeys[k] {
		return k
	}
	return "?"
}

// jsonTypeOf names the JSON type a Go type of the wire shapes reads.
func jsonTypeOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[FlexInt]():
		return "integer or a string of digits"
	case reflect.TypeFor[FlexString]():
		return "string or number"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "another type"
}

// jsonTypeOfRaw names the JSON type of a raw value (or of the compound
// value its first byte opens).
func jsonTypeOfRaw(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return "another type"
}

// knownMediaTypes are the content types a DecodeError names; any other is
// "other", because the header comes from the upstream and goes into logs.
var knownMediaTypes = map[string]bool{
	"application/json": true, "application/problem+json": true, "application/xml": true,
	"application/octet-stream": true, "text/html": true, "text/plain": true, "text/xml": true,
}

// mediaType is the media type of a Content-Type header without its
// parameters, lower case, if it is one of knownMediaTypes; "" when the
// header is absent and "other" for anything else.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "" || knownMediaTypes[ct] {
		return ct
	}
	return "other"
}
