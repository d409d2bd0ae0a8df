package pluginhost

import (
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// With the hub's tracing on, a plugin gets the exporter's OTEL_* variables
// and a service name of its own; nothing else of the hub's environment
// comes with them.
func TestPluginGetsTheTracingEnvironment(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9") // nothing listens: no call is made here
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=collector-key")
	t.Setenv("OTEL_SERVICE_NAME", "rh")
	t.Setenv("OTEL_UNKNOWN_VAR", "not passed")
	t.Setenv("HUB_ADMIN_TOKEN", "s3cr3t-admin-token")
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg)}, Options{HealthInterval: time.Hour})
	p, _ := h.Plugin("testdesk")
	env := environ(t, p.Status().Pid)
	for k, want := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=collector-key",
		"OTEL_SERVICE_NAME": "rh-plugin-testdesk", "OTEL_UNKNOWN_VAR": "", "HUB_ADMIN_TOKEN": "",
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
}
