// Package bench measures the hub against a direct baseline on the same
// workload: N new App Store reviews copied to Omnidesk as cases and M staff
// answers published back, (a) through the full hub with real plugin
// processes and the durable SQLite bus, (b) by one process calling the fake
// APIs directly with plain HTTP (the plugins' own client packages, no hub,
// no bus, no gRPC). `make bench` runs it; docs/performance.md discusses it.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	od "github.com/reviewhub/reviewhub/plugins/omnidesk/omnidesk"
	"github.com/reviewhub/reviewhub/sdk"
)

// Options of a run.
type Options struct {
	Reviews, Replies int
	HubBin           string
	Plugins          map[string]string // appstore and omnidesk
	DataDir          string
	Log              io.Writer // progress
	HubLog           io.Writer
}

// Side is one way of doing the work.
type Side struct {
	Seconds       float64 `json:"seconds"`
	ReviewsPerSec float64 `json:"reviews_per_sec"`
	ReplyP50ms    float64 `json:"reply_p50_ms"`
	ReplyP99ms    float64 `json:"reply_p99_ms"`
}

// Figures of a run.
type Figures struct {
	Date     string           `json:"date"`
	Go       string           `json:"go"`
	CPUs     int              `json:"cpus"`
	Reviews  int              `json:"reviews"`
	Replies  int              `json:"replies"`
	Baseline Side             `json:"baseline"`
	Hub      Side             `json:"hub"`
	Ratio    float64          `json:"hub_to_baseline_throughput"`
	PeakRSS  map[string]int64 `json:"peak_rss_bytes"`
}

const appID = "1500000000"

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func seedReviews(f *stack.Fakes, n int, prefix string) {
	base := time.Now().UTC().Add(time.Second)
	for i := range n {
		f.AppStore.PutReview(appID, sdk.Review{ID: fmt.Sprintf("%s-%06d", prefix, i), Author: "Bench", Rating: 1 + i%5,
			Title: "Bench review", Text: fmt.Sprintf("Review number %d: the app works, mostly.", i), Country: "US", UpdatedAt: base})
	}
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}

