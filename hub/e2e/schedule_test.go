package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

// manyApps is one integration with n apps of the test store, each polled
// every interval, with extra store settings.
func manyApps(backendURL string, n int, interval time.Duration, extra map[string]string) config.Integration {
	in := config.Integration{ID: "acme", Name: "ACME",
		Helpdesk: config.HelpdeskAccount{Plugin: "testdesk", Settings: map[string]string{"url": backendURL, "secret": secret}}}
	for i := range n {
		settings := map[string]string{"url": backendURL, "page_size": "200"}
		for k, v := range extra {
			settings[k] = v
		}
		in.Apps = append(in.Apps, config.App{ID: fmt.Sprintf("app%03d", i), Name: fmt.Sprintf("App %d", i), Store: "teststore",
			StoreAppID: fmt.Sprintf("s%03d", i), Settings: settings, PollInterval: interval})
	}
	return in
}

// integrationYAML is in as the config file writes it.
func integrationYAML(in config.Integration) map[string]any {
	var apps []any
	for _, a := range in.Apps {
		apps = append(apps, map[string]any{"id": a.ID, "name": a.Name, "store": a.Store, "store_app_id": a.StoreAppID,
			"settings": a.Settings, "poll_interval": a.PollInterval.String()})
	}
	return map[string]any{"id": in.ID, "name": in.Name,
		"helpdesk": map[string]any{"plugin": in.Helpdesk.Plugin, "settings": in.Helpdesk.Settings}, "apps": apps}
}

