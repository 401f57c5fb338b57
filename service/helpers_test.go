package service_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// stack is the whole facade in one process: emulator on loopback HTTP,
// REST client with token auth, the gRPC server on an in-memory listener.
type stack struct {
	client contactsv1.ContactsServiceClient
	health healthpb.HealthClient
	ops    longrunningpb.OperationsClient
	emu    *emulator.Emulator
}

func newStack(t testing.TB, auth func(base string) upstream.Authorizer) *stack {
	t.Helper()
	return newLoggedStack(t, auth, nil)
}

// newLoggedStack is newStack with the facade (server, service, token
// source) logging to log; nil discards.
func newLoggedStack(t testing.TB, auth func(base string) upstream.Authorizer, log *slog.Logger) *stack {
	t.Helper()
	return newConfiguredStack(t, auth, service.Config{Logger: log})
}

// newGatedStack is newStack with the access policy and audit trail of
// cfg (AllowAll and NoAudit where cfg has none).
func newGatedStack(t testing.TB, cfg service.Config) *stack {
	t.Helper()
	return newConfiguredStack(t, nil, cfg)
}

// newConfiguredStack is the whole facade over the emulator, with the
// service configured by cfg: its Upstream is the REST client set up here.
func newConfiguredStack(t testing.TB, auth func(base string) upstream.Authorizer, cfg service.Config) *stack {
	t.Helper()
	return newEmulatedStack(t, emulator.Options{}, auth, cfg)
}

// newEmulatedStack is newConfiguredStack over an emulator with opts.
func newEmulatedStack(t testing.TB, opts emulator.Options, auth func(base string) upstream.Authorizer, cfg service.Config) *stack {
	t.Helper()
	log := cfg.Logger
	emu := emulator.New(opts)
	base, stopEmu, err := emulator.Start(context.Background(), "127.0.0.1:0", emu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopEmu(context.Background()) })
	if auth == nil {
		auth = func(base string) upstream.Authorizer {
			ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
				ExchangeURL:  base + "/token-based-authentication/exchange",
				ClientID:     emulator.DemoClientID,
				ClientSecret: emulator.DemoClientSecret,
				Logger:       log,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ts.Close() })
			return ts
		}
	}
	up, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: auth(base)})
	if err != nil {
		t.Fatal(err)
	}
	conn := serveFacade(t, up, cfg)
	return &stack{client: contactsv1.NewContactsServiceClient(conn), health: healthpb.NewHealthClient(conn),
		ops: longrunningpb.NewOperationsClient(conn), emu: emu}
}

// serveFacade serves the contacts service over up, configured by cfg, with
// the real gRPC server on an in-memory listener, and returns a client
// connection to it. Cleanups close, in this order: the connection, the
// server (gracefully, at most 5s), then up's idle upstream connections.
func serveFacade(t testing.TB, up *upstream.Client, cfg service.Config) *grpc.ClientConn {
	t.Helper()
	t.Cleanup(up.CloseIdleConnections)
	cfg.Upstream = up
	return serveService(t, newService(t, cfg), grpcserver.Config{Logger: cfg.Logger})
}

// newService is service.New(cfg), allowing every caller and keeping no
// audit trail unless cfg says otherwise.
func newService(t testing.TB, cfg service.Config) *service.Service {
	t.Helper()
	if cfg.Policy == nil {
		cfg.Policy = service.AllowAll()
	}
	if cfg.Audit == nil {
		cfg.Audit = service.NoAudit()
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// serveService serves svc with the real gRPC server (configured by cfg)
// on an in-memory listener and returns a client connection to it.
func serveService(t testing.TB, svc *service.Service, cfg grpcserver.Config) *grpc.ClientConn {
	t.Helper()
	cfg.Service = svc
	cfg.ServiceInterceptors = svc.UnaryInterceptors()
	srv := grpcserver.New(cfg)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func validContact(profiles ...contactsv1.ProfileType) *contactsv1.Contact {
	return &contactsv1.Contact{
		Profiles:      profiles,
		ContactPerson: &contactsv1.ContactPerson{Name: "Test Person", LanguageCode: "en-gb", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"}},
		Email:         "test.person@example.com",
	}
}

// want is what a caller must be able to read off a failed call.
type want struct {
	code       codes.Code
	reason     string
	otaCode    string // "" when none
	httpStatus string // "" when the facade refused the call itself
	fields     []string
	resource   bool
}

func checkStatus(t *testing.T, err error, w want) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("want a status error, got %v", err)
	}
	if st.Code() != w.code {
		t.Fatalf("code %v, want %v (%v)", st.Code(), w.code, st.Message())
	}
	var (
		info   *errdetails.ErrorInfo
		fields []string
		res    *errdetails.ResourceInfo
	)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		case *errdetails.ResourceInfo:
			res = d
		case error:
			t.Fatalf("undecodable detail: %v", d)
		}
	}
	if info == nil {
		t.Fatalf("no ErrorInfo in %v", st.Proto())
	}
	md := info.GetMetadata()
	if info.GetReason() != w.reason || md[errmap.MetaOTACode] != w.otaCode || md[errmap.MetaHTTPStatus] != w.httpStatus {
		t.Fatalf("ErrorInfo %v, want reason %s otaCode %q httpStatus %q", info, w.reason, w.otaCode, w.httpStatus)
	}
	if diff := cmp.Diff(w.fields, fields); diff != "" {
		t.Fatalf("field violations (-want +got):\n%s", diff)
	}
	if w.resource != (res != nil) {
		t.Fatalf("ResourceInfo %v, want present=%v", res, w.resource)
	}
}
