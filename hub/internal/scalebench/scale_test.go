package scalebench

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A small run, so `make bench-scale` keeps working: the hub polls the
// apps, and every figure is measured.
func TestScaleSmall(t *testing.T) {
	o := Options{Apps: 60, PerIntegration: 25, Interval: 2 * time.Second, Measure: 4 * time.Second, Warmup: -1,
		HubBin: sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub"),
		Plugins: map[string]string{
			"googleplay": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/googleplay/cmd/hub-plugin-googleplay"),
			"omnidesk":   sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk"),
		}, DataDir: t.TempDir(), Log: io.Discard, HubLog: io.Discard}
	f, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if f.Integrations != 3 || f.Polls < 30 || f.LagP99Ms <= 0 || f.HubRSSMiB <= 0 || f.HubPeakRSSMiB < f.HubRSSMiB ||
		f.HubCPUPerPollMs <= 0 || f.StartupS <= 0 {
		t.Errorf("figures %+v", f)
	}
	var b strings.Builder
	Report(&b, f)
	if !strings.Contains(b.String(), "scheduler lag p50 / p99") {
		t.Errorf("report:\n%s", b.String())
	}
}
