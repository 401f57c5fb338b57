// Package server assembles the gRPC server of contactsd: the contacts.v1
// service, grpc.health.v1.Health (also on a plaintext health-only port
// when asked), server reflection (v1 and v1alpha, so grpcurl needs no
// proto files), panic recovery and call logging for unary calls and
// streams, request decoding that answers the caller's mistakes with an
// ErrorInfo, the server-side limits, and a shutdown that drains.
package grpcserver

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	// The server answers with google.rpc error details; linking their
	// types lets reflection describe them to grpcurl.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Limits are the server-side limits. Zero fields take the defaults.
type Limits struct {
	// MaxRecvMsgBytes caps one request message (default 1 MiB: a property
	// with 100 contacts is far below): a larger one answers
	// RESOURCE_EXHAUSTED REQUEST_TOO_LARGE. One over twice the limit is not
	// even read: grpc answers a bare RESOURCE_EXHAUSTED.
	MaxRecvMsgBytes int
	// MaxHeaderListBytes caps the request metadata of one call, the HTTP/2
	// header list (default 16 KiB). A call over it is reset by the
	// server before any handler runs; grpc-go clients learn the limit
	// from the connection's settings and fail the call themselves.
	MaxHeaderListBytes uint32
	// MaxConcurrentStreams caps the calls in flight on one connection
	// (default 1000).
	MaxConcurrentStreams uint32
	// MaxConnectionAge, when positive, ends each connection after about
	// this long (grpc adds ±10% jitter) with a GOAWAY, so that clients
	// reconnect and spread over the replicas (default: never). Calls in
	// flight then get MaxConnectionAgeGrace to finish (default 30s).
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	// ConnectionTimeout bounds a new connection's setup: the TLS
	// handshake and the client's HTTP/2 preface and settings (default
	// 10s, grpc's own is 120s). A connection that has not sent them by
	// then is closed.
	ConnectionTimeout time.Duration
	// MaxConnections caps the connections open on each listener (default
	// 10,000): past it the next connection waits in the kernel's accept
	// queue until one closes. It bounds the memory and file descriptors
	// that idle or half-open connections can take.
	MaxConnections int
}

func (l Limits) withDefaults() Limits {
	l.MaxRecvMsgBytes = cmp.Or(l.MaxRecvMsgBytes, 1<<20)
	l.MaxHeaderListBytes = cmp.Or(l.MaxHeaderListBytes, 16<<10)
	l.MaxConcurrentStreams = cmp.Or(l.MaxConcurrentStreams, 1000)
	l.MaxConnectionAgeGrace = cmp.Or(l.MaxConnectionAgeGrace, 30*time.Second)
	l.ConnectionTimeout = cmp.Or(l.ConnectionTimeout, DefaultConnectionTimeout)
	l.MaxConnections = cmp.Or(l.MaxConnections, DefaultMaxConnections)
	return l
}

// Defaults of Limits.
const (
	DefaultConnectionTimeout = 10 * time.Second
	DefaultMaxConnections    = 10_000
)

// registrar is a service that registers itself and the services that
// come with it, as service.Service does.
type registrar interface {
	Register(grpc.ServiceRegistrar)
}

