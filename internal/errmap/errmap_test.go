package errmap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/answers"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/errmap/errmaptest"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func readAnswer(t *testing.T, path string) errmaptest.Answer {
	t.Helper()
	a, err := errmaptest.ReadAnswer(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// callThrough serves the answer from a fake upstream and makes the matching
// call with the real client, so the golden files cover decoding and
// translation together.
func callThrough(t *testing.T, a errmaptest.Answer) error {
	t.Helper()
	srv := httptest.NewServer(a)
	defer srv.Close()
	c, err := upstream.New(upstream.Config{BaseURL: srv.URL, Retry: upstream.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	contacts := []*contactsv1.Contact{{Email: "x@example.com"}}
	switch a.Method {
	case "GET":
		_, err = c.List(ctx, "1000001", false)
	case "PUT":
		_, err = c.Replace(ctx, "1000001", contacts)
	case "POST":
		_, err = c.Create(ctx, "1000001", contacts)
	default:
		t.Fatalf("unknown method %q", a.Method)
	}
	if err == nil {
		t.Fatalf("the client accepted a %d answer", a.Status)
	}
	return err
}

func TestTranslateRecordedAnswers(t *testing.T) {
	files, err := filepath.Glob("testdata/answers/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded answers: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			a := readAnswer(t, f)
			err := callThrough(t, a)
			s := errmap.Translate(err, errmap.Call{Method: upstream.Method(a.Method), PropertyID: "1000001"})
			checkInvariants(t, s)
			golden(t, name, s)
		})
	}
}

// TestEveryRowIsCovered fails when a row of the table has no recorded
// answer, so the table and its golden files cannot drift apart.
func TestEveryRowIsCovered(t *testing.T) {
	files, _ := filepath.Glob("testdata/answers/*.txt")
	covered := map[string]bool{}
	for _, f := range files {
		a := readAnswer(t, f)
		var env struct {
			Errors []upstream.Message `json:"errors"`
		}
		_ = json.Unmarshal(a.Body, &env)
		covered[strconv.Itoa(a.Status)] = true
		for _, m := range env.Errors {
			covered[fmt.Sprintf("%d/%s", a.Status, m.Code)] = true
		}
	}
	for _, k := range answers.APIKeys() {
		if !covered[k] {
			t.Errorf("row %s has no recorded answer in testdata/answers", k)
		}
	}
}

// TestNoStatusGivesUnknown walks every HTTP status and OTA code of interest:
// no combination may give OK or UNKNOWN, or lose its ErrorInfo.
func TestNoStatusGivesUnknown(t *testing.T) {
	otas := []string{"", "150", "320", "321", "394", "447", "448", "450", "497", "635", "999"}
	for st := 100; st < 600; st++ {
		for _, ota := range otas {
			for _, m := range []upstream.Method{upstream.MethodGet, upstream.MethodPut, upstream.MethodPost} {
				e := &upstream.APIError{Method: m, HTTPStatus: st}
				if ota != "" {
					e.Errors = []upstream.Message{{Code: upstream.FlexString(ota), Details: &upstream.Details{Fields: []string{"contacts[0].email"}}}}
				}
				s := errmap.Translate(e, errmap.Call{Method: m, PropertyID: "1"})
				if s.Code() == codes.OK || s.Code() == codes.Unknown {
					t.Fatalf("HTTP %d OTA %q %s: code %v", st, ota, m, s.Code())
				}
				checkInvariants(t, s)
			}
		}
	}
}

func TestTranslateFacadeFailures(t *testing.T) {
	deadline, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	cases := []struct {
		name string
		err  error
		call errmap.Call
	}{
		{"transport-refused", &upstream.TransportError{Method: upstream.MethodGet, NotSent: true, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, errmap.Call{Method: upstream.MethodGet, PropertyID: "1000001"}},
		{"transport-deadline", &upstream.TransportError{Method: upstream.MethodPut, Err: deadline.Err()}, errmap.Call{Method: upstream.MethodPut, PropertyID: "1000001"}},
		{"transport-cancelled", &upstream.TransportError{Method: upstream.MethodGet, Err: cancelled.Err()}, errmap.Call{Method: upstream.MethodGet, PropertyID: "1000001"}},
		{"body-too-large", &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 200, TooLarge: true, Kind: upstream.DecodeBodyTooLarge, BodyBytes: 1 << 21}, errmap.Call{Method: upstream.MethodGet, PropertyID: "1000001"}},
		{"headers-too-large", &upstream.DecodeError{Method: upstream.MethodGet, Kind: upstream.DecodeHeadersTooLarge, TooLarge: true}, errmap.Call{Method: upstream.MethodGet, PropertyID: "1000001"}},
		{"plain-error-is-internal", errors.New("secret=hunter2 must not leak"), errmap.Call{Method: upstream.MethodGet}},
		{"local-violations", nil, errmap.Call{Method: upstream.MethodPut, PropertyID: "12x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s *status.Status
			if tc.err == nil {
				s = errmap.Invalid([]errmap.Violation{
					{Field: "property_id", OTACode: "320", Description: "must be decimal digits"},
					{Field: "contacts[0].email", OTACode: "321", Description: "required"},
					{Field: "contacts[0].profiles[0]", OTACode: "450", Description: "CONTRACT cannot be written"},
				}, tc.call)
			} else {
				s = errmap.Translate(tc.err, tc.call)
			}
			checkInvariants(t, s)
			if strings.Contains(s.Message(), "hunter2") {
				t.Fatalf("message leaks the error text: %q", s.Message())
			}
			golden(t, tc.name, s)
		})
	}
}

func TestProtoFieldPath(t *testing.T) {
	cases := map[string]string{
		"contacts[0].phones[1].phone_number":   "contacts[0].phones[1].phone_number",
		"contacts.0.phones.1.phone_number":     "contacts[0].phones[1].phone_number",
		"contacts[2].contact_profiles[1].type": "contacts[2].profiles[1]",
		"contacts.2.contact_profiles.1.type":   "contacts[2].profiles[1]",
		"contacts[0].contact_profiles":         "contacts[0].profiles",
		"contacts[0].contact_person.name":      "contacts[0].contact_person.name",
		"contacts":                             "contacts",
		"/contacts/0/email":                    "contacts[0].email",
		"$.contacts[0].email":                  "contacts[0].email",
		"email":                                "email",
		"propertyId":                           "property_id",
		"":                                     "",
	}
	for in, want := range cases {
		if got := errmap.ProtoFieldPath(in); got != want {
			t.Errorf("ProtoFieldPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkInvariants asserts AIP-193: exactly one ErrorInfo of our domain, and
// no detail type twice.
func checkInvariants(t *testing.T, s *status.Status) {
	t.Helper()
	if s == nil {
		t.Fatal("nil status")
	}
	seen := map[string]bool{}
	infos := 0
	for _, d := range s.Details() {
		typ := reflect.TypeOf(d).String()
		if seen[typ] {
			t.Fatalf("detail %s twice in %v", typ, s.Proto())
		}
		seen[typ] = true
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			infos++
			if ei.GetDomain() != errmap.Domain || ei.GetReason() == "" {
				t.Fatalf("bad ErrorInfo %v", ei)
			}
		}
	}
	if infos != 1 {
		t.Fatalf("%d ErrorInfo details, want 1: %v", infos, s.Proto())
	}
}

// golden compares the rendered status with testdata/golden/NAME.golden.
func golden(t *testing.T, name string, s *status.Status) {
	t.Helper()
	got := render(t, s)
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/errmap -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("status differs from %s (go test ./internal/errmap -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// render prints a status readably and deterministically: the code by name,
// then the google.rpc.Status as indented JSON.
func render(t *testing.T, s *status.Status) []byte {
	t.Helper()
	raw, err := protojson.Marshal(s.Proto())
	if err != nil {
		t.Fatal(err)
	}
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, "code: %s\n%s\n", s.Code(), out.Bytes())
}
