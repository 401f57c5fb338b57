package grpcserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
)

// TestMain fails the package if a test leaves a goroutine behind: a
// handler, a stream or a connection the shutdown did not end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const serviceName = "contacts.v1.ContactsService"

// fakeService answers with the functions it is given; nil ones answer an
// empty response.
type fakeService struct {
	contactsv1.UnimplementedContactsServiceServer
	list    func(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error)
	replace func(context.Context, *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error)
	create  func(context.Context, *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error)
}

func (f *fakeService) ListContacts(ctx context.Context, r *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	if f.list == nil {
		return &contactsv1.ListContactsResponse{RequestId: "fake"}, nil
	}
	return f.list(ctx, r)
}

func (f *fakeService) ReplaceContacts(ctx context.Context, r *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	if f.replace == nil {
		return &contactsv1.ReplaceContactsResponse{RequestId: "fake"}, nil
	}
	return f.replace(ctx, r)
}

func (f *fakeService) CreateContacts(ctx context.Context, r *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
	if f.create == nil {
		return &contactsv1.CreateContactsResponse{RequestId: "fake"}, nil
	}
	return f.create(ctx, r)
}

// syncBuffer is a bytes.Buffer the server may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// records decodes the JSON log lines written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// notifyListener closes closed when the server closes it, so that a test
// can wait for the moment new connections are refused.
type notifyListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *notifyListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// harness is a server on a loopback TCP port.
type harness struct {
	srv    *grpcserver.Server
	addr   string
	lis    *notifyListener
	logs   *syncBuffer
	served chan error

	stopOnce sync.Once
}

// start serves cfg.Service (a fakeService when nil) with a debug JSON
// logger into h.logs, and shuts the server down at the end of the test.
func start(t *testing.T, cfg grpcserver.Config) *harness {
	t.Helper()
	if cfg.Service == nil {
		cfg.Service = &fakeService{}
	}
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		srv:    grpcserver.New(cfg),
		addr:   l.Addr().String(),
		lis:    &notifyListener{Listener: l, closed: make(chan struct{})},
		logs:   logs,
		served: make(chan error, 1),
	}
	go func() { h.served <- h.srv.Serve(h.lis) }()
	t.Cleanup(func() { h.shutdown(t, context.Background()) })
	return h
}

// shutdown runs Shutdown once and checks that Serve then returns nil.
func (h *harness) shutdown(t *testing.T, ctx context.Context) {
	h.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		if err := <-h.served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// dial opens a plaintext client connection to h, closed with the test.
func (h *harness) dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
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

// wait receives from ch, failing the test if nothing comes in 10s (a
// bound on a hang, not a synchronisation).
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	const secret = "panic-value-with-details-0xdeadbeef"
	h := start(t, grpcserver.Config{Service: &fakeService{
		create: func(context.Context, *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
			panic(secret)
		},
	}})
	client := contactsv1.NewContactsServiceClient(h.dial(t))

	_, err := client.CreateContacts(ctxT(t), &contactsv1.CreateContactsRequest{PropertyId: "1000003"})
	st := status.Convert(err)
	if st.Code() != codes.Internal {
		t.Fatalf("code %v (%v), want INTERNAL", st.Code(), err)
	}
	if strings.Contains(st.Message(), secret) {
		t.Errorf("the panic value reached the caller: %q", st.Message())
	}
	var infos []*errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, ei)
		}
	}
	if len(infos) != 1 || infos[0].GetReason() != contactsv1.ErrorReason_INTERNAL.String() || infos[0].GetDomain() != errmap.Domain {
		t.Fatalf("ErrorInfo details %v, want exactly one with reason %s, domain %s", infos, contactsv1.ErrorReason_INTERNAL.String(), errmap.Domain)
	}

	// The server is still up, on the same connection.
	if _, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); err != nil {
		t.Fatalf("call after the panic: %v", err)
	}

	var found bool
	for _, r := range h.logs.records(t) {
		if r["level"] == "ERROR" && r["method"] == "/contacts.v1.ContactsService/CreateContacts" {
			found = true
			if r["panic"] != secret || !strings.Contains(r["stack"].(string), "server_test") {
				t.Errorf("panic record %v: want the panic value and the stack", r)
			}
		}
	}
	if !found {
		t.Fatalf("no ERROR record with the method in the logs:\n%s", h.logs)
	}
}

