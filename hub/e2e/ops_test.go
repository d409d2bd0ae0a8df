package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/hub/statusview"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// scrape reads the hub's /metrics with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// value sums the samples of a family whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsMoveThroughADemoLikeRun runs reviews in, a filter skip, a
// failed poll, an answer out and a webhook refusal, and reads each one's
// counter on /metrics, plus the gauges read from the state.
func TestMetricsMoveThroughADemoLikeRun(t *testing.T) {
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Integrations[0].Apps[0].Filters.Ratings = []int{1, 2, 3, 4}
	e.cfg.Health.CheckEvery = 50 * time.Millisecond
	e.cfg.Integrations[0].Apps[0].Settings["key"] = "k1"
	e.tune = func(o *app.Options) { o.Host.Env = append(o.Host.Env, "TESTSTORE_QUOTA=1000/1h") }
	e.startHub(t)
	url := e.hub.MetricsURL()
	if url != "http://"+e.hub.Addr()+"/metrics" {
		t.Fatalf("metrics URL %q, want the hub's listener", url)
	}
	fams := scrape(t, url)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing: Go runtime and process metrics are expected", name)
		}
	}
	ios := map[string]string{"integration": "acme", "app": "ios", "store": "teststore"}

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "crashes on start"})
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Bob", Rating: 2, Text: "slow"})
	e.backend.PutReview(testbackend.Review{ID: "r3", App: "app1", Author: "Cy", Rating: 5, Text: "great"}) // filtered out
	e.backend.PutReview(testbackend.Review{ID: "r4", App: "app1", Author: "Di", Rating: 0, Text: "?"})     // unreadable
	eventually(t, "two tickets", func() bool { return len(e.backend.Tickets()) == 2 })
	eventually(t, "counters of the first listing", func() bool {
		f := scrape(t, url)
		return value(f, "reviewhub_reviews_queued_total", ios) == 2 &&
			value(f, "reviewhub_reviews_skipped_total", map[string]string{"app": "ios", "filter": "rating"}) == 1 &&
			value(f, "reviewhub_reviews_unreadable_total", ios) == 1 &&
			value(f, "reviewhub_deliveries_total", map[string]string{"integration": "acme", "outcome": "created"}) == 2
	})
	fams = scrape(t, url)
	if n := value(fams, "reviewhub_reviews_seen_total", ios); n < 3 {
		t.Errorf("reviews seen %v, want at least 3", n)
	}
	okPolls := value(fams, "reviewhub_polls_total", map[string]string{"app": "ios", "outcome": "ok"})
	if okPolls < 1 {
		t.Errorf("ok polls %v, want at least 1", okPolls)
	}
	if n := value(fams, "reviewhub_plugin_calls_total", map[string]string{"plugin": "teststore", "op": "ListReviews", "result": "ok"}); n < 1 {
		t.Errorf("ListReviews calls %v, want at least 1", n)
	}
	if n := value(fams, "reviewhub_plugin_calls_total", map[string]string{"plugin": "testdesk", "op": "UpsertTicket", "result": "ok"}); n != 2 {
		t.Errorf("UpsertTicket calls %v, want 2", n)
	}
	if n := value(fams, "reviewhub_app_health", map[string]string{"app": "ios", "health": sdk.HealthOK}); n != 1 {
		t.Errorf("app_health{health=ok} = %v, want 1", n)
	}
	eventually(t, "the last successful poll's time", func() bool {
		return value(scrape(t, url), "reviewhub_app_last_success_timestamp_seconds", ios) > 0
	})
	for _, topic := range []string{"reviews", "replies", "reply_results"} {
		if _, ok := findSample(fams, "reviewhub_bus_queue_depth", "topic", topic); !ok {
			t.Errorf("bus_queue_depth{topic=%q} missing", topic)
		}
	}
	if _, ok := findSample(fams, "reviewhub_plugin_restarts_total", "plugin", "teststore"); !ok {
		t.Error("plugin_restarts_total missing")
	}
	if _, ok := fams["reviewhub_dead_letters"]; !ok {
		t.Error("dead_letters missing")
	}

	// A failed listing: the poll's error is counted, by the plugin call's kind too.
	e.backend.FailNext(1)
	eventually(t, "a failed poll counted", func() bool {
		f := scrape(t, url)
		return value(f, "reviewhub_polls_total", map[string]string{"app": "ios", "outcome": "error"}) >= 1 &&
			value(f, "reviewhub_plugin_calls_total", map[string]string{"plugin": "teststore", "result": "unavailable"}) >= 1
	})

	// An answer goes out; a webhook for an unknown integration is refused.
	tk, _ := ticketFor(e.backend, "r1")
	if code, body := e.webhook(t, "acme", "secret="+secret, fmt.Sprintf(`{"ticket_id":%q,"message_id":"m1","text":"Fixed in 2.1","staff":"Eve"}`, tk.ID)); code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	if code, _ := e.webhook(t, "nobody", "secret=x", `{}`); code != http.StatusUnauthorized {
		t.Fatalf("webhook for an unknown integration: %d", code)
	}
	eventually(t, "the reply and webhooks counted", func() bool {
		f := scrape(t, url)
		return value(f, "reviewhub_replies_total", map[string]string{"integration": "acme", "store": "teststore", "outcome": sdk.OutcomePublished}) == 1 &&
			value(f, "reviewhub_webhook_requests_total", map[string]string{"plugin": "testdesk", "result": "accepted"}) == 1 &&
			value(f, "reviewhub_webhook_requests_total", map[string]string{"plugin": "", "result": "refused"}) == 1
	})
	// The reviews by rating, r1 answered (the console's Charts, as gauges).
	eventually(t, "reviews by rating, one answered", func() bool {
		f := scrape(t, url)
		one := map[string]string{"integration": "acme", "app": "ios", "rating": "1"}
		return value(f, "reviewhub_reviews_by_rating", one) == 1 && value(f, "reviewhub_reviews_answered_by_rating", one) == 1 &&
			value(f, "reviewhub_reviews_by_rating", map[string]string{"app": "ios", "rating": "2"}) == 1 &&
			value(f, "reviewhub_reviews_answered_by_rating", map[string]string{"app": "ios", "rating": "2"}) == 0 &&
			value(f, "reviewhub_reviews_stars", map[string]string{"app": "ios"}) >= 3
	})
	// The store asks to wait once.
	e.backend.RateLimit("app1", time.Second)
	eventually(t, "a rate-limit wait counted", func() bool {
		return value(scrape(t, url), "reviewhub_rate_limit_waits_total", map[string]string{"integration": "acme", "where": "poll"}) >= 1
	})
	e.backend.RateLimit("app1", 0)
	fams = scrape(t, url)
	if n := value(fams, "reviewhub_quota_used", map[string]string{"app": "ios", "quota": "test key"}); n < 1 {
		t.Errorf("quota_used %v, want the polls' requests", n)
	}
	if n := value(fams, "reviewhub_quota_limit", map[string]string{"app": "ios", "quota": "test key"}); n != 1000 {
		t.Errorf("quota_limit %v, want 1000", n)
	}
	// Every metric the docs and the dashboard use exists (alerts_total is
	// checked by TestRevokedCredentialsAlertOnceAndRecover).
	for _, doc := range []string{"../../docs/operations.md", "../../docs/grafana/reviewhub.json"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(raw), -1) {
			name = strings.TrimSuffix(name, "_bucket")
			if strings.HasSuffix(name, "_") || name == "reviewhub_alerts_total" {
				continue // a prefix in prose ("reviewhub_schedule_apps, _due")
			}
			if _, ok := fams[name]; !ok {
				t.Errorf("%s names %s, which /metrics does not serve", doc, name)
			}
		}
	}
	// Prometheus's own lint finds nothing (a gauge with quantiles, a
	// counter without _total…).
	t.Run("promtool check metrics", func(t *testing.T) { checkMetricsWithPromtool(t, url) })
	if n := value(fams, "reviewhub_schedule_lag_seconds", nil); n < okPolls {
		t.Errorf("schedule_lag_seconds counts %v polls, want at least the %v ok ones", n, okPolls)
	}
	// No label carries a review id or free text.
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, "r1") && v != "r1" || v == "r1" || strings.Contains(v, "Fixed") || v == "nobody" {
					t.Errorf("%s has label %s=%q: review ids, texts and unknown paths must not be labels", name, l.GetName(), v)
				}
			}
		}
	}
}

