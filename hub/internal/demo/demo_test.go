package demo

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// The whole product through the real hub binary and all five real plugin
// processes against the project's fakes: reviews from the App Store (API and
// public feed), Google Play, RuStore and Huawei AppGallery become Omnidesk cases, an edit lands
// in the same case, answers are published in each store, an over-long
// Google Play answer and an answer without a store account are refused with
// their reasons written into the cases.
func TestDemoEndToEndAllPlugins(t *testing.T) {
	d, ctx := startDemo(t, Omnidesk)
	steps := Script()
	for _, st := range append(steps[:6:6], gallerySteps(t, steps)[0]) { // reviews in every store
		if err := d.Play(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	od := d.Fakes.Omnidesk
	caseOf := func(store, id string) (odfake.Case, bool) {
		for _, c := range od.Cases() {
			if c.UserCustomID == store+":"+id || (store == "rustore" && strings.HasPrefix(c.UserCustomID, "rustore:")) {
				return c, true
			}
		}
		return odfake.Case{}, false
	}
	for _, w := range [][2]string{{"appstore", "as-1001"}, {"googleplay", "gp-2001"}, {"rustore", ""}, {"appstore", "asp-4001"}, {"googleplay", "gp-2002"}, {"googleplay", "gp-2003"}, {"appgallery", "ag-5001"}} {
		eventually(t, "a case for "+w[0]+" "+w[1], func() bool { _, ok := caseOf(w[0], w[1]); return ok })
	}
	jp, _ := caseOf("googleplay", "gp-2001")
	if !strings.Contains(jp.Messages[0].Content, "アプリが起動しません") || !strings.Contains(strings.Join(jp.Labels, ","), "language:ja") {
		t.Errorf("Japanese case: %q labels %v", jp.Messages[0].Content, jp.Labels)
	}
	// Kenji edits his review: same case, rating 1 → 4.
	if err := d.Play(ctx, steps[6]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edit in the same case", func() bool { c, _ := caseOf("googleplay", "gp-2001"); return len(c.Messages) == 2 })
	if c, _ := caseOf("googleplay", "gp-2001"); !strings.Contains(c.Messages[1].Content, "rating 1 → 4") {
		t.Errorf("edit: %q", c.Messages[1].Content)
	}
	answer := func(store, id, text string) odfake.Case {
		t.Helper()
		c, _ := caseOf(store, id)
		if _, err := od.Answer(ctx, c.ID, text); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the outcome note in "+c.ID, func() bool { c, _ = caseOf(store, id); return len(c.Notes) > 0 })
		return c
	}
	c := answer("googleplay", "gp-2001", "ありがとうございます！")
	if txt, _ := d.StoreAnswer("gp-2001"); txt != "ありがとうございます！" || !strings.Contains(c.Notes[0].Content, "published") {
		t.Errorf("Google Play answer: store %q, note %q", txt, c.Notes[0].Content)
	}
	c = answer("googleplay", "gp-2003", strings.Repeat("Thank you for the detailed feedback! ", 11))
	if !strings.Contains(c.Notes[0].Content, "Google Play replies are limited to 350 characters, this one has 407") {
		t.Errorf("over-long answer note %q", c.Notes[0].Content)
	}
	c = answer("appstore", "asp-4001", "Thank you, Mia!")
	if !strings.Contains(c.Notes[0].Content, "connect the store account to reply") {
		t.Errorf("public-feed answer note %q", c.Notes[0].Content)
	}
	c = answer("appstore", "as-1001", "We fixed the crash in 3.3.")
	if txt, _ := d.StoreAnswer("as-1001"); txt != "We fixed the crash in 3.3." {
		t.Errorf("App Store answer %q, note %q", txt, c.Notes[0].Content)
	}
	c = answer("rustore", "", "Спасибо! Тёмная тема будет в 3.3.")
	if txt, _ := d.StoreAnswer("rs-3001"); txt != "Спасибо! Тёмная тема будет в 3.3." {
		t.Errorf("RuStore answer %q, note %q", txt, c.Notes[0].Content)
	}
	ag := gallerySteps(t, steps)[1]
	c = answer("appgallery", "ag-5001", ag.Answer)
	if txt, _ := d.StoreAnswer("ag-5001"); txt != ag.Answer || !strings.Contains(c.Notes[0].Content, "published") {
		t.Errorf("AppGallery answer %q, note %q", txt, c.Notes[0].Content)
	}

	// The banner says where /metrics is, and the run moved its counters.
	metricsURL := "http://" + d.Config.Listen + "/metrics"
	if out := d.out.(*syncWriter).String(); !strings.Contains(out, metricsURL) {
		t.Errorf("the banner does not say where /metrics is:\n%s", out)
	}
	eventually(t, "the run's counters on /metrics", func() bool {
		f := scrapeMetrics(t, metricsURL)
		for _, store := range []string{"appstore", "googleplay", "rustore", "appgallery"} {
			if sum(f, "reviewhub_reviews_queued_total", "store", store) < 1 {
				return false
			}
		}
		return sum(f, "reviewhub_deliveries_total", "outcome", "created") >= 7 &&
			sum(f, "reviewhub_replies_total", "outcome", sdk.OutcomePublished) == 4 &&
			sum(f, "reviewhub_replies_total", "outcome", sdk.OutcomeRefused) == 2 &&
			sum(f, "reviewhub_webhook_requests_total", "result", "accepted") == 6 &&
			sum(f, "reviewhub_app_health", "health", sdk.HealthOK) == 5
	})
}

// gallerySteps are the script's AppGallery review and its answer.
func gallerySteps(t *testing.T, steps []Step) [2]Step {
	t.Helper()
	var out [2]Step
	for _, st := range steps {
		switch {
		case st.App == AppGallery:
			out[0] = st
		case st.AnswerReview == "ag-5001":
			out[1] = st
		}
	}
	if out[0].Review == nil || out[1].Answer == "" {
		t.Fatal("the script has no AppGallery review and answer")
	}
	return out
}

// eventually waits for cond, polling (90 s at the most).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	f, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return f
}

// sum adds the samples of a counter or gauge whose label has the value.
func sum(f map[string]*dto.MetricFamily, name, label, value string) float64 {
	total := 0.0
	for _, m := range f[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// startDemo runs the demo (hub binary, the real plugins: the four stores'
// and the helpdesk's, their fakes) with an empty script (or as set tells)
// until the test ends, and returns it once ready.
func startDemo(t *testing.T, helpdesk string, set ...func(*Options)) (*Demo, context.Context) {
	t.Helper()
	plugins := map[string]string{}
	for _, p := range []string{"appstore", "googleplay", "rustore", "appgallery", helpdesk} {
		plugins[p] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/"+p+"/cmd/hub-plugin-"+p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Demo, 1)
	done := make(chan error, 1)
	hubLog := &syncWriter{b: &strings.Builder{}}
	o := Options{HubBin: sdktest.Build(t, hubPkg), Helpdesk: helpdesk, Plugins: plugins,
		DataDir: t.TempDir(), Script: []Step{}, PollInterval: time.Second, Out: &syncWriter{b: &strings.Builder{}}, HubLog: hubLog,
		Ready: func(d *Demo) { ready <- d }}
	for _, f := range set {
		f(&o)
	}
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", hubLog.String())
		}
	})
	select {
	case d := <-ready:
		return d, ctx
	case err := <-done:
		t.Fatalf("demo stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("demo did not start")
	}
	return nil, nil
}

const hubPkg = "github.com/reviewhub/reviewhub/hub/cmd/hub"

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