func TestMaxRecvMsgSize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit      int // Limits.MaxRecvMsgBytes
		ok, tooBig int // request sizes, in bytes of contact name
	}{
		{"configured", 1024, 512, 4096},
		{"default 1 MiB", 0, 900 << 10, 1200 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			var mu sync.Mutex
			h := start(t, grpcserver.Config{Limits: grpcserver.Limits{MaxRecvMsgBytes: tc.limit}, Service: &fakeService{
				replace: func(context.Context, *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
					mu.Lock()
					calls++
					mu.Unlock()
					return &contactsv1.ReplaceContactsResponse{}, nil
				},
			}})
			client := contactsv1.NewContactsServiceClient(h.dial(t))
			req := func(n int) *contactsv1.ReplaceContactsRequest {
				return &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{{
					ContactPerson: &contactsv1.ContactPerson{Name: strings.Repeat("x", n)},
				}}}
			}
			_, err := client.ReplaceContacts(ctxT(t), req(tc.tooBig))
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("request of %d bytes: %v, want RESOURCE_EXHAUSTED", tc.tooBig, err)
			}
			// Still serving, on the same connection.
			if _, err := client.ReplaceContacts(ctxT(t), req(tc.ok)); err != nil {
				t.Fatalf("request of %d bytes after the refused one: %v", tc.ok, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != 1 {
				t.Fatalf("handler called %d times, want once (the refused request must not reach it)", calls)
			}
		})
	}
}

// blockingList is a ListContacts that reports when it starts, then waits
// for release (and answers) or for its context to end (and reports why).
type blockingList struct {
	entered  chan struct{}
	release  chan struct{}
	ctxEnded chan error
}

func newBlockingList() *blockingList {
	return &blockingList{entered: make(chan struct{}, 1), release: make(chan struct{}), ctxEnded: make(chan error, 1)}
}

func (b *blockingList) list(ctx context.Context, _ *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return &contactsv1.ListContactsResponse{RequestId: "released"}, nil
	case <-ctx.Done():
		b.ctxEnded <- ctx.Err()
		return nil, ctx.Err()
	}
}

type callResult struct {
	resp *contactsv1.ListContactsResponse
	err  error
}

func watch(t *testing.T, ctx context.Context, conn *grpc.ClientConn, service string, want healthpb.HealthCheckResponse_ServingStatus) healthpb.Health_WatchClient {
	t.Helper()
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, w, service, want)
	return w
}

func expectStatus(t *testing.T, w healthpb.Health_WatchClient, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	resp, err := w.Recv()
	if err != nil || resp.GetStatus() != want {
		t.Fatalf("watch %q: %v %v, want %v", service, resp, err, want)
	}
}

