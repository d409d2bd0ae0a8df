// Package bench measures the hub against a direct baseline on the same
// workload: N new App Store reviews copied to Omnidesk as cases and M staff
// answers published back, (a) through the full hub with real plugin
// processes and the durable SQLite bus, (b) by one process calling the fake
// APIs directly with plain HTTP (the plugins' own client packages, no hub,
// no bus, no gRPC). `make bench` runs it; docs/performance.md discusses it.
package bench

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" (the PostgreSQL run's schema)

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
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
	// Load runs the real-world mode too (Load.Reviews 0: not).
	Load Load
	// SkipZeroLatency runs only the real-world mode.
	SkipZeroLatency bool
	// OnlyPostgres runs only the PostgreSQL sides of the zero-latency
	// mode (to profile them; no baseline, no SQLite, no ratio to it).
	OnlyPostgres bool
	// InFlight is the hub's bus.in_flight (0: its default).
	InFlight int
	// PostgresDSN, when set, runs the hub a second time on PostgreSQL
	// (state and bus), in a schema of its own created and dropped here.
	PostgresDSN string
	// PostgresHubs, above 1, compares that many hub processes on one
	// PostgreSQL schema with one hub, both on the workload spread over
	// Integrations.
	PostgresHubs int
	// Integrations is how many integrations (one app each) the hubs'
	// comparison spreads its reviews over (0: Partitions, one on each of
	// the bus's partitions, so that every hub has a share to deliver).
	Integrations int
	// postgres is the DSN of the run under way (Hub); hubs how many hub
	// processes it runs (0: one); integrations over how many integrations
	// it spreads the reviews (0: one).
	postgres     string
	hubs         int
	integrations int
}

// Side is one way of doing the work.
type Side struct {
	Seconds       float64 `json:"seconds"`
	ReviewsPerSec float64 `json:"reviews_per_sec"`
	ReplyP50ms    float64 `json:"reply_p50_ms"`
	ReplyP99ms    float64 `json:"reply_p99_ms"`
	// CaseCallsPerReview: Omnidesk calls about cases (look-ups, reads,
	// creates) per new review during the burst (hub only).
	CaseCallsPerReview float64 `json:"case_calls_per_review,omitempty"`
	// CPUPerReviewMs is the CPU time every process of the side used per
	// review while copying (the benchmark process with the fakes; for the
	// hub also the hub and its plugins): unlike reviews/s it barely moves
	// when other work shares the machine.
	CPUPerReviewMs float64 `json:"cpu_per_review_ms"`
	// HubCPUPerReviewMs and PluginsCPUPerReviewMs are the hub's part of it.
	HubCPUPerReviewMs     float64 `json:"hub_cpu_per_review_ms,omitempty"`
	PluginsCPUPerReviewMs float64 `json:"plugins_cpu_per_review_ms,omitempty"`
	// DeliveredBy is, with several hubs, how many tickets each hub made
	// (its deliveries_total, created): how they shared the work.
	DeliveredBy []int `json:"delivered_by,omitempty"`
}

