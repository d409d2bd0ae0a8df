package sdk

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Tracing (OpenTelemetry). A plugin author does nothing: ServeStore and
// ServeHelpdesk start a tracer provider when the standard OTEL_* variables
// ask for one (the hub passes them to its plugins when its own tracing is
// on), every call from the hub continues the hub's trace (W3C traceparent
// in the gRPC metadata), and every vendor request sent through
// CountingTransport (so through NewHTTPClient too) is a client span whose
// traceparent header goes to the vendor. With tracing off, the global
// provider is OpenTelemetry's no-op one and all of this costs next to
// nothing.

// tracerName names the SDK's spans' instrumentation scope.
const tracerName = "github.com/reviewhub/reviewhub/sdk"

// pluginServicePrefix is the prefix of the gRPC services of the plugin
// protocol: only their calls are traced (go-plugin's own, the health
// checks above all, would be a trace every few seconds).
const pluginServicePrefix = "/reviewhub.plugin."

// TracingEnabled reports whether the OTEL_* variables (read with getenv)
// ask for traces: OTEL_SDK_DISABLED=true never; OTEL_TRACES_EXPORTER=otlp,
// or an OTLP endpoint set without OTEL_TRACES_EXPORTER=none. Only OTLP
// over HTTP (http/protobuf) is spoken; another exporter or protocol is an
// error naming the variable. The hub applies the same rule to itself and
// to what it passes its plugins, so the two never disagree.
func TracingEnabled(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	on := getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	switch e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e {
	case "":
	case "none":
		return false, nil
	case "otlp":
		on = true
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only \"otlp\" (or \"none\") is supported", e)
	}
	if !on {
		return false, nil
	}
	p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if p == "" {
		p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if p != "" && p != "http/protobuf" {
		return false, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: only \"http/protobuf\" (OTLP over HTTP) is supported", p)
	}
	return true, nil
}

// startTracing sets up the plugin's tracer provider (global, so a plugin
// that makes spans of its own with otel.Tracer joins the trace) when the
// environment asks for one, and returns its flush-and-stop. The service
// name is OTEL_SERVICE_NAME (the hub sets it to "<hub's>-plugin-<name>"),
// else the binary's name.
func startTracing() func() {
	on, err := TracingEnabled(os.Getenv)
	if err != nil {
		Logger().Warn("tracing off: " + err.Error())
		return func() {}
	}
	if !on {
		return func() {}
	}
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		Logger().Warn("tracing off: OTLP exporter: " + err.Error())
		return func() {}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", filepath.Base(os.Args[0]))),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES still gives a resource.
		Logger().Warn("tracing: resource: " + err.Error())
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(throttledErrors())
	return func() {
		// go-plugin kills a plugin 2 seconds after asking it to stop.
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			Logger().Warn("tracing: flush at stop: " + err.Error())
		}
	}
}

// throttledErrors logs OpenTelemetry's errors (a collector that cannot be
// reached) at most once a minute.
func throttledErrors() otel.ErrorHandlerFunc {
	var mu sync.Mutex
	var last time.Time
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		Logger().Warn("tracing: " + err.Error())
	}
}

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// mdCarrier is gRPC metadata as a propagation carrier.
type mdCarrier metadata.MD

func (c mdCarrier) Get(k string) string {
	if v := metadata.MD(c).Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c mdCarrier) Set(k, v string) { metadata.MD(c).Set(k, v) }
func (c mdCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

func rpcAttrs(fullMethod string) (string, []attribute.KeyValue) {
	name := strings.TrimPrefix(fullMethod, "/")
	svc, method, _ := strings.Cut(name, "/")
	return name, []attribute.KeyValue{
		attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", svc), attribute.String("rpc.method", method),
	}
}

func endRPCSpan(span trace.Span, err error) {
	if err != nil {
		st, _ := status.FromError(err)
		span.SetAttributes(attribute.String("rpc.grpc.status_code", st.Code().String()))
		span.SetStatus(codes.Error, st.Code().String())
	}
	span.End()
}

// sendTrace is the hub's side: a client span per plugin call, its context
// sent in the call's metadata (the hub's global propagator and provider).
func sendTrace(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if !strings.HasPrefix(method, pluginServicePrefix) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	name, attrs := rpcAttrs(method)
	ctx, span := tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if span.SpanContext().IsValid() {
		md, _ := metadata.FromOutgoingContext(ctx)
		md = md.Copy()
		otel.GetTextMapPropagator().Inject(ctx, mdCarrier(md))
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	endRPCSpan(span, err)
	return err
}

// receiveTrace is the plugin's side: the hub's trace context taken from
// the call's metadata, and a server span for the call.
func receiveTrace(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, pluginServicePrefix) {
		return handler(ctx, req)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		ctx = otel.GetTextMapPropagator().Extract(ctx, mdCarrier(md))
	}
	name, attrs := rpcAttrs(info.FullMethod)
	ctx, span := tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	resp, err := handler(ctx, req)
	endRPCSpan(span, err)
	return resp, err
}

// traceHTTP sends r through base inside a client span named by the method,
// with the W3C trace context in its headers. The span records the URL
// without its query (which may hold keys) and the answer's status.
func traceHTTP(base http.RoundTripper, r *http.Request, secretPath bool) (*http.Response, error) {
	ctx := r.Context()
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// Not inside a traced call: no trace to continue, none started.
		return base.RoundTrip(r)
	}
	u := *r.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	u.Path, u.RawPath = shownPath(u.Path, secretPath), ""
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("server.address", r.URL.Hostname()),
		attribute.String("url.full", u.String()),
	}
	if p := r.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			attrs = append(attrs, attribute.Int("server.port", n))
		}
	}
	ctx, span := tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	if span.SpanContext().IsValid() {
		r = r.Clone(ctx) // a RoundTripper must not change the caller's request
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	resp, err := base.RoundTrip(r)
	if err != nil {
		span.SetStatus(codes.Error, "request failed")
		span.SetAttributes(attribute.String("error.type", fmt.Sprintf("%T", err)))
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	return resp, nil
}
