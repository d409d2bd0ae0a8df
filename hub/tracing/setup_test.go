package tracing_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/reviewhub/reviewhub/hub/tracing"
)

func tracingSetupOff(t *testing.T) (*tracing.Tracing, error) {
	t.Helper()
	return tracing.Setup(context.Background(), slog.New(slog.DiscardHandler), func(string) string { return "" })
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		on      bool
		wantErr bool
	}{
		{nil, false, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, false, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, true},
	} {
		on, err := tracing.Enabled(envOf(c.env))
		if on != c.on || (err != nil) != c.wantErr {
			t.Errorf("%v: %v, %v", c.env, on, err)
		}
	}
}

func TestEndpointForTheLog(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "https://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:pw@c.example:4318/base/"}, "https://c.example:4318/base/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://user:pw@c.example:4318/t?key=k",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"}, "https://c.example:4318/t"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "not a url"}, "(an endpoint that is not a URL)"},
	} {
		if got := tracing.Endpoint(envOf(c.env)); got != c.want {
			t.Errorf("%v: %q, want %q", c.env, got, c.want)
		}
	}
}

// Plugins get the exporter's variables and their own service name, only
// when tracing is on; never another variable.
func TestPluginEnv(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k",
		"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
		"OTEL_SERVICE_NAME": "rh-prod", "HUB_ADMIN_TOKEN": "secret",
	}
	got := tracing.PluginEnv("googleplay", envOf(env))
	slices.Sort(got)
	want := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS=x-api-key=k",
		"OTEL_SERVICE_NAME=rh-prod-plugin-googleplay", "OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("plugin env %v, want %v", got, want)
	}
	if got := tracing.PluginEnv("x", envOf(map[string]string{"OTEL_TRACES_EXPORTER": "otlp"})); !slices.Equal(got,
		[]string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_SERVICE_NAME=reviewhub-plugin-x"}) {
		t.Errorf("default service name: %v", got)
	}
	env["OTEL_SDK_DISABLED"] = "true"
	if got := tracing.PluginEnv("googleplay", envOf(env)); got != nil {
		t.Errorf("tracing off, the plugin gets %v", got)
	}
}

// On, the spans reach the OTLP endpoint (with the configured headers) at
// the latest when the hub stops, and the log says where, without the
// headers.
func TestSetupExportsAndFlushesAtShutdown(t *testing.T) {
	t.Cleanup(globals())
	var mu sync.Mutex
	var names []string
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		auth = r.Header.Get("X-Api-Key")
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=TOPSECRET",
		"OTEL_BSP_SCHEDULE_DELAY": "60000"}
	for k, v := range env {
		t.Setenv(k, v) // the exporter reads the process's environment
	}
	tr, err := tracing.Setup(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), envOf(env))
	if err != nil || !tr.On() {
		t.Fatalf("Setup: %v", err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "queued until the stop")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(names, "queued until the stop") || auth != "TOPSECRET" {
		t.Errorf("exported %v with key %q", names, auth)
	}
	if !strings.Contains(logs.String(), srv.URL+"/v1/traces") || strings.Contains(logs.String(), "TOPSECRET") {
		t.Errorf("log: %s", logs.String())
	}
}