// perReview is d per review in milliseconds.
func perReview(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

// Load is the real-world mode: the fake Omnidesk answers after Latency ±
// Jitter and allows PerWindow calls in any sliding Window (Omnidesk: per
// minute), and the hub drains a backlog of Reviews new reviews.
type Load struct {
	Reviews         int
	Latency, Jitter time.Duration
	PerWindow       int
	Window          time.Duration // default one minute
}

// LoadFigures are the real-world mode's results.
type LoadFigures struct {
	Reviews       int     `json:"reviews"`
	LatencyMs     float64 `json:"latency_ms"`
	JitterMs      float64 `json:"jitter_ms"`
	PerWindow     int     `json:"calls_per_window"`
	WindowSeconds float64 `json:"window_seconds"`
	DrainSeconds  float64 `json:"drain_seconds"`
	// Calls Omnidesk answered during the drain (refused ones apart), and
	// those about cases.
	Calls     int `json:"calls"`
	CaseCalls int `json:"case_calls"`
	// Refused: calls answered 429.
	Refused            int     `json:"refused_429"`
	CallsPerReview     float64 `json:"calls_per_review"`
	CaseCallsPerReview float64 `json:"case_calls_per_review"`
	// RateShare is Calls over the most calls the limit lets through in the
	// drain time: PerWindow for every window begun (⌈drain / window⌉), as no
	// sliding window of that length holds more.
	RateShare float64 `json:"rate_share"`
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
	// Postgres is the hub on PostgreSQL (nil when not run), and
	// PostgresRatio its throughput over the hub's on SQLite.
	Postgres      *Side   `json:"hub_postgres,omitempty"`
	PostgresRatio float64 `json:"postgres_to_sqlite_throughput,omitempty"`
	// PostgresSpread is one hub on PostgreSQL with the reviews spread
	// over Integrations integrations (one per bus partition), and
	// PostgresHubs the same with Hubs hub processes on one schema (nil
	// when not run); HubsFactor is the second's throughput over the
	// first's.
	PostgresSpread *Side   `json:"hub_postgres_spread,omitempty"`
	PostgresHubs   *Side   `json:"hubs_postgres_spread,omitempty"`
	Integrations   int     `json:"integrations,omitempty"`
	Hubs           int     `json:"hubs,omitempty"`
	HubsFactor     float64 `json:"hubs_to_one_hub_throughput,omitempty"`
	// Load is the real-world mode (nil when not run).
	Load *LoadFigures `json:"real_world,omitempty"`
}

const appID = "1500000000"

// benchApp is the App Store id of the workload's app number i (one per
// integration); the first is appID.
func benchApp(i int) string { return strconv.Itoa(1500000000 + i) }

// integrationIDs are the ids of n integrations: "bench" first, then as
// many as needed so that the first Partitions of them each go to a bus
// partition of their own (the bus partitions by integration id).
func integrationIDs(n int) []string {
	ids := []string{"bench"}
	used := map[int]bool{bus.PartitionOf("bench"): true}
	for i := 2; len(ids) < n; i++ {
		id := fmt.Sprintf("bench-%d", i)
		if p := bus.PartitionOf(id); !used[p] || len(used) == bus.Partitions {
			used[p] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// reviewID is the id of review i of app a of a workload with apps apps:
// prefix-i with one app (as before the spread workload), prefix+a-i with
// more.
func reviewID(prefix string, apps, a, i int) string {
	if apps <= 1 {
		return fmt.Sprintf("%s-%06d", prefix, i)
	}
	return fmt.Sprintf("%s%d-%06d", prefix, a, i)
}

// zeroLatencyLimit is the per-minute limit the fake Omnidesk reports in the
// zero-latency mode: far above any run's calls.
const zeroLatencyLimit = 10_000_000

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// seedReviews puts n new reviews, spread evenly over apps apps (app a
// gets reviews a, a+apps, …, numbered in its own order).
func seedReviews(f *stack.Fakes, n, apps int, prefix string) {
	base := time.Now().UTC().Add(time.Second)
	apps = max(apps, 1)
	for i := range n {
		a := i % apps
		f.AppStore.PutReview(benchApp(a), sdk.Review{ID: reviewID(prefix, apps, a, i/apps), Author: "Bench", Rating: 1 + i%5,
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
	seedReviews(f, o.Reviews, 1, "b")
	key, err := asc.ParseKey(f.AppStore.Settings("")["issuer_id"], f.AppStore.Settings("")["key_id"], f.AppStore.PrivateKeyPEM())
	if err != nil {
		return Side{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	store := &asc.Client{BaseURL: f.URL["appstore"], Key: key, Tokens: &asc.Tokens{}, HTTP: hc}
	odSettings := f.Omnidesk.Settings(f.URL["omnidesk"], "x")
	desk := &od.Client{BaseURL: f.URL["omnidesk"], Email: odSettings["staff_email"], APIKey: odSettings["api_key"], HTTP: hc}

	start, cpu0 := time.Now(), stack.CPUTime(os.Getpid())
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
			ch := sdk.ReviewChange{Store: "appstore", StoreName: "App Store", AppName: "Bench", Kind: sdk.ChangeKindNew, Review: rv, CanReply: true, ReplyMaxLength: asc.ReplyMaxLength}
			if _, err := desk.CreateCase(ctx, od.NewCase{UserCustomID: "appstore:" + rv.ID, UserFullName: rv.Author, Subject: od.Subject(ch),
				Content: od.Content(ch, rv.ID+"/1"), Channel: odSettings["channel"], CustomFields: map[string]any{odSettings["case_field"]: rv.ID}}); err != nil {
				return Side{}, fmt.Errorf("baseline case: %w", err)
			}
			ids = append(ids, rv.ID)
		}
		next = page.Links.Next
	}
	elapsed, cpu := time.Since(start), stack.CPUTime(os.Getpid())-cpu0
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
	s := Side{Seconds: elapsed.Seconds(), ReviewsPerSec: float64(o.Reviews) / elapsed.Seconds(), CPUPerReviewMs: perReview(cpu, o.Reviews)}
	s.ReplyP50ms, s.ReplyP99ms = percentiles(lat)
	return s, nil
}

// startHub starts the fakes and the hub with one App Store app feeding
// Omnidesk (o.integrations: that many integrations with one app each), and
// returns once the apps are connected (their first review's case exists),
// so what is seeded next is all new reviews; with o.hubs above 1,
// the other hubs start then, on the same state (PostgreSQL) and key. stop
// stops them all.
func startHub(ctx context.Context, o Options, dataDir string, load *odfake.Load) (f *stack.Fakes, hubs []*stack.Hub, stop func(), err error) {
	f, err = stack.StartFakes(nil)
	if err != nil {
		return nil, nil, nil, err
	}
	// The plugin paces by api_calls_left over the limit's window: a minute
	// for Omnidesk, told explicitly when a short run shrinks it. The load
	// applies from the start, so the limit's window holds every call the
	// plugin made, as Omnidesk's would.
	helpdeskExtra := map[string]string{}
	if load == nil {
		// Zero latency measures the hub, not an account's limit: the
		// fake reports one the run never reaches (the plugin paces by
		// api_calls_left; the baseline calls without pacing).
		f.Omnidesk.SetRatePerMinute(zeroLatencyLimit)
	}
	if load != nil {
		f.Omnidesk.SetLoad(*load)
		if load.Window != time.Minute {
			helpdeskExtra["rate_window"] = load.Window.String()
		}
	}
	apps := max(o.integrations, 1)
	ids := integrationIDs(apps)
	for a := range apps {
		f.AppStore.AddApp(benchApp(a))
	}
	addr, err := stack.FreeAddr()
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	setup := f.Omnidesk.Settings(f.URL["omnidesk"], "bench-secret")
	maps.Copy(setup, helpdeskExtra)
	cfg := stack.Config{Listen: addr, DataDir: dataDir, Plugins: o.Plugins, Integration: ids[0], Helpdesk: "omnidesk",
		HelpdeskSetup: setup, PollInterval: time.Second, InFlight: o.InFlight, PostgresDSN: o.postgres, LogLevel: cmp.Or(os.Getenv("BENCH_HUB_LOG_LEVEL"), "warn"),
		Apps: []stack.App{{ID: "ios", Name: "Bench", Store: "appstore", StoreAppID: appID, Settings: f.AppStore.Settings(f.URL["appstore"])}}}
	for a := 1; a < apps; a++ {
		cfg.More = append(cfg.More, stack.Integration{ID: ids[a], Apps: []stack.App{{ID: fmt.Sprintf("ios-%d", a), Name: fmt.Sprintf("Bench %d", a),
			Store: "appstore", StoreAppID: benchApp(a), Settings: f.AppStore.Settings(f.URL["appstore"])}}})
	}
	f.Omnidesk.SetWebhookURL(cfg.WebhookURL() + "?secret=bench-secret")
	path, err := cfg.Write()
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	for a := range apps {
		f.AppStore.PutReview(benchApp(a), sdk.Review{ID: reviewID("seed", apps, a, 0), Rating: 5, Text: "connects the app", Country: "US", UpdatedAt: time.Now().UTC().Add(-time.Hour)})
	}
	hub, err := stack.StartHub(ctx, o.HubBin, path, addr, o.HubLog)
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	hubs = []*stack.Hub{hub}
	stop = func() {
		for _, h := range hubs {
			h.Stop()
		}
		f.Close()
	}
	if err := waitFor(ctx, 2*time.Minute, func() bool { return f.Omnidesk.CaseCount() == apps }); err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("the app did not connect: %w", err)
	}
	for i := 1; i < o.hubs; i++ {
		h, err := startAnotherHub(ctx, o, cfg, i)
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		hubs = append(hubs, h)
	}
	if len(hubs) > 1 {
		if err := waitForShares(ctx, o.postgres, len(hubs)); err != nil {
			stop()
			return nil, nil, nil, err
		}
	}
	return f, hubs, stop, nil
}

// waitForShares waits until the bus's subscriptions are spread over n
// hubs (each holds its fair share of each topic's partitions at most, and
// every subscription is held), so the run measures the hubs sharing the
// work, not the moving of partitions after their start.
func waitForShares(ctx context.Context, dsn string, n int) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var owners, most, held int
	err = waitFor(ctx, 2*time.Minute, func() bool {
		err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT owner), COALESCE(MAX(c), 0), COALESCE(SUM(c), 0) FROM
			(SELECT owner, COUNT(*) AS c FROM watermill_subscription_leases WHERE until > now()
			GROUP BY owner, regexp_replace(topic, '_p[0-9]+$', '')) o`).Scan(&owners, &most, &held)
		return err == nil && owners == n && most <= (bus.Partitions+n-1)/n && held == 3*bus.Partitions
	})
	if err != nil {
		return fmt.Errorf("the bus's partitions did not spread over %d hubs (%d holding %d, at most %d of a topic each): %w", n, owners, held, most, err)
	}
	return nil
}

// startAnotherHub starts hub number i beside the first (config cfg): the
// same config, state and key, its own address and data directory.
func startAnotherHub(ctx context.Context, o Options, cfg stack.Config, i int) (*stack.Hub, error) {
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("hub %d: the first hub's key: %w", i+1, err)
	}
	if cfg.Listen, err = stack.FreeAddr(); err != nil {
		return nil, err
	}
	cfg.DataDir = fmt.Sprintf("%s-hub%d", cfg.DataDir, i+1)
	path, err := cfg.Write()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "secret.key"), key, 0o600); err != nil {
		return nil, fmt.Errorf("hub %d: %w", i+1, err)
	}
	h, err := stack.StartHub(ctx, o.HubBin, path, cfg.Listen, o.HubLog)
	if err != nil {
		return nil, fmt.Errorf("hub %d: %w", i+1, err)
	}
	return h, nil
}

// ticketsMade reads how many tickets the hub at addr made (its
// deliveries_total with the outcome "created", every integration).
func ticketsMade(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics of the hub at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("metrics of the hub at %s: %w", addr, err)
	}
	n := 0.0
	for line := range strings.Lines(string(raw)) {
		if strings.HasPrefix(line, "reviewhub_deliveries_total{") && strings.Contains(line, `outcome="created"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, fmt.Errorf("metrics of the hub at %s: %q: %w", addr, line, err)
			}
			n += v
		}
	}
	return int(n), nil
}

// caseCalls counts the calls about cases among routes.
func caseCalls(routes map[string]int) int {
	n := 0
	for k, v := range routes {
		if strings.Contains(k, "/api/cases.json") || strings.HasSuffix(k, "/api/cases/{id}") {
			n += v
		}
	}
	return n
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		out[k] = v - before[k]
	}
	return out
}

// drain seeds n new reviews and waits until each has its case. It is timed
// from the hub's first listing after the seeding, as the baseline is timed
// from its own first listing: the wait for the next poll (up to the poll
// interval) is when the hub looks, not how fast it works.
func drain(ctx context.Context, f *stack.Fakes, n, apps int, prefix string) (time.Duration, error) {
	apps = max(apps, 1)
	seedReviews(f, n, apps, prefix)
	f.ArmFirstRequest("appstore")
	if err := waitFor(ctx, 60*time.Minute, func() bool { return f.Omnidesk.CaseCount() >= n+apps }); err != nil {
		return 0, fmt.Errorf("hub delivered %d of %d: %w", f.Omnidesk.CaseCount()-apps, n, err)
	}
	done := time.Now()
	start, ok := f.FirstRequest("appstore")
	if !ok {
		return 0, fmt.Errorf("the hub delivered %d reviews without listing them", n)
	}
	elapsed := done.Sub(start)
	if got := f.Omnidesk.CaseCount(); got != n+apps {
		return 0, fmt.Errorf("hub made %d cases for %d reviews", got-apps, n)
	}
	return elapsed, nil
}

// HubUnderLoad drains a backlog through the hub while the fake Omnidesk
// answers with latency and enforces a rate limit.
func HubUnderLoad(ctx context.Context, o Options) (LoadFigures, error) {
	l := o.Load
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	f, _, stop, err := startHub(ctx, o, filepath.Join(o.DataDir, "load"),
		&odfake.Load{Latency: l.Latency, Jitter: l.Jitter, PerWindow: l.PerWindow, Window: l.Window})
	if err != nil {
		return LoadFigures{}, err
	}
	defer stop()
	before, refusedBefore := f.Omnidesk.Routes(), f.Omnidesk.Refused()
	elapsed, err := drain(ctx, f, l.Reviews, 1, "l")
	if err != nil {
		return LoadFigures{}, err
	}
	routes := diff(f.Omnidesk.Routes(), before)
	fig := LoadFigures{Reviews: l.Reviews, LatencyMs: ms(l.Latency), JitterMs: ms(l.Jitter), PerWindow: l.PerWindow,
		WindowSeconds: l.Window.Seconds(), DrainSeconds: elapsed.Seconds(), Calls: sum(routes), CaseCalls: caseCalls(routes),
		Refused: f.Omnidesk.Refused() - refusedBefore}
	fig.CallsPerReview = float64(fig.Calls) / float64(l.Reviews)
	fig.CaseCallsPerReview = float64(fig.CaseCalls) / float64(l.Reviews)
	if l.PerWindow > 0 {
		windows := math.Ceil(elapsed.Seconds() / l.Window.Seconds())
		fig.RateShare = float64(fig.Calls) / (float64(l.PerWindow) * windows)
	}
	return fig, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Hub runs the same work through the hub process (o.hubs of them on
// PostgreSQL) and its plugins.
func Hub(ctx context.Context, o Options) (Side, map[string]int64, error) {
	f, hubs, stop, err := startHub(ctx, o, o.DataDir, nil)
	if err != nil {
		return Side{}, nil, err
	}
	defer stop()
	before := f.Omnidesk.Routes()
	var hubPids, plugins []int
	for _, h := range hubs {
		hubPids = append(hubPids, h.Pid())
		plugins = append(plugins, slices.Collect(maps.Keys(stack.Children(h.Pid())))...)
	}
	own0, hub0, plug0 := stack.CPUTime(os.Getpid()), stack.CPUTime(hubPids...), stack.CPUTime(plugins...)
	elapsed, err := drain(ctx, f, o.Reviews, o.integrations, "h")
	if err != nil {
		return Side{}, nil, err
	}
	own, hubCPU, plugCPU := stack.CPUTime(os.Getpid())-own0, stack.CPUTime(hubPids...)-hub0, stack.CPUTime(plugins...)-plug0
	cases := caseCalls(diff(f.Omnidesk.Routes(), before))
	var by []int
	if len(hubs) > 1 {
		for _, h := range hubs {
			n, err := ticketsMade(ctx, h.Addr)
			if err != nil {
				return Side{}, nil, err
			}
			by = append(by, n)
		}
	}
	// Answers go to the first integration (the fake Omnidesk's webhook
	// names it): its app's reviews.
	var lat []time.Duration
	apps := max(o.integrations, 1)
	for i := 0; i < o.Replies && i < o.Reviews/apps; i++ {
		id := reviewID("h", apps, 0, i)
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
	if v, err := stack.PeakRSS(hubs[0].Pid()); err == nil {
		rss["hub"] = v
	}
	for pid, name := range stack.Children(hubs[0].Pid()) {
		if v, err := stack.PeakRSS(pid); err == nil {
			rss[name] = v
		}
	}
	s := Side{Seconds: elapsed.Seconds(), ReviewsPerSec: float64(o.Reviews) / elapsed.Seconds(),
		CaseCallsPerReview: float64(cases) / float64(o.Reviews), CPUPerReviewMs: perReview(own+hubCPU+plugCPU, o.Reviews),
		HubCPUPerReviewMs: perReview(hubCPU, o.Reviews), PluginsCPUPerReviewMs: perReview(plugCPU, o.Reviews), DeliveredBy: by}
	s.ReplyP50ms, s.ReplyP99ms = percentiles(lat)
	return s, rss, nil
}

// errNoPostgres: no PostgreSQL server answered (the run is skipped).
var errNoPostgres = errors.New("no PostgreSQL server answers")

// hubOnPostgres runs Hub with the state and bus on PostgreSQL, in a schema
// created for the run and dropped after it.
func hubOnPostgres(ctx context.Context, o Options) (Side, error) {
	db, err := sql.Open("pgx", o.PostgresDSN)
	if err != nil {
		return Side{}, err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return Side{}, fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return Side{}, fmt.Errorf("create schema: %w", err)
	}
	defer db.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA `+schema+` CASCADE`) //nolint:errcheck
	u, err := url.Parse(o.PostgresDSN)
	if err != nil {
		return Side{}, fmt.Errorf("the PostgreSQL DSN must be a URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	o.postgres = u.String()
	o.DataDir = filepath.Join(o.DataDir, fmt.Sprintf("postgres-%d-%d", max(o.hubs, 1), max(o.integrations, 1)))
	s, _, err := Hub(ctx, o)
	return s, err
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

// hubsOnPostgres compares o.PostgresHubs hubs with one on PostgreSQL, both
// with the reviews spread over o.Integrations integrations.
func hubsOnPostgres(ctx context.Context, o Options, fig *Figures) error {
	o.integrations = cmp.Or(o.Integrations, bus.Partitions)
	o.logf("one hub on PostgreSQL, the reviews spread over %d integrations…", o.integrations)
	one, err := hubOnPostgres(ctx, o)
	if err != nil {
		return fmt.Errorf("one hub on PostgreSQL, %d integrations: %w", o.integrations, err)
	}
	o.logf("%d hubs on PostgreSQL: the same with %d hub processes on one schema…", o.PostgresHubs, o.PostgresHubs)
	o.hubs = o.PostgresHubs
	m, err := hubOnPostgres(ctx, o)
	if err != nil {
		return fmt.Errorf("%d hubs on PostgreSQL, %d integrations: %w", o.PostgresHubs, o.integrations, err)
	}
	fig.PostgresSpread, fig.PostgresHubs, fig.Hubs, fig.Integrations = &one, &m, o.PostgresHubs, o.integrations
	if one.ReviewsPerSec > 0 {
		fig.HubsFactor = m.ReviewsPerSec / one.ReviewsPerSec
	}
	return nil
}

// Run measures both sides.
func Run(ctx context.Context, o Options) (Figures, error) {
	fig := Figures{Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), CPUs: runtime.NumCPU(), Reviews: o.Reviews, Replies: o.Replies}
	var err error
	if !o.SkipZeroLatency && !o.OnlyPostgres {
		o.logf("baseline: %d reviews, %d answers, direct HTTP in one process…", o.Reviews, o.Replies)
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
	}
	if !o.SkipZeroLatency && o.PostgresDSN != "" {
		o.logf("hub on PostgreSQL: the same with the PostgreSQL state and bus…")
		s, err := hubOnPostgres(ctx, o)
		switch {
		case errors.Is(err, errNoPostgres):
			o.logf("hub on PostgreSQL: skipped: %v", err)
		case err != nil:
			return fig, fmt.Errorf("hub on PostgreSQL: %w", err)
		default:
			fig.Postgres = &s
			if fig.Hub.ReviewsPerSec > 0 {
				fig.PostgresRatio = s.ReviewsPerSec / fig.Hub.ReviewsPerSec
			}
			if o.PostgresHubs > 1 {
				if err := hubsOnPostgres(ctx, o, &fig); err != nil {
					return fig, err
				}
			}
		}
	}
	if o.Load.Reviews > 0 {
		o.logf("real world: %d reviews through the hub, Omnidesk answering in %v ± %v, %d calls per %v…",
			o.Load.Reviews, o.Load.Latency, o.Load.Jitter, o.Load.PerWindow, cmp.Or(o.Load.Window, time.Minute))
		lf, err := HubUnderLoad(ctx, o)
		if err != nil {
			return fig, fmt.Errorf("real-world mode: %w", err)
		}
		fig.Load = &lf
	}
	return fig, nil
}

// Report prints the figures.
func Report(w io.Writer, f Figures) {
	fmt.Fprintf(w, "workload: %d App Store reviews → Omnidesk cases, %d answers back (%s, %d CPUs)\n", f.Reviews, f.Replies, f.Go, f.CPUs)
	fmt.Fprintf(w, "%-10s %12s %14s %14s %10s %16s\n", "", "reviews/s", "reply p50 ms", "reply p99 ms", "seconds", "CPU ms/review")
	for _, r := range []struct {
		name string
		s    Side
	}{{"baseline", f.Baseline}, {"hub", f.Hub}} {
		if r.s.ReviewsPerSec == 0 {
			continue // not run (-only-postgres)
		}
		fmt.Fprintf(w, "%-10s %12.1f %14.2f %14.2f %10.2f %16.3f\n", r.name, r.s.ReviewsPerSec, r.s.ReplyP50ms, r.s.ReplyP99ms, r.s.Seconds, r.s.CPUPerReviewMs)
	}
	if p := f.Postgres; p != nil {
		fmt.Fprintf(w, "%-10s %12.1f %14.2f %14.2f %10.2f %16.3f\n", "hub on PG", p.ReviewsPerSec, p.ReplyP50ms, p.ReplyP99ms, p.Seconds, p.CPUPerReviewMs)
		fmt.Fprintf(w, "hub on PostgreSQL / hub on SQLite throughput: %.2f (CPU per review: hub %.3f ms, plugins %.3f ms; PostgreSQL's own not counted)\n",
			f.PostgresRatio, p.HubCPUPerReviewMs, p.PluginsCPUPerReviewMs)
	}
	if one, p := f.PostgresSpread, f.PostgresHubs; one != nil && p != nil {
		fmt.Fprintf(w, "the same reviews spread over %d integrations (one app each, every bus partition used), on PostgreSQL:\n", f.Integrations)
		for _, r := range []struct {
			name string
			s    *Side
		}{{"1 hub PG", one}, {fmt.Sprintf("%d hubs PG", f.Hubs), p}} {
			fmt.Fprintf(w, "%-10s %12.1f %14.2f %14.2f %10.2f %16.3f\n", r.name, r.s.ReviewsPerSec, r.s.ReplyP50ms, r.s.ReplyP99ms, r.s.Seconds, r.s.CPUPerReviewMs)
		}
		fmt.Fprintf(w, "%d hubs / one hub on PostgreSQL throughput: %.2f (tickets made by each hub %v; CPU per review: one hub %.3f ms, %d hubs %.3f ms; plugins %.3f / %.3f ms)\n",
			f.Hubs, f.HubsFactor, p.DeliveredBy, one.HubCPUPerReviewMs, f.Hubs, p.HubCPUPerReviewMs, one.PluginsCPUPerReviewMs, p.PluginsCPUPerReviewMs)
	}
	fmt.Fprintf(w, "hub CPU per review: hub %.3f ms, plugins %.3f ms, fakes and the benchmark %.3f ms\n",
		f.Hub.HubCPUPerReviewMs, f.Hub.PluginsCPUPerReviewMs, f.Hub.CPUPerReviewMs-f.Hub.HubCPUPerReviewMs-f.Hub.PluginsCPUPerReviewMs)
	fmt.Fprintf(w, "hub / baseline throughput: %.2f\n", f.Ratio)
	fmt.Fprintf(w, "hub case calls per new review: %.3f\n", f.Hub.CaseCallsPerReview)
	if l := f.Load; l != nil {
		fmt.Fprintf(w, "real world (%d reviews, Omnidesk %.0f ± %.0f ms, %d calls per %.0f s):\n", l.Reviews, l.LatencyMs, l.JitterMs, l.PerWindow, l.WindowSeconds)
		fmt.Fprintf(w, "  backlog drained in %.1f s; calls %d (%.3f per review; about cases %.3f per review), refused 429 %d\n",
			l.DrainSeconds, l.Calls, l.CallsPerReview, l.CaseCallsPerReview, l.Refused)
		fmt.Fprintf(w, "  share of the allowed rate used: %.1f%%\n", 100*l.RateShare)
	}
	fmt.Fprintf(w, "summary: zero-latency ratio %.2f | case calls per new review %.3f", f.Ratio, f.Hub.CaseCallsPerReview)
	if f.Postgres != nil {
		fmt.Fprintf(w, " | PostgreSQL / SQLite %.2f", f.PostgresRatio)
	}
	if f.PostgresHubs != nil {
		fmt.Fprintf(w, " | %d hubs / one on PostgreSQL (%d integrations) %.2f", f.Hubs, f.Integrations, f.HubsFactor)
	}
	if l := f.Load; l != nil {
		fmt.Fprintf(w, " (real world %.3f) | allowed rate used %.1f%% | %d-review backlog drained in %.1f s", l.CaseCallsPerReview, 100*l.RateShare, l.Reviews, l.DrainSeconds)
	}
	fmt.Fprintln(w)
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
