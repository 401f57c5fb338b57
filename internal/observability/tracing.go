// Tracing: OpenTelemetry tracing for contactsd: the
// tracer provider and exporter from the standard OTEL_* environment
// variables, the gRPC server's stats handler (otelgrpc), the upstream HTTP
// client's transport (otelhttp), W3C trace context propagation, and a
// slog.Handler that puts the trace and span ids on every log line of a call.
//
// Nothing is global: the provider and propagator are passed to the
// instrumentation explicitly, never installed with otel.SetTracerProvider.
// With tracing off the handler and transport are not installed at all, so
// they cost nothing.

package observability

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// The environment variables that decide whether tracing is on. The OTel
// specification makes OTLP the default exporter once an SDK is present;
// contactsd asks for an explicit choice instead, so that a deployment
// that never heard of OpenTelemetry sends nothing anywhere.
const (
	envSDKDisabled        = "OTEL_SDK_DISABLED"
	envTracesExporter     = "OTEL_TRACES_EXPORTER"
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// tracingEnabled reports whether the environment asks for traces:
// OTEL_TRACES_EXPORTER set to anything but "none", or, with it unset, an
// OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). OTEL_SDK_DISABLED=true turns
// tracing off whatever else is set.
func tracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv(envSDKDisabled)), "true") {
		return false
	}
	switch exp := strings.TrimSpace(getenv(envTracesExporter)); exp {
	case "none":
		return false
	case "":
		return getenv(envOTLPEndpoint) != "" || getenv(envOTLPTracesEndpoint) != ""
	default:
		return true
	}
}

// tracing is the tracer provider and propagator of the process. The zero
// value, and tracingOff, trace nothing.
type tracing struct {
	tp       trace.TracerProvider
	prop     propagation.TextMapPropagator
	shutdown func(context.Context) error
}

// tracingOff traces nothing.
func tracingOff() *tracing { return &tracing{} }

// newTracing traces with tp (for tests: an SDK provider with an in-memory
// exporter). It propagates W3C trace context only: baggage is not passed
// on, since a caller's baggage could carry anything to the upstream.
func newTracing(tp trace.TracerProvider) *tracing {
	return &tracing{tp: tp, prop: propagation.TraceContext{}}
}

// tracingFromEnv builds the tracing that the OTEL_* environment asks for (see
// tracingEnabled); tracingOff when it asks for none. The exporter is chosen by
// go.opentelemetry.io/contrib/exporters/autoexport (OTEL_TRACES_EXPORTER:
// otlp, console; OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf, grpc), the
// sampler by the SDK (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG;
// default parentbased_always_on) and the resource by OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES over service.name=serviceName and
// service.version=version. autoexport and the SDK read the process
// environment themselves; getenv only decides whether to start them.
func tracingFromEnv(ctx context.Context, getenv func(string) string, serviceName, version string) (*tracing, error) {
	if !tracingEnabled(getenv) {
		return tracingOff(), nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(serviceName), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(redactSpans(exp)),
		sdktrace.WithResource(res),
	)
	t := newTracing(tp)
	t.shutdown = tp.Shutdown
	return t, nil
}

// On reports whether spans are recorded.
func (t *tracing) On() bool { return t.tp != nil }

// ServerHandler is the gRPC server's stats handler (grpc.StatsHandler),
// which starts a server span per call, as a child of the caller's
// traceparent; nil when tracing is off.
func (t *tracing) ServerHandler() stats.Handler {
	if !t.On() {
		return nil
	}
	return otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithPropagators(t.prop),
		// Metrics come from Prometheus (metrics.go).
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// Transport wraps the upstream client's transport so that each HTTP request
// gets a client span and a traceparent header; base itself when tracing is
// off. CloseIdleConnections reaches base.
func (t *tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.On() {
		return base
	}
	return tracedTransport{
		RoundTripper: otelhttp.NewTransport(base,
			otelhttp.WithTracerProvider(t.tp),
			otelhttp.WithPropagators(t.prop),
			otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		),
		base: base,
	}
}

// tracedTransport is otelhttp's transport, which does not pass
// CloseIdleConnections on (http.Client.CloseIdleConnections needs it).
type tracedTransport struct {
	http.RoundTripper
	base http.RoundTripper
}

func (t tracedTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Shutdown flushes the spans still buffered and stops the exporter.
func (t *tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}
