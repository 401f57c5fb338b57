package observability

import (
	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// redactSpans wraps exp so that the spans it exports name the route, not the
// property: in url.full and url.path the segment after /properties/
// becomes "{property_id}", and the query is dropped. otelhttp sets those
// attributes after the span starts, so a span processor cannot rewrite
// them; the exporter is the last place before they leave the process.
func redactSpans(exp sdktrace.SpanExporter) sdktrace.SpanExporter { return redactExporter{exp} }

type redactExporter struct{ sdktrace.SpanExporter }

func (e redactExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = s
		for _, kv := range s.Attributes() {
			if kv.Key == semconv.URLFullKey || kv.Key == semconv.URLPathKey || kv.Key == semconv.URLQueryKey {
				out[i] = redactedSpan{ReadOnlySpan: s, attrs: redactAttrs(s.Attributes())}
				break
			}
		}
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

// redactedSpan is a span with other attributes.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (s redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }

func redactAttrs(in []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, kv := range in {
		switch kv.Key {
		case semconv.URLFullKey:
			u, err := url.Parse(kv.Value.AsString())
			if err != nil {
				continue
			}
			// No user info, no query, no fragment.
			kv = semconv.URLFull(u.Scheme + "://" + u.Host + redactPath(u.EscapedPath()))
		case semconv.URLPathKey:
			kv = semconv.URLPath(redactPath(kv.Value.AsString()))
		case semconv.URLQueryKey:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// redactPath replaces the segment after "properties".
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "properties" && segs[i+1] != "" {
			segs[i+1] = "{property_id}"
		}
	}
	return strings.Join(segs, "/")
}
