package grpcserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
)

const (
	methodList    = "/contacts.v1.ContactsService/ListContacts"
	methodCreate  = "/contacts.v1.ContactsService/CreateContacts"
	methodReplace = "/contacts.v1.ContactsService/ReplaceContacts"
	methodWatch   = "/grpc.health.v1.Health/Watch"
	methodCheck   = "/grpc.health.v1.Health/Check"
)

// errorInfo is the one ErrorInfo of err's status; it fails the test when
// there is not exactly one, or its domain is not the facade's.
func errorInfo(t *testing.T, err error) *errdetails.ErrorInfo {
	t.Helper()
	var infos []*errdetails.ErrorInfo
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, ei)
		}
	}
	if len(infos) != 1 || infos[0].GetDomain() != errmap.Domain {
		t.Fatalf("%v: ErrorInfo details %v, want exactly one in domain %s", err, infos, errmap.Domain)
	}
	return infos[0]
}

func wantRefusal(t *testing.T, err error, code codes.Code, reason string) *errdetails.ErrorInfo {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%v: want %v", err, code)
	}
	ei := errorInfo(t, err)
	if ei.GetReason() != reason {
		t.Fatalf("%v: reason %q, want %q", err, ei.GetReason(), reason)
	}
	for _, k := range []string{errmap.MetaSource, errmap.MetaOTACode, errmap.MetaOTACodes, errmap.MetaHTTPStatus, errmap.MetaRequestID, errmap.MetaPropertyID} {
		if _, ok := ei.GetMetadata()[k]; !ok {
			t.Errorf("%v: ErrorInfo metadata lacks %q", err, k)
		}
	}
	return ei
}

// codeRecorder is a pair of outermost interceptors that record the final
// code of every call by method.
type codeRecorder struct {
	mu    sync.Mutex
	codes map[string][]codes.Code
	// seen, when not nil, gets each method recorded.
	seen chan string
}

func (r *codeRecorder) add(method string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.codes == nil {
		r.codes = map[string][]codes.Code{}
	}
	r.codes[method] = append(r.codes[method], status.Code(err))
	if r.seen != nil {
		r.seen <- method
	}
}

func (r *codeRecorder) get(method string) []codes.Code {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]codes.Code(nil), r.codes[method]...)
}

func (r *codeRecorder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	r.add(info.FullMethod, err)
	return resp, err
}

func (r *codeRecorder) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	r.add(info.FullMethod, err)
	return err
}

// panicOnce is an interceptor added through Config.Options, so it runs
// inside the server's own (like a handler): it panics on the first call
// of method.
type panicOnce struct {
	method string
	once   sync.Once
}

func (p *panicOnce) maybePanic(method string) {
	if method == p.method {
		p.once.Do(func() { panic("stream handler bug 0xfeedface") })
	}
}

func (p *panicOnce) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	p.maybePanic(info.FullMethod)
	return h(srv, ss)
}

// TestStreamPanicBecomesInternal: a panic in a stream handler (the health
// Watch here) answers INTERNAL with an ErrorInfo, is logged with its
// stack, and the server keeps serving, streams included; the outermost
// interceptors see INTERNAL.
func TestStreamPanicBecomesInternal(t *testing.T) {
	p := &panicOnce{method: methodWatch}
	rec := &codeRecorder{}
	h := start(t, grpcserver.Config{
		StreamInterceptors: []grpc.StreamServerInterceptor{rec.stream},
		Options:            []grpc.ServerOption{grpc.ChainStreamInterceptor(p.stream)},
	})
	conn := h.dial(t)
	hc := healthpb.NewHealthClient(conn)

	w, err := hc.Watch(ctxT(t), &healthpb.HealthCheckRequest{Service: serviceName})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Recv()
	wantRefusal(t, err, codes.Internal, contactsv1.ErrorReason_INTERNAL.String())
	if strings.Contains(err.Error(), "0xfeedface") {
		t.Errorf("the panic value reached the caller: %v", err)
	}

	// Still serving, on the same connection: a new stream, a unary call.
	watch(t, ctxT(t), conn, serviceName, healthpb.HealthCheckResponse_SERVING)
	if _, err := contactsv1.NewContactsServiceClient(conn).ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"}); err != nil {
		t.Fatalf("call after the panic: %v", err)
	}
	if got := rec.get(methodWatch); len(got) == 0 || got[0] != codes.Internal {
		t.Errorf("outer stream interceptor saw %v, want INTERNAL first", got)
	}
	var logged bool
	for _, r := range h.logs.records(t) {
		if r["level"] == "ERROR" && r["method"] == methodWatch && r["panic"] == "stream handler bug 0xfeedface" {
			logged = strings.Contains(r["stack"].(string), "hardening_test")
		}
	}
	if !logged {
		t.Errorf("no ERROR record with the method, panic and stack:\n%s", h.logs)
	}
}

