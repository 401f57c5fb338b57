package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
)

// fuzzMaxBody is the size cap of the fuzzed client: small, so that the
// fuzzer reaches the too-large path, and above every testdata body.
const fuzzMaxBody = 2048

// roundTripFunc answers HTTP requests in memory.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzDecode feeds arbitrary answers (status, Retry-After, body) to the
// real client, through an in-memory transport: the client never panics,
// and returns either a success whose proto the gRPC server can send, or an
// *APIError or *DecodeError that describes the answer faithfully.
//
// Longer runs: go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10m ./internal/upstream
func FuzzDecode(f *testing.F) {
	for name, body := range testdataBodies(f) {
		status := uint16(200)
		if rest, ok := strings.CutPrefix(name, "error_"); ok {
			status = 400
			if n, err := strconv.Atoi(rest[:3]); err == nil {
				status = uint16(n)
			}
		}
		for m := range uint8(3) {
			f.Add(status, m, "", body)
		}
	}
	f.Add(uint16(429), uint8(0), "7", []byte(`{"errors":[{"message":"Too many requests"}]}`))
	f.Add(uint16(503), uint8(0), "Wed, 21 Oct 2099 07:28:00 GMT", []byte(`<html>503</html>`))
	f.Add(uint16(200), uint8(0), "", bytes.Repeat([]byte(" "), fuzzMaxBody+1))
	f.Add(uint16(200), uint8(0), "", []byte("{\"data\":{\"contacts\":[{\"email\":\"\xff\xfe\"}]}}"))

	methods := [...]Method{MethodGet, MethodPut, MethodPost}
	f.Fuzz(func(t *testing.T, status uint16, method uint8, retryAfter string, body []byte) {
		st := int(status)%900 + 100 // a three-digit status
		m := methods[int(method)%len(methods)]
		c, err := New(Config{
			BaseURL:      "http://upstream.invalid",
			MaxBodyBytes: fuzzMaxBody,
			Retry:        RetryPolicy{MaxAttempts: 1},
			HTTPClient: &http.Client{
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
				Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					h := http.Header{"Content-Type": {"application/json"}}
					if retryAfter != "" {
						h["Retry-After"] = []string{retryAfter}
					}
					return &http.Response{StatusCode: st, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
						ContentLength: -1, Request: r}, nil
				}),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		var resp proto.Message
		switch m {
		case MethodGet:
			r, e := c.List(context.Background(), "1000001", false)
			resp, err = r, e
		case MethodPut:
			r, e := c.Replace(context.Background(), "1000001", nil)
			resp, err = r, e
		case MethodPost:
			r, e := c.Create(context.Background(), "1000001", nil)
			resp, err = r, e
		}

		if err == nil {
			if st < 200 || st > 299 {
				t.Fatalf("HTTP %d accepted as a success", st)
			}
			if len(body) > fuzzMaxBody {
				t.Fatalf("a %d-byte body passed the %d-byte cap", len(body), fuzzMaxBody)
			}
			// The gRPC server must be able to send what the client made.
			if _, err := proto.Marshal(resp); err != nil {
				t.Fatalf("the %s answer cannot be marshalled: %v", m, err)
			}
			return
		}
		var (
			ae *APIError
			de *DecodeError
		)
		switch {
		case errors.As(err, &ae):
			if ae.HTTPStatus != st || ae.Method != m {
				t.Fatalf("APIError %d %s for HTTP %d %s", ae.HTTPStatus, ae.Method, st, m)
			}
			if st >= 200 && st <= 299 && len(ae.Errors) == 0 {
				t.Fatalf("a 2xx without errors[] became an APIError: %v", ae)
			}
			if ae.RetryAfter < 0 {
				t.Fatalf("negative Retry-After %v", ae.RetryAfter)
			}
			_ = ae.Error()
		case errors.As(err, &de):
			if de.HTTPStatus != st || de.Method != m {
				t.Fatalf("DecodeError %d %s for HTTP %d %s", de.HTTPStatus, de.Method, st, m)
			}
			if de.TooLarge != (len(body) > fuzzMaxBody) {
				t.Fatalf("TooLarge %v for a %d-byte body (cap %d)", de.TooLarge, len(body), fuzzMaxBody)
			}
			// The error says where and what kind, in the API's own names:
			// nothing of the body but its shape.
			if !decodeKinds[de.Kind] {
				t.Fatalf("unknown kind %q", de.Kind)
			}
			if de.Path != "" && (len(de.Path) > maxPathBytes || !safePath.MatchString(de.Path)) {
				t.Fatalf("path %q is not made of the API's member names and indexes", de.Path)
			}
			if !utf8.ValidString(de.Error()) {
				t.Fatalf("error %q is not valid UTF-8", de.Error())
			}
			if de.RetryAfter < 0 {
				t.Fatalf("negative Retry-After %v", de.RetryAfter)
			}
			_ = de.Error()
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

var decodeKinds = map[DecodeKind]bool{
	DecodeEmpty: true, DecodeNotObject: true, DecodeSyntax: true, DecodeType: true,
	DecodeNoEnvelope: true, DecodeNoContacts: true, DecodeBodyTooLarge: true,
}

// safePath is a path of known member names (or "?") and indexes, possibly
// cut with "…".
var safePath = regexp.MustCompile(`^(\?|[a-z_]+|\[[0-9]+\])(\.(\?|[a-z_]+)|\[[0-9]+\])*(…)?$`)

// testdataBodies returns the recorded answers of testdata by file name:
// the seeds of every fuzz target of the package.
func testdataBodies(f *testing.F) map[string][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	bodies := make(map[string][]byte, len(files))
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		bodies[filepath.Base(file)] = body
	}
	return bodies
}
