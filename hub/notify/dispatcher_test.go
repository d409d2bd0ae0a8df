//go:build unix

package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	slackfake "github.com/reviewhub/reviewhub/plugins/slack/fake"
	tgfake "github.com/reviewhub/reviewhub/plugins/telegram/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

var t0 = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

// rig is a state, a clock and a dispatcher over it.
type rig struct {
	t   *testing.T
	db  *state.DB
	mu  sync.Mutex
	at  time.Time
	d   *Dispatcher
	seq int
}

func newRig(t *testing.T, plugins map[string]sdk.NotifierPlugin, dests ...config.NotifyDestination) *rig {
	t.Helper()
	db, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{t: t, db: db, at: t0}
	r.d = &Dispatcher{DB: db, Logger: slog.New(slog.DiscardHandler), Owner: "test",
		Notifier: func(name string) (sdk.NotifierPlugin, bool) { p, ok := plugins[name]; return p, ok }}
	r.d.now = r.now
	for _, cd := range dests {
		dest, err := Compile(cd)
		if err != nil {
			t.Fatal(err)
		}
		r.d.Destinations = append(r.d.Destinations, dest)
	}
	r.once() // the destinations start here
	return r
}

func (r *rig) now() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.at }

func (r *rig) advance(d time.Duration) { r.mu.Lock(); r.at = r.at.Add(d); r.mu.Unlock() }