// rawCodec sends and receives []byte as they are: a client that sends
// bytes that are not the request message.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestMalformedRequest: bytes that are not the request message, or hold
// a string that is not UTF-8, answer INVALID_ARGUMENT MALFORMED_REQUEST
// with an ErrorInfo, on unary calls and streams, without reaching the
// handler; each is logged at debug without its bytes; outer interceptors
// see the final code.
func TestMalformedRequest(t *testing.T) {
	var calls int
	var mu sync.Mutex
	rec := &codeRecorder{}
	h := start(t, grpcserver.Config{
		UnaryInterceptors:  []grpc.UnaryServerInterceptor{rec.unary},
		StreamInterceptors: []grpc.StreamServerInterceptor{rec.stream},
		Service: &fakeService{list: func(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			return &contactsv1.ListContactsResponse{}, nil
		}},
	})
	conn := h.dial(t)
	const marker = "\xffSECRET\xfe"
	for _, tc := range []struct {
		name, method string
		body         []byte
		stream       bool
		kind         string
	}{
		{"truncated varint", methodList, []byte{0x08, 0xff}, false, "protobuf"},
		{"length past the end", methodList, []byte{0x0a, 0x10, 'a'}, false, "protobuf"},
		{"invalid UTF-8 in property_id", methodList, append([]byte{0x0a, byte(len(marker))}, marker...), false, "utf8"},
		{"invalid UTF-8, health Check", methodCheck, append([]byte{0x0a, byte(len(marker))}, marker...), false, "utf8"},
		{"invalid UTF-8, health Watch stream", methodWatch, append([]byte{0x0a, byte(len(marker))}, marker...), true, "utf8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.stream {
				var s grpc.ClientStream
				s, err = conn.NewStream(ctxT(t), &grpc.StreamDesc{ServerStreams: true}, tc.method, grpc.ForceCodecV2(rawCodec{}))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.SendMsg(&tc.body); err != nil {
					t.Fatal(err)
				}
				_ = s.CloseSend()
				var out []byte
				err = s.RecvMsg(&out)
			} else {
				var out []byte
				err = conn.Invoke(ctxT(t), tc.method, &tc.body, &out, grpc.ForceCodecV2(rawCodec{}))
			}
			wantRefusal(t, err, codes.InvalidArgument, contactsv1.ErrorReason_MALFORMED_REQUEST.String())
			if got := rec.get(tc.method); len(got) == 0 || got[len(got)-1] != codes.InvalidArgument {
				t.Errorf("outer interceptor saw %v, want INVALID_ARGUMENT last", got)
			}
			var logged bool
			for _, r := range h.logs.records(t) {
				if r["msg"] == "request refused" && r["level"] == "DEBUG" && r["method"] == tc.method && r["kind"] == tc.kind &&
					r["reason"] == contactsv1.ErrorReason_MALFORMED_REQUEST.String() {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no debug line for the refused request:\n%s", h.logs)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Errorf("the handler ran %d times on malformed requests", calls)
	}
	if strings.Contains(h.logs.String(), "SECRET") {
		t.Errorf("the logs hold the request's bytes:\n%s", h.logs)
	}
	// The call log records the refusals with their reason.
	var callLogged bool
	for _, r := range h.logs.records(t) {
		if r["msg"] == "finished call" && r["grpc.method"] == "ListContacts" && r["grpc.code"] == "InvalidArgument" && r["reason"] == contactsv1.ErrorReason_MALFORMED_REQUEST.String() {
			callLogged = true
		}
	}
	if !callLogged {
		t.Errorf("the call log lacks the refused call:\n%s", h.logs)
	}
}

// TestUnknownMethod: a method or service the server does not have answers
// UNIMPLEMENTED with an ErrorInfo, logged at debug; outer interceptors see
// it.
// TestPlainServerLosesTheRefusal shows what the server's own request
// decoding (decode.go) gives callers: the same malformed request sent to
// a plain grpc.Server gets a bare INTERNAL, the code of a server bug, with
// no ErrorInfo to say it was the request; contactsd's server answers
// INVALID_ARGUMENT MALFORMED_REQUEST (TestMalformedRequest).
func TestPlainServerLosesTheRefusal(t *testing.T) {
	plain := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(plain, &fakeService{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = plain.Serve(lis) }()
	t.Cleanup(plain.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	body, out := []byte{0x08, 0xff}, []byte(nil)
	err = conn.Invoke(ctxT(t), methodList, &body, &out, grpc.ForceCodecV2(rawCodec{}))
	if st := status.Convert(err); st.Code() != codes.Internal || len(st.Details()) != 0 {
		t.Fatalf("plain server: %v %v; this test documents that grpc-go answers a bare INTERNAL", st.Code(), st.Details())
	}
	h := start(t, grpcserver.Config{})
	err = h.dial(t).Invoke(ctxT(t), methodList, &body, &out, grpc.ForceCodecV2(rawCodec{}))
	wantRefusal(t, err, codes.InvalidArgument, contactsv1.ErrorReason_MALFORMED_REQUEST.String())
}

func TestUnknownMethod(t *testing.T) {
	rec := &codeRecorder{}
	h := start(t, grpcserver.Config{StreamInterceptors: []grpc.StreamServerInterceptor{rec.stream}})
	conn := h.dial(t)
	for _, m := range []string{"/contacts.v1.ContactsService/DeleteContacts", "/no.such.Service/Call"} {
		var out []byte
		err := conn.Invoke(ctxT(t), m, &[]byte{}, &out, grpc.ForceCodecV2(rawCodec{}))
		wantRefusal(t, err, codes.Unimplemented, contactsv1.ErrorReason_UNKNOWN_METHOD.String())
		if got := rec.get(m); len(got) != 1 || got[0] != codes.Unimplemented {
			t.Errorf("%s: outer interceptor saw %v, want UNIMPLEMENTED", m, got)
		}
	}
	var logged int
	for _, r := range h.logs.records(t) {
		if r["msg"] == "finished call" && r["level"] == "DEBUG" && r["grpc.code"] == "Unimplemented" && r["reason"] == contactsv1.ErrorReason_UNKNOWN_METHOD.String() {
			logged++
		}
	}
	if logged != 2 {
		t.Errorf("%d debug lines for unknown methods, want 2:\n%s", logged, h.logs)
	}
}

// TestRequestTooLargeHasErrorInfo: the request size limit answers
// RESOURCE_EXHAUSTED REQUEST_TOO_LARGE with the limit.
func TestRequestTooLargeHasErrorInfo(t *testing.T) {
	// grpc answers the call past its own limit before the interceptors
	// return: wait for them.
	rec := &codeRecorder{seen: make(chan string, 2)}
	h := start(t, grpcserver.Config{Limits: grpcserver.Limits{MaxRecvMsgBytes: 1000}, UnaryInterceptors: []grpc.UnaryServerInterceptor{rec.unary}})
	client := contactsv1.NewContactsServiceClient(h.dial(t))
	_, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strings.Repeat("1", 1500)})
	ei := wantRefusal(t, err, codes.ResourceExhausted, contactsv1.ErrorReason_REQUEST_TOO_LARGE.String())
	if ei.GetMetadata()[errmap.MetaMaxRequestBytes] != "1000" {
		t.Errorf("metadata %v, want %s=1000", ei.GetMetadata(), errmap.MetaMaxRequestBytes)
	}
	// Past twice the limit grpc refuses the request before reading it.
	_, err = client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strings.Repeat("1", 2500)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("request of 2.5 times the limit: %v, want RESOURCE_EXHAUSTED", err)
	}
	wait(t, rec.seen, "the first call to pass the interceptors")
	wait(t, rec.seen, "the second call to pass the interceptors")
	if got := rec.get(methodList); len(got) != 2 || got[0] != codes.ResourceExhausted || got[1] != codes.ResourceExhausted {
		t.Errorf("outer interceptor saw %v, want RESOURCE_EXHAUSTED twice", got)
	}
}

// TestHeaderListLimit: request metadata is capped (16 KiB by default):
// a call with more never reaches the handler, and the connection keeps
// serving.
func TestHeaderListLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit      uint32
		ok, tooBig int
	}{
		{"default 16 KiB", 0, 8 << 10, 32 << 10},
		{"configured", 4 << 10, 2 << 10, 8 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			var mu sync.Mutex
			h := start(t, grpcserver.Config{Limits: grpcserver.Limits{MaxHeaderListBytes: tc.limit}, Service: &fakeService{
				list: func(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
					mu.Lock()
					calls++
					mu.Unlock()
					return &contactsv1.ListContactsResponse{}, nil
				},
			}})
			client := contactsv1.NewContactsServiceClient(h.dial(t))
			call := func(n int) error {
				ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-padding", strings.Repeat("p", n))
				_, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1"})
				return err
			}
			// The first call lets the client learn the server's settings.
			if err := call(0); err != nil {
				t.Fatal(err)
			}
			if err := call(tc.tooBig); err == nil {
				t.Fatalf("a call with %d bytes of metadata succeeded", tc.tooBig)
			}
			if err := call(tc.ok); err != nil {
				t.Fatalf("a call with %d bytes of metadata: %v", tc.ok, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != 2 {
				t.Fatalf("handler called %d times, want 2 (the oversized call must not reach it)", calls)
			}
		})
	}
}

