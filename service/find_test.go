package service_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/service"
)

// findAll runs FindProperties and returns every answer, or the stream's
// error.
func findAll(ctx context.Context, c contactsv1.ContactsServiceClient, req *contactsv1.FindPropertiesRequest) ([]*contactsv1.FindPropertiesResponse, error) {
	stream, err := c.FindProperties(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []*contactsv1.FindPropertiesResponse
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, resp)
	}
}

// item is what a test pins of one answer: its property, and either its
// contacts' e-mails or its error's code, reason and OTA code.
type item struct {
	id     string
	emails []string
	code   codes.Code
	reason string
	ota    string
}

func itemOf(r *contactsv1.FindPropertiesResponse) item {
	it := item{id: r.GetPropertyId()}
	if e := r.GetError(); e != nil {
		st := status.FromProto(e)
		it.code = st.Code()
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				it.reason, it.ota = info.GetReason(), info.GetMetadata()[errmap.MetaOTACode]
			}
		}
		return it
	}
	for _, c := range r.GetContacts() {
		it.emails = append(it.emails, c.GetEmail())
	}
	return it
}

// TestFindProperties: over the emulator, with a policy that covers the
// demo properties and an unknown one but not 1000005, each filter streams
// exactly the answers pinned here, in the order of property_ids; a failed
// property is an answer whose error is the status ListContacts gives for
// it.
func TestFindProperties(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [read]\n  properties: [\"1000001\", \"1000002\", \"1000003\", \"1000004\", \"9999999\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newGatedStack(t, service.Config{Policy: access.NewHolder(p)})
	ids := []string{"1000001", "1000002", "9999999", "1000003", "1000004", "1000005"}
	full := item{id: "1000001", emails: []string{"anna.devries@example.com", "reservations@example.com"}}
	noLang := item{id: "1000002", emails: []string{"owner@example.org", "contracts@example.org"}}
	empty := item{id: "1000003"}
	notFound := func(id string) item {
		return item{id: id, code: codes.NotFound, reason: contactsv1.ErrorReason_NOT_FOUND.String(), ota: "635"}
	}
	denied := item{id: "1000005", code: codes.PermissionDenied, reason: contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String()}
	failures := []item{notFound("9999999"), notFound("1000004"), denied}

	tests := []struct {
		name string
		req  *contactsv1.FindPropertiesRequest
		want []item
	}{
		{"no filter: one answer per id", &contactsv1.FindPropertiesRequest{PropertyIds: ids},
			[]item{full, noLang, notFound("9999999"), empty, notFound("1000004"), denied}},
		{"missing RESERVATIONS", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_MissingProfile{MissingProfile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS}},
			[]item{noLang, notFound("9999999"), empty, notFound("1000004"), denied}},
		{"missing GENERAL", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_MissingProfile{MissingProfile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL}},
			[]item{notFound("9999999"), empty, notFound("1000004"), denied}},
		{"missing CONTRACT", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_MissingProfile{MissingProfile: contactsv1.ProfileType_PROFILE_TYPE_CONTRACT}},
			[]item{full, notFound("9999999"), empty, notFound("1000004"), denied}},
		{"email, another case", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_Email{Email: "Reservations@EXAMPLE.com"}},
			append([]item{full}, failures...)},
		{"email of another property's contact", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_Email{Email: "contracts@example.org"}},
			append([]item{noLang}, failures...)},
		{"email matched whole only", &contactsv1.FindPropertiesRequest{PropertyIds: ids,
			Filter: &contactsv1.FindPropertiesRequest_Email{Email: "reservations@example.co"}},
			failures},
		{"only allowed properties, none matching", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"},
			Filter: &contactsv1.FindPropertiesRequest_Email{Email: "nobody@example.com"}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findAll(ctxT(t), s.client, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var items []item
			for _, r := range got {
				items = append(items, itemOf(r))
			}
			if diff := cmp.Diff(tt.want, items, cmp.AllowUnexported(item{})); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}

	// Each answer is the property's ListContacts, error and etag included.
	got, err := findAll(ctxT(t), s.client, &contactsv1.FindPropertiesRequest{PropertyIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		single, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: r.GetPropertyId()})
		if err != nil {
			if diff := cmp.Diff(withoutRequestID(status.Convert(err)), withoutRequestID(status.FromProto(r.GetError())), protocmp.Transform()); diff != "" {
				t.Errorf("%s: error (-ListContacts +FindProperties):\n%s", r.GetPropertyId(), diff)
			}
			continue
		}
		if r.GetEtag() != single.GetEtag() || r.GetError() != nil || r.GetUpstreamRequestId() == "" {
			t.Errorf("%s: etag %q, error %v, upstream_request_id %q; ListContacts' etag %q", r.GetPropertyId(), r.GetEtag(), r.GetError(), r.GetUpstreamRequestId(), single.GetEtag())
		}
	}
}