func (r *rig) once() {
	r.t.Helper()
	if err := r.d.Once(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// review writes the outbox event of a review's version, a second after the last.
func (r *rig) review(id string, kind string, version, rating int, text string) {
	r.t.Helper()
	r.advance(time.Second)
	m := busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: version, Change: sdk.ReviewChange{Store: "appstore",
		StoreName: "App Store", AppName: "ACME", Kind: kind, Review: sdk.Review{ID: id, Rating: rating, Text: text, Language: "en"}}}
	e, err := events.ReviewDelivered(m, "T-"+id, r.now())
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.db.AddEvent(context.Background(), e); err != nil {
		r.t.Fatal(err)
	}
}

// reply writes the outbox event of a published answer to review id.
func (r *rig) reply(id, text string) {
	r.t.Helper()
	r.advance(time.Second)
	r.seq++
	e, _, err := events.ReplyOutcome(state.Reply{IntegrationID: "acme", AppID: "ios", ReviewID: id, MessageID: fmt.Sprint("m", r.seq),
		Text: text, Staff: "Ann"}, sdk.OutcomePublished, "", r.now())
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.db.AddEvent(context.Background(), e); err != nil {
		r.t.Fatal(err)
	}
}

// startPlugin runs a notifier plugin's binary through the plugin host.
func startPlugin(t *testing.T, name, pkg string) sdk.NotifierPlugin {
	t.Helper()
	bin := sdktest.Build(t, pkg)
	h, err := pluginhost.Start(context.Background(), map[string]string{name: bin}, pluginhost.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	p, ok := h.Plugin(name)
	if !ok {
		t.Fatalf("no plugin %s", name)
	}
	return p.Notifier()
}

func slackRig(t *testing.T, d config.NotifyDestination) (*rig, *slackfake.Server) {
	f := slackfake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	d.Plugin, d.Settings = "slack", map[string]string(f.BotSettings(srv.URL))
	return newRig(t, map[string]sdk.NotifierPlugin{"slack": startPlugin(t, "slack", "github.com/reviewhub/reviewhub/plugins/slack/cmd/hub-plugin-slack")}, d), f
}

// A 1★ review reaches the channel; its edit and the published answer
// land in the thread of its first message.
func TestNotifierSlackReviewEditAndAnswerInOneThread(t *testing.T) {
	r, f := slackRig(t, config.NotifyDestination{Name: "support"})
	r.review("r1", sdk.ChangeKindNew, 1, 1, "It crashes at start")
	r.once()
	ms := f.Messages()
	if len(ms) != 1 || ms[0].Channel != slackfake.Channel || ms[0].ThreadTS != "" || !strings.Contains(slackText(ms[0]), "crashes") {
		t.Fatalf("messages %+v: want the review in the channel", ms)
	}
	r.review("r1", sdk.ChangeKindUpdated, 2, 1, "It crashes at start, every time")
	r.reply("r1", "Fixed in 2.1")
	r.review("r2", sdk.ChangeKindNew, 1, 2, "Slow")
	r.once()
	ms = f.Messages()
	if len(ms) != 4 {
		t.Fatalf("%d messages %+v, want 4", len(ms), ms)
	}
	if ms[1].ThreadTS != ms[0].TS || ms[2].ThreadTS != ms[0].TS {
		t.Errorf("the edit (thread %q) and the answer (thread %q) are not in the review's thread %q", ms[1].ThreadTS, ms[2].ThreadTS, ms[0].TS)
	}
	if ms[3].ThreadTS != "" {
		t.Errorf("another review's message is in thread %q", ms[3].ThreadTS)
	}
	r.once()
	if n := len(f.Messages()); n != 4 {
		t.Errorf("%d messages after another look, want the 4 sent once", n)
	}
}

// A route excluding 5★ reviews sends none of them.
func TestNotifierSlackRouteExcludingFiveStarsSendsNone(t *testing.T) {
	r, f := slackRig(t, config.NotifyDestination{Name: "bad", When: rules.Conditions{Ratings: []int{1, 2, 3, 4}}})
	for i := range 3 {
		r.review(fmt.Sprint("five", i), sdk.ChangeKindNew, 1, 5, "Great")
	}
	r.review("one", sdk.ChangeKindNew, 1, 1, "Awful")
	r.once()
	if ms := f.Messages(); len(ms) != 1 || !strings.Contains(slackText(ms[0]), "Awful") {
		t.Errorf("messages %+v: want only the 1★ review", ms)
	}
}

// A burst over the hourly cap becomes one digest, posted when the hour
// has room again (through Telegram).
func TestNotifierTelegramBurstOverTheCapBecomesOneDigest(t *testing.T) {
	f := tgfake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	r := newRig(t, map[string]sdk.NotifierPlugin{"telegram": startPlugin(t, "telegram", "github.com/reviewhub/reviewhub/plugins/telegram/cmd/hub-plugin-telegram")},
		config.NotifyDestination{Name: "tg", Plugin: "telegram", Settings: map[string]string(f.Settings(srv.URL)), MaxPerHour: 2})
	for i := range 6 {
		r.review(fmt.Sprint("r", i), sdk.ChangeKindNew, 1, 1, fmt.Sprint("Crash number ", i))
	}
	r.once()
	if ms := f.Messages(); len(ms) != 2 {
		t.Fatalf("%d messages in the first hour, want the cap of 2: %+v", len(ms), ms)
	}
	r.once()
	if ms := f.Messages(); len(ms) != 2 {
		t.Fatalf("%d messages before the hour has room, want 2", len(ms))
	}
	r.advance(time.Hour)
	r.once()
	ms := f.Messages()
	if len(ms) != 3 {
		t.Fatalf("%d messages after the hour, want 2 and one digest: %+v", len(ms), ms)
	}
	if !strings.Contains(ms[2].Text, "4 events") {
		t.Errorf("the digest %q does not say it holds 4 events", ms[2].Text)
	}
	for i := 2; i < 6; i++ {
		if !strings.Contains(ms[2].Text, fmt.Sprint("Crash number ", i)) {
			t.Errorf("the digest %q does not hold review r%d", ms[2].Text, i)
		}
	}
}

// slackText is a Slack message's text with its blocks'.
func slackText(m slackfake.Message) string {
	s := m.Text
	for _, b := range m.Blocks {
		if b.Text != nil {
			s += "\n" + b.Text.Text
		}
		for _, e := range b.Elements {
			s += "\n" + e.Text
		}
	}
	return s
}

// scripted is a notifier whose sends fail with errs in turn, then succeed.
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls []sdk.NotifyRequest
	sent  []sdk.Event
}

func (s *scripted) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return sdk.Info{}, nil }
func (s *scripted) CheckSettings(context.Context, sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	return sdk.CheckSettingsResponse{}, nil
}
func (s *scripted) Notify(_ context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, req)
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return sdk.NotifyResponse{}, err
	}
	s.sent = append(s.sent, req.Event)
	return sdk.NotifyResponse{MessageRef: fmt.Sprint("ref", len(s.sent))}, nil
}