// manualAfter is Config.After driven by the test: each call is reported
// on calls, and its channel fires when the test sends on it.
type manualAfter struct {
	calls chan afterCall
}

type afterCall struct {
	d    time.Duration
	fire chan time.Time
}

func newManualAfter() *manualAfter { return &manualAfter{calls: make(chan afterCall, 4)} }

func (m *manualAfter) after(d time.Duration) <-chan time.Time {
	c := afterCall{d: d, fire: make(chan time.Time, 1)}
	m.calls <- c
	return c.fire
}

// TestDrainDelay: Shutdown turns health NOT_SERVING and keeps accepting
// connections and calls for the drain delay; only then does it close the
// listener.
func TestDrainDelay(t *testing.T) {
	clock := newManualAfter()
	h := start(t, grpcserver.Config{DrainDelay: 7 * time.Second, After: clock.after})
	conn := h.dial(t)
	w := watch(t, ctxT(t), conn, serviceName, healthpb.HealthCheckResponse_SERVING)

	shutdownDone := make(chan struct{})
	go func() {
		h.shutdown(t, context.Background())
		close(shutdownDone)
	}()
	expectStatus(t, w, serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
	c := wait(t, clock.calls, "the drain delay to start")
	if c.d != 7*time.Second {
		t.Fatalf("drain delay %v, want 7s", c.d)
	}
	// Draining: the listener is open, a new connection is served, health
	// says NOT_SERVING on it.
	select {
	case <-h.lis.closed:
		t.Fatal("the listener closed before the drain delay ended")
	default:
	}
	fresh := h.dial(t)
	if _, err := contactsv1.NewContactsServiceClient(fresh).ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"}); err != nil {
		t.Fatalf("call on a new connection while draining: %v", err)
	}
	if resp, err := healthpb.NewHealthClient(fresh).Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health while draining: %v %v, want NOT_SERVING", resp, err)
	}
	c.fire <- time.Now()
	wait(t, h.lis.closed, "the listener to close after the drain delay")
	wait(t, shutdownDone, "Shutdown to return")
}