// withoutRequestID is st's code, message and details but what differs
// between two reads of one property: the upstream's id of the call, and
// the RPC named by a refusal (ListContacts or FindProperties).
func withoutRequestID(st *status.Status) []any {
	out := []any{st.Code(), st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			d = proto.CloneOf(d)
			delete(d.Metadata, errmap.MetaRequestID)
			delete(d.Metadata, errmap.MetaRPC)
			out = append(out, d)
		case *errdetails.RequestInfo:
		default:
			out = append(out, d)
		}
	}
	return out
}

// recordingUpstream answers every GET with one GENERAL contact and records
// the governor class of each call. With block set, every GET first says
// it started, then waits for its context to end.
type recordingUpstream struct {
	service.Upstream // nil: writes are not expected
	block            bool
	started          chan string

	mu      sync.Mutex
	classes []governor.Class
	ids     []string
}

func (u *recordingUpstream) List(ctx context.Context, id string, _ bool) (*contactsv1.ListContactsResponse, error) {
	u.mu.Lock()
	u.classes = append(u.classes, governor.ClassOf(ctx))
	u.ids = append(u.ids, id)
	u.mu.Unlock()
	if u.block {
		u.started <- id
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &contactsv1.ListContactsResponse{RequestId: "ruid-" + id, Contacts: []*contactsv1.Contact{validContact(general)}}, nil
}

func (u *recordingUpstream) calls() ([]governor.Class, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]governor.Class(nil), u.classes...), append([]string(nil), u.ids...)
}

// serveBare serves svc on a plain grpc.Server (no interceptors), so that
// a test can stop it and so wait for its handlers to return.
func serveBare(t *testing.T, svc *service.Service) (contactsv1.ContactsServiceClient, *grpc.Server) {
	t.Helper()
	srv := grpc.NewServer()
	svc.Register(srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return contactsv1.NewContactsServiceClient(conn), srv
}

// TestFindPropertiesReadsAtTheBulkClass: every upstream read of a
// FindProperties call carries the governor's bulk class, and each
// property is read once.
func TestFindPropertiesReadsAtTheBulkClass(t *testing.T) {
	up := &recordingUpstream{}
	client, _ := serveBare(t, newService(t, service.Config{Upstream: up}))
	ids := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	got, err := findAll(ctxT(t), client, &contactsv1.FindPropertiesRequest{PropertyIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	var answered []string
	for _, r := range got {
		answered = append(answered, r.GetPropertyId())
	}
	if diff := cmp.Diff(ids, answered); diff != "" {
		t.Errorf("answers, in the order of property_ids (-want +got):\n%s", diff)
	}
	classes, read := up.calls()
	if len(read) != len(ids) {
		t.Errorf("%d upstream reads %q, want %d", len(read), read, len(ids))
	}
	for i, c := range classes {
		if c != governor.Bulk {
			t.Errorf("read %d of %s at class %v, want bulk", i, read[i], c)
		}
	}
}

// TestFindPropertiesValidation: a bad request is refused whole, one
// violation per bad field, before any upstream read.
func TestFindPropertiesValidation(t *testing.T) {
	up := &recordingUpstream{}
	client, _ := serveBare(t, newService(t, service.Config{Upstream: up}))
	tooMany := make([]string, service.MaxFindProperties+1)
	for i := range tooMany {
		tooMany[i] = strconv.Itoa(i + 1)
	}
	tests := []struct {
		name   string
		req    *contactsv1.FindPropertiesRequest
		reason contactsv1.ErrorReason
		ota    string
		fields []string
	}{
		{"no ids", &contactsv1.FindPropertiesRequest{}, contactsv1.ErrorReason_REQUIRED_FIELD_MISSING, "321", []string{"property_ids"}},
		{"too many", &contactsv1.FindPropertiesRequest{PropertyIds: tooMany}, contactsv1.ErrorReason_INVALID_VALUE, "320", []string{"property_ids"}},
		{"bad ids and a duplicate", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001", "12a", "", "1000001", "007", "99999999999"}},
			contactsv1.ErrorReason_INVALID_VALUE, "320", []string{"property_ids[1]", "property_ids[2]", "property_ids[3]", "property_ids[4]", "property_ids[5]"}},
		{"unspecified profile", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"},
			Filter: &contactsv1.FindPropertiesRequest_MissingProfile{}}, contactsv1.ErrorReason_REQUIRED_FIELD_MISSING, "321", []string{"missing_profile"}},
		{"unknown profile", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"},
			Filter: &contactsv1.FindPropertiesRequest_MissingProfile{MissingProfile: 42}}, contactsv1.ErrorReason_INVALID_VALUE, "320", []string{"missing_profile"}},
		{"empty email", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"},
			Filter: &contactsv1.FindPropertiesRequest_Email{}}, contactsv1.ErrorReason_REQUIRED_FIELD_MISSING, "321", []string{"email"}},
		{"long email", &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"},
			Filter: &contactsv1.FindPropertiesRequest_Email{Email: strings.Repeat("a", 250) + "@x.com"}}, contactsv1.ErrorReason_INVALID_VALUE, "320", []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findAll(ctxT(t), client, tt.req)
			if len(got) != 0 {
				t.Errorf("%d answers before the refusal", len(got))
			}
			checkStatus(t, err, want{code: codes.InvalidArgument, reason: tt.reason.String(), otaCode: tt.ota, fields: tt.fields})
		})
	}
	if _, read := up.calls(); len(read) != 0 {
		t.Errorf("refused requests read %q upstream", read)
	}
}

