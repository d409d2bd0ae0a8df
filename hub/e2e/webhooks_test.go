package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
)

// receivedEvent is one signed delivery the test receiver took.
type receivedEvent struct {
	ID   string
	Type string
	Body []byte
	Data map[string]any
}

// eventReceiver is a webhook receiver as a customer would write one: it
// verifies every request with the Standard Webhooks specification's own
// Go library (an implementation independent of the hub's), answers 503
// while down, and keeps what it verified.
type eventReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	verify  *standardwebhooks.Webhook
	got     []receivedEvent
	bad     []string
	down    atomic.Bool
	refused atomic.Int64
}

func newEventReceiver(t *testing.T) *eventReceiver {
	r := &eventReceiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *eventReceiver) setSecret(secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Fatalf("the spec's library refuses the secret: %v", err)
	}
	r.mu.Lock()
	r.verify = wh
	r.mu.Unlock()
}

func (r *eventReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.down.Load() {
		r.refused.Add(1)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verify == nil || r.verify.Verify(body, req.Header) != nil {
		r.bad = append(r.bad, req.Header.Get("webhook-id"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		r.bad = append(r.bad, "unreadable "+req.Header.Get("webhook-id"))
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	r.got = append(r.got, receivedEvent{ID: req.Header.Get("webhook-id"), Type: env.Type, Body: body, Data: env.Data})
	_, _ = io.WriteString(w, "thanks")
}

// events returns what was received of type typ (all when "").
func (r *eventReceiver) events(typ string) []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Errorf("requests that did not verify: %v", r.bad)
		r.bad = nil
	}
	var out []receivedEvent
	for _, e := range r.got {
		if typ == "" || e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// webhookEnv starts a hub with the admin API, a fast dispatcher (a look
// every 20 ms, retries after 50 ms each) and disableAfter (0: the
// default), and makes an endpoint for rcv's URL taking types.
func webhookEnv(t *testing.T, rcv *eventReceiver, disableAfter time.Duration, edit func(*config.Config), types ...string) (*env, string) {
	t.Helper()
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.AdminToken = adminToken
	if edit != nil {
		edit(e.cfg)
		if err := e.cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	e.tune = func(o *app.Options) { fastWebhooks(o, disableAfter) }
	e.startHub(t)
	ev, _ := json.Marshal(types)
	code, _, raw := e.api(t, "POST", "/api/webhooks", adminToken, fmt.Sprintf(`{"id":"crm","url":%q,"events":%s}`, rcv.srv.URL+"/hooks/reviewhub", ev))
	if code != 201 {
		t.Fatalf("create endpoint: %d %s", code, raw)
	}
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(raw), &created); err != nil || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("the endpoint's secret: %v %s", err, raw)
	}
	rcv.setSecret(created.Secret)
	// Shown once: never in a later answer.
	if _, _, raw := e.api(t, "GET", "/api/webhooks/crm", adminToken, ""); strings.Contains(raw, created.Secret) || strings.Contains(raw, "whsec_") {
		t.Errorf("the endpoint's answer shows its secret: %s", raw)
	}
	return e, created.Secret
}

// fastWebhooks makes the dispatcher look every 20 ms and retry after
// 50 ms, 8 times.
func fastWebhooks(o *app.Options, disableAfter time.Duration) {
	o.WebhookEvery = 20 * time.Millisecond
	o.WebhookSchedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond,
		50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	o.WebhookDisableAfter = disableAfter
}

// deliveries is the endpoint's delivery log from the API.
func (e *env) deliveries(t *testing.T, endpoint string) []state.WebhookDelivery {
	t.Helper()
	code, _, raw := e.api(t, "GET", "/api/webhooks/"+endpoint+"/deliveries", adminToken, "")
	if code != 200 {
		t.Fatalf("delivery log: %d %s", code, raw)
	}
	var out []state.WebhookDelivery
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func eventSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, typ := range events.Types {
		path, _ := filepath.Abs(filepath.Join("..", "..", "docs", "events", typ+".schema.json"))
		s, err := c.Compile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = s
	}
	return out
}

func checkSchema(t *testing.T, schemas map[string]*jsonschema.Schema, e receivedEvent) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas[e.Type].Validate(inst); err != nil {
		t.Errorf("%s as received does not validate: %v\n%s", e.Type, err, e.Body)
	}
}

// A review arriving produces a signed review.created (verified by the
// specification's library, valid by its schema); its edit review.updated
// and a staff answer reply.published, each once; the delivery log shows
// them delivered with the receiver's answer.
func TestOutboundWebhookReviewCreatedIsSignedAndDelivered(t *testing.T) {
	rcv := newEventReceiver(t)
	e, _ := webhookEnv(t, rcv, 0, nil)
	schemas := eventSchemas(t)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start", Language: "en"})
	eventually(t, "review.created", func() bool { return len(rcv.events(events.ReviewCreated)) == 1 })
	got := rcv.events(events.ReviewCreated)[0]
	checkSchema(t, schemas, got)
	tk, _ := ticketFor(e.backend, "r1")
	review, _ := got.Data["review"].(map[string]any)
	if got.Data["integration"] != "acme" || got.Data["app"] != "ios" || got.Data["ticket_id"] != tk.ID || review["id"] != "r1" ||
		review["text"] != "Crashes on start" || review["rating"] != 2.0 {
		t.Errorf("review.created data %v", got.Data)
	}

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 4, Text: "Fixed now", Language: "en"})
	eventually(t, "review.updated", func() bool { return len(rcv.events(events.ReviewUpdated)) == 1 })
	up := rcv.events(events.ReviewUpdated)[0]
	checkSchema(t, schemas, up)
	if up.Data["change"] != "better" || up.Data["previous_rating"] != 2.0 || up.ID == got.ID {
		t.Errorf("review.updated %s %v (created was %s)", up.ID, up.Data, got.ID)
	}

	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m1","text":"Thanks, Ann!","staff":"Sam"}`, tk.ID)
	if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("helpdesk webhook: %d %s", code, resp)
	}
	eventually(t, "reply.published", func() bool { return len(rcv.events(events.ReplyPublished)) == 1 })
	pub := rcv.events(events.ReplyPublished)[0]
	checkSchema(t, schemas, pub)
	if pub.Data["message_id"] != "m1" || pub.Data["review_id"] != "r1" || pub.Data["text"] != "Thanks, Ann!" {
		t.Errorf("reply.published data %v", pub.Data)
	}
	// A refused answer: reply.refused with the store's reason.
	long := strings.Repeat("я", 412)
	if code, _ := e.webhook(t, "acme", "secret="+secret, fmt.Sprintf(`{"ticket_id":%q,"message_id":"m2","text":%q}`, tk.ID, long)); code != 200 {
		t.Fatal("helpdesk webhook 2")
	}
	eventually(t, "reply.refused", func() bool { return len(rcv.events(events.ReplyRefused)) == 1 })
	ref := rcv.events(events.ReplyRefused)[0]
	checkSchema(t, schemas, ref)
	if d, _ := ref.Data["detail"].(string); !strings.Contains(d, "350 characters") {
		t.Errorf("reply.refused detail %q", d)
	}

	eventually(t, "the log shows four delivered", func() bool {
		n := 0
		for _, d := range e.deliveries(t, "crm") {
			if d.Status == state.DeliveryDelivered && len(d.Log) == 1 && d.Log[0].StatusCode == 200 && d.Log[0].Response == "thanks" {
				n++
			}
		}
		return n == 4
	})
	ids := map[string]bool{}
	for _, ev := range rcv.events("") {
		if ids[ev.ID] {
			t.Errorf("event %s (%s) received twice", ev.ID, ev.Type)
		}
		ids[ev.ID] = true
	}
	if len(ids) != 4 {
		t.Errorf("%d events received, want 4: %v", len(ids), rcv.events(""))
	}
	metrics := scrape(t, e.hub.MetricsURL())
	if v := value(metrics, "reviewhub_outbound_webhook_attempts_total", map[string]string{"endpoint": "crm", "outcome": "delivered"}); v != 4 {
		t.Errorf("delivered attempts metric %v, want 4", v)
	}
}

