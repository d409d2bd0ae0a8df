package poll

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/reviewhub/reviewhub/hub/state"
)

// Tracing (hub/tracing): a span per poll of an app and, inside it, a span
// per listed page, whose context the page's plugin call and the messages
// it queues carry (busmsg.Encode), so one review's trip is one trace.

const tracerName = "github.com/reviewhub/reviewhub/hub/poll"

// startPoll starts the span of one poll of app.
func startPoll(ctx context.Context, in state.Integration, app state.App) (context.Context, trace.Span) {
	return otel.Tracer(tracerName).Start(ctx, "poll app", trace.WithAttributes(
		attribute.String("reviewhub.integration", in.ID), attribute.String("reviewhub.app", app.ID),
		attribute.String("reviewhub.store_plugin", app.StorePlugin)))
}

// endPoll ends a poll's span with its outcome.
func endPoll(span trace.Span, res Result, err error) {
	span.SetAttributes(attribute.Int("reviewhub.pages", res.Pages), attribute.Int("reviewhub.seen", res.Seen),
		attribute.Int("reviewhub.queued", res.Queued))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// pageSpans makes the spans of a poll's pages, one after the other.
type pageSpans struct {
	poll context.Context // the poll's
	cur  trace.Span
	n    int
}

// next ends the page before (if any) and starts the next one's span,
// returning its context.
func (p *pageSpans) next() context.Context {
	if p.cur != nil {
		p.cur.End()
	}
	p.n++
	ctx, span := otel.Tracer(tracerName).Start(p.poll, "list page", trace.WithAttributes(attribute.Int("reviewhub.page", p.n)))
	p.cur = span
	return ctx
}

// end ends the last page's span, with the poll's error when it failed.
func (p *pageSpans) end(err *error) {
	if p.cur == nil {
		return
	}
	if *err != nil {
		p.cur.SetStatus(codes.Error, (*err).Error())
	}
	p.cur.End()
}