// TestShutdownDeadlineAnswersUnavailable: calls still running when the
// shutdown deadline passes answer UNAVAILABLE SERVER_SHUTTING_DOWN; a
// write says its outcome is unknown and how to learn it.
func TestShutdownDeadlineAnswersUnavailable(t *testing.T) {
	list, create := newBlockingList(), make(chan struct{}, 1)
	rec := &codeRecorder{}
	h := start(t, grpcserver.Config{
		UnaryInterceptors: []grpc.UnaryServerInterceptor{rec.unary},
		Service: &fakeService{list: list.list, create: func(ctx context.Context, _ *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
			create <- struct{}{}
			<-ctx.Done()
			// What the service answers for a cancelled upstream call.
			return nil, status.Error(codes.Canceled, "the call was cancelled")
		}},
	})
	client := contactsv1.NewContactsServiceClient(h.dial(t))
	results := make(chan error, 2)
	go func() {
		_, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
		results <- err
	}()
	var writeErr error
	writeDone := make(chan struct{})
	go func() {
		_, writeErr = client.CreateContacts(ctxT(t), &contactsv1.CreateContactsRequest{PropertyId: "1000003"})
		close(writeDone)
	}()
	wait(t, list.entered, "the read to reach its handler")
	wait(t, create, "the write to reach its handler")

	ctx, cancel := context.WithCancel(context.Background())
	shutdownDone := make(chan struct{})
	go func() {
		h.shutdown(t, ctx)
		close(shutdownDone)
	}()
	wait(t, h.lis.closed, "the listener to close")
	cancel()

	readErr := wait(t, results, "the read to end")
	ei := wantRefusal(t, readErr, codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String())
	if _, ok := ei.GetMetadata()[errmap.MetaOutcome]; ok {
		t.Errorf("a read carries an outcome: %v", ei.GetMetadata())
	}
	wait(t, writeDone, "the write to end")
	ei = wantRefusal(t, writeErr, codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String())
	if ei.GetMetadata()[errmap.MetaOutcome] != "unknown" || !strings.Contains(status.Convert(writeErr).Message(), "outcome is unknown") ||
		!strings.Contains(status.Convert(writeErr).Message(), "ListContacts") {
		t.Errorf("write: %v %v, want its outcome unknown and ListContacts to read the state", writeErr, ei.GetMetadata())
	}
	wait(t, shutdownDone, "Shutdown to return")
	if got := rec.get(methodCreate); len(got) != 1 || got[0] != codes.Unavailable {
		t.Errorf("outer interceptor saw %v for the write, want UNAVAILABLE", got)
	}
}

