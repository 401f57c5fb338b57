package upstream

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	gojson "github.com/goccy/go-json"
)

// FuzzGoJSONMatches: unmarshalEnvelope (goccy/go-json on valid JSON) gives
// exactly what encoding/json gives, value and error, on any bytes: the
// decoder's error descriptions and every test of the client rest on
// encoding/json's behaviour.
//
// Longer runs: go test -run '^$' -fuzz '^FuzzGoJSONMatches$' -fuzztime 10m ./internal/upstream
func FuzzGoJSONMatches(f *testing.F) {
	for _, body := range testdataBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{
		"{\"data\":{\"contacts\":[{\"email\":\"\xff\xfe\"}]}}", // invalid UTF-8: encoding/json replaces it
		`{"":{""}}`, // invalid JSON in a member nobody reads
		`{"Data":{"CONTACTS":[{"Email":"a","email":"b"}]},"data":null}`, // case-insensitive keys, duplicates
		`{"errors":[{"code":320,"details":{"fields":"contacts[0].email","x":[1,{"y":null}]}}],"meta":{"ruid":"a\u00e9"}}`,
		`{"data":{"contacts":[{"phones":[{"phone_tech_type":"1"},{"phone_tech_type":1.5}]}]}}`,
		`{"data":{"contacts":[{"contact_person":{"language_code":null}}]}} `,
		`{"warnings":[{"code":{}}]}`, `{"data":[]}`, `{"data":{"contacts":{}}}`,
		// Lists as the details of a 320 hold them, read by plainStrings.
		`["contacts[0].email", "contacts[1].phones[0].phone_number"]`, `[ ]`, `["a" "b"]`, `["a",]`, `["\u0041"]`,
		`[1]`, `["a"]x`, `null`, `["a",["b"]]`, "[\"\xc3\xa9\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want Envelope
		gerr := unmarshalEnvelope(body, &got)
		werr := json.Unmarshal(body, &want)
		if !reflect.DeepEqual(gerr, werr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %#v, %v\nwant %#v, %v", body, got, gerr, want, werr)
		}
		// The details' lists skip both decoders when plain: what they
		// give must be what encoding/json gives.
		if l, ok := plainStrings(body); ok {
			var w []string
			if err := json.Unmarshal(body, &w); err != nil || !reflect.DeepEqual(l, w) {
				t.Errorf("plainStrings(%q) = %#v; encoding/json: %#v, %v", body, l, w, err)
			}
		}
	})
}

// FuzzValidMatches: goccy's validator, which fastDecodable uses in place
// of json.Valid, accepts exactly what json.Valid accepts.
func FuzzValidMatches(f *testing.F) {
	for _, body := range testdataBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{`{"":{""}}`, `1`, ` `, `{"a":1,}`, `[1,]`, "\"\x01\"", `"\ud800"`, `01`, `-`, `1e`, `{"a" 1}`,
		"\"\xff\"", `nul`, `[]]`, `{}{}`, `{} `, "\x00", `"\u12"`, `tru`, `1.e1`, `-0.0e+0`, `"\/\b"`, `"\x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := gojson.Valid(b), json.Valid(b); got != want {
			t.Errorf("%q: goccy says valid %v, encoding/json %v", b, got, want)
		}
	})
}

// TestValidMatchesAtDepth: both validators agree around encoding/json's
// nesting limit.
func TestValidMatchesAtDepth(t *testing.T) {
	for _, n := range []int{9999, 10000, 10001, 20000} {
		for _, open := range []string{"[", `{"a":`} {
			b := append(bytes.Repeat([]byte(open), n), '1')
			b = append(b, bytes.Repeat([]byte(map[string]string{"[": "]", `{"a":`: "}"}[open]), n)...)
			if got, want := gojson.Valid(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: goccy says valid %v, encoding/json %v", n, open, got, want)
			}
		}
	}
}

// TestPlainStrings pins which lists skip the decoders.
func TestPlainStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`["contacts[0].email","contacts[0].address.country_code"]`, []string{"contacts[0].email", "contacts[0].address.country_code"}, true},
		{` [ "a" , "b" ] `, []string{"a", "b"}, true},
		{`[]`, []string{}, true},
		{`null`, nil, false},
		{`["\u0041"]`, nil, false},
		{"[\"\xc3\xa9\"]", nil, false},
		{`["a",1]`, nil, false},
		{`["a",]`, nil, false},
		{`["a"]]`, nil, false},
		{`["a"`, nil, false},
		{``, nil, false},
	} {
		got, ok := plainStrings([]byte(tc.in))
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("plainStrings(%q) = %#v, %v; want %#v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