var metricName = regexp.MustCompile(`reviewhub_[a-z0-9_]+`)

func findSample(fams map[string]*dto.MetricFamily, name, label, want string) (*dto.Metric, bool) {
	f, ok := fams[name]
	if !ok {
		return nil, false
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == want {
				return m, true
			}
		}
	}
	return nil, false
}

// alertSink is a Slack-compatible incoming webhook.
type alertSink struct {
	mu   sync.Mutex
	got  []health.WebhookPayload
	fail int // answer 500 this many times first
}

func (s *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var p health.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Text == "" {
		http.Error(w, "invalid_payload", http.StatusBadRequest) // Slack's answer to a body without text
		return
	}
	s.got = append(s.got, p)
	_, _ = w.Write([]byte("ok"))
}

func (s *alertSink) payloads() []health.WebhookPayload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]health.WebhookPayload(nil), s.got...)
}

// TestRevokedCredentialsAlertOnceAndRecover: an app's store key is revoked
// (the store answers 401): its health turns to "credentials", one alert
// goes out through the helpdesk plugin and one to the webhook, none more
// while it stays so; after the fix it is ok again with one recovery alert
// on each channel. `hub status`'s table shows the state.
func TestRevokedCredentialsAlertOnceAndRecover(t *testing.T) {
	sink := &alertSink{fail: 1} // the first webhook attempt fails: the alert is retried, not lost
	hook := httptest.NewServer(sink)
	t.Cleanup(hook.Close)
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.AdminToken = adminToken
	e.cfg.Health.CheckEvery = 50 * time.Millisecond
	zero := time.Duration(0)
	e.cfg.Integrations[0].Alerts = &config.Alerts{Helpdesk: true, WebhookURL: hook.URL + "/services/T0/B0/secret", Cooldown: &zero}
	e.startHub(t)

	healthOf := func() statusview.Row {
		rows, err := statusview.Fetch(context.Background(), http.DefaultClient, "http://"+e.hub.Addr(), adminToken, "acme")
		if err != nil || len(rows) != 1 {
			t.Fatalf("status: %v %v", rows, err)
		}
		return rows[0]
	}
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "crashes"})
	eventually(t, "the ticket", func() bool { return len(e.backend.Tickets()) == 1 })
	eventually(t, "health ok", func() bool { return healthOf().Health == sdk.HealthOK })

	e.backend.Revoke("app1", true)
	eventually(t, "health credentials", func() bool { return healthOf().Health == sdk.HealthCredentials })
	row := healthOf()
	if !strings.Contains(row.Reason, "unauthenticated") || row.Since.IsZero() {
		t.Errorf("credentials row %+v: want the kind in the reason and a since", row)
	}
	eventually(t, "one alert on each channel", func() bool { return len(e.backend.Alerts()) == 1 && len(sink.payloads()) == 1 })
	// It stays revoked for several more polls and checks: no more alerts.
	calls := e.backend.ListCalls("app1")
	eventually(t, "three more polls", func() bool { return e.backend.ListCalls("app1") >= calls+3 })
	if n, m := len(e.backend.Alerts()), len(sink.payloads()); n != 1 || m != 1 {
		t.Fatalf("alerts while it stays revoked: helpdesk %d, webhook %d; want 1 each", n, m)
	}
	a := e.backend.Alerts()[0]
	if a.Health != sdk.HealthCredentials || a.Recovered || !strings.Contains(a.Title, "not arriving") {
		t.Errorf("helpdesk alert %+v", a)
	}
	p := sink.payloads()[0]
	if p.Alert.Health != sdk.HealthCredentials || p.Alert.App != "ios" || p.Alert.Integration != "acme" || !strings.Contains(p.Text, "credentials") {
		t.Errorf("webhook alert %+v", p)
	}
	var table bytes.Buffer
	statusview.Render(&table, []statusview.Row{healthOf()}, time.Now())
	if !strings.Contains(table.String(), "credentials") || !strings.Contains(table.String(), "HEALTH") {
		t.Errorf("hub status table:\n%s", table.String())
	}
	// The command itself, against this hub.
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	cmd := exec.Command(hubBin, "status", "acme", "--hub", "http://"+e.hub.Addr())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HUB_ADMIN_TOKEN="+adminToken, "HUB_CONFIG=", "HUB_DATA_DIR="+cmd.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "credentials") || !strings.Contains(string(out), "unauthenticated") {
		t.Errorf("hub status: %v\n%s", err, out)
	}
	t.Logf("hub status:\n%s", out)

	e.backend.Revoke("app1", false)
	eventually(t, "health ok again", func() bool { return healthOf().Health == sdk.HealthOK })
	eventually(t, "one recovery on each channel", func() bool { return len(e.backend.Alerts()) == 2 && len(sink.payloads()) == 2 })
	calls = e.backend.ListCalls("app1")
	eventually(t, "three more polls", func() bool { return e.backend.ListCalls("app1") >= calls+3 })
	if n, m := len(e.backend.Alerts()), len(sink.payloads()); n != 2 || m != 2 {
		t.Fatalf("alerts after recovery: helpdesk %d, webhook %d; want 2 each", n, m)
	}
	if a := e.backend.Alerts()[1]; !a.Recovered || a.Health != sdk.HealthOK {
		t.Errorf("recovery alert %+v", a)
	}
	if p := sink.payloads()[1]; !p.Alert.Recovered || p.Alert.Previous != sdk.HealthCredentials {
		t.Errorf("recovery webhook %+v", p)
	}
	fams := scrape(t, e.hub.MetricsURL())
	for _, ch := range []string{"helpdesk", "webhook"} {
		for _, kind := range []string{"alert", "recovery"} {
			if n := value(fams, "reviewhub_alerts_total", map[string]string{"integration": "acme", "kind": kind, "channel": ch, "outcome": "sent"}); n != 1 {
				t.Errorf("alerts_total{kind=%s,channel=%s,outcome=sent} = %v, want 1", kind, ch, n)
			}
		}
	}
	if n := value(fams, "reviewhub_alerts_total", map[string]string{"channel": "webhook", "outcome": "failed"}); n != 1 {
		t.Errorf("failed webhook attempts %v, want 1", n)
	}
}

