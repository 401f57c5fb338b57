package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	// The semantic conventions that otelgrpc and otelhttp v0.72 follow;
	// the attribute names asserted here are those of this version.
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

func TestTracingEnabled(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_SERVICE_NAME": "contactsd"}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics"}, false},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, true},
	}
	for _, tt := range tests {
		if got := tracingEnabled(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("Enabled(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestTracingFromEnv(t *testing.T) {
	off, err := tracingFromEnv(t.Context(), func(string) string { return "" }, "contactsd", "test")
	if err != nil || off.On() || off.ServerHandler() != nil {
		t.Fatalf("FromEnv with no OTEL_*: on %v, handler %v, err %v", off.On(), off.ServerHandler(), err)
	}
	base := http.DefaultTransport
	if off.Transport(base) != base {
		t.Error("tracing off: the transport is wrapped")
	}
	// autoexport reads the process environment.
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	on, err := tracingFromEnv(t.Context(), func(k string) string { return map[string]string{"OTEL_TRACES_EXPORTER": "console"}[k] }, "contactsd", "test")
	if err != nil || !on.On() || on.ServerHandler() == nil {
		t.Fatalf("FromEnv with OTEL_TRACES_EXPORTER=console: on %v, err %v", on.On(), err)
	}
	closer := &countingTransport{}
	if c, ok := on.Transport(closer).(interface{ CloseIdleConnections() }); !ok {
		t.Error("the traced transport has no CloseIdleConnections")
	} else if c.CloseIdleConnections(); closer.closed != 1 {
		t.Error("CloseIdleConnections did not reach the base transport")
	}
	if err := on.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}

// recordTraceparent is the emulator behind a handler that keeps the
// traceparent header of each request.
type recordTraceparent struct {
	next http.Handler
	got  chan string
}

func (h recordTraceparent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.got <- r.Header.Get("traceparent")
	h.next.ServeHTTP(w, r)
}

// One call through the facade gives a server span with one child: the
// upstream HTTP span, whose context reached the upstream as traceparent.
func TestSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(redactSpans(exp)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := newTracing(tp)

	rec := recordTraceparent{next: emulator.New(emulator.Options{}), got: make(chan string, 10)}
	emu := httptest.NewServer(rec)
	t.Cleanup(emu.Close)
	up, err := upstream.New(upstream.Config{
		BaseURL:    emu.URL,
		Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken),
		HTTPClient: &http.Client{Transport: tr.Transport(httpx.NewTransport(0))},
	})
	if err != nil {
		t.Fatal(err)
	}
	facade, g := serveFacade(t, up, grpc.StatsHandler(tr.ServerHandler()))

	// The caller's own trace: the server span must continue it.
	callerTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	callerSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: callerTrace, SpanID: callerSpan, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	ctx = injectOutgoing(ctx)
	if _, err := facade.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fmt.Sprint(emulator.DemoPropertyFull)}); err != nil {
		t.Fatal(err)
	}
	g.GracefulStop() // the server span ends before the answer is sent

	spans := exp.GetSpans()
	var server, client *tracetest.SpanStub
	for i := range spans {
		switch spans[i].SpanKind {
		case trace.SpanKindServer:
			server = &spans[i]
		case trace.SpanKindClient:
			client = &spans[i]
		}
	}
	if len(spans) != 2 || server == nil || client == nil {
		t.Fatalf("spans: %v, want one server and one client span", names(spans))
	}
	if server.Name != "contacts.v1.ContactsService/ListContacts" || server.Parent.SpanID() != callerSpan || server.SpanContext.TraceID() != callerTrace {
		t.Errorf("server span %q, parent %v, trace %v; want the caller's trace and span as parent", server.Name, server.Parent.SpanID(), server.SpanContext.TraceID())
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() || client.SpanContext.TraceID() != callerTrace {
		t.Errorf("client span %q: parent %v, want the server span %v", client.Name, client.Parent.SpanID(), server.SpanContext.SpanID())
	}
	want := fmt.Sprintf("00-%s-%s-01", callerTrace, client.SpanContext.SpanID())
	if got := <-rec.got; got != want {
		t.Errorf("traceparent at the upstream: %q, want %q", got, want)
	}
	attrs := attrMap(client.Attributes)
	if got := attrs[semconv.HTTPRequestMethodKey]; got.AsString() != "GET" {
		t.Errorf("%s = %v", semconv.HTTPRequestMethodKey, got)
	}
	if got := attrs[semconv.HTTPResponseStatusCodeKey]; got.AsInt64() != 200 {
		t.Errorf("%s = %v", semconv.HTTPResponseStatusCodeKey, got)
	}
	if got := attrs[semconv.URLFullKey].AsString(); got != emu.URL+"/properties/{property_id}/contacts" {
		t.Errorf("%s = %q, want the property id replaced and no query", semconv.URLFullKey, got)
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), fmt.Sprint(emulator.DemoPropertyFull)) {
				t.Errorf("span %q: %s holds the property id", s.Name, kv.Key)
			}
		}
	}
	if got := attrMap(server.Attributes)[semconv.RPCMethodKey].AsString(); got != "contacts.v1.ContactsService/ListContacts" {
		t.Errorf("server %s = %q", semconv.RPCMethodKey, got)
	}
}

func injectOutgoing(ctx context.Context) context.Context {
	// The W3C header a traced caller sends, as gRPC metadata.
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return metadataOutgoing(ctx, carrier)
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func names(spans tracetest.SpanStubs) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name+"/"+s.SpanKind.String())
	}
	return n
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(withTraceIDs(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))

	tests := []struct {
		name      string
		ctx       context.Context
		traceID   string
		spanID    string
		component string
	}{
		{"traced call", traced, tid.String(), sid.String(), "test"},
		{"no trace", t.Context(), "", "", "test"},
	}
	for _, tt := range tests {
		buf.Reset()
		log.InfoContext(tt.ctx, "upstream answered", "ruid", "r-1")
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		got := func(k string) string { s, _ := line[k].(string); return s }
		if got("trace_id") != tt.traceID || got("span_id") != tt.spanID || got("component") != tt.component || got("ruid") != "r-1" {
			t.Errorf("%s: %s", tt.name, buf.String())
		}
	}
}

func TestRedactSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(redactSpans(exp)))
	_, span := tp.Tracer("test").Start(t.Context(), "HTTP PUT", trace.WithAttributes(
		semconv.URLFull("https://user:pw@supply-xml.booking.com/contacts-api/properties/7654321/contacts?no_language_fallback=1#x"),
		semconv.URLPath("/contacts-api/properties/7654321/contacts"),
		semconv.URLQuery("no_language_fallback=1"),
		semconv.HTTPRequestMethodKey.String("PUT"),
	))
	span.End()
	got := attrMap(exp.GetSpans()[0].Attributes)
	want := map[attribute.Key]string{
		semconv.URLFullKey:           "https://supply-xml.booking.com/contacts-api/properties/{property_id}/contacts",
		semconv.URLPathKey:           "/contacts-api/properties/{property_id}/contacts",
		semconv.HTTPRequestMethodKey: "PUT",
	}
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k].AsString() != v {
			t.Errorf("%s = %q, want %q", k, got[k].AsString(), v)
		}
	}
}

type countingTransport struct {
	http.RoundTripper
	closed int
}

func (c *countingTransport) CloseIdleConnections() { c.closed++ }
