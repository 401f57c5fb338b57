package observability

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc/metadata"
)

func metadataOutgoing(ctx context.Context, c propagation.MapCarrier) context.Context {
	for k, v := range c {
		ctx = metadata.AppendToOutgoingContext(ctx, k, v)
	}
	return ctx
}
