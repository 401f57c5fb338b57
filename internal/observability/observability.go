// Package observability is what operators see of contactsd: the
// Prometheus metrics, the OpenTelemetry traces and the admin HTTP listener
// (/metrics, /healthz, /readyz and, when asked for, pprof).
//
// New decides what exists in one run: metrics only when there is an admin
// listener to serve them, traces only when the OTEL_* environment asks for
// them. Its methods hand each part of contactsd the hook it needs (the
// gRPC server's interceptors and stats handler, the upstream client's
// transport and observer, the token source's callback) and watch what
// others count (the token, the read path, the shared Redis); each is nil
// or does nothing when the part is off.
//
// No value of a request or an answer, no credential and no token becomes
// a metric label: labels are folded into fixed sets. The property id and
// the query are cut from span URLs before the spans leave the process.
// Nothing is global: the metrics have a registry of their own and the
// tracer provider is passed to the instrumentation, never installed.
package observability

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// serviceName is service.name on the traces (OTEL_SERVICE_NAME overrides
// it).
const serviceName = "contactsd"

// Config is what contactsd is told about metrics, profiles and the admin
// listener. Tracing is configured by the OTEL_* environment only.
type Config struct {
	// AdminListen is the admin HTTP address (host:port); empty: no admin
	// listener, and no metrics.
	AdminListen string
	// AdminPprof also serves /debug/pprof/ on AdminListen.
	AdminPprof bool
	// Version is service.version on the traces.
	Version string
}

// Observability is the metrics, tracing and admin listener of one run.
// Metrics are collected only when there is an admin listener to serve
// them; traces only when the OTEL_* environment asks for them.
type Observability struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics // nil without AdminListen
	tracing *tracing
	ready   atomic.Bool
	admin   *adminServer
	served  chan error
}

// New builds the metrics and the tracing; getenv reads the OTEL_*
// environment. Call Shutdown when done, even when New fails: it returns
// an Observability with everything off then.
func New(ctx context.Context, cfg Config, getenv func(string) string, log *slog.Logger) (*Observability, error) {
	o := &Observability{cfg: cfg, log: log, tracing: tracingOff()}
	if cfg.AdminListen != "" {
		o.metrics = newMetrics()
	}
	tr, err := tracingFromEnv(ctx, getenv, serviceName, cfg.Version)
	if err != nil {
		return o, err
	}
	o.tracing = tr
	if tr.On() {
		log.Info("tracing on (OTEL_* environment)")
	}
	return o, nil
}

// LogHandler adds the trace and span ids of the call to each log line of
// h.
func (o *Observability) LogHandler(h slog.Handler) slog.Handler { return withTraceIDs(h) }

// ServerHooks are what the gRPC server needs, to run outside its own
// interceptors: grpcserver.Config.UnaryInterceptors, StreamInterceptors and
// Options (the otelgrpc stats handler).
func (o *Observability) ServerHooks() (unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor, opts []grpc.ServerOption) {
	if h := o.tracing.ServerHandler(); h != nil {
		opts = append(opts, grpc.StatsHandler(h))
	}
	if o.metrics != nil {
		unary = append(unary, o.metrics.UnaryServerInterceptor())
		stream = append(stream, o.metrics.StreamServerInterceptor())
	}
	return unary, stream, opts
}

