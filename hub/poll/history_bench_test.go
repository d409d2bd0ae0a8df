package poll

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// genHistory is a store plugin whose History holds n reviews of one app,
// made as they are asked for (the plugin's own cost is measured in
// plugins/googleplay: BenchmarkHistory100k), in pages of the size asked.
type genHistory struct {
	store
	n    int
	base time.Time
}

func (g *genHistory) History(_ context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	off, _ := strconv.Atoi(req.Cursor)
	end := min(off+req.PageSize, g.n)
	out := sdk.HistoryResponse{Done: int64(end), Total: int64(g.n)}
	for i := off; i < end; i++ {
		at := g.base.Add(time.Duration(i) * time.Second)
		out.Reviews = append(out.Reviews, sdk.Review{ID: fmt.Sprintf("gp:%08d", i), Rating: 1 + i%5, Author: "Reviewer " + strconv.Itoa(i%977),
			Text: fmt.Sprintf("Review %d: the app crashes when I open the settings after the last update, please fix", i), Language: "en",
			Country: "US", AppVersion: "3.2." + strconv.Itoa(i%10), CreatedAt: at, UpdatedAt: at})
	}
	if end < g.n {
		out.NextCursor = strconv.Itoa(end)
	}
	return out, nil
}

type genPlugins struct{ st *genHistory }

func (p genPlugins) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return p.st, sdk.Info{Name: "s", Store: &sdk.StoreCapabilities{ListingWindow: 7 * 24 * time.Hour, History: &sdk.HistoryCapabilities{}}}, nil
}

// BenchmarkHistoryImport100k imports REVIEWHUB_BENCH_HISTORY reviews
// (default 100,000) of one app through the hub's import (Poller.ImportHistory:
// each page compared with the stored versions, filtered, queued for the
// helpdesk, its progress committed with it) on SQLite, and reports the
// time, reviews a second and the process's peak RSS (VmHWM). Run it alone:
//
//	go test -run '^$' -bench BenchmarkHistoryImport100k -benchtime 1x ./hub/poll/
func BenchmarkHistoryImport100k(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("REVIEWHUB_BENCH_HISTORY")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		p, _, in := historyRig(b)
		base := time.Now().UTC().Add(-300 * 24 * time.Hour).Truncate(time.Second)
		p.Plugins = genPlugins{st: &genHistory{n: n, base: base}}
		b.StartTimer()
		start := time.Now()
		h, err := p.ImportHistory(context.Background(), in, in.Apps[0], base, base.Add(time.Duration(n+1)*time.Second), nil)
		took := time.Since(start)
		if err != nil || h.Finished.IsZero() || h.Reviews != int64(n) || h.Queued != int64(n) {
			b.Fatalf("import: %+v %v", h, err)
		}
		b.ReportMetric(took.Seconds(), "s/import")
		b.ReportMetric(float64(n)/took.Seconds(), "reviews/s")
		b.ReportMetric(peakRSSMiB(), "peakRSS-MiB")
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("%d reviews in %s (%.0f/s), peak RSS %.0f MiB, %d CPUs, load %s", n, took.Round(time.Millisecond), float64(n)/took.Seconds(),
			peakRSSMiB(), runtime.NumCPU(), strings.TrimSpace(string(load)))
	}
}

// peakRSSMiB is this process's peak resident set (VmHWM), 0 where unknown.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
