package observability

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// BenchmarkCall is one ListContacts through the whole stack (gRPC over
// bufconn, service, REST client, emulator over loopback HTTP) with
// metrics and tracing off and on. Tracing samples every call and exports
// through the batcher to an exporter that drops the spans.
//
//	go test ./internal/observability -run '^$' -bench Call -benchmem -count 5
func BenchmarkCall(b *testing.B) {
	for _, c := range []struct {
		name             string
		metrics, tracing bool
	}{{"off", false, false}, {"metrics", true, false}, {"tracing", false, true}, {"both", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			client := benchStack(b, c.metrics, c.tracing)
			req := &contactsv1.ListContactsRequest{PropertyId: fmt.Sprint(emulator.DemoPropertyFull)}
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.ListContacts(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchStack(b *testing.B, withMetrics, withTracing bool) contactsv1.ContactsServiceClient {
	b.Helper()
	tr := tracingOff()
	if withTracing {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(redactSpans(tracetest.NewNoopExporter())))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		tr = newTracing(tp)
	}
	emu := httptest.NewServer(emulator.New(emulator.Options{}))
	b.Cleanup(emu.Close)
	cfg := upstream.Config{BaseURL: emu.URL, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken)}
	if withTracing {
		cfg.HTTPClient = &http.Client{Transport: tr.Transport(httpx.NewTransport(100))}
	}
	up, err := upstream.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(up.CloseIdleConnections)
	var opts []grpc.ServerOption
	if h := tr.ServerHandler(); h != nil {
		opts = append(opts, grpc.StatsHandler(h))
	}
	if withMetrics {
		m := newMetrics()
		opts = append(opts, grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()))
	}
	client, _ := serveFacade(b, up, opts...)
	return client
}

// BenchmarkObserveAttempt is the upstream metrics' cost per HTTP request.
func BenchmarkObserveAttempt(b *testing.B) {
	m := newMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveAttempt(upstream.MethodGet, 200, "", "ok", 3*time.Millisecond)
	}
}