// TestFindPropertiesCancel: reads block until cancelled. Once the call
// has FindConcurrency reads in flight, the caller cancels: the stream ends
// CANCELLED, and no read starts after that (the server is stopped, which
// waits for the handler, before the reads are counted).
func TestFindPropertiesCancel(t *testing.T) {
	up := &recordingUpstream{block: true, started: make(chan string, 100)}
	client, srv := serveBare(t, newService(t, service.Config{Upstream: up}))
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	stream, err := client.FindProperties(ctx, &contactsv1.FindPropertiesRequest{PropertyIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for range service.FindConcurrency {
		first = append(first, <-up.started)
	}
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel: %v, want Canceled", err)
	}
	srv.GracefulStop()
	_, read := up.calls()
	if len(read) != service.FindConcurrency {
		t.Errorf("reads %q, want only the %d in flight when cancelled (%q)", read, service.FindConcurrency, first)
	}
}

// TestFindPropertiesAtTheLimit: MaxFindProperties ids of the largest
// shape pass the real server's request size limit, and each gets its
// answer.
func TestFindPropertiesAtTheLimit(t *testing.T) {
	up := &recordingUpstream{}
	conn := serveService(t, newService(t, service.Config{Upstream: up}), grpcserver.Config{})
	ids := make([]string, service.MaxFindProperties)
	for i := range ids {
		ids[i] = strconv.Itoa(2147483647 - i)
	}
	got, err := findAll(ctxLong(t), contactsv1.NewContactsServiceClient(conn), &contactsv1.FindPropertiesRequest{PropertyIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got[len(got)-1].GetPropertyId() != ids[len(ids)-1] {
		t.Fatalf("%d answers, want %d ending with %s", len(got), len(ids), ids[len(ids)-1])
	}
}

// TestFindPropertiesNeedsTheRPC: a caller whose grant lacks the RPC is
// refused for the whole call, before any read.
func TestFindPropertiesNeedsTheRPC(t *testing.T) {
	p, err := access.ParsePolicy([]byte("default:\n  rpcs: [ListContacts]\n"))
	if err != nil {
		t.Fatal(err)
	}
	up := &recordingUpstream{}
	client, _ := serveBare(t, newService(t, service.Config{Upstream: up, Policy: access.NewHolder(p)}))
	got, err := findAll(ctxT(t), client, &contactsv1.FindPropertiesRequest{PropertyIds: []string{"1000001"}})
	if len(got) != 0 {
		t.Errorf("%d answers before the refusal", len(got))
	}
	checkStatus(t, err, want{code: codes.PermissionDenied, reason: contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String()})
	if _, read := up.calls(); len(read) != 0 {
		t.Errorf("a refused call read %q upstream", read)
	}
}
