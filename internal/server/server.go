// Package server assembles the gRPC server of contactsd: the contacts.v1
// service, grpc.health.v1.Health, server reflection (v1 and v1alpha, so
// grpcurl needs no proto files), panic recovery, call logging and the
// server-side limits.
package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	// The server answers with google.rpc error details; linking their
	// types lets reflection describe them to grpcurl.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// Limits are the server-side limits. Zero fields take the defaults.
type Limits struct {
	// MaxRecvMsgBytes caps one request message (default 1 MiB: a property
	// with 100 contacts is far below).
	MaxRecvMsgBytes int
	// MaxConcurrentStreams caps the calls in flight on one connection
	// (default 1000).
	MaxConcurrentStreams uint32
}

func (l Limits) withDefaults() Limits {
	if l.MaxRecvMsgBytes == 0 {
		l.MaxRecvMsgBytes = 1 << 20
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = 1000
	}
	return l
}

// Config is what New needs.
type Config struct {
	Service contactsv1.ContactsServiceServer
	Logger  *slog.Logger
	Limits  Limits
	// TLS, when set, serves TLS (and mTLS when it requires client certs).
	TLS *tls.Config
	// DefaultTimeout is the deadline of calls that arrive without one, so
	// that no upstream call waits forever (default 30s).
	DefaultTimeout time.Duration
}

// Server is the gRPC server with its health service.
type Server struct {
	grpc   *grpc.Server
	health *healthService
	log    *slog.Logger
}

// New builds the server. It does not listen yet.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := cfg.Limits.withDefaults()
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		// Refuse clients that ping more often than every 10s without
		// calls in flight: a cheap guard against ping floods.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Close idle connections after 15 minutes and probe dead peers.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.ChainUnaryInterceptor(recoverUnary(log), logUnary(log), defaultDeadline(cfg.DefaultTimeout)),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	g := grpc.NewServer(opts...)
	contactsv1.RegisterContactsServiceServer(g, cfg.Service)
	h := newHealthService()
	healthpb.RegisterHealthServer(g, h)
	h.SetServingStatus(contactsv1.ContactsService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	if err := registerReflection(g); err != nil {
		// Only a descriptor that does not match gen/ gets here; the build
		// is broken, so fall back to the comment-less descriptors.
		log.Error("server reflection without comments", "error", err)
		reflection.Register(g)
	}
	return &Server{grpc: g, health: h, log: log}
}

// Serve serves on lis until Shutdown or Stop.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(lis) }

// Shutdown flips health to NOT_SERVING, so that load balancers stop
// sending calls, then waits for the calls in flight to finish. When ctx
// ends first, the remaining calls are cancelled.
func (s *Server) Shutdown(ctx context.Context) {
	s.health.shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("shutdown deadline passed; cancelling the calls still in flight")
		s.grpc.Stop()
		<-done
	}
}

// recoverUnary turns a panic of a handler into INTERNAL, and logs it with
// its stack, so that bad input never crashes the server.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				resp, err = nil, errmap.Internal(errmap.Call{}).Err()
			}
		}()
		return handler(ctx, req)
	}
}

// logUnary logs every call at debug level: method, code and duration, never
// the request or response (they hold e-mails and phone numbers).
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !log.Enabled(ctx, slog.LevelDebug) {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		log.LogAttrs(ctx, slog.LevelDebug, "call", slog.String("method", info.FullMethod),
			slog.String("code", status.Code(err).String()), slog.Duration("duration", time.Since(start)))
		return resp, err
	}
}

// defaultDeadline gives a call without a deadline the default one.
func defaultDeadline(d time.Duration) grpc.UnaryServerInterceptor {
	if d <= 0 {
		d = 30 * time.Second
	}
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); ok {
			return handler(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return handler(ctx, req)
	}
}

// healthService is grpc's health service, except that during Shutdown a
// Watch stream ends (UNAVAILABLE) once it has told its client NOT_SERVING.
// GracefulStop waits for every stream, and grpc clients with health
// checking keep a Watch open on each connection: without this, one such
// client would hold the shutdown for its whole timeout, after which the
// calls still in flight are cancelled.
type healthService struct {
	*health.Server
	// draining is cancelled when the shutdown starts.
	draining context.Context
	drain    context.CancelFunc
}

func newHealthService() *healthService {
	ctx, cancel := context.WithCancel(context.Background())
	return &healthService{Server: health.NewServer(), draining: ctx, drain: cancel}
}

// shutdown marks every service NOT_SERVING for good and ends the watches
// once they have sent it.
func (h *healthService) shutdown() {
	h.drain()
	h.Server.Shutdown()
}

// Watch implements grpc.health.v1.Health.Watch.
func (h *healthService) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	w := &drainingWatch{Health_WatchServer: stream, ctx: ctx, cancel: cancel}
	defer context.AfterFunc(h.draining, w.startDraining)()
	err := h.Server.Watch(req, w)
	if h.draining.Err() != nil && stream.Context().Err() == nil {
		return status.Error(codes.Unavailable, "the server is shutting down")
	}
	return err
}

// drainingWatch is a Watch stream that ends (cancels its context) once the
// server drains and the last status sent is not SERVING. After
// health.Server.Shutdown no status changes any more, so the status sent
// last is the final one.
type drainingWatch struct {
	healthpb.Health_WatchServer
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	draining bool
	sent     bool
	last     healthpb.HealthCheckResponse_ServingStatus
}

func (w *drainingWatch) Context() context.Context { return w.ctx }

func (w *drainingWatch) Send(resp *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(resp)
	w.mu.Lock()
	w.sent, w.last = true, resp.GetStatus()
	w.endIfDoneLocked()
	w.mu.Unlock()
	return err
}

func (w *drainingWatch) startDraining() {
	w.mu.Lock()
	w.draining = true
	w.endIfDoneLocked()
	w.mu.Unlock()
}

func (w *drainingWatch) endIfDoneLocked() {
	if w.draining && w.sent && w.last != healthpb.HealthCheckResponse_SERVING {
		w.cancel()
	}
}
