package bench

import (
	"cmp"
	"context"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A small run of the benchmark, so `make bench` keeps working: both sides
// deliver every review and answer (they check the counts themselves) and
// report figures.
func TestBenchSmall(t *testing.T) {
	o := Options{Reviews: 60, Replies: 5, HubBin: sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub"),
		Plugins: map[string]string{
			"appstore": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/appstore/cmd/hub-plugin-appstore"),
			"omnidesk": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk"),
		}, DataDir: t.TempDir(), HubLog: io.Discard, PostgresDSN: cmp.Or(os.Getenv("REVIEWHUB_TEST_POSTGRES"), pgtest.DefaultDSN),
		PostgresHubs: 2}
	f, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if f.Baseline.ReviewsPerSec <= 0 || f.Hub.ReviewsPerSec <= 0 || f.Hub.ReplyP50ms <= 0 || f.PeakRSS["hub"] <= 0 {
		t.Errorf("figures %+v", f)
	}
	switch p := f.Postgres; {
	case p == nil && os.Getenv("CI") == "true":
		t.Error("no PostgreSQL run in CI")
	case p == nil:
		t.Log("no PostgreSQL server: the PostgreSQL run was skipped")
	case p.ReviewsPerSec <= 0 || p.ReplyP50ms <= 0 || f.PostgresRatio <= 0:
		t.Errorf("PostgreSQL figures %+v, ratio %v", *p, f.PostgresRatio)
	case f.PostgresSpread == nil || f.PostgresSpread.ReviewsPerSec <= 0 || f.Integrations != 8:
		t.Errorf("one hub on PostgreSQL, the reviews spread: figures %+v over %d integrations", f.PostgresSpread, f.Integrations)
	case f.PostgresHubs == nil || f.Hubs != 2 || f.PostgresHubs.ReviewsPerSec <= 0 || f.HubsFactor <= 0:
		t.Errorf("two hubs on PostgreSQL: figures %+v, hubs %d, factor %v", f.PostgresHubs, f.Hubs, f.HubsFactor)
	case len(f.PostgresHubs.DeliveredBy) != 2 || f.PostgresHubs.DeliveredBy[0]+f.PostgresHubs.DeliveredBy[1] < o.Reviews:
		// Every review made one ticket, by one hub or the other (a
		// redelivery after a handover may count one twice).
		t.Errorf("tickets made by each of two hubs %v, want %d or more together", f.PostgresHubs.DeliveredBy, o.Reviews)
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

// The real-world mode on a short time scale (a 2 s window instead of a
// minute): every review becomes one case with one case call (no look-up
// before a first attempt, none after a refused one), and the limit's 429s
// stay few: the plugin paces by api_calls_left, so at most one per window
// begun (its probe), not one per delivery in flight or per queued review.
func TestBenchUnderLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	o := Options{HubBin: sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub"),
		Plugins: map[string]string{
			"appstore": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/appstore/cmd/hub-plugin-appstore"),
			"omnidesk": sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk"),
		}, DataDir: t.TempDir(), HubLog: io.Discard, SkipZeroLatency: true,
		Load: Load{Reviews: 60, Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, PerWindow: 25, Window: 2 * time.Second}}
	f, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	l := f.Load
	if l == nil {
		t.Fatal("no real-world figures")
	}
	if l.CaseCalls != l.Reviews {
		t.Errorf("%d case calls for %d new reviews, want one each", l.CaseCalls, l.Reviews)
	}
	windows := int(math.Ceil(l.DrainSeconds/l.WindowSeconds)) + 1
	if l.Refused > windows {
		t.Errorf("%d calls refused with 429 in %d windows: more than one per window (pacing by api_calls_left)", l.Refused, windows)
	}
	if l.RateShare <= 0 || l.RateShare > 1 {
		t.Errorf("rate share %.3f out of (0, 1]", l.RateShare)
	}
	var b strings.Builder
	Report(&b, f)
	if !strings.Contains(b.String(), "share of the allowed rate used") {
		t.Errorf("report:\n%s", b.String())
	}
}

// The spread workload's integrations cover every partition of the bus, one
// each, so that every hub sharing the partitions has reviews to deliver.
func TestIntegrationIDsCoverThePartitions(t *testing.T) {
	ids := integrationIDs(bus.Partitions)
	seen := map[int]string{}
	for _, id := range ids {
		p := bus.PartitionOf(id)
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s share partition %d", other, id, p)
		}
		seen[p] = id
	}
	if len(seen) != bus.Partitions || ids[0] != "bench" {
		t.Errorf("integrations %v cover partitions %v", ids, seen)
	}
	if more := integrationIDs(2 * bus.Partitions); len(more) != 2*bus.Partitions {
		t.Errorf("%d integrations asked, %d given", 2*bus.Partitions, len(more))
	}
}