// Baseline copies the reviews and publishes the answers directly.
func Baseline(ctx context.Context, o Options) (Side, error) {
	f, err := stack.StartFakes(nil)
	if err != nil {
		return Side{}, err
	}
	defer f.Close()
	f.AppStore.AddApp(appID)
	seedReviews(f, o.Reviews, "b")
	key, err := asc.ParseKey(f.AppStore.Settings("")["issuer_id"], f.AppStore.Settings("")["key_id"], f.AppStore.PrivateKeyPEM())
	if err != nil {
		return Side{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	store := &asc.Client{BaseURL: f.URL["appstore"], Key: key, Tokens: &asc.Tokens{}, HTTP: hc}
	odSettings := f.Omnidesk.Settings(f.URL["omnidesk"], "x")
	desk := &od.Client{BaseURL: f.URL["omnidesk"], Email: odSettings["staff_email"], APIKey: odSettings["api_key"], HTTP: hc}

	start := time.Now()
	next := asc.ReviewsURL(appID, nil, 200)
	var ids []string
	for next != "" {
		page, err := store.ListPage(ctx, next)
		if err != nil {
			return Side{}, fmt.Errorf("baseline list: %w", err)
		}
		for _, r := range page.Data {
			rv, err := asc.MapReview(appID, r, page.Included)
			if err != nil {
				return Side{}, err
			}
			ch := sdk.ReviewChange{Store: "appstore", AppName: "Bench", Kind: sdk.ChangeNew, Review: rv, CanReply: true, ReplyMaxLength: asc.ReplyMaxLength}
			if _, err := desk.CreateCase(ctx, od.NewCase{UserCustomID: "appstore:" + rv.ID, UserFullName: rv.Author, Subject: od.Subject(ch),
				Content: od.Content(ch, rv.ID+"/1"), Channel: odSettings["channel"], CustomFields: map[string]any{odSettings["case_field"]: rv.ID}}); err != nil {
				return Side{}, fmt.Errorf("baseline case: %w", err)
			}
			ids = append(ids, rv.ID)
		}
		next = page.Links.Next
	}
	elapsed := time.Since(start)
	if f.Omnidesk.CaseCount() != o.Reviews {
		return Side{}, fmt.Errorf("baseline made %d cases for %d reviews", f.Omnidesk.CaseCount(), o.Reviews)
	}
	var lat []time.Duration
	for i := 0; i < o.Replies && i < len(ids); i++ {
		t := time.Now()
		if _, err := store.Respond(ctx, ids[i], "Thanks #"+strconv.Itoa(i)); err != nil {
			return Side{}, fmt.Errorf("baseline reply: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	s := Side{Seconds: elapsed.Seconds(), ReviewsPerSec: float64(o.Reviews) / elapsed.Seconds()}
	s.ReplyP50ms, s.ReplyP99ms = percentiles(lat)
	return s, nil
}

// Hub runs the same work through the hub process and its plugins.
func Hub(ctx context.Context, o Options) (Side, map[string]int64, error) {
	f, err := stack.StartFakes(nil)
	if err != nil {
		return Side{}, nil, err
	}
	defer f.Close()
	f.AppStore.AddApp(appID)
	addr, err := stack.FreeAddr()
	if err != nil {
		return Side{}, nil, err
	}
	cfg := stack.Config{Listen: addr, DataDir: o.DataDir, Plugins: o.Plugins, Integration: "bench", Helpdesk: "omnidesk",
		HelpdeskSetup: f.Omnidesk.Settings(f.URL["omnidesk"], "bench-secret"), PollInterval: time.Second, LogLevel: "warn",
		Apps: []stack.App{{ID: "ios", Name: "Bench", Store: "appstore", StoreAppID: appID, Settings: f.AppStore.Settings(f.URL["appstore"])}}}
	f.Omnidesk.SetWebhookURL(cfg.WebhookURL() + "?secret=bench-secret")
	path, err := cfg.Write()
	if err != nil {
		return Side{}, nil, err
	}
	// One review before the burst: the app is connected (its first listing
	// done) once its case exists, so the burst is all new reviews.
	f.AppStore.PutReview(appID, sdk.Review{ID: "seed", Rating: 5, Text: "connects the app", Country: "US", UpdatedAt: time.Now().UTC().Add(-time.Hour)})
	hub, err := stack.StartHub(ctx, o.HubBin, path, addr, o.HubLog)
	if err != nil {
		return Side{}, nil, err
	}
	defer hub.Stop()
	if err := waitFor(ctx, 2*time.Minute, func() bool { return f.Omnidesk.CaseCount() == 1 }); err != nil {
		return Side{}, nil, fmt.Errorf("the app did not connect: %w", err)
	}
	seedReviews(f, o.Reviews, "h")
	start := time.Now()
	if err := waitFor(ctx, 30*time.Minute, func() bool { return f.Omnidesk.CaseCount() >= o.Reviews+1 }); err != nil {
		return Side{}, nil, fmt.Errorf("hub delivered %d of %d: %w", f.Omnidesk.CaseCount()-1, o.Reviews, err)
	}
	elapsed := time.Since(start)
	if n := f.Omnidesk.CaseCount(); n != o.Reviews+1 {
		return Side{}, nil, fmt.Errorf("hub made %d cases for %d reviews", n-1, o.Reviews)
	}
	var lat []time.Duration
	for i := 0; i < o.Replies; i++ {
		id := fmt.Sprintf("h-%06d", i)
		c, ok := f.Omnidesk.CaseByReviewID(id)
		if !ok {
			return Side{}, nil, fmt.Errorf("no case for %s", id)
		}
		text := "Thanks #" + strconv.Itoa(i)
		t := time.Now()
		if _, err := f.Omnidesk.Answer(ctx, c.ID, text); err != nil {
			return Side{}, nil, err
		}
		if err := waitFor(ctx, time.Minute, func() bool { got, _ := f.AppStore.ReplyText(appID, id); return got == text }); err != nil {
			return Side{}, nil, fmt.Errorf("answer %d not published: %w", i, err)
		}
		lat = append(lat, time.Since(t))
	}
	rss := map[string]int64{}
	if v, err := stack.PeakRSS(hub.Pid()); err == nil {
		rss["hub"] = v
	}
	for pid, name := range stack.Children(hub.Pid()) {
		if v, err := stack.PeakRSS(pid); err == nil {
			rss[name] = v
		}
	}
	s := Side{Seconds: elapsed.Seconds(), ReviewsPerSec: float64(o.Reviews) / elapsed.Seconds()}
	s.ReplyP50ms, s.ReplyP99ms = percentiles(lat)
	return s, rss, nil
}

func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// Run measures both sides.
func Run(ctx context.Context, o Options) (Figures, error) {
	fig := Figures{Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), CPUs: runtime.NumCPU(), Reviews: o.Reviews, Replies: o.Replies}
	o.logf("baseline: %d reviews, %d answers, direct HTTP in one process…", o.Reviews, o.Replies)
	var err error
	if fig.Baseline, err = Baseline(ctx, o); err != nil {
		return fig, err
	}
	o.logf("hub: the same through the hub, its plugin processes and the SQLite bus…")
	if fig.Hub, fig.PeakRSS, err = Hub(ctx, o); err != nil {
		return fig, err
	}
	if fig.Baseline.ReviewsPerSec > 0 {
		fig.Ratio = fig.Hub.ReviewsPerSec / fig.Baseline.ReviewsPerSec
	}
	return fig, nil
}

// Report prints the figures.
func Report(w io.Writer, f Figures) {
	fmt.Fprintf(w, "workload: %d App Store reviews → Omnidesk cases, %d answers back (%s, %d CPUs)\n", f.Reviews, f.Replies, f.Go, f.CPUs)
	fmt.Fprintf(w, "%-10s %12s %14s %14s %10s\n", "", "reviews/s", "reply p50 ms", "reply p99 ms", "seconds")
	for _, r := range []struct {
		name string
		s    Side
	}{{"baseline", f.Baseline}, {"hub", f.Hub}} {
		fmt.Fprintf(w, "%-10s %12.1f %14.2f %14.2f %10.2f\n", r.name, r.s.ReviewsPerSec, r.s.ReplyP50ms, r.s.ReplyP99ms, r.s.Seconds)
	}
	fmt.Fprintf(w, "hub / baseline throughput: %.2f\n", f.Ratio)
	names := make([]string, 0, len(f.PeakRSS))
	for n := range f.PeakRSS {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "peak RSS %-28s %8.1f MiB\n", n, float64(f.PeakRSS[n])/(1<<20))
	}
}

// WriteFile writes the figures as JSON.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