// TestShutdownStopsStuckHandlers: a handler that ignores its cancellation
// does not hold the shutdown past a short grace.
func TestShutdownStopsStuckHandlers(t *testing.T) {
	clock := newManualAfter()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	h := start(t, grpcserver.Config{After: clock.after, Service: &fakeService{
		list: func(context.Context, *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
			entered <- struct{}{}
			<-release // ignores its context
			return &contactsv1.ListContactsResponse{}, nil
		},
	}})
	client := contactsv1.NewContactsServiceClient(h.dial(t))
	result := make(chan error, 1)
	go func() {
		_, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"})
		result <- err
	}()
	wait(t, entered, "the call to reach its handler")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	shutdownDone := make(chan struct{})
	go func() {
		h.shutdown(t, ctx)
		close(shutdownDone)
	}()
	grace := wait(t, clock.calls, "the grace after the deadline")
	if grace.d <= 0 || grace.d > 5*time.Second {
		t.Fatalf("grace %v, want a short one", grace.d)
	}
	grace.fire <- time.Now()
	if err := wait(t, result, "the stuck call to end"); status.Code(err) != codes.Unavailable {
		t.Fatalf("stuck call: %v, want UNAVAILABLE (connection closed)", err)
	}
	// Stop does not wait for the handler; Shutdown still waits for
	// GracefulStop, which returns once the handler does.
	release <- struct{}{}
	wait(t, shutdownDone, "Shutdown to return")
}

// TestMaxConnectionAge: a connection older than MaxConnectionAge gets a
// GOAWAY (the client reconnects), while its call in flight completes.
func TestMaxConnectionAge(t *testing.T) {
	b := newBlockingList()
	h := start(t, grpcserver.Config{Limits: grpcserver.Limits{MaxConnectionAge: 50 * time.Millisecond, MaxConnectionAgeGrace: time.Minute},
		Service: &fakeService{list: b.list}})
	conn := h.dial(t)
	client := contactsv1.NewContactsServiceClient(conn)
	result := make(chan callResult, 1)
	go func() {
		resp, err := client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"})
		result <- callResult{resp, err}
	}()
	wait(t, b.entered, "the call to reach its handler")
	for s := conn.GetState(); s == connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctxT(t), s) {
			t.Fatal("the connection stayed READY past its maximum age")
		}
	}
	close(b.release)
	if r := wait(t, result, "the call in flight"); r.err != nil {
		t.Fatalf("call in flight during the connection's grace: %v", r.err)
	}
}

// TestHealthOnlyPort: ServeHealth serves grpc.health.v1 only, with the
// main server's statuses, through the shutdown.
func TestHealthOnlyPort(t *testing.T) {
	h := start(t, grpcserver.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.srv.ServeHealth(l) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", serviceName} {
		if resp, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: svc}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) on the health port: %v %v", svc, resp, err)
		}
	}
	_, err = contactsv1.NewContactsServiceClient(conn).ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"})
	wantRefusal(t, err, codes.Unimplemented, contactsv1.ErrorReason_UNKNOWN_METHOD.String())

	w := watch(t, ctxT(t), conn, "", healthpb.HealthCheckResponse_SERVING)
	h.shutdown(t, context.Background())
	expectStatus(t, w, "", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := wait(t, served, "ServeHealth to return"); err != nil {
		t.Fatalf("ServeHealth: %v", err)
	}
}

