// Metrics: the Prometheus collectors of contactsd: the gRPC
// server metrics of go-grpc-middleware, the upstream REST calls, the
// upstream token, and the Go runtime and process collectors. Everything is
// registered on a registry of its own (never the global one), which the
// admin listener serves.
//
// No label carries a value of a request or an answer: labels are the gRPC
// service, method and code, the REST method, and the HTTP status, OTA code,
// outcome and token exchange outcome, each folded into a fixed set of
// values ("other" for anything else) so that the number of series stays
// bounded whatever the upstream answers.
//
// More collectors (the read path's, the shared Redis's) are added with
// Register, by the Watch methods of Observability.

package observability

import (
	"context"
	"strconv"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// namespace prefixes the metrics of the facade itself.
const namespace = "contacts_facade"

// labelOther is the label value of anything outside a label's known values.
const labelOther = "other"

// labelNone is the label value of an HTTP status or OTA code that is absent
// (no answer arrived, or it had no OTA code).
const labelNone = "none"

// latencyBuckets cover a loopback emulator (~0.1 ms) up to a call that
// waits for the default 30 s deadline.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics owns the registry and the collectors. Its methods are safe for
// concurrent use.
type metrics struct {
	reg      *prometheus.Registry
	grpc     *grpcprom.ServerMetrics
	grpcOpts []grpcprom.Option

	upstreamRequests *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	tokenExchanges   *prometheus.CounterVec
}

// newMetrics builds the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(
			grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(latencyBuckets)),
		),
		// A call that has a sampled trace links its histogram observation
		// to it (an exemplar, served with OpenMetrics).
		grpcOpts: []grpcprom.Option{grpcprom.WithExemplarFromContext(traceExemplar)},
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "upstream_requests_total",
			Help:      "HTTP requests sent to the Contacts API (each attempt counts), by REST method, HTTP status, first OTA error code and outcome.",
		}, []string{"method", "http_status", "ota_code", "outcome"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upstream_request_duration_seconds",
			Help:      "Duration of one HTTP request to the Contacts API, from send to the end of the body, by REST method.",
			Buckets:   latencyBuckets,
		}, []string{"method"}),
		tokenExchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "token_exchanges_total",
			Help:      "Token exchanges (client id and secret for a JWT) by outcome.",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc, m.upstreamRequests, m.upstreamDuration, m.tokenExchanges,
	)
	return m
}

// Registry is what the admin listener serves.
func (m *metrics) Registry() *prometheus.Registry { return m.reg }

// Register adds collectors of what others count (the read path, the
// shared Redis), so that they are served with the rest. Their metric names
// should start with namespace + "_" and their labels must be as bounded as
// the ones here.
func (m *metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// UnaryServerInterceptor counts and times unary calls:
// grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_{received,sent}_total.
func (m *metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return m.grpc.UnaryServerInterceptor(m.grpcOpts...)
}

// StreamServerInterceptor is UnaryServerInterceptor for streams (the
// health Watch and reflection).
func (m *metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return m.grpc.StreamServerInterceptor(m.grpcOpts...)
}

// InitializeGRPC creates the series of every method of s at zero, so that
// rates exist before the first call. Optional.
func (m *metrics) InitializeGRPC(s reflection.ServiceInfoProvider) { m.grpc.InitializeMetrics(s) }

// ObserveAttempt records one HTTP request to the Contacts API; it makes
// *metrics an upstream.Config.Observer. otaCode is the first OTA error
// code of the answer, "" when there is none; outcome is one of "ok",
// "error_answer", "decode_error", "transport_error", "too_large".
func (m *metrics) ObserveAttempt(method upstream.Method, httpStatus int, otaCode, outcome string, d time.Duration) {
	meth := methodLabel(method)
	m.upstreamRequests.WithLabelValues(meth, statusLabel(httpStatus), otaLabel(otaCode), outcomeLabel(outcome)).Inc()
	m.upstreamDuration.WithLabelValues(meth).Observe(d.Seconds())
}

// TokenExchanged counts one token exchange; it is the signature of
// upstreamauth.TokenConfig.OnExchange.
func (m *metrics) TokenExchanged(outcome string) {
	m.tokenExchanges.WithLabelValues(fold(outcome, exchangeOutcomes)).Inc()
}

// WatchToken registers the token gauges, which call snapshot (a token
// source's Snapshot) at each scrape: contacts_facade_token_budget_left
// (exchanges still allowed in the sliding hour) and
// contacts_facade_token_expiry_seconds (seconds until the current token
// expires, 0 without one). now is the clock (nil:
// time.Now). Call it at most once.
func (m *metrics) WatchToken(snapshot func() upstreamauth.TokenSnapshot, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	return m.Register(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "token_budget_left",
			Help:      "Token exchanges the facade may still make in the current sliding hour.",
		}, func() float64 { return float64(snapshot().BudgetLeft) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "token_expiry_seconds",
			Help:      "Seconds until the current upstream token expires; 0 when there is no token.",
		}, func() float64 {
			s := snapshot()
			if !s.HasToken {
				return 0
			}
			return max(0, s.ExpiresAt.Sub(now()).Seconds())
		}),
	)
}

// traceExemplar links an observation to the sampled trace of its call.
func traceExemplar(ctx context.Context) prometheus.Labels {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return nil
	}
	return prometheus.Labels{"trace_id": sc.TraceID().String()}
}

// Known label values; anything else is labelOther.
var (
	methods = set(string(upstream.MethodGet), string(upstream.MethodPut), string(upstream.MethodPost))
	// The OTA codes of the Contacts API's error table, and the two
	// "retry later" codes of the wider Connectivity APIs.
	otaCodes         = set("150", "320", "321", "394", "447", "448", "450", "497", "635")
	outcomes         = set("ok", "error_answer", "decode_error", "transport_error", "too_large")
	exchangeOutcomes = set("ok", "rejected", "unavailable", "rate_limited", "invalid_token", "budget_exhausted")
	httpStatuses     = func() map[int]string {
		s := map[int]string{}
		for _, c := range []int{200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504} {
			s[c] = strconv.Itoa(c)
		}
		return s
	}()
)

func set(vs ...string) map[string]bool {
	s := make(map[string]bool, len(vs))
	for _, v := range vs {
		s[v] = true
	}
	return s
}

func fold(v string, known map[string]bool) string {
	if known[v] {
		return v
	}
	return labelOther
}

func methodLabel(m upstream.Method) string { return fold(string(m), methods) }
func outcomeLabel(o string) string         { return fold(o, outcomes) }

func otaLabel(code string) string {
	if code == "" {
		return labelNone
	}
	return fold(code, otaCodes)
}

func statusLabel(code int) string {
	if code == 0 {
		return labelNone
	}
	if s, ok := httpStatuses[code]; ok {
		return s
	}
	return labelOther
}
