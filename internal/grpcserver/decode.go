package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// grpc-go answers a request it cannot decode with a bare INTERNAL, and
// before any interceptor runs. This server decodes requests itself
// instead: its codec hands the request's bytes over undecoded (rawRequest),
// and the step that asked for them (decodingRegistrar for unary methods,
// decodingStream for streams) unmarshals them, turning a failure into
// INVALID_ARGUMENT MALFORMED_REQUEST with an ErrorInfo. It also applies
// the request size limit, so that an oversized request gets
// RESOURCE_EXHAUSTED REQUEST_TOO_LARGE with an ErrorInfo: grpc's own limit
// (which answers before anything of this server can add details) is set
// at twice that, as the bound on what is read at all.

// rawRequest is a request message not decoded yet.
type rawRequest struct{ data mem.BufferSlice }

// codec is grpc's proto codec, except that it fills a *rawRequest with the
// message's bytes.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2(encproto.Name)} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawRequest); ok {
		// data is freed when Unmarshal returns: keep a reference.
		data.Ref()
		r.data = data
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (codec) Name() string { return encproto.Name }

// decoder turns the bytes of a request into its message.
type decoder struct {
	log          *slog.Logger
	maxRecvBytes int
}

// receive reads one request with recv (grpc's dec, or RecvMsg) into m.
// Its error is a status, or io.EOF (the end of a client stream).
func (d decoder) receive(ctx context.Context, recv func(any) error, m any) error {
	var raw rawRequest
	if err := recv(&raw); err != nil {
		if !errors.Is(err, io.EOF) {
			// grpc has already answered the call with err (a message over
			// its hard limit, one that does not decompress, a unary call
			// without a message); the interceptors see the same.
			d.refused(ctx, status.Code(err), "", "framing")
		}
		return err
	}
	defer raw.data.Free()
	if n := raw.data.Len(); n > d.maxRecvBytes {
		d.refused(ctx, codes.ResourceExhausted, contactsv1.ErrorReason_REQUEST_TOO_LARGE.String(), "size")
		return requestTooLarge(d.maxRecvBytes).Err()
	}
	msg, ok := m.(proto.Message)
	if !ok {
		// Not a protobuf message: let grpc's codec decode it.
		return newCodec().proto.Unmarshal(raw.data, m)
	}
	buf := raw.data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if err := proto.Unmarshal(buf.ReadOnlyData(), msg); err != nil {
		kind := "protobuf"
		if strings.Contains(err.Error(), "UTF-8") {
			kind = "utf8"
		}
		d.refused(ctx, codes.InvalidArgument, contactsv1.ErrorReason_MALFORMED_REQUEST.String(), kind)
		return malformedRequest().Err()
	}
	return nil
}

// refused logs a refused request at debug: a caller's mistake. The line
// holds the method and the kind of the problem, never the request's bytes.
func (d decoder) refused(ctx context.Context, code codes.Code, reason, kind string) {
	d.log.LogAttrs(ctx, slog.LevelDebug, "request refused", slog.String("method", methodOf(ctx)),
		slog.String("code", code.String()), slog.String("reason", reason), slog.String("kind", kind))
}

// decodingRegistrar registers services on a grpc.Server with their unary
// methods decoding requests through a decoder. A request that does not
// decode still runs the interceptors, with a handler that refuses it, so
// that the call log and metrics see the final code.
type decodingRegistrar struct {
	g *grpc.Server
	d decoder
}

func (r decodingRegistrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	wrapped := *desc
	wrapped.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		fullMethod := "/" + desc.ServiceName + "/" + m.MethodName
		handler := m.Handler
		m.Handler = func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			var req any
			var decErr error
			resp, err := handler(srv, ctx, func(v any) error {
				req = v
				decErr = r.d.receive(ctx, dec, v)
				return decErr
			}, ic)
			if decErr == nil || ic == nil {
				return resp, err
			}
			return ic(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod},
				func(context.Context, any) (any, error) { return nil, decErr })
		}
		wrapped.Methods[i] = m
	}
	r.g.RegisterService(&wrapped, impl)
}

// decodeStream is the stream interceptor that decodes the messages of
// streams. It runs first, before the interceptors of Config, so that they
// see decoded messages and the final code.
func (d decoder) decodeStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, decodingStream{ServerStream: ss, d: d})
}

type decodingStream struct {
	grpc.ServerStream
	d decoder
}

func (s decodingStream) RecvMsg(m any) error {
	return s.d.receive(s.Context(), s.ServerStream.RecvMsg, m)
}

// methodOf is the full method of the call of ctx, cut to a length fit for
// a log line (an unknown method is whatever the caller sent).
func methodOf(ctx context.Context) string {
	m, _ := grpc.Method(ctx)
	return truncate(m, maxLoggedMethod)
}

const maxLoggedMethod = 200

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