// TestEmulatorIsVisible: on the emulator, health reports
// HealthServiceEmulator and every response carries EmulatorHeader; not
// otherwise.
func TestEmulatorIsVisible(t *testing.T) {
	for _, emulator := range []bool{true, false} {
		h := start(t, grpcserver.Config{Emulator: emulator})
		conn := h.dial(t)
		resp, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{Service: grpcserver.HealthServiceEmulator})
		switch {
		case emulator && (err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING):
			t.Errorf("emulator: Check(%s) %v %v, want SERVING", grpcserver.HealthServiceEmulator, resp, err)
		case !emulator && status.Code(err) != codes.NotFound:
			t.Errorf("real upstream: Check(%s) %v %v, want NOT_FOUND", grpcserver.HealthServiceEmulator, resp, err)
		}
		var header metadata.MD
		if _, err := contactsv1.NewContactsServiceClient(conn).ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "1"}, grpc.Header(&header)); err != nil {
			t.Fatal(err)
		}
		w, err := healthpb.NewHealthClient(conn).Watch(ctxT(t), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		streamHeader, err := w.Header()
		if err != nil {
			t.Fatal(err)
		}
		for what, md := range map[string]metadata.MD{"unary": header, "stream": streamHeader} {
			got := strings.Join(md.Get(grpcserver.EmulatorHeader), ",")
			if emulator != strings.Contains(got, "EMULATOR") {
				t.Errorf("emulator %v, %s call: header %s=%q", emulator, what, grpcserver.EmulatorHeader, got)
			}
		}
	}
}

// TestOptionsAndStatsHandler: Config.Options reach the server.
func TestOptionsAndStatsHandler(t *testing.T) {
	sh := &countingStats{ended: make(chan struct{})}
	h := start(t, grpcserver.Config{Options: []grpc.ServerOption{grpc.StatsHandler(sh)}})
	ctx := ctxT(t)
	if _, err := contactsv1.NewContactsServiceClient(h.dial(t)).ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1"}); err != nil {
		t.Fatal(err)
	}
	// The server tells its handler of the call's end after the answer is
	// on its way: wait for it, within the test's deadline.
	select {
	case <-sh.ended:
	case <-ctx.Done():
		t.Fatal("the stats handler saw no call end")
	}
}

type countingStats struct {
	mu    sync.Mutex
	ends  int
	ended chan struct{} // closed at the first end
}

func (c *countingStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *countingStats) HandleRPC(_ context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.End); ok {
		c.mu.Lock()
		c.ends++
		if c.ends == 1 {
			close(c.ended)
		}
		c.mu.Unlock()
	}
}
func (c *countingStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *countingStats) HandleConn(context.Context, stats.ConnStats) {}

// signalHandler is a slog.Handler that reports each record with message
// msg on seen once it is written.
type signalHandler struct {
	slog.Handler
	msg  string
	seen chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message == h.msg {
		h.seen <- struct{}{}
	}
	return err
}

func (h signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{Handler: h.Handler.WithAttrs(as), msg: h.msg, seen: h.seen}
}

// TestTLSHandshakeFailuresLogged: a failed handshake is logged at info
// with the remote address and the kind of failure, and nothing of the
// certificates (the rate limit is tested in handshake_internal_test.go).
func TestTLSHandshakeFailuresLogged(t *testing.T) {
	logs := &syncBuffer{}
	seen := make(chan struct{}, 4)
	log := slog.New(signalHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}), msg: "TLS handshake failed", seen: seen})
	h := start(t, grpcserver.Config{TLS: selfSignedTLS(t), Logger: log})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	wait(t, seen, "the failed handshake to be logged")
	var lines []map[string]any
	for _, r := range logs.records(t) {
		if r["msg"] == "TLS handshake failed" {
			lines = append(lines, r)
		}
	}
	if len(lines) != 1 || lines[0]["level"] != "INFO" || lines[0]["kind"] != "not_tls" || lines[0]["remote"] != c.LocalAddr().String() {
		t.Fatalf("log lines %v, want one INFO line of kind not_tls from %s", lines, c.LocalAddr())
	}
	if strings.Contains(logs.String(), "secret-subject-cn") {
		t.Errorf("the logs hold the certificate's subject:\n%s", logs)
	}
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "secret-subject-cn"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}
