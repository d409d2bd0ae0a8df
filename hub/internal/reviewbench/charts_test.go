package reviewbench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
)

// The Charts page's cost on a large state (docs/performance.md, "Charts"):
// REVIEWBENCH_CHARTS=N reviews generated into a temporary SQLite state,
// then the 90-day charts of every integration and of one app rendered by
// the console's handler, with the queries' p50 and p95. Skipped unless
// the variable is set (minutes for a few hundred thousand reviews);
// REVIEWBENCH_CHARTS_DB names a state generated before, to reuse it.
func TestChartsOnALargeState(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("REVIEWBENCH_CHARTS"))
	if n <= 0 {
		t.Skip("REVIEWBENCH_CHARTS=N measures the Charts page on N reviews")
	}
	ctx := context.Background()
	path := os.Getenv("REVIEWBENCH_CHARTS_DB") // a state generated before, reused
	generate := path == ""
	if generate {
		path = filepath.Join(t.TempDir(), "reviews.db")
	}
	db, err := state.OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if generate {
		shape := DefaultShape
		shape.Reviews = n
		start := time.Now()
		if _, err := Generate(ctx, db, shape, nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d reviews generated in %s", n, time.Since(start).Round(time.Second))
	}
	c, err := NewConsole(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/console/charts?days=90&until=2026-11-30",
		"/console/charts?days=90&until=2026-11-30&integration=int1",
		"/console/charts?days=90&until=2026-11-30&integration=int1&app=app1",
		"/console/charts?days=7&until=2026-11-30&integration=int1&app=app1",
	} {
		var d []time.Duration
		for i := range 11 {
			t0 := time.Now()
			code, body := c.Get(path)
			if code != 200 {
				t.Fatalf("%s: %d %s", path, code, body)
			}
			if i > 0 {
				d = append(d, time.Since(t0))
			}
		}
		slices.Sort(d)
		t.Logf("%s: p50 %s, p95 %s", path, d[len(d)/2].Round(time.Millisecond), d[len(d)*95/100].Round(time.Millisecond))
	}
}