// The receiver down for a while gets the event later: attempts fail with
// its answer in the log and a next try, then one succeeds; the receiver
// sees the event once.
func TestOutboundWebhookReceiverDownGetsItLater(t *testing.T) {
	rcv := newEventReceiver(t)
	rcv.down.Store(true)
	e, _ := webhookEnv(t, rcv, 0, nil, events.ReviewCreated)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "Broken", Language: "en"})
	eventually(t, "failed attempts in the log", func() bool {
		ds := e.deliveries(t, "crm")
		return len(ds) == 1 && ds[0].Status == state.DeliveryPending && len(ds[0].Log) >= 2 && ds[0].Log[0].StatusCode == 503 &&
			strings.Contains(ds[0].Log[0].Response, "maintenance") && !ds[0].NextAt.IsZero() && ds[0].LastError != ""
	})
	if code, out, raw := e.api(t, "GET", "/api/webhooks/crm", adminToken, ""); code != 200 || out["failing_since"] == nil {
		t.Errorf("the endpoint does not say it fails: %d %s", code, raw)
	}
	rcv.down.Store(false)
	eventually(t, "review.created after all", func() bool { return len(rcv.events(events.ReviewCreated)) == 1 })
	eventually(t, "delivered in the log", func() bool {
		ds := e.deliveries(t, "crm")
		return len(ds) == 1 && ds[0].Status == state.DeliveryDelivered && ds[0].Attempts == len(ds[0].Log)
	})
	if code, out, raw := e.api(t, "GET", "/api/webhooks/crm", adminToken, ""); code != 200 || out["failing_since"] != nil {
		t.Errorf("the endpoint still says it fails: %d %s", code, raw)
	}
	if n := len(rcv.events("")); n != 1 {
		t.Errorf("%d events received, want 1 (review.updated and reply.* are not this endpoint's)", n)
	}
}

