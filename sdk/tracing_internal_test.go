package sdk

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

func TestTracingOnFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		on      bool
		wantErr string
	}{
		{env: nil, on: false},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, on: false},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "TRUE"}, on: false},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, on: false},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true},
	} {
		on, err := TracingEnabled(func(k string) string { return c.env[k] })
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: error %v, want one naming %s", c.env, err, c.wantErr)
			}
			continue
		}
		if err != nil || on != c.on {
			t.Errorf("%v: on %v, %v; want %v", c.env, on, err, c.on)
		}
	}
}

// memoryTracing installs an in-memory tracer provider and the W3C
// propagator as the globals for the test.
func memoryTracing(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})
	return exp
}

// The hub's client span's context reaches the plugin's server span through
// the gRPC metadata, and a vendor request made in the call is the server
// span's child and carries traceparent to the vendor.
func TestTraceCrossesTheCallAndReachesTheVendor(t *testing.T) {
	exp := memoryTracing(t)
	var gotTraceparent string
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent = r.Header.Get("traceparent")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer vendor.Close()

	root, rootSpan := otel.Tracer("test").Start(context.Background(), "poll")
	const method = "/reviewhub.plugin.v1.Store/ListReviews"
	var sent metadata.MD
	invoker := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		sent, _ = metadata.FromOutgoingContext(ctx)
		return nil
	}
	if err := sendTrace(metadata.AppendToOutgoingContext(root, "x-other", "kept"), method, nil, nil, nil, invoker); err != nil {
		t.Fatal(err)
	}
	if len(sent.Get("traceparent")) != 1 || len(sent.Get("x-other")) != 1 {
		t.Fatalf("metadata sent: %v", sent)
	}
	var reqPlain *http.Request
	handler := func(ctx context.Context, _ any) (any, error) {
		client := &http.Client{Transport: CountingTransport{}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, vendor.URL+"/v1/reviews?key=SECRET", nil)
		reqPlain = req
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		return nil, resp.Body.Close()
	}
	in := metadata.NewIncomingContext(context.Background(), sent)
	if _, err := receiveTrace(in, nil, &grpc.UnaryServerInfo{FullMethod: method}, handler); err != nil {
		t.Fatal(err)
	}
	rootSpan.End()

	if reqPlain.Header.Get("traceparent") != "" {
		t.Error("the transport changed the caller's request")
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	poll, get := byName["poll"], byName["GET"]
	var client, server tracetest.SpanStub
	for _, s := range spans {
		switch {
		case s.Name != "reviewhub.plugin.v1.Store/ListReviews":
		case s.SpanKind == trace.SpanKindServer:
			server = s
		case s.SpanKind == trace.SpanKindClient:
			client = s
		}
	}
	if len(spans) != 4 || !client.SpanContext.IsValid() || !server.SpanContext.IsValid() || !get.SpanContext.IsValid() {
		t.Fatalf("spans: %v", names(spans))
	}
	tid := poll.SpanContext.TraceID()
	for _, s := range spans {
		if s.SpanContext.TraceID() != tid {
			t.Errorf("span %s in trace %s, want %s", s.Name, s.SpanContext.TraceID(), tid)
		}
	}
	if client.Parent.SpanID() != poll.SpanContext.SpanID() || server.Parent.SpanID() != client.SpanContext.SpanID() ||
		get.Parent.SpanID() != server.SpanContext.SpanID() {
		for _, s := range spans {
			t.Logf("%s %s parent %s", s.Name, s.SpanContext.SpanID(), s.Parent.SpanID())
		}
		t.Error("parents wrong: want poll → client → server → GET")
	}
	if !server.Parent.IsRemote() {
		t.Error("the server span's parent is not remote")
	}
	if !strings.Contains(gotTraceparent, get.SpanContext.SpanID().String()) {
		t.Errorf("the vendor got traceparent %q, want the GET span %s", gotTraceparent, get.SpanContext.SpanID())
	}
	for _, a := range get.Attributes {
		if strings.Contains(a.Value.String(), "SECRET") {
			t.Errorf("the vendor span records the query: %s=%s", a.Key, a.Value.String())
		}
		if a.Key == "http.response.status_code" && a.Value.AsInt64() != http.StatusTeapot {
			t.Errorf("status %d", a.Value.AsInt64())
		}
	}
}

// Calls outside the plugin protocol (go-plugin's health checks) and
// vendor requests outside a traced call make no spans.
func TestNoSpansOutsideThePluginCalls(t *testing.T) {
	exp := memoryTracing(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "root")
	noop := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	_ = sendTrace(ctx, "/grpc.health.v1.Health/Check", nil, nil, nil, noop)
	_, _ = receiveTrace(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/plugin.GRPCController/Shutdown"},
		func(context.Context, any) (any, error) { return nil, nil })
	span.End()
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			t.Error("an untraced request got traceparent")
		}
	}))
	defer vendor.Close()
	resp, err := (&http.Client{Transport: CountingTransport{}}).Get(vendor.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := exp.GetSpans(); len(got) != 1 {
		t.Errorf("spans %v, want only root", names(got))
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
