package bus

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing (OpenTelemetry, hub/tracing): a message carries the trace
// context of whoever published it in its metadata (W3C "traceparent",
// "tracestate"), and each handling of it is a span in that trace. With
// tracing off, OpenTelemetry's globals are no-ops: nothing is written to the
// metadata and no span is made.

const tracerName = "github.com/reviewhub/reviewhub/hub/bus"

// InjectTrace writes ctx's trace context into msg's metadata (nothing when
// ctx has none or tracing is off).
func InjectTrace(ctx context.Context, msg *message.Message) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(msg.Metadata))
}

// traceHandling is the router's middleware that continues the publisher's
// trace: a consumer span per handling of a message (its retries inside),
// named by the topic without its partition ("handle reviews"), whose
// context the handler gets in msg.Context().
func traceHandling(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := otel.GetTextMapPropagator().Extract(msg.Context(), propagation.MapCarrier(msg.Metadata))
		topic := message.SubscribeTopicFromCtx(msg.Context())
		ctx, span := otel.Tracer(tracerName).Start(ctx, "handle "+BaseTopic(topic), trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "watermill"),
				attribute.String("messaging.destination.name", topic),
				attribute.String("messaging.message.id", msg.UUID),
				attribute.String("messaging.message.conversation_id", CorrelationID(msg)),
			))
		defer span.End()
		if !span.SpanContext().IsValid() {
			return h(msg)
		}
		msg.SetContext(ctx)
		out, err := h(msg)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			if IsPermanent(err) {
				span.SetAttributes(attribute.Bool("reviewhub.dead_letter", true))
			}
		}
		return out, err
	}
}