// Config is what New needs.
type Config struct {
	// Service is the contacts service. When it has a Register method
	// (service.Service), that registers it and its companion services.
	Service contactsv1.ContactsServiceServer
	// Logger gets the server's log lines. The call log (one debug line
	// per call) is installed only if it has debug enabled when New runs.
	Logger *slog.Logger
	Limits Limits
	// TLS, when set, serves TLS (and mTLS when it requires client certs).
	// Failed handshakes are logged at info, once a minute per kind.
	TLS *tls.Config
	// DrainDelay is how long Shutdown keeps serving after health turns
	// NOT_SERVING, before it closes the listener, so that load balancers
	// see the change and stop sending first (default 0).
	DrainDelay time.Duration
	// Emulator says that the service runs on the embedded emulator:
	// health then reports HealthServiceEmulator as SERVING, and every
	// response carries the header EmulatorHeader.
	Emulator bool

	// UnaryInterceptors and StreamInterceptors run outermost, before the
	// call log and panic recovery, so that metrics see every final code
	// (streams' messages are decoded before them).
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
	// ServiceInterceptors run innermost, inside the call log and panic
	// recovery, right before the service: the service's own
	// (service.Service.UnaryInterceptors), whose refusals are logged and
	// panics recovered.
	ServiceInterceptors []grpc.UnaryServerInterceptor
	// Options are added to the main server's options, after the server's
	// own (e.g. grpc.StatsHandler for OpenTelemetry).
	Options []grpc.ServerOption

	// Now and After are the clock (defaults time.Now and time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// HealthServiceEmulator is the health service name that is SERVING when
// the server runs on the embedded emulator, and unknown (NOT_FOUND)
// otherwise.
const HealthServiceEmulator = "contactsd.EMULATOR"

// stopGrace is how long the calls cut by the shutdown deadline get to
// send their status before the connections close.
const stopGrace = time.Second

// Server is the gRPC server with its health service.
type Server struct {
	grpc       *grpc.Server
	healthOnly *grpc.Server
	health     *healthService
	log        *slog.Logger
	decoder    decoder
	drainDelay time.Duration
	after      func(time.Duration) <-chan time.Time
	maxConns   int

	callLog     logging.Logger
	callLogOpts []logging.Option

	// hardStop is cancelled when the shutdown deadline passes.
	hardStop       context.Context
	cancelHardStop context.CancelFunc
}

// New builds the server. It does not listen yet.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := cfg.Limits.withDefaults()
	hardStop, cancel := context.WithCancel(context.Background())
	s := &Server{
		health:         newHealthService(),
		log:            log,
		decoder:        decoder{log: log, maxRecvBytes: lim.MaxRecvMsgBytes},
		drainDelay:     cfg.DrainDelay,
		maxConns:       lim.MaxConnections,
		after:          cfg.After,
		hardStop:       hardStop,
		cancelHardStop: cancel,
	}
	if cfg.After == nil {
		s.after = time.After
	}
	s.callLog, s.callLogOpts = newCallLog(log)

	common := []grpc.ServerOption{
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxHeaderListSize(lim.MaxHeaderListBytes),
		// A connection that has not finished its TLS handshake and sent
		// its HTTP/2 preface by then is closed (grpc's default: 120s).
		grpc.ConnectionTimeout(lim.ConnectionTimeout),
		// Refuse clients that ping more often than every 10s without
		// calls in flight: a cheap guard against ping floods.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.unaryChain(cfg)...),
		grpc.ChainStreamInterceptor(s.streamChain(cfg)...),
		grpc.UnknownServiceHandler(unknownMethodHandler),
	}
	opts := append(common,
		// Unary calls run on a pool of goroutines whose stacks have
		// already grown to what a call needs: a new goroutine per call
		// spent ~6% of the CPU growing and copying its stack (profile of
		// the service benchmarks; 1.6% with the pool). Calls beyond the
		// pool still get a goroutine of their own, as without it.
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.MaxRecvMsgSize(2*lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		// Close idle connections after 15 minutes, probe dead peers, and
		// end old connections so that clients rebalance.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     15 * time.Minute,
			MaxConnectionAge:      lim.MaxConnectionAge,
			MaxConnectionAgeGrace: lim.MaxConnectionAgeGrace,
			Time:                  2 * time.Minute,
			Timeout:               20 * time.Second,
		}),
	)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(newLoggingCreds(credentials.NewTLS(cfg.TLS), log, cfg.Now)))
	}
	opts = append(opts, cfg.Options...)
	s.grpc = grpc.NewServer(opts...)
	reg := decodingRegistrar{g: s.grpc, d: s.decoder}
	if r, ok := cfg.Service.(registrar); ok {
		// The service registers itself: ContactsService and the services
		// that come with it (google.longrunning.Operations).
		r.Register(reg)
	} else {
		contactsv1.RegisterContactsServiceServer(reg, cfg.Service)
	}
	healthpb.RegisterHealthServer(reg, s.health)
	s.health.SetServingStatus(contactsv1.ContactsService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	if cfg.Emulator {
		s.health.SetServingStatus(HealthServiceEmulator, healthpb.HealthCheckResponse_SERVING)
	}
	if err := registerReflection(reg, s.grpc); err != nil {
		// Only a descriptor that does not match gen/ gets here; the build
		// is broken, so fall back to the comment-less descriptors.
		log.Error("server reflection without comments", "error", err)
		reflection.Register(s.grpc)
	}

	// The health-only server answers grpc.health.v1 in plaintext, from
	// the same statuses, for probes that cannot present a client
	// certificate. Its requests are small.
	s.healthOnly = grpc.NewServer(append(common,
		grpc.MaxRecvMsgSize(2*lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(100),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}))...)
	healthpb.RegisterHealthServer(decodingRegistrar{g: s.healthOnly, d: s.decoder}, s.health)
	return s
}

// Serve serves on lis until Shutdown, with at most
// Limits.MaxConnections connections open on it. It returns nil after
// Shutdown, even one that came before it started (a signal right at
// start-up).
func (s *Server) Serve(lis net.Listener) error {
	return stopped(s.grpc.Serve(netutil.LimitListener(lis, s.maxConns)))
}

// ServeHealth serves grpc.health.v1.Health only, in plaintext, on lis,
// until Shutdown. It reports what the main server's health reports. It
// has its own cap of Limits.MaxConnections.
func (s *Server) ServeHealth(lis net.Listener) error {
	return stopped(s.healthOnly.Serve(netutil.LimitListener(lis, s.maxConns)))
}

// stopped is the error of a grpc.Server's Serve, nil when it only says
// the server was stopped: that is what Shutdown asked for.
func stopped(err error) error {
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown flips health to NOT_SERVING, keeps serving for the drain
// delay so that load balancers stop sending calls, then closes the
// listeners and waits for the calls in flight to finish. When ctx ends
// first, the calls still running are cancelled and answer UNAVAILABLE
// SERVER_SHUTTING_DOWN; after a moment for those answers to leave, the
// connections close.
func (s *Server) Shutdown(ctx context.Context) {
	s.health.shutdown()
	// The health-only port answers NOT_SERVING until the end.
	defer stop(ctx, s.healthOnly)
	if s.drainDelay > 0 {
		s.log.Info("draining: health is NOT_SERVING, still serving", "drain_delay", s.drainDelay)
		select {
		case <-s.after(s.drainDelay):
		case <-ctx.Done():
		}
	}
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	s.log.Warn("shutdown deadline passed; the calls still in flight answer UNAVAILABLE " + contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String())
	s.cancelHardStop()
	select {
	case <-done:
		return
	case <-s.after(stopGrace):
	}
	s.log.Error("calls still running after the shutdown deadline and their cancellation; closing their connections")
	s.grpc.Stop()
	<-done
}

// streamWorkers is the size of the main server's pool of call
// goroutines: a few per CPU, since calls mostly wait on the upstream.
func streamWorkers() uint32 { return uint32(8 * runtime.GOMAXPROCS(0)) }

// stop stops g gracefully, or at once when ctx ends first.
func stop(ctx context.Context, g *grpc.Server) {
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		g.Stop()
		<-done
	}
}