// TestGracefulShutdown: health turns NOT_SERVING first, health watches end
// so that they do not hold the shutdown, new connections and new calls are
// refused, the call in flight completes, then Shutdown returns.
func TestGracefulShutdown(t *testing.T) {
	b := newBlockingList()
	h := start(t, grpcserver.Config{Service: &fakeService{list: b.list}})
	conn := h.dial(t)
	client := contactsv1.NewContactsServiceClient(conn)

	watchCtx := ctxT(t)
	watches := map[string]healthpb.Health_WatchClient{
		serviceName: watch(t, watchCtx, conn, serviceName, healthpb.HealthCheckResponse_SERVING),
		"":          watch(t, watchCtx, conn, "", healthpb.HealthCheckResponse_SERVING),
		"unknown":   watch(t, watchCtx, conn, "unknown.Service", healthpb.HealthCheckResponse_SERVICE_UNKNOWN),
	}

	inFlight := make(chan callResult, 1)
	go func() {
		resp, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
		inFlight <- callResult{resp, err}
	}()
	wait(t, b.entered, "the call to reach the handler")

	shutdownDone := make(chan struct{})
	go func() {
		h.shutdown(t, context.Background())
		close(shutdownDone)
	}()

	// Health says NOT_SERVING while the call is still in flight, then each
	// watch ends, so that grpc clients with health checking do not hold
	// the shutdown.
	expectStatus(t, watches[serviceName], serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
	expectStatus(t, watches[""], "", healthpb.HealthCheckResponse_NOT_SERVING)
	for name, w := range watches {
		if resp, err := w.Recv(); status.Code(err) != codes.Unavailable {
			t.Fatalf("watch %s during shutdown: %v %v, want the stream to end with UNAVAILABLE", name, resp, err)
		}
	}
	select {
	case r := <-inFlight:
		t.Fatalf("the call in flight ended before its handler returned: %v", r.err)
	default:
	}

	// New connections are refused once the listener is closed.
	wait(t, h.lis.closed, "the listener to close")
	fresh := h.dial(t)
	if _, err := contactsv1.NewContactsServiceClient(fresh).ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("call on a new connection during shutdown: %v, want UNAVAILABLE", err)
	}
	if _, err := healthpb.NewHealthClient(fresh).Check(ctxT(t), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("health check on a new connection during shutdown: %v, want UNAVAILABLE", err)
	}
	// The existing connection got GOAWAY: it leaves READY, and a new call
	// on it fails instead of reaching the draining server.
	for s := conn.GetState(); s == connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctxT(t), s) {
			t.Fatal("the client connection stayed READY during shutdown")
		}
	}
	if _, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("new call on the old connection during shutdown: %v, want UNAVAILABLE", err)
	}

	select {
	case <-shutdownDone:
		t.Fatal("Shutdown returned with a call in flight")
	default:
	}
	close(b.release)
	r := wait(t, inFlight, "the call in flight")
	if r.err != nil || r.resp.GetRequestId() != "released" {
		t.Fatalf("call in flight: %v %v, want it answered", r.resp, r.err)
	}
	wait(t, shutdownDone, "Shutdown to return")
	select {
	case err := <-b.ctxEnded:
		t.Fatalf("the handler's context ended (%v): the call was cancelled, not drained", err)
	default:
	}
}

// TestShutdownDeadline: when Shutdown's context ends, the calls still in
// flight are cancelled and Shutdown returns.
func TestShutdownDeadline(t *testing.T) {
	b := newBlockingList()
	h := start(t, grpcserver.Config{Service: &fakeService{list: b.list}})
	conn := h.dial(t)
	client := contactsv1.NewContactsServiceClient(conn)
	w := watch(t, ctxT(t), conn, serviceName, healthpb.HealthCheckResponse_SERVING)

	inFlight := make(chan callResult, 1)
	go func() {
		resp, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
		inFlight <- callResult{resp, err}
	}()
	wait(t, b.entered, "the call to reach the handler")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shutdownDone := make(chan struct{})
	go func() {
		h.shutdown(t, ctx)
		close(shutdownDone)
	}()
	// The graceful phase has begun; the call is still waited for.
	expectStatus(t, w, serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
	wait(t, h.lis.closed, "the listener to close")
	select {
	case err := <-b.ctxEnded:
		t.Fatalf("the call was cancelled (%v) before the shutdown deadline", err)
	case <-shutdownDone:
		t.Fatal("Shutdown returned with a call in flight")
	default:
	}

	cancel() // the shutdown deadline passes
	if err := wait(t, b.ctxEnded, "the stuck handler to be cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v, want canceled", err)
	}
	if r := wait(t, inFlight, "the stuck call to end"); r.err == nil {
		t.Fatalf("the stuck call succeeded: %v", r.resp)
	}
	wait(t, shutdownDone, "Shutdown to return")
	if !strings.Contains(h.logs.String(), "shutdown deadline passed") {
		t.Errorf("no warning about the cancelled calls in the logs:\n%s", h.logs)
	}
}