// jsonLines are the JSON log lines written to b.
func jsonLines(b *syncbuf.Buffer) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestOneReviewsTripCanBeFollowedInTheLogs: the poll's request id is on
// the line that queues the review (with its integration, app and review
// ids), on the delivery (as its correlation id), on the hub's line for
// the plugin call, on the plugin's own line for that call and on its line
// for the vendor request it made.
func TestOneReviewsTripCanBeFollowedInTheLogs(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := &env{backend: testbackend.New(), logw: logs}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.startHub(t)
	e.backend.PutReview(testbackend.Review{ID: "trip-1", App: "app1", Author: "Ann", Rating: 2, Text: "where is my data"})
	find := func(match func(m map[string]any) bool) map[string]any {
		for _, m := range jsonLines(logs) {
			if match(m) {
				return m
			}
		}
		return nil
	}
	var queued map[string]any
	eventually(t, "the review queued", func() bool {
		queued = find(func(m map[string]any) bool { return m["msg"] == "review queued" && m["review"] == "trip-1" })
		return queued != nil
	})
	id, _ := queued["request_id"].(string)
	if !strings.HasPrefix(id, "poll-") || queued["integration"] != "acme" || queued["app"] != "ios" {
		t.Fatalf("queued line %v", queued)
	}
	eventually(t, "the delivery, the plugin call and the plugin's line with the same id", func() bool {
		delivered := find(func(m map[string]any) bool {
			return m["msg"] == "review delivered" && m["review"] == "trip-1" && m["correlation_id"] == id && m["app"] == "ios"
		})
		call := find(func(m map[string]any) bool {
			return m["msg"] == "plugin call" && m["op"] == "UpsertTicket" && m["request_id"] == id && m["result"] == "ok"
		})
		list := find(func(m map[string]any) bool {
			return m["msg"] == "plugin call" && m["op"] == "ListReviews" && m["request_id"] == id
		})
		inPlugin := find(func(m map[string]any) bool {
			return m["msg"] == "call" && m["request_id"] == id && strings.HasSuffix(fmt.Sprint(m["method"]), "/UpsertTicket")
		})
		vendor := find(func(m map[string]any) bool {
			return m["msg"] == "vendor request" && m["request_id"] == id && m["method"] == "POST" && m["path"] == "/tickets"
		})
		return delivered != nil && call != nil && list != nil && inPlugin != nil && vendor != nil
	})
}