func (s *scripted) counts() (calls, sent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls), len(s.sent)
}

// A rate-limited send waits for the plugin's retry-after; a refusal is
// counted and not sent again.
func TestNotifierRetryAfterIsHonouredAndARefusalIsNotRetried(t *testing.T) {
	p := &scripted{errs: []error{sdk.RetryAfterError(10*time.Minute, "ratelimited")}}
	r := newRig(t, map[string]sdk.NotifierPlugin{"chat": p}, config.NotifyDestination{Name: "chat", Plugin: "chat"})
	r.review("r1", sdk.ChangeKindNew, 1, 1, "Crash")
	r.once()
	if c, s := p.counts(); c != 1 || s != 0 {
		t.Fatalf("calls %d sent %d, want one rate-limited call", c, s)
	}
	r.advance(5 * time.Minute) // past the schedule's first wait, not the retry-after
	r.once()
	if c, _ := p.counts(); c != 1 {
		t.Fatalf("%d calls before the retry-after ran out, want 1", c)
	}
	r.advance(6 * time.Minute)
	r.once()
	if c, s := p.counts(); c != 2 || s != 1 || p.sent[0].Type != sdk.EventReviewCreated {
		t.Fatalf("calls %d sent %d after the retry-after, want the review sent", c, s)
	}
	p.mu.Lock()
	p.errs = []error{sdk.RefusedError("channel_archived")}
	p.mu.Unlock()
	r.review("r2", sdk.ChangeKindNew, 1, 1, "Crash again")
	r.once()
	r.advance(time.Hour)
	r.once()
	if c, s := p.counts(); c != 3 || s != 1 {
		t.Errorf("calls %d sent %d, want the refused message tried once", c, s)
	}
	n, err := r.db.NotifyDestinationByName(context.Background(), "chat")
	if err != nil || n.Refused != 1 || n.Tries != 0 {
		t.Errorf("destination %+v %v: want one refusal counted", n, err)
	}
	r.review("r3", sdk.ChangeKindNew, 1, 2, "Slow")
	r.once()
	if _, s := p.counts(); s != 2 {
		t.Errorf("sent %d, want the next event sent after the refusal", s)
	}
}

// A review's edit held over the hourly cap and posted alone later still
// lands in the review's thread.
func TestNotifierHeldEditKeepsItsThread(t *testing.T) {
	p := &scripted{}
	r := newRig(t, map[string]sdk.NotifierPlugin{"chat": p}, config.NotifyDestination{Name: "chat", Plugin: "chat", MaxPerHour: 1})
	r.review("r1", sdk.ChangeKindNew, 1, 1, "Crash")
	r.review("r1", sdk.ChangeKindUpdated, 2, 1, "Crash, every time")
	r.once()
	if _, s := p.counts(); s != 1 {
		t.Fatalf("sent %d, want 1 within the cap", s)
	}
	r.advance(time.Hour)
	r.once()
	if _, s := p.counts(); s != 2 {
		t.Fatalf("sent %d after the hour, want the held edit", s)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.calls[len(p.calls)-1]
	if last.Event.Type != sdk.EventReviewUpdated || last.ThreadRef != "ref1" || last.ThreadKey != p.calls[0].ThreadKey {
		t.Errorf("held edit sent as %s in thread %q (key %q), want review.updated in ref1 (key %q)", last.Event.Type, last.ThreadRef, last.ThreadKey, p.calls[0].ThreadKey)
	}
}
