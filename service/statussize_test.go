package service_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/service"
)

// smallHeaderClient serves the facade over up with the real server and
// returns a client that accepts at most 8 KiB of header list, as many
// non-Go gRPC clients and proxies do.
func smallHeaderClient(t *testing.T, up *upstream.Client) contactsv1.ContactsServiceClient {
	t.Helper()
	t.Cleanup(up.CloseIdleConnections)
	svc := newService(t, service.Config{Upstream: up})
	srv := grpcserver.New(grpcserver.Config{Service: svc, ServiceInterceptors: svc.UnaryInterceptors()})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithMaxHeaderListSize(8192))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return contactsv1.NewContactsServiceClient(conn)
}

// TestLargeErrorsReachSmallHeaderClients: the largest errors a caller or
// the upstream can cause still arrive, details and all, at a client with
// an 8 KiB header limit, as INVALID_ARGUMENT or NOT_FOUND rather than a
// reset stream.
func TestLargeErrorsReachSmallHeaderClients(t *testing.T) {
	// The upstream answers 400 with 500 errors[], each naming a field.
	var entries []string
	for i := range 500 {
		entries = append(entries, fmt.Sprintf(`{"code":"320","message":"Invalid value, see the documentation of the field %s","details":{"fields":["contacts[%d].phones[0].phone_number"]}}`, strings.Repeat("x", 40), i))
	}
	body400 := `{"errors":[` + strings.Join(entries, ",") + `],"meta":{"ruid":"` + strings.Repeat("r", 4096) + `"}}`
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet { // the read a write makes first: an empty property
			_, _ = w.Write([]byte(okListBody))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(body400))
	}))
	t.Cleanup(fake.Close)
	up, err := upstream.New(upstream.Config{BaseURL: fake.URL, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	client := smallHeaderClient(t, up)

	// 100 contacts with every required field missing.
	empty := make([]*contactsv1.Contact, 100)
	for i := range empty {
		empty[i] = &contactsv1.Contact{}
	}
	one := []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}
	hugeID := strings.Repeat("9", 900<<10)

	cases := []struct {
		name      string
		call      func(ctx context.Context) error
		code      codes.Code
		cut       bool // the violations must have been cut
		wantBadRq bool
	}{
		{"100 contacts with missing fields", func(ctx context.Context) error {
			_, err := client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: empty})
			return err
		}, codes.InvalidArgument, true, true},
		{"upstream 400 with 500 errors", func(ctx context.Context) error {
			_, err := client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: one})
			return err
		}, codes.InvalidArgument, true, true},
		{"900 KB property id", func(ctx context.Context) error {
			_, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: hugeID})
			return err
		}, codes.InvalidArgument, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(ctxT(t))
			st, _ := status.FromError(err)
			if st.Code() != tc.code {
				t.Fatalf("code %v (%s), want %v", st.Code(), st.Message(), tc.code)
			}
			size := proto.Size(st.Proto())
			t.Logf("status of %d bytes", size)
			if size > errmap.MaxStatusBytes {
				t.Errorf("status of %d bytes, over %d", size, errmap.MaxStatusBytes)
			}
			var info *errdetails.ErrorInfo
			var br *errdetails.BadRequest
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.BadRequest:
					br = d
				case error:
					t.Fatalf("undecodable detail: %v", d)
				}
			}
			if info == nil || info.GetDomain() != errmap.Domain {
				t.Fatalf("no ErrorInfo in %v", st.Proto())
			}
			if id := info.GetMetadata()[errmap.MetaPropertyID]; len(id) > 64 {
				t.Errorf("propertyId of %d bytes echoed", len(id))
			}
			if tc.wantBadRq && (br == nil || len(br.GetFieldViolations()) == 0) {
				t.Fatalf("no BadRequest in %v", st.Proto())
			}
			if tc.cut {
				last := br.GetFieldViolations()[len(br.GetFieldViolations())-1]
				if last.GetReason() != contactsv1.ErrorReason_VIOLATIONS_OMITTED.String() || !strings.Contains(last.GetDescription(), "more violations left out") {
					t.Errorf("last violation %v does not count the ones left out", last)
				}
			}
		})
	}
}

// TestFacadeStatusesBoundTheUpstreamID: the facade's own refusals (here
// an etag mismatch) echo the ruid of the read they were based on, bounded
// like every echoed value, whatever the upstream sent.
func TestFacadeStatusesBoundTheUpstreamID(t *testing.T) {
	body := `{"data":{"contacts":[]},"warnings":[],"errors":[],"meta":{"ruid":"` + strings.Repeat("r", 64<<10) + `"}}`
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(fake.Close)
	up, err := upstream.New(upstream.Config{BaseURL: fake.URL, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	client := smallHeaderClient(t, up)
	_, err = client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: "1000001",
		Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL, Etag: `W/"stale"`,
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}})
	st := status.Convert(err)
	if st.Code() != codes.Aborted {
		t.Fatalf("got %v, want ABORTED", err)
	}
	if size := proto.Size(st.Proto()); size > errmap.MaxStatusBytes {
		t.Fatalf("a status of %d bytes, over %d", size, errmap.MaxStatusBytes)
	}
}
