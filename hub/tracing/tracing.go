// Package tracing sets up the hub's OpenTelemetry tracing from the standard
// OTEL_* variables: off unless they ask for it, OTLP over HTTP, the W3C
// trace context propagator, a flush at stop. It also says which of those
// variables a plugin process gets (PluginEnv), so the plugins' spans join
// the hub's traces. Where the spans are made: poll (an app's poll, each
// page), bus (the trace context in a message's metadata, a span per
// handling) and the SDK (each plugin call on both sides, each vendor
// request).
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/reviewhub/reviewhub/sdk"
)

// DefaultServiceName is the hub's service.name when OTEL_SERVICE_NAME is
// not set.
const DefaultServiceName = "reviewhub"

// FlushTimeout bounds the flush of the spans still queued at stop.
const FlushTimeout = 5 * time.Second

// Enabled reports whether the OTEL_* variables (read with getenv) ask for
// traces, by the SDK's rule (sdk.TracingEnabled), which the plugins apply
// to the variables the hub passes them.
func Enabled(getenv func(string) string) (bool, error) { return sdk.TracingEnabled(getenv) }

// ServiceName is OTEL_SERVICE_NAME, else DefaultServiceName.
func ServiceName(getenv func(string) string) string {
	if s := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); s != "" {
		return s
	}
	return DefaultServiceName
}

// Endpoint is where the spans go, for the log: the traces endpoint as the
// exporter reads it (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces, else the default), without
// user information or query. The headers (OTEL_EXPORTER_OTLP_HEADERS: an
// API key, often) are never shown.
func Endpoint(getenv func(string) string) string {
	raw := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if raw == "" {
		raw = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
		if raw == "" {
			raw = "https://localhost:4318"
		}
		raw = strings.TrimSuffix(raw, "/") + "/v1/traces"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(an endpoint that is not a URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Tracing is the hub's tracer provider, when tracing is on.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// Setup starts tracing when the environment (getenv) asks for it: an OTLP
// HTTP exporter configured by the OTEL_EXPORTER_OTLP_* variables, a
// batching processor (OTEL_BSP_*), the sampler of OTEL_TRACES_SAMPLER
// (parent-based, always on, by default), the resource of OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES; they become OpenTelemetry's globals with
// the W3C trace context propagator. It logs one line saying where the
// spans go. Off, it changes nothing (the globals stay no-ops) and returns
// a Tracing whose Shutdown does nothing.
func Setup(ctx context.Context, log *slog.Logger, getenv func(string) string) (*Tracing, error) {
	on, err := Enabled(getenv)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if !on {
		log.Debug("tracing off (no OTEL_TRACES_EXPORTER=otlp or OTEL_EXPORTER_OTLP_ENDPOINT)")
		return &Tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := ServiceName(getenv)
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES: the rest of the resource is kept.
		log.Warn("tracing: resource attributes", "error", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(throttled(log))
	log.Info("tracing on: spans go to "+Endpoint(getenv)+" over OTLP/HTTP",
		"service", name, "sampler", sampler(getenv), "headers_set", headersSet(getenv))
	return &Tracing{tp: tp}, nil
}

func sampler(getenv func(string) string) string {
	if s := getenv("OTEL_TRACES_SAMPLER"); s != "" {
		if a := getenv("OTEL_TRACES_SAMPLER_ARG"); a != "" {
			return s + ":" + a
		}
		return s
	}
	return "parentbased_always_on"
}

func headersSet(getenv func(string) string) bool {
	return getenv("OTEL_EXPORTER_OTLP_HEADERS") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS") != ""
}

// Shutdown flushes the queued spans and stops the provider, within
// FlushTimeout (and ctx); nil when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.tp == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush at stop: %w", err)
	}
	return nil
}

// On reports whether Setup started tracing.
func (t *Tracing) On() bool { return t != nil && t.tp != nil }

// throttled logs OpenTelemetry's errors (a collector that cannot be
// reached) at most once a minute.
func throttled(log *slog.Logger) otel.ErrorHandlerFunc {
	var mu sync.Mutex
	var last time.Time
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if !last.IsZero() && time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		log.Warn("tracing: export failed (said at most once a minute)", "error", err)
	}
}

// pluginVars are the OTEL_* variables a plugin process gets when the hub's
// tracing is on: what its exporter, batcher, sampler and resource read.
// OTEL_SERVICE_NAME is not among them: the plugin gets its own
// (PluginEnv). The headers and the client key are the operator's
// credentials for the collector, not a vendor's: the plugin needs them to
// export.
var pluginVars = []string{
	"OTEL_TRACES_EXPORTER", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
}

// otlpVars are the exporter's variables, each also in a _TRACES_ form.
var otlpVars = []string{
	"ENDPOINT", "PROTOCOL", "HEADERS", "TIMEOUT", "COMPRESSION", "INSECURE",
	"CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY",
}

// PluginEnv is what plugin gets of the hub's OTEL_* environment (getenv):
// nothing when tracing is off; else the exporter's, batcher's, sampler's
// and resource's variables that are set, and OTEL_SERVICE_NAME
// "<the hub's service name>-plugin-<plugin>".
func PluginEnv(plugin string, getenv func(string) string) []string {
	if on, err := Enabled(getenv); !on || err != nil {
		return nil
	}
	var out []string
	add := func(k string) {
		if v := getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	for _, k := range pluginVars {
		add(k)
	}
	for _, k := range otlpVars {
		add("OTEL_EXPORTER_OTLP_" + k)
		add("OTEL_EXPORTER_OTLP_TRACES_" + k)
	}
	return append(out, "OTEL_SERVICE_NAME="+ServiceName(getenv)+"-plugin-"+plugin)
}