func TestHealthCheck(t *testing.T) {
	h := start(t, grpcserver.Config{})
	hc := healthpb.NewHealthClient(h.dial(t))
	for _, svc := range []string{"", serviceName} {
		resp, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q): %v %v, want SERVING", svc, resp, err)
		}
	}
	if _, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: "unknown.Service"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown): %v, want NOT_FOUND", err)
	}
}

func TestReflection(t *testing.T) {
	h := start(t, grpcserver.Config{})
	conn := h.dial(t)
	want := []string{serviceName, "grpc.health.v1.Health"}

	t.Run("v1", func(t *testing.T) {
		stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stream.CloseSend() }()
		if err := stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			got = append(got, s.GetName())
		}
		checkServices(t, got, want)
	})
	t.Run("v1alpha", func(t *testing.T) {
		stream, err := reflectionv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stream.CloseSend() }()
		if err := stream.Send(&reflectionv1alpha.ServerReflectionRequest{MessageRequest: &reflectionv1alpha.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			got = append(got, s.GetName())
		}
		checkServices(t, got, want)
	})
}

func checkServices(t *testing.T, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("reflection lists %v, missing %s", got, w)
		}
	}
}

// TestCallLog: every call is logged at debug level with its method and
// code, never with the request or response.
func TestCallLog(t *testing.T) {
	const email, phone, name = "private.person@example.org", "+31209876543", "Wilhelmina Zorgvlied"
	h := start(t, grpcserver.Config{Service: &fakeService{
		replace: func(_ context.Context, r *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
			return &contactsv1.ReplaceContactsResponse{RequestId: r.GetContacts()[0].GetEmail()}, nil
		},
		list: func(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
			return nil, status.Error(codes.NotFound, "no such property "+email)
		},
	}})
	client := contactsv1.NewContactsServiceClient(h.dial(t))
	if _, err := client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{{
		ContactPerson: &contactsv1.ContactPerson{Name: name},
		Phones:        []*contactsv1.Phone{{PhoneNumber: phone}},
		Email:         email,
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range h.logs.records(t) {
		if r["msg"] == "finished call" && r["level"] == "DEBUG" {
			m, _ := r["grpc.method"].(string)
			got[m], _ = r["grpc.code"].(string)
		}
	}
	want := map[string]string{
		"ReplaceContacts": "OK",
		"ListContacts":    "NotFound",
	}
	for m, c := range want {
		if got[m] != c {
			t.Errorf("call log of %s: code %q, want %q\n%s", m, got[m], c, h.logs)
		}
	}
	for _, s := range []string{email, phone, name} {
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("the logs hold %q:\n%s", s, h.logs)
		}
	}
}

// TestServiceInterceptorsRunInsideRecovery: a panic in a service
// interceptor (the access gate's place) is recovered like one in the
// service, and the interceptor runs after the outer ones.
func TestServiceInterceptorsRunInsideRecovery(t *testing.T) {
	var order []string
	h := start(t, grpcserver.Config{Service: &fakeService{},
		UnaryInterceptors: []grpc.UnaryServerInterceptor{func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			order = append(order, "outer")
			return next(ctx, req)
		}},
		ServiceInterceptors: []grpc.UnaryServerInterceptor{func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
			order = append(order, "service")
			panic("a gate bug")
		}}})
	client := contactsv1.NewContactsServiceClient(h.dial(t))
	_, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
	if status.Code(err) != codes.Internal || strings.Join(order, ",") != "outer,service" {
		t.Fatalf("got %v, order %v; want INTERNAL after outer,service", err, order)
	}
}
