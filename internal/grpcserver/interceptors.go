package grpcserver

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// The interceptor chains, outermost first:
//
//	Config.UnaryInterceptors / StreamInterceptors  (metrics: every final code)
//	call log (debug)
//	panic recovery
//	shutdown: calls cut by the shutdown deadline answer SERVER_SHUTTING_DOWN
//	emulator header (when Config.Emulator)
//	Config.ServiceInterceptors (unary: the access gate)
//
// Streams first pass decodeStream (see decode.go), which decodes their
// messages for everything after it.

func (s *Server) unaryChain(cfg Config) []grpc.UnaryServerInterceptor {
	chain := append([]grpc.UnaryServerInterceptor(nil), cfg.UnaryInterceptors...)
	if s.callLog != nil {
		chain = append(chain, logging.UnaryServerInterceptor(s.callLog, s.callLogOpts...))
	}
	chain = append(chain,
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)),
		s.callContextUnary)
	if cfg.Emulator {
		chain = append(chain, emulatorHeaderUnary)
	}
	return append(chain, cfg.ServiceInterceptors...)
}

func (s *Server) streamChain(cfg Config) []grpc.StreamServerInterceptor {
	chain := []grpc.StreamServerInterceptor{s.decoder.decodeStream}
	chain = append(chain, cfg.StreamInterceptors...)
	if s.callLog != nil {
		chain = append(chain, logging.StreamServerInterceptor(s.callLog, s.callLogOpts...))
	}
	chain = append(chain,
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)),
		s.shutdownStream)
	if cfg.Emulator {
		chain = append(chain, emulatorHeaderStream)
	}
	return chain
}

// recovered turns a panic of a handler into INTERNAL with an ErrorInfo,
// and logs it with its stack (it runs on the panicking goroutine, before
// the stack unwinds), so that bad input never crashes the server. The
// panic value goes to the log only, never to the caller.
func (s *Server) recovered(ctx context.Context, p any) error {
	s.log.Error("panic in handler", "method", methodOf(ctx), "panic", p, "stack", string(debug.Stack()))
	return errmap.Internal(errmap.Call{}).Err()
}

// newCallLog is the call log: one debug line per finished call, with the
// service, method, code, ErrorInfo reason, duration and peer address. It
// never holds a request, a response or a status message (which may
// repeat values of the request). It is nil when log has debug off when
// the server is built, so that it costs nothing then.
func newCallLog(log *slog.Logger) (logging.Logger, []logging.Option) {
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return nil, nil
	}
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		if !log.Enabled(ctx, slog.Level(lvl)) {
			return
		}
		attrs := make([]slog.Attr, 0, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			switch k {
			case "grpc.error", "grpc.start_time", "grpc.request.deadline":
				// The status message may repeat a value of the request;
				// the times are the record's own.
				continue
			case logging.ServiceFieldKey, logging.MethodFieldKey:
				// An unknown method is whatever the caller sent.
				if v, ok := fields[i+1].(string); ok {
					attrs = append(attrs, slog.String(k, truncate(v, maxLoggedMethod)))
					continue
				}
			}
			attrs = append(attrs, slog.Any(k, fields[i+1]))
		}
		log.LogAttrs(ctx, slog.Level(lvl), msg, attrs...)
	})
	return logger, []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		// Every code at debug: a caller's mistake is the caller's to
		// see, and a failure operators must see is logged, at warn or
		// error, by the part that knows why (the service, the recovery).
		logging.WithLevels(func(codes.Code) logging.Level { return logging.LevelDebug }),
		logging.WithErrorFields(func(err error) logging.Fields { return logging.Fields{"reason", lazyReason{err}} }),
	}
}

// lazyReason is the ErrorInfo reason of an error's status, decoded only
// when a log line is written.
type lazyReason struct{ err error }

func (r lazyReason) LogValue() slog.Value {
	return slog.StringValue(reasonOf(status.Convert(r.err)))
}

// reasonOf is the reason of st's ErrorInfo, "" when it has none.
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// callContextUnary cancels the call's context when the shutdown deadline
// passes, with UNAVAILABLE SERVER_SHUTTING_DOWN as its cause; such a call
// then answers that status whatever its handler returns on failure.
func (s *Server) callContextUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The cause is the status the caller gets, so that the handler can
	// answer (and audit) it itself.
	defer context.AfterFunc(s.hardStop, func() { cancel(shuttingDown(info.FullMethod).Err()) })()
	resp, err := handler(ctx, req)
	if err != nil && ctx.Err() != nil && s.hardStop.Err() != nil {
		return nil, shuttingDown(info.FullMethod).Err()
	}
	return resp, err
}

// shutdownStream cancels the stream's context when the shutdown deadline
// passes; the stream then ends UNAVAILABLE SERVER_SHUTTING_DOWN.
func (s *Server) shutdownStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	defer context.AfterFunc(s.hardStop, cancel)()
	err := handler(srv, contextStream{ServerStream: ss, ctx: ctx})
	if err != nil && ctx.Err() != nil && s.hardStop.Err() != nil {
		return shuttingDown(info.FullMethod).Err()
	}
	return err
}

// contextStream is a stream with another context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s contextStream) Context() context.Context { return s.ctx }

// EmulatorHeader is the response header of every call when the server
// runs on the embedded emulator (Config.Emulator); grpcurl -v shows it.
const (
	EmulatorHeader      = "contactsd-upstream"
	EmulatorHeaderValue = "EMULATOR (demo data, not Booking.com)"
)

func emulatorHeaderUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(EmulatorHeader, EmulatorHeaderValue))
	return handler(ctx, req)
}

func emulatorHeaderStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	_ = ss.SetHeader(metadata.Pairs(EmulatorHeader, EmulatorHeaderValue))
	return handler(srv, ss)
}

// unknownMethod answers a call of a service or method the server does
// not have. It runs through the stream interceptors, so that the call log
// and metrics see it.
func unknownMethodHandler(any, grpc.ServerStream) error { return unknownMethod().Err() }
