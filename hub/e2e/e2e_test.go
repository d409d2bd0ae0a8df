// End-to-end tests: the real hub with real plugin processes (test plugins
// built from the SDK) against an in-memory backend.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const secret = "s3cret"

type env struct {
	// grace overrides the hub's UnknownTicketGrace when set before startHub.
	grace time.Duration
	// tune, when set before startHub, adjusts the hub's options.
	tune func(*app.Options)
	// logw, when set before startHub, also receives the hub's log.
	logw    io.Writer
	backend *testbackend.Backend
	srv     *httptest.Server
	cfg     *config.Config
	hub     *app.Hub
	cancel  context.CancelFunc
	done    chan error
}

func newConfig(t *testing.T, backendURL string) *config.Config {
	t.Helper()
	store := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/store")
	desk := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk")
	dir := t.TempDir()
	yes := true
	cfg := &config.Config{
		Listen: "127.0.0.1:0", DataDir: dir,
		Plugins:      config.Plugins{Dir: filepath.Join(dir, "none"), Paths: map[string]string{"teststore": store, "testdesk": desk}},
		PollInterval: time.Second,
		Integrations: []config.Integration{{
			ID: "acme", Name: "ACME", Tags: &yes,
			Helpdesk: config.HelpdeskAccount{Plugin: "testdesk", Settings: map[string]string{"url": backendURL, "secret": secret}},
			Apps: []config.App{{ID: "ios", Name: "ACME iOS", Store: "teststore", StoreAppID: "app1",
				Settings: map[string]string{"url": backendURL}, PollInterval: time.Second}},
		}},
		Log: config.Log{Level: "debug", Format: "text"},
	}
	cfg.State.Path = filepath.Join(dir, "hub.db")
	cfg.State.Driver, cfg.Bus.Backend = "sqlite", "sqlite"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testOptions() app.Options {
	return app.Options{
		Subscriber: bus.SubscriberConfig{PollInterval: 100 * time.Millisecond, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Router:     bus.RouterConfig{Retries: 1, RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		Host:       pluginhost.Options{HealthInterval: 100 * time.Millisecond, RestartMin: 50 * time.Millisecond, RestartMax: 500 * time.Millisecond},
	}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.startHub(t)
	return e
}

// startPostgres is start with state and bus in a fresh PostgreSQL schema.
func startPostgres(t *testing.T) *env {
	t.Helper()
	dsn := pgtest.DSN(t)
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.State.Driver, e.cfg.State.DSN, e.cfg.Bus.Backend = "postgres", dsn, "postgres"
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.startHub(t)
	return e
}

// helpdeskFake is a vendor's fake helpdesk API (plugins/NAME/fake) that
// knows working plugin settings for itself.
type helpdeskFake interface {
	http.Handler
	Settings(baseURL, webhookSecret string) sdk.Settings
}

// startWithHelpdesk is start with the integration's helpdesk the real
// plugin named (built from plugins/NAME) against fake, served on loopback;
// edit, when not nil, changes the configuration before the hub starts.
func startWithHelpdesk(t *testing.T, plugin string, fake helpdeskFake, edit func(*config.Config)) *env {
	t.Helper()
	e := helpdeskEnv(t, plugin, fake, edit)
	e.startHub(t)
	return e
}

// helpdeskEnv is startWithHelpdesk's environment before its hub starts.
func helpdeskEnv(t *testing.T, plugin string, fake helpdeskFake, edit func(*config.Config)) *env {
	t.Helper()
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Plugins.Paths[plugin] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/"+plugin+"/cmd/hub-plugin-"+plugin)
	e.cfg.Integrations[0].Helpdesk = config.HelpdeskAccount{Plugin: plugin, Settings: fake.Settings(api.URL, secret)}
	if edit != nil {
		edit(e.cfg)
	}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) startHub(t *testing.T) {
	t.Helper()
	var w io.Writer = testLogWriter{t}
	if e.logw != nil {
		w = io.MultiWriter(w, e.logw)
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions()
	opts.UnknownTicketGrace = e.grace
	// The test store's "public listing" (used when an app has no store account).
	opts.Host.Env = []string{"TESTSTORE_PUBLIC_URL=" + e.srv.URL}
	if e.tune != nil {
		e.tune(&opts)
	}
	h, err := app.New(ctx, e.cfg, log, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.hub, e.cancel, e.done = h, cancel, make(chan error, 1)
	go func() { e.done <- h.Run(ctx) }()
	t.Cleanup(e.stopHub)
}

func (e *env) stopHub() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.cancel = nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) webhook(t *testing.T, integration, query, body string) (int, string) {
	t.Helper()
	url := fmt.Sprintf("http://%s/hooks/testdesk/%s?%s", e.hub.Addr(), integration, query)
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ticketFor(b *testbackend.Backend, reviewID string) (testbackend.Ticket, bool) {
	for _, tk := range b.Tickets() {
		if tk.ReviewID == reviewID {
			return tk, true
		}
	}
	return testbackend.Ticket{}, false
}

func TestReviewToTicketEditAndReplyRoundTrip(t *testing.T) {
	roundTrip(t, start(t))
}

// The same round trip on the distributed backends: state and bus in PostgreSQL.
func TestRoundTripOnPostgres(t *testing.T) {
	roundTrip(t, startPostgres(t))
}

func roundTrip(t *testing.T, e *env) {
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start", Country: "RU", Language: "ru"})
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Bob", Rating: 5, Text: "Love it", Language: "en"})

	eventually(t, "two tickets", func() bool { return len(e.backend.Tickets()) == 2 })
	tk, _ := ticketFor(e.backend, "r1")
	if !strings.Contains(tk.Messages[0], "[new] 2★ Crashes on start") {
		t.Errorf("ticket message %q", tk.Messages[0])
	}
	if want := []string{"teststore", "app:ACME iOS", "rating:2", "change:new", "country:RU", "language:ru"}; fmt.Sprint(tk.Tags) != fmt.Sprint(want) {
		t.Errorf("tags %v, want %v", tk.Tags, want)
	}

	// An edit with a higher rating lands in the same ticket.
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 4, Text: "Fixed now", Language: "ru"})
	eventually(t, "the edit in the same ticket", func() bool {
		tk, _ := ticketFor(e.backend, "r1")
		return len(tk.Messages) == 2
	})
	tk, _ = ticketFor(e.backend, "r1")
	if !strings.Contains(tk.Messages[1], "[better] 4★ Fixed now (rating 2 → 4)") {
		t.Errorf("edit message %q", tk.Messages[1])
	}
	if n := len(e.backend.Tickets()); n != 2 || e.backend.TicketCreates() != 2 {
		t.Errorf("%d tickets, %d creates; want 2 and 2", n, e.backend.TicketCreates())
	}

	// Staff answer: webhook → reply in the store → outcome note in the ticket.
	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m1","text":"Thanks, Ann!","staff":"Sam"}`, tk.ID)
	if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	eventually(t, "the outcome note", func() bool {
		tk, _ := ticketFor(e.backend, "r1")
		return len(tk.Notes) == 1
	})
	posts, texts := e.backend.ReplyPosts()
	if posts["r1"] != 1 || texts["r1"] != "Thanks, Ann!" {
		t.Errorf("reply posts %v texts %v", posts, texts)
	}
	tk, _ = ticketFor(e.backend, "r1")
	if !strings.HasPrefix(tk.Notes[0], "published") {
		t.Errorf("note %q", tk.Notes[0])
	}

	// The same webhook again changes nothing.
	if code, _ := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("replayed webhook: %d", code)
	}
	// An over-long answer is refused with the store's reason, written back.
	long := strings.Repeat("я", 412)
	body2 := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m2","text":%q}`, tk.ID, long)
	if code, _ := e.webhook(t, "acme", "secret="+secret, body2); code != 200 {
		t.Fatalf("webhook 2: %d", code)
	}
	eventually(t, "the refusal note", func() bool {
		tk, _ := ticketFor(e.backend, "r1")
		return len(tk.Notes) == 2
	})
	tk, _ = ticketFor(e.backend, "r1")
	if want := "refused: test store replies are limited to 350 characters, this one has 412; shorten it and send it again"; tk.Notes[1] != want {
		t.Errorf("note %q, want %q", tk.Notes[1], want)
	}
	if posts, _ := e.backend.ReplyPosts(); posts["r1"] != 1 {
		t.Errorf("reply posted %d times, want 1 (replay and refusal post nothing)", posts["r1"])
	}
}

func TestWebhookBadInput(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		name, integration, query, body string
		want                           int
	}{
		// Unauthenticated calls all get the wrong secret's answer (no existence oracle).
		{"unknown integration", "nope", "secret=" + secret, `{}`, 401},
		{"wrong secret", "acme", "secret=wrong", `{"ticket_id":"T1","message_id":"m","text":"x"}`, 401},
		{"malformed body", "acme", "secret=" + secret, `{"ticket_id":`, 400},
		{"oversize body", "acme", "secret=" + secret, `{"text":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.webhook(t, tc.integration, tc.query, tc.body); code != tc.want {
				t.Errorf("status %d (%s), want %d", code, body, tc.want)
			}
		})
	}
	// A wrong plugin name for a known integration.
	resp, err := http.Post(fmt.Sprintf("http://%s/hooks/otherdesk/acme", e.hub.Addr()), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong plugin: %d, want 401 like a wrong secret", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + e.hub.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestPluginCrashIsRestartedAndNothingIsLost(t *testing.T) {
	e := start(t)
	e.backend.PutReview(testbackend.Review{ID: "a", App: "app1", Rating: 3, Text: "first"})
	eventually(t, "first ticket", func() bool { return len(e.backend.Tickets()) == 1 })

	p, _ := e.hub.Plugins.Plugin("testdesk")
	pid := p.Status().Pid
	if pid == 0 {
		t.Fatal("no pid for the helpdesk plugin")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.backend.PutReview(testbackend.Review{ID: fmt.Sprintf("b%d", i), App: "app1", Rating: 1, Text: "after the crash"})
	}
	eventually(t, "all six tickets after the restart", func() bool { return len(e.backend.Tickets()) == 6 })
	st := p.Status()
	if st.Pid == pid || st.Restarts < 1 || !st.Running {
		t.Errorf("plugin status after crash: %+v", st)
	}
	if e.backend.TicketCreates() != 6 {
		t.Errorf("%d ticket creates, want 6", e.backend.TicketCreates())
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	os.Exit(code)
}

func startBackendServer(t *testing.T, b *testbackend.Backend) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return srv
}

func startBackend(t *testing.T, b *testbackend.Backend) string {
	return startBackendServer(t, b).URL
}

// An answer can reach the hub before the hub has recorded its ticket (the
// hub crashed after the helpdesk created the ticket): it waits for the link
// instead of being refused, and is published once the review's redelivery
// records the ticket.
func TestAnswerBeforeTicketLinkIsPublished(t *testing.T) {
	e := start(t)
	// The test helpdesk numbers tickets T1, T2…: answer T1 before it exists.
	if code, resp := e.webhook(t, "acme", "secret="+secret, `{"ticket_id":"T1","message_id":"early","text":"Thanks for waiting"}`); code != 200 {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	e.backend.PutReview(testbackend.Review{ID: "late", App: "app1", Rating: 3, Text: "hello"})
	eventually(t, "the early answer published", func() bool {
		_, texts := e.backend.ReplyPosts()
		return texts["late"] == "Thanks for waiting"
	})
	eventually(t, "its outcome in the ticket", func() bool {
		tk, _ := ticketFor(e.backend, "late")
		return tk.ID == "T1" && len(tk.Notes) == 1 && strings.HasPrefix(tk.Notes[0], "published")
	})
}

// Answers in tickets the hub does not know are parked in the state, not
// slept on: an answer sent after many of them is published while they all
// still wait, and they are refused after the grace period.
func TestUnknownTicketDoesNotBlockOtherAnswers(t *testing.T) {
	e := &env{backend: testbackend.New(), grace: 4 * time.Second}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.startHub(t)
	e.backend.PutReview(testbackend.Review{ID: "k1", App: "app1", Rating: 3, Text: "known"})
	eventually(t, "the ticket", func() bool { _, ok := ticketFor(e.backend, "k1"); return ok })
	tk, _ := ticketFor(e.backend, "k1")
	const unknown = 40
	for i := range unknown {
		body := fmt.Sprintf(`{"ticket_id":"T404-%d","message_id":"lost-%d","text":"to nowhere"}`, i, i)
		if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
			t.Fatalf("webhook: %d %s", code, resp)
		}
	}
	if code, resp := e.webhook(t, "acme", "secret="+secret, fmt.Sprintf(`{"ticket_id":%q,"message_id":"ok-1","text":"Thanks"}`, tk.ID)); code != 200 {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	eventually(t, "the known answer published", func() bool { posts, _ := e.backend.ReplyPosts(); return posts["k1"] == 1 })
	// The unknown answers were queued first on the same partition: each was
	// looked at and parked, none is refused yet.
	parked, err := e.hub.DB.ParkedReplies(context.Background(), "acme")
	if err != nil || len(parked) != unknown {
		t.Fatalf("%d answers parked (%v), want %d: the known one did not wait for them", len(parked), err, unknown)
	}
	for i := range unknown {
		if r, err := e.hub.DB.Reply(context.Background(), "acme", fmt.Sprintf("lost-%d", i)); err != nil || r.Status != state.ReplyPending {
			t.Fatalf("lost-%d: %+v %v, want still pending", i, r, err)
		}
	}
	eventually(t, "the unknown-ticket answers refused after the grace", func() bool {
		for i := range unknown {
			r, err := e.hub.DB.Reply(context.Background(), "acme", fmt.Sprintf("lost-%d", i))
			if err != nil || r.Status != state.ReplyRefused || r.Detail != deliver.ReasonUnknownTicket {
				return false
			}
		}
		return true
	})
	if parked, _ := e.hub.DB.ParkedReplies(context.Background(), "acme"); len(parked) != 0 {
		t.Errorf("%d answers still parked after the grace", len(parked))
	}
}
