package tracing_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// plugins are an in-process store that lists one review and a helpdesk
// that keeps the context of each UpsertTicket.
type plugins struct {
	lists   atomic.Int32
	mu      sync.Mutex
	upserts []context.Context
	got     chan struct{}
}

func (p *plugins) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return store{p: p}, sdk.Info{Kind: sdk.PluginKindStore, Store: &sdk.StoreCapabilities{}}, nil
}
func (p *plugins) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return desk{p}, sdk.Info{Kind: sdk.PluginKindHelpdesk}, nil
}

type store struct {
	sdk.StorePlugin
	p *plugins
}

// ListReviews lists nothing the first time (the app's first listing, which
// connects it), then one review.
func (s store) ListReviews(context.Context, sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	if s.p.lists.Add(1) == 1 {
		return sdk.ListReviewsResponse{Cursor: "c0"}, nil
	}
	return sdk.ListReviewsResponse{Reviews: []sdk.Review{{ID: "r1", Rating: 2, Text: "crashes", CreatedAt: time.Now()}}, Cursor: "c1"}, nil
}

type desk struct{ p *plugins }

func (d desk) UpsertTicket(ctx context.Context, _ sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	d.p.mu.Lock()
	defer d.p.mu.Unlock()
	d.p.upserts = append(d.p.upserts, ctx)
	if len(d.p.upserts) == 1 {
		close(d.p.got)
	}
	return sdk.UpsertTicketResponse{ID: "t1", Created: true}, nil
}

func (d desk) WriteReplyResult(context.Context, sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	return sdk.WriteReplyResultResponse{}, errors.New("not in this test")
}
func (desk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return sdk.Info{}, nil }
func (desk) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (desk) HandleWebhook(context.Context, sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	return sdk.HandleWebhookResponse{}, nil
}

// memoryTracing installs an in-memory provider and the W3C propagator as
// OpenTelemetry's globals for the test.
func memoryTracing(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	restore := globals()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { restore(); _ = tp.Shutdown(context.Background()) })
	return exp
}

// globals returns a function that puts back no-op globals, as a process
// without tracing has (OpenTelemetry's own initial globals cannot be set
// again).
func globals() func() {
	return func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	}
}

// trip polls app "ios" once with the hub's poller and waits for the
// deliverer (on the hub's router and SQLite bus) to upsert the ticket;
// it returns the helpdesk call's context.
func trip(t *testing.T) context.Context {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	b, err := bus.NewSQLite(ctx, db.SQL(), log, bus.SubscriberConfig{PollInterval: 20 * time.Millisecond,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	router, err := bus.NewRouter(b, log, bus.RouterConfig{Retries: 1, RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pl := &plugins{got: make(chan struct{})}
	in := state.Integration{ID: "acme", HelpdeskPlugin: "desk", Source: "api",
		Apps: []state.App{{ID: "ios", StorePlugin: "st", StoreAppID: "1"}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	(&deliver.Deliverer{DB: db, Bus: b, Plugins: pl, Logger: log}).Register(router)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = router.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done; _ = b.Close() })
	<-router.Running()

	p := &poll.Poller{DB: db, Bus: b, Plugins: pl, Logger: log}
	if _, err := p.PollOnce(ctx, in, in.Apps[0]); err != nil {
		t.Fatal(err)
	}
	res, err := p.PollOnce(ctx, in, in.Apps[0])
	if err != nil || res.Queued != 1 {
		t.Fatalf("poll: %+v, %v", res, err)
	}
	select {
	case <-pl.got:
	case <-time.After(20 * time.Second):
		t.Fatal("the review never reached the helpdesk")
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.upserts[0]
}

// One review's trip is one trace: poll app → list page → the message's
// handling (its context read from the bus metadata, in another goroutine
// after a round trip through the database) → the helpdesk call.
func TestReviewTripIsOneTrace(t *testing.T) {
	exp := memoryTracing(t)
	upsert := trip(t)
	deadline := time.Now().Add(10 * time.Second)
	var pollSpan, page, handle tracetest.SpanStub
	for time.Now().Before(deadline) {
		for _, s := range exp.GetSpans() {
			switch s.Name {
			case "poll app":
				pollSpan = s
			case "list page":
				page = s
			case "handle reviews":
				handle = s
			}
		}
		if handle.SpanContext.IsValid() {
			break
		}
		time.Sleep(20 * time.Millisecond) // the handling's span ends after the ack
	}
	if !pollSpan.SpanContext.IsValid() || !page.SpanContext.IsValid() || !handle.SpanContext.IsValid() {
		var names []string
		for _, s := range exp.GetSpans() {
			names = append(names, s.Name)
		}
		t.Fatalf("spans %v: want poll app, list page and the handling", names)
	}
	tid := pollSpan.SpanContext.TraceID()
	if page.SpanContext.TraceID() != tid || handle.SpanContext.TraceID() != tid {
		t.Errorf("traces: poll %s, page %s, handling %s", tid, page.SpanContext.TraceID(), handle.SpanContext.TraceID())
	}
	if page.Parent.SpanID() != pollSpan.SpanContext.SpanID() {
		t.Error("the page's parent is not the poll")
	}
	if handle.Parent.SpanID() != page.SpanContext.SpanID() || !handle.Parent.IsRemote() {
		t.Errorf("the handling's parent is %s (remote %v), want the page %s from the metadata",
			handle.Parent.SpanID(), handle.Parent.IsRemote(), page.SpanContext.SpanID())
	}
	if handle.SpanKind != trace.SpanKindConsumer {
		t.Errorf("handling kind %v", handle.SpanKind)
	}
	if sc := trace.SpanContextFromContext(upsert); sc.SpanID() != handle.SpanContext.SpanID() {
		t.Errorf("the helpdesk call runs in span %s, want the handling's %s", sc.SpanID(), handle.SpanContext.SpanID())
	}
}

// Off (no OTEL_* variables), Setup leaves OpenTelemetry's no-op globals:
// no span is made, the bus metadata carries nothing, the plugin call's
// context has no trace.
func TestOffMakesNoSpans(t *testing.T) {
	globals()()
	before := otel.GetTracerProvider()
	tr, err := tracingSetupOff(t)
	if err != nil || tr.On() {
		t.Fatalf("Setup off: %v, on %v", err, tr.On())
	}
	if otel.GetTracerProvider() != before {
		t.Fatal("Setup off changed the global provider")
	}
	upsert := trip(t)
	if trace.SpanContextFromContext(upsert).IsValid() {
		t.Error("the helpdesk call has a trace with tracing off")
	}
	msg, err := busmsg.Encode(upsert, bus.TopicReviews, "acme", "c", busmsg.Review{IntegrationID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if v := msg.Metadata.Get("traceparent"); v != "" {
		t.Errorf("metadata traceparent %q with tracing off", v)
	}
}

// The published message's metadata carries the publisher's span.
func TestMessageMetadataCarriesTraceparent(t *testing.T) {
	memoryTracing(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "publisher")
	defer span.End()
	msg, err := busmsg.Encode(ctx, bus.TopicReviews, "acme", "c", busmsg.Review{IntegrationID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if got := msg.Metadata.Get("traceparent"); got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
	plain, _ := busmsg.Encode(context.Background(), bus.TopicReviews, "acme", "c", busmsg.Review{})
	if v := plain.Metadata.Get("traceparent"); v != "" {
		t.Errorf("a message published outside a trace carries %q", v)
	}
}
