package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestMain fails the run if a test or an example leaves goroutines behind,
// e.g. a connection that Close did not close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestConstantsMatchServer: the client package must not import the
// server's packages, so it repeats their constants; this keeps them equal.
func TestConstantsMatchServer(t *testing.T) {
	for _, c := range []struct{ client, server string }{
		{client.Domain, errmap.Domain},
		{client.MetaOTACode, errmap.MetaOTACode},
		{client.MetaOTACodes, errmap.MetaOTACodes},
		{client.MetaHTTPStatus, errmap.MetaHTTPStatus},
		{client.MetaRequestID, errmap.MetaRequestID},
		{client.MetaPropertyID, errmap.MetaPropertyID},
		{client.MetaSource, errmap.MetaSource},
	} {
		if c.client != c.server {
			t.Errorf("client has %q, server %q", c.client, c.server)
		}
	}
}

func statusErr(t *testing.T, code codes.Code, details ...protoadapt.MessageV1) error {
	t.Helper()
	st := status.New(code, "test error")
	for _, d := range details {
		var err error
		if st, err = st.WithDetails(d); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// undecodable is a status whose first BadRequest and ErrorInfo do not
// decode, with a detail of a type nobody knows between them, followed by a
// good ErrorInfo and BadRequest.
func undecodable(t *testing.T, info *errdetails.ErrorInfo, violations []*errdetails.BadRequest_FieldViolation) error {
	t.Helper()
	p := &spb.Status{Code: int32(codes.InvalidArgument), Message: "test error"}
	garbage := []byte{0xff, 0xff, 0xff}
	for _, d := range []struct {
		url   string
		value []byte
	}{
		{"type.googleapis.com/google.rpc.BadRequest", garbage},
		{"type.googleapis.com/google.rpc.ErrorInfo", garbage},
		{"type.googleapis.com/example.Unknown", []byte{0x0a, 0x01, 'x'}},
	} {
		p.Details = append(p.Details, &anypb.Any{TypeUrl: d.url, Value: d.value})
	}
	for _, m := range []proto.Message{info, &errdetails.BadRequest{FieldViolations: violations}} {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		p.Details = append(p.Details, a)
	}
	return status.FromProto(p).Err()
}

// TestFieldViolationsDecodesOnlyBadRequest: reading the violations of a
// refusal does not decode its other details (the ErrorInfo's metadata map
// above all), so it allocates less than decoding them all.
func TestFieldViolationsDecodesOnlyBadRequest(t *testing.T) {
	err := statusErr(t, codes.InvalidArgument,
		&errdetails.ErrorInfo{Reason: "INVALID_VALUE", Domain: client.Domain, Metadata: map[string]string{
			client.MetaOTACode: "320", client.MetaOTACodes: "320", client.MetaHTTPStatus: "400",
			client.MetaRequestID: "ruid", client.MetaPropertyID: "1000001", client.MetaSource: "upstream",
		}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "contacts[0].email", Reason: "INVALID_VALUE"}}},
		&errdetails.RequestInfo{RequestId: "ruid"},
		&errdetails.Help{Links: []*errdetails.Help_Link{{Description: "what INVALID_VALUE means", Url: "https://example.com"}}},
	)
	all := testing.AllocsPerRun(100, func() {
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) != 1 {
				t.Fatal("lost a violation")
			}
		}
	})
	one := testing.AllocsPerRun(100, func() {
		if len(client.FieldViolations(err)) != 1 {
			t.Fatal("lost a violation")
		}
	})
	if one >= all {
		t.Errorf("FieldViolations allocates %.0f, decoding every detail %.0f: it decodes more than the BadRequest", one, all)
	}
	t.Logf("allocations: FieldViolations %.0f, every detail %.0f", one, all)
}

func TestHelpers(t *testing.T) {
	info := &errdetails.ErrorInfo{
		Reason:   "INVALID_VALUE",
		Domain:   client.Domain,
		Metadata: map[string]string{client.MetaOTACode: "320", client.MetaOTACodes: "320"},
	}
	violations := []*errdetails.BadRequest_FieldViolation{
		{Field: "contacts[0].email", Reason: "INVALID_VALUE", Description: "not an e-mail address"},
		{Field: "contacts[0].phones[1].phone_number", Reason: "INVALID_VALUE", Description: "not +digits"},
	}
	full := statusErr(t, codes.Unavailable,
		info,
		&errdetails.BadRequest{FieldViolations: violations},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)},
		&errdetails.RequestInfo{RequestId: "ruid"},
	)

	type want struct {
		reason     string
		otaCode    string
		fields     []string
		retryDelay time.Duration
		retryOK    bool
	}
	for _, tc := range []struct {
		name string
		err  error
		want want
	}{
		{"nil", nil, want{}},
		{"not a status", errors.New("boom"), want{}},
		{"status without details", status.Error(codes.Unavailable, "connection refused"), want{}},
		{"all details", full, want{"INVALID_VALUE", "320", []string{"contacts[0].email", "contacts[0].phones[1].phone_number"}, 1500 * time.Millisecond, true}},
		{"wrapped", fmt.Errorf("replace contacts of 1000001: %w", full), want{"INVALID_VALUE", "320", []string{"contacts[0].email", "contacts[0].phones[1].phone_number"}, 1500 * time.Millisecond, true}},
		{"ErrorInfo without otaCode", statusErr(t, codes.Unavailable, &errdetails.ErrorInfo{Reason: "UPSTREAM_UNAVAILABLE", Domain: client.Domain}), want{reason: "UPSTREAM_UNAVAILABLE"}},
		{"zero retry delay", statusErr(t, codes.ResourceExhausted, &errdetails.RetryInfo{RetryDelay: durationpb.New(0)}), want{retryOK: true}},
		{"undecodable and unknown details are passed over", undecodable(t, info, violations), want{"INVALID_VALUE", "320", []string{"contacts[0].email", "contacts[0].phones[1].phone_number"}, 0, false}},
		{"RetryInfo without delay", statusErr(t, codes.ResourceExhausted, &errdetails.RetryInfo{}), want{}},
		{"negative retry delay", statusErr(t, codes.ResourceExhausted, &errdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)}), want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := client.ErrorInfo(tc.err).GetReason(); got != tc.want.reason {
				t.Errorf("ErrorInfo reason %q, want %q", got, tc.want.reason)
			}
			if got := client.OTACode(tc.err); got != tc.want.otaCode {
				t.Errorf("OTACode %q, want %q", got, tc.want.otaCode)
			}
			var fields []string
			for _, v := range client.FieldViolations(tc.err) {
				fields = append(fields, v.GetField())
			}
			if fmt.Sprint(fields) != fmt.Sprint(tc.want.fields) {
				t.Errorf("FieldViolations %q, want %q", fields, tc.want.fields)
			}
			d, ok := client.RetryDelay(tc.err)
			if d != tc.want.retryDelay || ok != tc.want.retryOK {
				t.Errorf("RetryDelay %v %v, want %v %v", d, ok, tc.want.retryDelay, tc.want.retryOK)
			}
		})
	}
	if !proto.Equal(client.ErrorInfo(full), info) {
		t.Errorf("ErrorInfo %v, want %v", client.ErrorInfo(full), info)
	}
}

