package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/contacts-facade/contacts-facade/internal/observability"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/prometheus/client_golang/prometheus"
)

// obsConfig is what contactsd is told about metrics, profiles and the
// admin listener. Tracing is configured by the OTEL_* environment only.
type obsConfig struct {
	adminListen string
	adminPprof  bool
}

// addObservabilityFlags defines the flags of obsConfig.
func addObservabilityFlags(fs *flag.FlagSet, c *obsConfig) {
	fs.StringVar(&c.adminListen, "admin-listen", "",
		"admin HTTP address (host:port) for /metrics, /healthz, /readyz; empty: no admin listener.\nIt serves no contact data, but bind it to loopback or a port only the platform reaches")
	fs.BoolVar(&c.adminPprof, "admin-pprof", false, "also serve /debug/pprof/ on -admin-listen")
}

// attemptObserver is upstream.Config.Observer.
type attemptObserver interface {
	ObserveAttempt(method upstream.Method, httpStatus int, otaCode, outcome string, d time.Duration)
}

// runObservability is the metrics, tracing and admin listener of one run.
// Metrics are collected only when there is an admin listener to serve
// them; traces only when the OTEL_* environment asks for them.
type runObservability struct {
	cfg     obsConfig
	log     *slog.Logger
	metrics *observability.Metrics // nil without -admin-listen
	tracing *observability.Tracing
	ready   atomic.Bool
	admin   *observability.AdminServer
	served  chan error
}

// newObservability builds the metrics and the tracing. Call shutdown when
// done, even when it fails.
func newObservability(ctx context.Context, cfg obsConfig, getenv func(string) string, log *slog.Logger) (*runObservability, error) {
	o := &runObservability{cfg: cfg, log: log, tracing: observability.TracingOff()}
	if cfg.adminListen != "" {
		o.metrics = observability.NewMetrics()
	}
	tr, err := observability.TracingFromEnv(ctx, getenv, "contactsd", version)
	if err != nil {
		return o, err
	}
	o.tracing = tr
	if tr.On() {
		log.Info("tracing on (OTEL_* environment)")
	}
	return o, nil
}

// logHandler adds the trace and span ids of the call to each log line.
func (o *runObservability) logHandler(h slog.Handler) slog.Handler {
	return observability.LogHandler(h)
}

// serverHooks are what the gRPC server needs, to run outside its own
// interceptors: grpcserver.Config.UnaryInterceptors, StreamInterceptors and
// Options (the otelgrpc stats handler).
func (o *runObservability) serverHooks() (unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor, opts []grpc.ServerOption) {
	if h := o.tracing.ServerHandler(); h != nil {
		opts = append(opts, grpc.StatsHandler(h))
	}
	if o.metrics != nil {
		unary = append(unary, o.metrics.UnaryServerInterceptor())
		stream = append(stream, o.metrics.StreamServerInterceptor())
	}
	return unary, stream, opts
}

// upstreamHTTPClient is upstream.Config.HTTPClient: nil (the upstream
// package's own client) without tracing; with tracing, the same pool and
// redirect policy (and h2c when asked), traced.
func (o *runObservability) upstreamHTTPClient(h2c bool) *http.Client {
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

// upstreamObserver is upstream.Config.Observer; nil without metrics.
func (o *runObservability) upstreamObserver() attemptObserver {
	if o.metrics == nil {
		return nil
	}
	return o.metrics
}

// onTokenExchange is upstreamauth.TokenConfig.OnExchange; nil without
// metrics.
func (o *runObservability) onTokenExchange() func(outcome string) {
	if o.metrics == nil {
		return nil
	}
	return o.metrics.TokenExchanged
}

// watchToken serves the token gauges from snapshot (the token source's
// Snapshot, converted: observability.TokenState(ts.Snapshot())).
func (o *runObservability) watchToken(snapshot func() observability.TokenState) {
	if o.metrics == nil {
		return
	}
	if err := o.metrics.WatchToken(snapshot, nil); err != nil {
		o.log.Error("token metrics", "error", err)
	}
}

// setReady is what /readyz reports: true once the gRPC server serves,
// false from the start of the shutdown, like its health status.
func (o *runObservability) setReady(ready bool) { o.ready.Store(ready) }

// startAdmin starts the admin listener when -admin-listen is set.
func (o *runObservability) startAdmin(ctx context.Context) error {
	if o.cfg.adminListen == "" {
		return nil
	}
	h := observability.AdminHandler(observability.AdminConfig{Gatherer: o.metrics.Registry(), Ready: o.ready.Load, Pprof: o.cfg.adminPprof})
	s, err := observability.ListenAdmin(ctx, o.cfg.adminListen, h)
	if err != nil {
		return err
	}
	o.admin, o.served = s, make(chan error, 1)
	go func() { o.served <- s.Serve() }()
	o.log.Info("serving admin HTTP", "listen", s.Addr().String(), "pprof", o.cfg.adminPprof)
	return nil
}

// shutdown stops the admin listener and flushes the spans, each within a
// few seconds: it runs after the gRPC server has stopped.
func (o *runObservability) shutdown() {
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

// tokenState is what the token gauges read of a token source.
func tokenState(s upstreamauth.TokenSnapshot) observability.TokenState {
	return observability.TokenState{BudgetLeft: s.BudgetLeft, HasToken: s.HasToken, ExpiresAt: s.ExpiresAt}
}

// watchReads serves the read path's counters (coalescing and cache) at
// each scrape.
func (o *runObservability) watchReads(stats func() readpath.Stats) {
	if o.metrics == nil {
		return
	}
	counter := func(name, help string, v func(readpath.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: observability.Namespace, Subsystem: "reads", Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	gauge := func(name, help string, v func(readpath.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: observability.Namespace, Subsystem: "reads", Name: name, Help: help},
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

// watchRedis serves contacts_facade_redis_degraded: 1 while the shared
// Redis does not answer and the token budget is this replica's own.
func (o *runObservability) watchRedis(degraded func() bool) {
	if o.metrics == nil {
		return
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: observability.Namespace, Name: "redis_degraded",
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
