package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// failingUpstream answers every call with err.
type failingUpstream struct{ err error }

func (f failingUpstream) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return nil, f.err
}
func (f failingUpstream) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, f.err
}
func (f failingUpstream) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, f.err
}

// TestFailureLog: operators get the cause of a failure, and never the
// personal data an upstream body may hold.
func TestFailureLog(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		want    []string
		notWant []string
	}{
		{
			name: "proxy HTML page: its start, masked",
			err: &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 502, ContentType: "text/html",
				Snippet: "<html><h1>502 Bad Gateway</h1> call +31 20 123 4567 or ops@example.com</html>", Err: errors.New("body is not a JSON object")},
			want:    []string{"http_status=502", "content_type=text/html", `body_start="<html><h#>### Bad Gateway</h#> call +## ## ### #### or <masked>"`, "cause=\"body is not a JSON object\""},
			notWant: []string{"ops@example.com", "123 4567"},
		},
		{
			name: "truncated JSON: never its bytes",
			err: &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 200, ContentType: "application/json",
				Snippet: `{"data":{"contacts":[{"contact_person":{"name":"Anna de Vries"},"email":"anna@example.com","phones":[{"phone_number":"+31201234567"`,
				Err:     errors.New("unexpected end of JSON input")},
			want:    []string{"content_type=application/json", "cause=\"unexpected end of JSON input\""},
			notWant: []string{"Anna", "anna@example.com", "+31201234567", "body_start"},
		},
		{
			name:    "refused connection: the cause",
			err:     &upstream.TransportError{Method: upstream.MethodGet, NotSent: true, Err: syscall.ECONNREFUSED},
			want:    []string{"reason=UPSTREAM_UNAVAILABLE", "cause=\"connection refused\""},
			notWant: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := New(failingUpstream{tc.err}, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if _, err := s.ListContacts(context.Background(), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); err == nil {
				t.Fatal("the call succeeded")
			}
			log := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %s:\n%s", w, log)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(log, w) {
					t.Errorf("log holds %s:\n%s", w, log)
				}
			}
		})
	}
}
