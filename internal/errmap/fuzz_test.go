package errmap_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// parseRecorded splits a testdata/answers file into its method, status,
// Retry-After seconds and body (see readAnswer for the format).
func parseRecorded(raw []byte) (method string, status int, retryAfter uint32, body []byte) {
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", 0, 0, nil
	}
	method, s, _ := strings.Cut(lines[0], " ")
	status, _ = strconv.Atoi(s)
	i := 1
	for ; i < len(lines) && lines[i] != ""; i++ {
		if k, v, ok := strings.Cut(lines[i], ":"); ok && strings.EqualFold(k, "Retry-After") {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			retryAfter = uint32(n)
		}
	}
	if i < len(lines) {
		body = []byte(strings.Join(lines[i+1:], "\n"))
	}
	return method, status, retryAfter, bytes.TrimSuffix(body, []byte("\n"))
}

// FuzzTranslate builds upstream errors from arbitrary statuses and bodies
// (decoded into upstream.Envelope as the client does) and translates them:
// Translate never panics, never answers OK or UNKNOWN, always gives exactly
// one ErrorInfo of the facade's domain and no detail type twice, and the
// status can be marshalled (else gRPC could not send it).
//
// Longer runs: go test -run '^$' -fuzz '^FuzzTranslate$' -fuzztime 10m ./internal/errmap
func FuzzTranslate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "answers", "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no recorded answers: %v", err)
	}
	methodIndex := map[string]uint8{"GET": 0, "PUT": 1, "POST": 2}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		m, st, ra, body := parseRecorded(raw)
		mi, ok := methodIndex[m]
		if !ok || st < 100 {
			f.Fatalf("%s: method %q status %d", file, m, st)
		}
		f.Add(st, mi, ra, false, body)
	}
	f.Add(413, uint8(1), uint32(0), true, []byte(`{}`))
	f.Add(0, uint8(0), uint32(0), false, []byte(`{"errors":[{"code":"","details":{"fields":["", " ", "$.", "/", "[0]", ".0.", "contacts..0"]}}]}`))

	methods := [...]upstream.Method{upstream.MethodGet, upstream.MethodPut, upstream.MethodPost}
	f.Fuzz(func(t *testing.T, status int, method uint8, retryAfterSecs uint32, tooLarge bool, body []byte) {
		m := methods[int(method)%len(methods)]
		var env upstream.Envelope
		_ = json.Unmarshal(body, &env) // a partial decode is an input too
		ruid := ""
		if env.Meta != nil {
			ruid = env.Meta.RUID
		}
		retryAfter := time.Duration(retryAfterSecs) * time.Second
		apiErr := &upstream.APIError{Method: m, HTTPStatus: status, Errors: env.Errors, Warnings: env.Warnings,
			RequestID: ruid, RetryAfter: retryAfter}
		decErr := &upstream.DecodeError{Method: m, HTTPStatus: status, TooLarge: tooLarge, RetryAfter: retryAfter,
			Kind: upstream.DecodeSyntax, BodyBytes: int64(len(body))}
		call := errmap.Call{Method: m, PropertyID: "1000001"}
		for _, err := range []error{apiErr, decErr, fmt.Errorf("wrapped: %w", apiErr)} {
			s := errmap.Translate(err, call)
			if s == nil || s.Code() == codes.OK || s.Code() == codes.Unknown {
				t.Fatalf("HTTP %d %s %T: status %v", status, m, err, s)
			}
			checkInvariants(t, s)
			b, err := proto.Marshal(s.Proto())
			if err != nil {
				t.Fatalf("the status cannot be marshalled: %v", err)
			}
			if len(b) > errmap.MaxStatusBytes {
				t.Fatalf("the status has %d bytes, over %d", len(b), errmap.MaxStatusBytes)
			}
		}
	})
}
