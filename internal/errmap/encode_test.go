package errmap_test

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestAppendBadRequestMatchesMarshal pins the hand-written BadRequest
// encoder to the library (see matchesMarshal).
func TestAppendBadRequestMatchesMarshal(t *testing.T) {
	type fv = errdetails.BadRequest_FieldViolation
	long := strings.Repeat("é", 200) // lengths of two-byte varints
	unknown := &errdetails.BadRequest{FieldViolations: []*fv{{Field: "f"}}}
	unknown.FieldViolations[0].ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))
	for name, br := range map[string]*errdetails.BadRequest{
		"empty":     {},
		"one":       {FieldViolations: []*fv{{Field: "contacts[0].email", Reason: "INVALID_VALUE", Description: "Invalid value."}}},
		"blanks":    {FieldViolations: []*fv{{}, {Field: "f"}, {Description: "d"}, {Reason: "r"}}},
		"long":      {FieldViolations: []*fv{{Field: long, Reason: long, Description: long + long}}},
		"localized": {FieldViolations: []*fv{{Field: "f", LocalizedMessage: &errdetails.LocalizedMessage{Locale: "en", Message: "m"}}}},
		"unknown":   unknown,
		"many": {FieldViolations: func() []*fv {
			var vs []*fv
			for i := range 100 {
				vs = append(vs, &fv{Field: strings.Repeat("a", i), Reason: "INVALID_VALUE", Description: strings.Repeat("d", 3*i)})
			}
			return vs
		}()},
	} {
		t.Run(name, func(t *testing.T) {
			matchesMarshal(t, br, func(b []byte) ([]byte, error) { return errmap.AppendBadRequest(b, br) })
		})
	}
}

// matchesMarshal checks that appendTo appends the bytes proto.Marshal
// gives for m, after a prefix that it keeps, and that they decode into a
// message equal to m with no other unknown field.
func matchesMarshal(t *testing.T, m proto.Message, appendTo func([]byte) ([]byte, error)) {
	t.Helper()
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got, err := appendTo(bytes.Clone(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("prefix lost: %q", got)
	}
	got = got[len(prefix):]
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes differ from proto.Marshal:\n got %x\nwant %x", got, want)
	}
	back := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(got, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, m) {
		t.Fatalf("decodes as %v, want %v", back, m)
	}
}

// TestMetaKeysSorted: appendErrorInfo writes the metadata of metadata() in
// the order of metaKeys, which must be the sorted keys of that metadata,
// as for any other map.
func TestMetaKeysSorted(t *testing.T) {
	keys := errmap.MetaKeys()
	if !slices.IsSorted(keys[:]) {
		t.Errorf("metaKeys %q are not sorted", keys)
	}
	md := errmap.FacadeMetadata(errmap.Call{PropertyID: "1"}, "r")
	if got := slices.Sorted(maps.Keys(md)); !slices.Equal(got, keys[:]) {
		t.Errorf("metadata has keys %q, metaKeys %q", got, keys)
	}
}

// TestAppendBytesHeader: the one-byte shortcut of appendBytesHeader writes
// what the wire encoder writes, on both sides of its limits.
func TestAppendBytesHeader(t *testing.T) {
	for _, num := range []protowire.Number{1, 2, 15, 16, 2047, 2048, protowire.MaxValidNumber} {
		for _, n := range []int{0, 1, 127, 128, 16383, 16384, 5 << 10} {
			want := protowire.AppendVarint(protowire.AppendTag([]byte("p"), num, protowire.BytesType), uint64(n))
			if got := errmap.AppendBytesHeader([]byte("p"), num, n); !bytes.Equal(got, want) {
				t.Errorf("field %d, length %d: got %x, want %x", num, n, got, want)
			}
		}
	}
}
