package bench

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A small run of the benchmark, so `make bench` keeps working: both sides
// deliver every review and answer (they check the counts themselves) and
// report figures.
func TestBenchSmall(t *testing.T) {
	o := Options{Reviews: 60, Replies: 5, HubBin: sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub"),
		Plugins: map[string]string{
			"appstore": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/appstore"),
			"omnidesk": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk"),
		}, DataDir: t.TempDir(), HubLog: io.Discard}
	f, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if f.Baseline.ReviewsPerSec <= 0 || f.Hub.ReviewsPerSec <= 0 || f.Hub.ReplyP50ms <= 0 || f.PeakRSS["hub"] <= 0 {
		t.Errorf("figures %+v", f)
	}
	for _, p := range []string{"appstore", "omnidesk"} {
		found := false
		for name := range f.PeakRSS {
			found = found || strings.Contains(name, p)
		}
		if !found {
			t.Errorf("no peak RSS for the %s plugin: %v", p, f.PeakRSS)
		}
	}
	var b strings.Builder
	Report(&b, f)
	if !strings.Contains(b.String(), "hub / baseline throughput") {
		t.Errorf("report:\n%s", b.String())
	}
}
