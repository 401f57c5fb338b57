package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
)

// flexStringByJSON and flexIntByJSON are the Flex types' decoding done
// wholly by encoding/json, as first written: the fast paths must give the
// same values, and an error exactly where these give one.
func flexStringByJSON(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		err := json.Unmarshal(b, &v)
		return v, err
	}
	var n json.Number
	err := json.Unmarshal(b, &n)
	return n.String(), err
}

func flexIntByJSON(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		return strconv.Atoi(s)
	}
	var v int
	err := json.Unmarshal(b, &v)
	return v, err
}

var flexInputs = []string{
	`"320"`, `320`, `-1`, `0`, `-0`, `01`, `1.5`, `1e3`, `1E+3`, `-1.25e-2`, `1.`, `.5`, `-`, `1e`, `+1`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775809`, `null`, `true`, `false`, `{}`, `[]`, `[1]`,
	`""`, `" 1"`, `"1 "`, `"a\"b"`, `"caf\u00e9"`, "\"caf\xc3\xa9\"", "\"\xff\"", `"\n"`, `"tab	in"`, ` "1" `, `"0x10"`, `"-7"`, `"+7"`,
	`"\/"`, `"1`, `1"`, ``, `  `,
}

func TestFlexFastPathsMatchEncodingJSON(t *testing.T) {
	for _, in := range flexInputs {
		b := []byte(in)
		var s FlexString
		serr := s.UnmarshalJSON(b)
		want, werr := flexStringByJSON(b)
		if (serr != nil) != (werr != nil) || serr == nil && string(s) != want {
			t.Errorf("FlexString %q: %q, %v; encoding/json: %q, %v", in, s, serr, want, werr)
		}
		var n FlexInt
		nerr := n.UnmarshalJSON(b)
		wantN, werr := flexIntByJSON(b)
		if (nerr != nil) != (werr != nil) || nerr == nil && int(n) != wantN {
			t.Errorf("FlexInt %q: %d, %v; encoding/json: %d, %v", in, n, nerr, wantN, werr)
		}
		for _, err := range []error{serr, nerr} {
			var te *json.UnmarshalTypeError
			if err != nil && !errors.As(err, &te) {
				t.Errorf("%q: error %T, want *json.UnmarshalTypeError", in, err)
			}
		}
	}
}

// FuzzFlex: the Flex types decode as encoding/json would, on any bytes.
func FuzzFlex(f *testing.F) {
	for _, in := range flexInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s FlexString
		serr := s.UnmarshalJSON(b)
		want, werr := flexStringByJSON(b)
		if (serr != nil) != (werr != nil) || serr == nil && string(s) != want {
			t.Errorf("FlexString %q: %q, %v; encoding/json: %q, %v", b, s, serr, want, werr)
		}
		var n FlexInt
		nerr := n.UnmarshalJSON(b)
		wantN, werr := flexIntByJSON(b)
		if (nerr != nil) != (werr != nil) || nerr == nil && int(n) != wantN {
			t.Errorf("FlexInt %q: %d, %v; encoding/json: %d, %v", b, n, nerr, wantN, werr)
		}
	})
}

// detailsByJSON is Details.UnmarshalJSON as first written, wholly by
// encoding/json.
func detailsByJSON(b []byte) (Details, error) {
	var d Details
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return d, err
	}
	if raw, ok := all["fields"]; ok {
		if err := json.Unmarshal(raw, &d.Fields); err != nil {
			var one string
			if err := json.Unmarshal(raw, &one); err != nil {
				return d, err
			}
			d.Fields = []string{one}
		}
		delete(all, "fields")
	}
	if raw, ok := all["allowed_values"]; ok {
		if err := json.Unmarshal(raw, &d.AllowedValues); err != nil {
			return d, err
		}
		delete(all, "allowed_values")
	}
	if len(all) > 0 {
		d.Extra = all
	}
	return d, nil
}

// FuzzDetails: Details decodes as encoding/json alone would, on any JSON
// value (encoding/json calls UnmarshalJSON with valid JSON only).
func FuzzDetails(f *testing.F) {
	for _, s := range []string{
		`{"fields":["contacts[0].email"],"allowed_values":["a","b"]}`, `{"fields":"contacts[0].email"}`,
		`{"fields":null,"x":1}`, `{"fields":[1]}`, `{"fields":["a",null]}`, `{"allowed_values":"a"}`,
		`{"fields":["\u00e9\n"],"Fields":["b"],"fields":["c"]}`, "{\"fields\":\"\xff\"}", `[]`, `null`, `"x"`,
		`{"x":{"y":[1,2,{}]},"z":"w"}`, ` { "fields" : [ "a" , "b" ] , "allowed_values" : [ ] } `, `{"fields":["a\"]}b"]}`,
		`{"allowed_values":null}`, `{}`, `{"fields":["a"],"fields":["b"]}`, `{"fi\u0065lds":["a"]}`, `{"fields":{"a":"]"}}`,
		`{"allowed_values":["x"],"fields":"y"}`, `{"fields":[],"extra":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var got Details
		gerr := got.UnmarshalJSON(b)
		want, werr := detailsByJSON(b)
		if (gerr != nil) != (werr != nil) || gerr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %#v, %v; encoding/json: %#v, %v", b, got, gerr, want, werr)
		}
	})
}
