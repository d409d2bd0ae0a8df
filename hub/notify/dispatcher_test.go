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
	for i := 2; i < 6; i++ {
		if !strings.Contains(ms[2].Text, fmt.Sprint("Crash number ", i)) && !strings.Contains(ms[2].Text, fmt.Sprint(i)) {
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
