package grpcserver

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

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