// Three hubs on one PostgreSQL database poll each of 300 apps once per
// interval: never two listings of an app within one interval, also when one
// hub is killed (SIGKILL) mid-run; the apps it was polling are taken over
// when their lease ends, and every other app is polled on time throughout.
func TestThreeHubsPollEachAppOncePerInterval(t *testing.T) {
	const (
		apps     = 300
		interval = 5 * time.Second
		lease    = 2 * time.Second
		// Three hubs and 300 apps on one database on a loaded test
		// machine: a poll whose transaction waits past state.timeout
		// fails and is retried after the failure backoff, sooner than its
		// interval, which this test counts as a second poll.
		stateTimeout = time.Minute
	)
	dsn := pgtest.DSN(t)
	backend := testbackend.New()
	srv := startBackendServer(t, backend)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secretKey := base64.StdEncoding.EncodeToString(key)
	in := manyApps(srv.URL, apps, interval, nil)

	// The hub to be killed runs as its own process.
	killed := newHubProcessWith(t, srv.URL, "127.0.0.1:0", func(f map[string]any) {
		f["state"] = map[string]any{"driver": "postgres", "dsn": dsn, "timeout": stateTimeout.String()}
		f["bus"] = map[string]any{"backend": "postgres"}
		f["secret_key"] = secretKey
		f["schedule"] = map[string]any{"lease": lease.String()}
		f["log"] = map[string]any{"level": "info"}
		f["integrations"] = []any{integrationYAML(in)}
	})
	killed.start(t)

	cfg := newConfig(t, srv.URL)
	cfg.State.Driver, cfg.State.DSN, cfg.Bus.Backend = "postgres", dsn, "postgres"
	cfg.State.Timeout = stateTimeout
	cfg.SecretKey = secretKey
	cfg.Schedule.Lease = lease
	cfg.Integrations = []config.Integration{in}
	cfg.Log.Level = "info"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	for _, name := range []string{"a", "b"} {
		h, err := app.New(ctx, cfg, log.With("hub", name), testOptions())
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		d := make(chan error, 1)
		go func() { d <- h.Run(ctx) }()
		done = append(done, d)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for _, d := range done {
				<-d
			}
		})
	}
	t.Cleanup(stop)

	listed := func() int {
		n := 0
		for _, ts := range backend.ListTimes() {
			if len(ts) > 0 {
				n++
			}
		}
		return n
	}
	eventually(t, "every app listed", func() bool { return listed() == apps })
	time.Sleep(2 * interval)
	killed.kill()
	killedAt := time.Now()
	// The apps the killed hub was polling are taken over when their lease
	// ends (and the interval their claim moved them on by); every other app
	// goes on as before. Every app is listed twice more after the kill.
	// Generous: the machine may be busy (this is behaviour, not a timing).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		behind := 0
		for _, ts := range backend.ListTimes() {
			after := 0
			for _, at := range ts {
				if at.After(killedAt) {
					after++
				}
			}
			if after < 2 {
				behind++
			}
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d apps not listed twice since a hub was killed at %s", behind, apps, killedAt.Format("15:04:05.000"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()

	// Never two listings of an app within one interval (the jitter keeps
	// them at least 0.9 interval apart; load only makes them later).
	var short []string
	for app, ts := range backend.ListTimes() {
		sort.Slice(ts, func(a, b int) bool { return ts[a].Before(ts[b]) })
		for j := 1; j < len(ts); j++ {
			if gap := ts[j].Sub(ts[j-1]); gap < interval/2 {
				short = append(short, fmt.Sprintf("%s listed twice within %s", app, gap.Round(time.Millisecond)))
			}
		}
	}
	if len(short) > 0 {
		t.Errorf("%d apps polled more than once per interval (%s), a hub killed at %s: %s", len(short), interval,
			killedAt.Format("15:04:05.000"), strings.Join(first(short, 10), "; "))
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// Fifty apps share one store key whose quota is 30 listings per 3 s. At
// their own interval (1 s) they would ask for 150 per 3 s; the hub keeps
// every rolling window of the fake store under the quota, still polls every
// app, and says why their intervals are longer.
func TestSharedKeyStaysInsideItsQuota(t *testing.T) {
	const (
		apps     = 50
		interval = time.Second
		limit    = 30
		window   = 3 * time.Second
	)
	if apps*int(window/interval) <= limit {
		t.Fatal("the fixed intervals would not exceed the quota: the test proves nothing")
	}
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Integrations = []config.Integration{manyApps(e.srv.URL, apps, interval, map[string]string{"key": "K1"})}
	e.cfg.AdminToken = adminToken
	e.tune = func(o *app.Options) {
		o.Host.Env = append(o.Host.Env, fmt.Sprintf("TESTSTORE_QUOTA=%d/%s", limit, window))
	}
	e.startHub(t)

	total := func() (n int, apps int) {
		for _, ts := range e.backend.ListTimes() {
			n += len(ts)
			apps++
		}
		return n, apps
	}
	eventually(t, "every app listed, and three windows' worth of listings", func() bool {
		n, a := total()
		return a == apps && n >= 3*limit
	})
	var all []time.Time
	for _, ts := range e.backend.ListTimes() {
		all = append(all, ts...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	worst := 0
	for i, t0 := range all {
		n := sort.Search(len(all), func(j int) bool { return !all[j].Before(t0.Add(window)) }) - i
		worst = max(worst, n)
	}
	if worst > limit {
		t.Errorf("%d listings within %s, the quota is %d", worst, window, limit)
	}

	// The status API shows the budget, and the schedule says why.
	var status struct {
		Apps []struct {
			ID       string `json:"id"`
			Schedule struct {
				Interval string `json:"interval"`
				Note     string `json:"note"`
			} `json:"schedule"`
			Quotas []struct {
				Name   string `json:"name"`
				Used   int    `json:"used"`
				Limit  int    `json:"limit"`
				Budget int    `json:"budget"`
				Apps   int    `json:"apps"`
			} `json:"quotas"`
		} `json:"apps"`
	}
	eventually(t, "a lengthened interval explained in the status", func() bool {
		code, _, raw := e.api(t, http.MethodGet, "/api/integrations/acme/status", adminToken, "")
		if code != http.StatusOK {
			t.Fatalf("status: %d %s", code, raw)
		}
		if err := json.Unmarshal([]byte(raw), &status); err != nil {
			t.Fatal(err)
		}
		if len(status.Apps) == 0 || len(status.Apps[0].Quotas) == 0 || status.Apps[0].Quotas[0].Apps != apps {
			return false // not every app has polled yet
		}
		for _, a := range status.Apps {
			if strings.Contains(a.Schedule.Note, "interval lengthened") || strings.Contains(a.Schedule.Note, "waiting for quota") {
				return true
			}
		}
		return false
	})
	a := status.Apps[0]
	if len(a.Quotas) != 1 || a.Quotas[0].Name != "test key" || a.Quotas[0].Limit != limit || a.Quotas[0].Budget != limit ||
		a.Quotas[0].Apps != apps || a.Quotas[0].Used == 0 || a.Quotas[0].Used > limit {
		t.Errorf("quota in the status: %+v", a.Quotas)
	}
}
