package service_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/service"
)

// stalledPUT reads an empty property; its PUT says it started, then
// waits for its context.
type stalledPUT struct {
	failsWith
	started chan struct{}
}

func (s stalledPUT) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return &contactsv1.ListContactsResponse{}, nil
}

func (s stalledPUT) Replace(ctx context.Context, _ string, _ []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	close(s.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestShutdownCutWriteIsAuditedAsAnswered (issue 27, item 15): a write
// cut short by the shutdown deadline answers UNAVAILABLE
// SERVER_SHUTTING_DOWN with outcome "unknown", and its audit record says
// the same, not CANCELLED.
func TestShutdownCutWriteIsAuditedAsAnswered(t *testing.T) {
	var trail syncBuf
	up := stalledPUT{started: make(chan struct{})}
	svc := newService(t, service.Config{Upstream: up, Audit: access.NewTrail(&trail)})
	srv := grpcserver.New(grpcserver.Config{Service: svc, ServiceInterceptors: svc.UnaryInterceptors()})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	answered := make(chan error, 1)
	go func() {
		_, err := contactsv1.NewContactsServiceClient(conn).SetProfileContacts(ctxLong(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID,
			Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL, Contacts: []*contactsv1.Contact{validContact()}})
		answered <- err
	}()
	<-up.started
	expired, cancel := context.WithCancel(context.Background())
	cancel() // the shutdown deadline has passed already
	srv.Shutdown(expired)

	st := status.Convert(<-answered)
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if st.Code() != codes.Unavailable || info.GetReason() != contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String() || info.GetMetadata()["outcome"] != "unknown" {
		t.Fatalf("caller got %v %v, want UNAVAILABLE SERVER_SHUTTING_DOWN, outcome unknown", st.Code(), info)
	}
	var rec access.Record
	if err := json.Unmarshal([]byte(strings.TrimSpace(trail.String())), &rec); err != nil {
		t.Fatalf("audit trail %q: %v", trail.String(), err)
	}
	if rec.Code != "Unavailable" || rec.Reason != contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String() {
		t.Fatalf("audit record %+v, want what the caller got: Unavailable SERVER_SHUTTING_DOWN", rec)
	}
}
