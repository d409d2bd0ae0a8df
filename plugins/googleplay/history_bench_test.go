package googleplay

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/sdk"
)

// BenchmarkHistory100k: the plugin's History (in process, against the
// fake on loopback) over 100,000 reviews of one app in the reports, 60 days
// old, 500 a page: the plugin's share of an import of that size. Reports
// ms per import, pages and the process's heap after it.
func BenchmarkHistory100k(b *testing.B) {
	const n = 100_000
	f := fake.New()
	srv := httptest.NewServer(f)
	b.Cleanup(srv.Close)
	f.AddApp(pkg)
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-60 * 24 * time.Hour)
	for i := n - 1; i >= 0; i-- { // newest first: each put goes to the end of the fake's order
		at := start.Add(time.Duration(i) * 20 * time.Second)
		f.PutReview(pkg, sdk.Review{ID: fmt.Sprintf("gp:AOqpTO%08d", i), Rating: 1 + i%5, Title: "t",
			Text: "The app is fine but slow to start, please fix it", Language: "en", CreatedAt: at, UpdatedAt: at})
	}
	f.ServeReports(bucket, 24*time.Hour)
	settings := f.Settings(srv.URL)
	settings["reports_bucket"], settings["reports_base_url"] = bucket, srv.URL
	s := newStore()
	checked, err := sdk.CheckedStore(s)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The fake builds its report files on the first request: not measured.
	warm := sdk.HistoryRequest{Settings: settings, AppID: pkg, From: start, To: now, PageSize: 1}
	for range 3 {
		p, err := sdk.History(ctx, checked, warm)
		if err != nil {
			b.Fatal(err)
		}
		warm.Cursor = p.NextCursor
	}
	b.ResetTimer()
	pages, got := 0, 0
	for b.Loop() {
		pages, got = 0, 0
		req := sdk.HistoryRequest{Settings: settings, AppID: pkg, From: start, To: now, PageSize: 500}
		for {
			p, err := sdk.History(ctx, checked, req)
			if err != nil {
				b.Fatal(err)
			}
			pages++
			got += len(p.Reviews)
			if p.NextCursor == "" {
				break
			}
			req.Cursor = p.NextCursor
		}
	}
	if got != n {
		b.Fatalf("%d reviews, want %d", got, n)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/100k-reviews")
	b.ReportMetric(float64(pages), "pages")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap-after")
}