// A replay resends one delivery with the same webhook-id (receivers
// dedupe by it); a replay of an unknown delivery is 404.
func TestOutboundWebhookReplayResends(t *testing.T) {
	rcv := newEventReceiver(t)
	e, _ := webhookEnv(t, rcv, 0, nil, events.ReviewCreated)
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 5, Text: "Great", Language: "en"})
	eventually(t, "review.created", func() bool { return len(rcv.events(events.ReviewCreated)) == 1 })
	first := rcv.events(events.ReviewCreated)[0]

	code, _, raw := e.api(t, "POST", "/api/webhooks/crm/deliveries/"+first.ID+"/replay", adminToken, "")
	if code != 202 {
		t.Fatalf("replay: %d %s", code, raw)
	}
	eventually(t, "the replay", func() bool { return len(rcv.events(events.ReviewCreated)) == 2 })
	again := rcv.events(events.ReviewCreated)[1]
	if again.ID != first.ID || !bytes.Equal(again.Body, first.Body) {
		t.Errorf("replayed %s %s, want the same id and body as %s %s", again.ID, again.Body, first.ID, first.Body)
	}
	eventually(t, "two attempts in the log", func() bool {
		ds := e.deliveries(t, "crm")
		return len(ds) == 1 && ds[0].Status == state.DeliveryDelivered && len(ds[0].Log) == 2
	})
	if code, _, _ := e.api(t, "POST", "/api/webhooks/crm/deliveries/evt_nope/replay", adminToken, ""); code != 404 {
		t.Errorf("replay of an unknown delivery: %d, want 404", code)
	}
}

