package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/metrics"
	"github.com/contacts-facade/contacts-facade/internal/telemetry"
)

// runObservability measures one caller's ListContacts and ReplaceContacts
// through the facade as contactsd runs it without -admin-listen and
// OTEL_*, with its metrics interceptor (as with -admin-listen), and with
// metrics and tracing (every call sampled, spans batched to an exporter
// that drops them).
func runObservability(ctx context.Context, cfg config, progress *bufio.Writer) ([]costRow, error) {
	var cl closers
	defer cl.close()
	up, err := startUpstream(ctx, &cl, emulator.Options{}, 1)
	if err != nil {
		return nil, err
	}
	off, _, err := startFacade(ctx, &cl, up, cfg.logLevel, nil)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	withMetrics, _, err := startFacadeWith(ctx, &cl, up, cfg.logLevel, facadeOptions{
		unary: []grpc.UnaryServerInterceptor{m.UnaryServerInterceptor()}})
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(telemetry.Redact(tracetest.NewNoopExporter())),
		sdktrace.WithSampler(sdktrace.AlwaysSample()))
	cl.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(sctx)
	})
	tr := telemetry.New(tp)
	m2 := metrics.New()
	traced := &http.Client{
		Transport:     tr.Transport(httpx.NewTransport(100)),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cl.add(traced.CloseIdleConnections)
	withBoth, _, err := startFacadeWith(ctx, &cl, up, cfg.logLevel, facadeOptions{
		unary:      []grpc.UnaryServerInterceptor{m2.UnaryServerInterceptor()},
		serverOpts: []grpc.ServerOption{grpc.StatsHandler(tr.ServerHandler())},
		httpClient: traced,
	})
	if err != nil {
		return nil, err
	}
	w := workload{props: []string{property}}
	variants := []string{"facade (no metrics, no tracing)", "+ metrics (gRPC server interceptor)", "+ metrics + tracing (otelgrpc, otelhttp, every call sampled)"}
	calls := []struct {
		label string
		paths []func(context.Context) error
	}{
		{"ListContacts", []func(context.Context) error{
			func(ctx context.Context) error { return facadeRead(off)(ctx, w) },
			func(ctx context.Context) error { return facadeRead(withMetrics)(ctx, w) },
			func(ctx context.Context) error { return facadeRead(withBoth)(ctx, w) },
		}},
		{"ReplaceContacts (2 contacts)", []func(context.Context) error{replaceCall(off), replaceCall(withMetrics), replaceCall(withBoth)}},
	}
	var rows []costRow
	for _, c := range calls {
		res, err := measure(ctx, cfg.costWarmup, cfg.costDuration, 0, cfg.rounds, 1, counters{}, c.paths)
		if err != nil {
			return nil, fmt.Errorf("observability, %s: %w", c.label, err)
		}
		for i, v := range variants {
			rows = append(rows, costRow{call: c.label, callers: 1, path: v, res: res[i]})
		}
		fmt.Fprintf(progress, "%-30s p50 off %5.0fµs, metrics %5.0fµs, metrics+tracing %5.0fµs\n", c.label, micros(res[0].p50), micros(res[1].p50), micros(res[2].p50))
		progress.Flush()
	}
	return rows, nil
}

func writeObservability(bw *bufio.Writer, cfg config, rows []costRow) {
	fmt.Fprintf(bw, "Observability table. One caller; %s warm-up, then %s per variant in %d alternating rounds.\n\n", cfg.costWarmup, cfg.costDuration, cfg.rounds)
	writeCost(bw, rows)
	fmt.Fprintln(bw, "- metrics: internal/metrics' gRPC server interceptor (counters and the handling-time histogram); the upstream request metrics are not counted here. tracing: internal/telemetry's otelgrpc stats handler and otelhttp transport over an SDK provider that samples every call, batching spans to an exporter that drops them (no export cost).")
	fmt.Fprintln(bw)
}
