package observability

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// withTraceIDs wraps h so that every record logged with a context that holds
// a valid span context gets trace_id and span_id attributes: the log lines
// of one call can be found from its trace, and the other way round. After
// WithGroup they land inside the group, like any attribute of the record.
func withTraceIDs(h slog.Handler) slog.Handler { return traceIDHandler{h} }

type traceIDHandler struct{ slog.Handler }

func (h traceIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceIDHandler{h.Handler.WithAttrs(as)}
}

func (h traceIDHandler) WithGroup(name string) slog.Handler {
	return traceIDHandler{h.Handler.WithGroup(name)}
}