// An endpoint failing for longer than disable_after is disabled, with a
// notice through the integration's alert webhook and a clear state in the
// API; its events wait; enabling it resets it and they are delivered.
func TestOutboundWebhookEndpointDisabledAfterFailing(t *testing.T) {
	alerts := make(chan string, 100)
	alertSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		alerts <- string(b)
	}))
	t.Cleanup(alertSrv.Close)
	rcv := newEventReceiver(t)
	rcv.down.Store(true)
	e, _ := webhookEnv(t, rcv, 300*time.Millisecond, func(c *config.Config) {
		zero := time.Duration(0)
		c.Integrations[0].Alerts = &config.Alerts{WebhookURL: alertSrv.URL, Cooldown: &zero}
	}, events.ReviewCreated)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "Broken", Language: "en"})
	var ep map[string]any
	eventually(t, "the endpoint disabled", func() bool {
		_, ep, _ = e.api(t, "GET", "/api/webhooks/crm", adminToken, "")
		return ep["disabled_at"] != nil
	})
	if r, _ := ep["disabled_reason"].(string); !strings.Contains(r, "failed for") {
		t.Errorf("disabled reason %q", r)
	}
	var notice string
	eventually(t, "the notice", func() bool {
		select {
		case a := <-alerts:
			if strings.Contains(a, "outbound webhook crm disabled") {
				notice = a
				return true
			}
		default:
		}
		return false
	})
	if strings.Contains(notice, "whsec_") || !strings.Contains(notice, "enable") {
		t.Errorf("notice %s", notice)
	}
	// Disabled: the events wait, untried.
	tried := e.deliveries(t, "crm")[0].Attempts
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Bob", Rating: 1, Text: "Still broken", Language: "en"})
	eventually(t, "r2's delivery queued", func() bool { return len(e.deliveries(t, "crm")) == 2 })
	for _, d := range e.deliveries(t, "crm") {
		if d.Status != state.DeliveryPending {
			t.Errorf("delivery %s is %s while the endpoint is disabled, want pending", d.EventID, d.Status)
		}
	}

	rcv.down.Store(false)
	code, out, raw := e.api(t, "POST", "/api/webhooks/crm/enable", adminToken, "")
	if code != 200 || out["disabled_at"] != nil || out["failing_since"] != nil {
		t.Fatalf("enable: %d %s", code, raw)
	}
	eventually(t, "both waiting events delivered", func() bool { return len(rcv.events(events.ReviewCreated)) == 2 })
	eventually(t, "both delivered in the log", func() bool {
		ds := e.deliveries(t, "crm")
		return len(ds) == 2 && ds[0].Status == state.DeliveryDelivered && ds[1].Status == state.DeliveryDelivered
	})
	// No attempt while disabled: r1 made one more (the one that worked),
	// r2, queued while disabled, one only.
	reviewOf := map[string]any{}
	for _, ev := range rcv.events(events.ReviewCreated) {
		reviewOf[ev.ID] = ev.Data["review"].(map[string]any)["id"]
	}
	for _, d := range e.deliveries(t, "crm") {
		want := 1
		if reviewOf[d.EventID] == "r1" {
			want = tried + 1
		}
		if d.Attempts != want {
			t.Errorf("delivery %s: %d attempts, want %d", d.EventID, d.Attempts, want)
		}
	}
	metrics := scrape(t, e.hub.MetricsURL())
	if v := value(metrics, "reviewhub_outbound_webhook_attempts_total", map[string]string{"endpoint": "crm", "outcome": "disabled"}); v != 1 {
		t.Errorf("disabled metric %v, want 1", v)
	}
}