// UpstreamHTTPClient is upstream.Config.HTTPClient: nil (the upstream
// package's own client) without tracing; with tracing, the same pool and
// redirect policy (and h2c when asked), traced.
func (o *Observability) UpstreamHTTPClient(h2c bool) *http.Client {
	if !o.tracing.On() {
		return nil
	}
	return &http.Client{
		Transport: o.tracing.Transport(upstream.NewTransport(h2c)),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// UpstreamObserver is upstream.Config.Observer; nil without metrics.
func (o *Observability) UpstreamObserver() upstream.Observer {
	if o.metrics == nil {
		return nil
	}
	return o.metrics
}

// OnTokenExchange is upstreamauth.TokenConfig.OnExchange; nil without
// metrics.
func (o *Observability) OnTokenExchange() func(outcome string) {
	if o.metrics == nil {
		return nil
	}
	return o.metrics.TokenExchanged
}

// WatchToken serves the token gauges from snapshot (a token source's
// Snapshot), read at each scrape. Call it at most once.
func (o *Observability) WatchToken(snapshot func() upstreamauth.TokenSnapshot) {
	if o.metrics == nil {
		return
	}
	if err := o.metrics.WatchToken(snapshot, nil); err != nil {
		o.log.Error("token metrics", "error", err)
	}
}

// WatchReads serves the read path's counters (coalescing and cache) from
// stats, read at each scrape. Call it at most once.
func (o *Observability) WatchReads(stats func() readpath.Stats) {
	if o.metrics == nil {
		return
	}
	counter := func(name, help string, v func(readpath.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Subsystem: "reads", Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	gauge := func(name, help string, v func(readpath.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "reads", Name: name, Help: help},
			func() float64 { return v(stats()) })
	}
	err := o.metrics.Register(
		counter("upstream_gets_total", "GETs the read path sent to the upstream.", func(s readpath.Stats) uint64 { return s.UpstreamGets }),
		counter("coalesced_total", "Reads that joined an identical GET already in flight.", func(s readpath.Stats) uint64 { return s.Joins }),
		counter("cache_hits_total", "Reads answered from the cache within its TTL.", func(s readpath.Stats) uint64 { return s.Hits }),
		counter("cache_misses_total", "Reads the cache could not answer.", func(s readpath.Stats) uint64 { return s.Misses }),
		counter("cache_stale_total", "Reads answered stale while one refresh ran.", func(s readpath.Stats) uint64 { return s.StaleServes }),
		counter("cache_stale_on_error_total", "Reads answered stale instead of an upstream failure.", func(s readpath.Stats) uint64 { return s.StaleOnError }),
		counter("cache_evictions_total", "Cached answers dropped for the bounds or for age.", func(s readpath.Stats) uint64 { return s.Evictions }),
		counter("invalidations_total", "Properties invalidated by writes (here or on other replicas).", func(s readpath.Stats) uint64 { return s.Invalidations }),
		gauge("cache_entries", "Answers in the cache.", func(s readpath.Stats) float64 { return float64(s.Entries) }),
		gauge("cache_bytes", "Estimated size of the cached answers.", func(s readpath.Stats) float64 { return float64(s.Bytes) }),
	)
	if err != nil {
		o.log.Error("read path metrics", "error", err)
	}
}

// WatchRedis serves contacts_facade_redis_degraded: 1 while the shared
// Redis does not answer and the token budget is this replica's own.
// degraded is read at each scrape. Call it at most once.
func (o *Observability) WatchRedis(degraded func() bool) {
	if o.metrics == nil {
		return
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "redis_degraded",
		Help: "1 while the shared Redis does not answer (local token budget, writes refused), else 0."},
		func() float64 {
			if degraded() {
				return 1
			}
			return 0
		})
	if err := o.metrics.Register(g); err != nil {
		o.log.Error("redis metrics", "error", err)
	}
}

// SetReady is what /readyz reports: true once the gRPC server serves,
// false from the start of the shutdown, like its health status.
func (o *Observability) SetReady(ready bool) { o.ready.Store(ready) }

// StartAdmin starts the admin listener when AdminListen is set; it serves
// until Shutdown.
func (o *Observability) StartAdmin(ctx context.Context) error {
	if o.cfg.AdminListen == "" {
		return nil
	}
	h := adminHandler(adminConfig{Gatherer: o.metrics.Registry(), Ready: o.ready.Load, Pprof: o.cfg.AdminPprof})
	s, err := listenAdmin(ctx, o.cfg.AdminListen, h)
	if err != nil {
		return err
	}
	o.admin, o.served = s, make(chan error, 1)
	go func() { o.served <- s.Serve() }()
	o.log.Info("serving admin HTTP", "listen", s.Addr().String(), "pprof", o.cfg.AdminPprof)
	return nil
}

// Shutdown stops the admin listener and flushes the spans, each within a
// few seconds: call it after the gRPC server has stopped.
func (o *Observability) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if o.admin != nil {
		if err := o.admin.Shutdown(ctx); err != nil {
			o.log.Warn("admin listener shutdown", "error", err)
		}
		if err := <-o.served; err != nil {
			o.log.Error("admin listener", "error", err)
		}
	}
	if err := o.tracing.Shutdown(ctx); err != nil {
		o.log.Warn("flushing traces", "error", err)
	}
}