// A helpdesk plugin without PostAlert (here: the hub command's settings-only
// test helpdesk) answers Unsupported through the SDK, which the hub takes
// as "webhook only".
func TestHelpdeskWithoutPostAlertAnswersUnsupported(t *testing.T) {
	bin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub/internal/testdesk")
	hd := sdktest.LaunchHelpdesk(t, bin)
	alerter, ok := hd.(sdk.AlertPoster)
	if !ok {
		t.Fatal("the SDK's helpdesk client has no PostAlert")
	}
	_, err := alerter.PostAlert(sdktest.Context(t), sdk.PostAlertRequest{IntegrationID: "acme", Alert: sdk.Alert{Key: "k"}})
	if sdk.KindOf(err) != sdk.ErrorKindUnsupported {
		t.Fatalf("PostAlert on a plugin without it: %v (kind %s), want unsupported", err, sdk.KindOf(err))
	}
}

// Alert settings through the admin API: validated, the webhook URL
// write-only (kept when omitted, removed with ""), read-only for an
// integration declared in the config file.
func TestAlertSettingsThroughTheAdminAPI(t *testing.T) {
	e := startWithAdmin(t)
	code, _, body := e.api(t, "POST", "/api/integrations", adminToken, `{"id":"api1","name":"From the API"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, got, body := e.api(t, "GET", "/api/integrations/api1/alerts", adminToken, ""); code != 200 || got["helpdesk"] != false || got["webhook_set"] != false {
		t.Fatalf("no alerts yet: %d %s", code, body)
	}
	code, got, body := e.api(t, "PUT", "/api/integrations/api1/alerts", adminToken, `{"helpdesk":true,"webhook_url":"ftp://x","cooldown":"soon"}`)
	fields := map[string]any{} // the problem document's fields: [{"field": …, "reason": …}]
	list, _ := got["fields"].([]any)
	for _, f := range list {
		if f, ok := f.(map[string]any); ok {
			fields[fmt.Sprint(f["field"])] = f["reason"]
		}
	}
	if code != http.StatusUnprocessableEntity || fields["webhook_url"] == nil || fields["cooldown"] == nil {
		t.Fatalf("invalid settings: %d %s", code, body)
	}
	code, _, body = e.api(t, "PUT", "/api/integrations/api1/alerts", adminToken, `{"helpdesk":true,"webhook_url":"https://hooks.example/services/T/B/s3cr3tpart","cooldown":"30m"}`)
	if code != 200 || strings.Contains(body, "s3cr3tpart") || !strings.Contains(body, `"webhook_set":true`) || !strings.Contains(body, `"cooldown":"30m0s"`) {
		t.Fatalf("put: %d %s", code, body)
	}
	code, _, body = e.api(t, "PUT", "/api/integrations/api1/alerts", adminToken, `{"helpdesk":false}`)
	if code != 200 || !strings.Contains(body, `"webhook_set":true`) || !strings.Contains(body, `"cooldown":"1h0m0s"`) {
		t.Fatalf("a PUT without webhook_url keeps it (and the default cooldown): %d %s", code, body)
	}
	if c, err := e.hub.DB.Alerts(context.Background(), "api1"); err != nil || c.WebhookURL != "https://hooks.example/services/T/B/s3cr3tpart" {
		t.Fatalf("stored %+v %v", c, err)
	}
	code, _, body = e.api(t, "PUT", "/api/integrations/api1/alerts", adminToken, `{"webhook_url":""}`)
	if code != 200 || !strings.Contains(body, `"webhook_set":false`) {
		t.Fatalf("removing the URL: %d %s", code, body)
	}
	if code, _, _ := e.api(t, "PUT", "/api/integrations/acme/alerts", adminToken, `{"helpdesk":true}`); code != http.StatusConflict {
		t.Fatalf("an integration of the config file: %d, want 409", code)
	}
	if code, _, _ := e.api(t, "GET", "/api/integrations/api1/alerts", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
}

// The gauges read from the state work on PostgreSQL too (the bus backlog
// reads watermill-sql's PostgreSQL tables).
func TestMetricsOnPostgres(t *testing.T) {
	e := startPostgres(t)
	e.backend.PutReview(testbackend.Review{ID: "p1", App: "app1", Author: "Ann", Rating: 1, Text: "crashes"})
	eventually(t, "the ticket", func() bool { return len(e.backend.Tickets()) == 1 })
	eventually(t, "the gauges", func() bool {
		f := scrape(t, e.hub.MetricsURL())
		_, depth := findSample(f, "reviewhub_bus_queue_depth", "topic", "reviews")
		_, dead := f["reviewhub_dead_letters"]
		_, apps := f["reviewhub_schedule_apps"]
		_, refused := f["reviewhub_bus_acks_refused_total"] // exported, 0 while no read skipped a message
		return depth && dead && apps && refused && value(f, "reviewhub_app_health", map[string]string{"app": "ios", "health": sdk.HealthOK}) == 1 &&
			value(f, "reviewhub_bus_queue_depth", map[string]string{"topic": "reviews"}) == 0 &&
			value(f, "reviewhub_bus_acks_refused_total", nil) == 0
	})
}