// fakeService answers every call with the next error of its script for
// that method (nil: success) and counts the attempts.
type fakeService struct {
	contactsv1.UnimplementedContactsServiceServer
	mu       sync.Mutex
	attempts map[string]int
	script   map[string][]error
}

func (f *fakeService) next(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.attempts[method]
	f.attempts[method]++
	if s := f.script[method]; n < len(s) {
		return s[n]
	}
	return nil
}

func (f *fakeService) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[method]
}

func (f *fakeService) ListContacts(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	if err := f.next("ListContacts"); err != nil {
		return nil, err
	}
	return &contactsv1.ListContactsResponse{RequestId: "ok"}, nil
}

func (f *fakeService) ReplaceContacts(context.Context, *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	if err := f.next("ReplaceContacts"); err != nil {
		return nil, err
	}
	return &contactsv1.ReplaceContactsResponse{RequestId: "ok"}, nil
}

// serveFake serves f over an in-memory listener and returns the DialOption
// that reaches it.
func serveFake(t *testing.T, f *fakeService) grpc.DialOption {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
}

func dialFake(t *testing.T, opts ...grpc.DialOption) *client.Client {
	t.Helper()
	c, err := client.Dial("passthrough:///fake", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRetryPolicy: ListContacts, idempotent, is retried on UNAVAILABLE up
// to 3 attempts; ReplaceContacts is never retried, nor is any other code.
func TestRetryPolicy(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "upstream unavailable")
	t.Run("ListContacts succeeds on the third attempt", func(t *testing.T) {
		f := &fakeService{attempts: map[string]int{}, script: map[string][]error{"ListContacts": {unavailable, unavailable}}}
		c := dialFake(t, serveFake(t, f), client.Insecure())
		resp, err := c.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"})
		if err != nil || resp.GetRequestId() != "ok" {
			t.Fatalf("ListContacts: %v %v", resp, err)
		}
		if n := f.count("ListContacts"); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("ListContacts gives up after 3 attempts", func(t *testing.T) {
		f := &fakeService{attempts: map[string]int{}, script: map[string][]error{"ListContacts": {unavailable, unavailable, unavailable, unavailable}}}
		c := dialFake(t, serveFake(t, f), client.Insecure())
		_, err := c.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("ListContacts: %v, want UNAVAILABLE", err)
		}
		if n := f.count("ListContacts"); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("ListContacts is not retried on other codes", func(t *testing.T) {
		f := &fakeService{attempts: map[string]int{}, script: map[string][]error{"ListContacts": {status.Error(codes.Internal, "bad upstream answer")}}}
		c := dialFake(t, serveFake(t, f), client.Insecure())
		if _, err := c.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"}); status.Code(err) != codes.Internal {
			t.Fatalf("ListContacts: %v, want INTERNAL", err)
		}
		if n := f.count("ListContacts"); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("ReplaceContacts is not retried", func(t *testing.T) {
		f := &fakeService{attempts: map[string]int{}, script: map[string][]error{"ReplaceContacts": {unavailable}}}
		c := dialFake(t, serveFake(t, f), client.Insecure())
		if _, err := c.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: "1"}); status.Code(err) != codes.Unavailable {
			t.Fatalf("ReplaceContacts: %v, want UNAVAILABLE", err)
		}
		if n := f.count("ReplaceContacts"); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
}

// TestDialDefaultsToTLS: without Insecure, Dial speaks TLS, so a plaintext
// server is never reached; the call fails at once (no waiting for ready).
func TestDialDefaultsToTLS(t *testing.T) {
	f := &fakeService{attempts: map[string]int{}}
	c := dialFake(t, serveFake(t, f))
	_, err := c.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: "1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("ReplaceContacts over TLS to a plaintext server: %v, want UNAVAILABLE", err)
	}
	if n := f.count("ReplaceContacts"); n != 0 {
		t.Errorf("the plaintext server got %d calls, want 0", n)
	}
}

func TestCloseCancelsCalls(t *testing.T) {
	f := &fakeService{attempts: map[string]int{}}
	c, err := client.Dial("passthrough:///fake", serveFake(t, f), client.Insecure())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"}); status.Code(err) != codes.Canceled {
		t.Fatalf("call after Close: %v, want CANCELED", err)
	}
}
