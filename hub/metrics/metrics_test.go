package metrics

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
)

func family(t *testing.T, m *Metrics, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// The schedule lag is a histogram (no "quantile" label on a gauge); a
// negative lag (a clock step) counts as 0.
func TestScheduleLagIsAHistogram(t *testing.T) {
	m := New()
	m.ScheduleLag(3 * time.Second)
	m.ScheduleLag(-time.Second)
	m.ScheduleLag(20 * time.Minute)
	f := family(t, m, "reviewhub_schedule_lag_seconds")
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) != 1 || len(f.GetMetric()[0].GetLabel()) != 0 {
		t.Fatalf("family %v", f)
	}
	h := f.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 1203 {
		t.Errorf("count %d sum %v, want 3 and 1203", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := map[float64]uint64{0.1: 1, 5: 2, 900: 2, 1800: 3}[b.GetUpperBound()]
		if want != 0 && b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v has %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	var none *Metrics
	none.ScheduleLag(time.Second) // safe on nil
}

// A sample that does not fit its description (a label value that is not
// UTF-8) is logged, not dropped in silence; the others are served.
func TestSamplerLogsASampleThatDoesNotFit(t *testing.T) {
	var logs syncbuf.Buffer
	m := New()
	m.Register(&Sampler{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Read: func(_ context.Context, emit Emit) error {
		emit("good", "A good gauge.", false, 1, "topic", "reviews")
		emit("bad", "A gauge with a broken label value.", false, 3, "topic", "x\xff")
		return nil
	}})
	if f := family(t, m, "reviewhub_good"); f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("reviewhub_good: %v", f)
	}
	if f := family(t, m, "reviewhub_bad"); f != nil {
		t.Errorf("reviewhub_bad served: %v", f)
	}
	if !strings.Contains(logs.String(), "bad:") {
		t.Errorf("the sample that does not fit is not logged:\n%s", logs.String())
	}
}