// Two hubs on one PostgreSQL database share the queue: every event is
// delivered, each once (a claim per delivery), though both dispatchers
// look at the same rows.
func TestOutboundWebhookOnceWithTwoHubsOnPostgres(t *testing.T) {
	rcv := newEventReceiver(t)
	dsn := pgtest.DSN(t)
	e, _ := webhookEnv(t, rcv, 0, func(c *config.Config) {
		c.State.Driver, c.State.DSN, c.Bus.Backend = "postgres", dsn, "postgres"
	}, events.ReviewCreated)
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions()
	opts.Host.Env = []string{"TESTSTORE_PUBLIC_URL=" + e.srv.URL}
	fastWebhooks(&opts, 0)
	second, err := app.New(ctx, e.cfg, log.With("hub", "second"), opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the app connected", func() bool {
		c, err := e.hub.DB.Cursor(context.Background(), "acme", "ios")
		return err == nil && c.Connected
	})
	const n = 20
	for i := range n {
		e.backend.PutReview(testbackend.Review{ID: fmt.Sprintf("r%02d", i), App: "app1", Rating: 1 + i%5, Text: fmt.Sprintf("review %d", i)})
	}
	eventually(t, fmt.Sprintf("%d events", n), func() bool { return len(rcv.events(events.ReviewCreated)) >= n })
	eventually(t, "every delivery recorded", func() bool {
		ds := e.deliveries(t, "crm")
		for _, d := range ds {
			if d.Status != state.DeliveryDelivered {
				return false
			}
		}
		return len(ds) == n
	})
	got := rcv.events(events.ReviewCreated)
	seen := map[string]int{}
	for _, ev := range got {
		seen[ev.Data["review"].(map[string]any)["id"].(string)]++
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("%d deliveries of %d reviews' events, want %d of %d: %v", len(got), len(seen), n, n, seen)
	}
	for _, d := range e.deliveries(t, "crm") {
		if d.Attempts != 1 {
			t.Errorf("delivery %s: %d attempts, want 1", d.EventID, d.Attempts)
		}
	}
}

// An endpoint of the configuration file: its secret signs, the API shows
// it as the file's and refuses to change it; an answer's outcome without
// a type filter arrives too.
func TestOutboundWebhookFromTheConfigFile(t *testing.T) {
	rcv := newEventReceiver(t)
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rcv.setSecret(whsec)
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.AdminToken = adminToken
	e.cfg.Webhooks.Endpoints = []config.WebhookEndpoint{{ID: "ops", URL: rcv.srv.URL, Secret: whsec, Integration: "acme"}}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.tune = func(o *app.Options) { fastWebhooks(o, 0) }
	e.startHub(t)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 3, Text: "Okay", Language: "en"})
	eventually(t, "review.created", func() bool { return len(rcv.events(events.ReviewCreated)) == 1 })
	code, out, raw := e.api(t, "GET", "/api/webhooks/ops", adminToken, "")
	if code != 200 || out["source"] != "config" || strings.Contains(raw, "whsec_") {
		t.Errorf("the file's endpoint: %d %s", code, raw)
	}
	if code, _, raw := e.api(t, "PUT", "/api/webhooks/ops", adminToken, fmt.Sprintf(`{"url":%q}`, rcv.srv.URL+"/other")); code != 409 {
		t.Errorf("changing the file's endpoint: %d %s, want 409", code, raw)
	}
	if code, _, raw := e.api(t, "POST", "/api/webhooks", adminToken, `{"id":"x","url":"ftp://example.com/","events":["review.deleted"]}`); code != 422 ||
		!strings.Contains(raw, "url") || !strings.Contains(raw, "review.deleted") {
		t.Errorf("a wrong endpoint: %d %s, want 422 naming url and events", code, raw)
	}
}

// A wrong endpoint in the file is refused with the field named.
func TestOutboundWebhookConfigErrorsNameTheField(t *testing.T) {
	cfg := newConfig(t, "http://127.0.0.1:1")
	cfg.Webhooks.Endpoints = []config.WebhookEndpoint{{ID: "Bad ID", URL: "ftp://x", Secret: "plain", Events: []string{"review.gone"}, Integration: "nope"}}
	err := cfg.Validate()
	for _, want := range []string{"webhooks.endpoints[0].id", "webhooks.endpoints[0].url", "webhooks.endpoints[0].secret",
		"webhooks.endpoints[0].events[0]", "webhooks.endpoints[0].integration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "plain") {
		t.Errorf("the error shows the secret: %v", err)
	}
}
