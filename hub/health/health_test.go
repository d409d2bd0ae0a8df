package health

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Deliveries count: reviews in the dead letters after their last attempt
// failed for good make the app failing; a later delivery, or the dead
// letters retried or dropped, end it; retried failures in a row degrade it.
func TestComputeDelivery(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	iv := 10 * time.Minute
	polled := state.HealthRow{LastOK: now.Add(-iv)}
	with := func(f state.DeliveryFacts) state.HealthRow { r := polled; r.Delivery = f; return r }
	refused := state.DeliveryFacts{OK: now.Add(-time.Hour), FailedForGood: now.Add(-time.Minute), Failures: 2,
		FailingSince: now.Add(-2 * time.Minute), ErrorKind: "invalid", Error: "omnidesk answered 400: channel_not_found", DeadLetters: 2}
	for _, c := range []struct {
		name   string
		facts  state.DeliveryFacts
		want   string
		reason string
	}{
		{"delivered", state.DeliveryFacts{OK: now.Add(-time.Minute)}, sdk.HealthOK, ""},
		{"refused for good, in the dead letters", refused, sdk.HealthFailing, "channel_not_found"},
		{"dead letters dropped", func() state.DeliveryFacts { f := refused; f.DeadLetters = 0; return f }(), sdk.HealthOK, ""},
		{"delivered since, dead letters left", func() state.DeliveryFacts {
			f := refused
			f.OK, f.Failures, f.Error = now, 0, ""
			return f
		}(), sdk.HealthDegraded, "2 reviews are in the dead letters"},
		{"one retried failure", state.DeliveryFacts{OK: now.Add(-time.Hour), Failures: 1, Error: "503"}, sdk.HealthOK, ""},
		{"retried failures in a row", state.DeliveryFacts{OK: now.Add(-time.Hour), Failures: RetriedAfter, Error: "503"}, sdk.HealthDegraded, "503"},
		{"answer failed", state.DeliveryFacts{AnswerOK: now.Add(-time.Hour), AnswerFailed: now.Add(-time.Minute), AnswerError: "gave up"}, sdk.HealthFailing, "gave up"},
		{"answer published since", state.DeliveryFacts{AnswerOK: now, AnswerFailed: now.Add(-time.Minute), AnswerError: "gave up"}, sdk.HealthOK, ""},
	} {
		got := Compute(with(c.facts), iv, 0, now)
		if got.Health != c.want || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s: %s (%s), want %s with %q", c.name, got.Health, got.Reason, c.want, c.reason)
		}
	}
	if st := Compute(with(refused), iv, 0, now); !st.Since.Equal(refused.FailingSince) {
		t.Errorf("failing since %v, want the first failure in a row %v", st.Since, refused.FailingSince)
	}
	// The connection check: a failure makes the app failing, a warning
	// degraded, until a later check passes.
	for _, c := range []struct {
		check state.CheckFacts
		want  string
	}{
		{state.CheckFacts{Status: sdk.CheckFail, Problem: "webhook URL: the helpdesk sends to another hub", Since: now.Add(-time.Hour)}, sdk.HealthFailing},
		{state.CheckFacts{Status: sdk.CheckWarn, Problem: "replies: read-only", Since: now.Add(-time.Hour)}, sdk.HealthDegraded},
		{state.CheckFacts{Status: sdk.CheckOK}, sdk.HealthOK},
		{state.CheckFacts{}, sdk.HealthOK},
	} {
		r := polled
		r.Check = c.check
		st := Compute(r, iv, 0, now)
		if st.Health != c.want || !strings.Contains(st.Reason, c.check.Problem) || !st.Since.Equal(c.check.Since) {
			t.Errorf("check %+v: %+v, want %s with the problem and since when", c.check, st, c.want)
		}
	}
	if !Bad(sdk.HealthFailing) {
		t.Error("failing is not alerted")
	}
}

func TestCompute(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	iv := 10 * time.Minute
	week := 7 * 24 * time.Hour
	for _, c := range []struct {
		name   string
		row    state.HealthRow
		window time.Duration
		want   string
	}{
		{"ok", state.HealthRow{LastOK: now.Add(-iv)}, 0, sdk.HealthOK},
		{"new app, not polled yet", state.HealthRow{FirstSeen: now.Add(-iv)}, 0, sdk.HealthOK},
		{"retrying", state.HealthRow{LastOK: now.Add(-iv), Failures: 2, ErrorKind: "unavailable", Error: "503"}, 0, sdk.HealthDegraded},
		{"waiting for quota", state.HealthRow{LastOK: now.Add(-iv), Wait: state.WaitQuota, Note: "waiting for quota: key spent 2800 of 2800"}, 0, sdk.HealthQuota},
		{"store asked to wait", state.HealthRow{LastOK: now.Add(-iv), Failures: 1, ErrorKind: "rate limited", Wait: state.WaitRetryAfter, Note: "the store asked to wait 1m0s"}, 0, sdk.HealthQuota},
		// Typed, not parsed (issue 33): a note that reads like a wait is not one.
		{"a note is for people", state.HealthRow{LastOK: now.Add(-iv), Note: "waiting for quota: …"}, 0, sdk.HealthOK},
		{"quota wait, any note", state.HealthRow{LastOK: now.Add(-iv), Wait: state.WaitQuota, Note: "budget spent"}, 0, sdk.HealthQuota},
		{"401", state.HealthRow{LastOK: now.Add(-iv), Failures: 1, ErrorKind: "unauthenticated", Error: "401"}, 0, sdk.HealthCredentials},
		{"403", state.HealthRow{LastOK: now.Add(-iv), Failures: 1, ErrorKind: "permission denied", Error: "403"}, 0, sdk.HealthCredentials},
		{"3 intervals quiet", state.HealthRow{LastOK: now.Add(-31 * time.Minute), Failures: 9, ErrorKind: "unavailable"}, 0, sdk.HealthStalled},
		{"never polled for 3 intervals", state.HealthRow{FirstSeen: now.Add(-31 * time.Minute), Note: "not polled: plugin not running"}, 0, sdk.HealthStalled},
		{"quota for 3 intervals", state.HealthRow{LastOK: now.Add(-31 * time.Minute), Wait: state.WaitQuota, Note: "waiting for quota: …"}, 0, sdk.HealthStalled},
		{"listing window: 4 days quiet", state.HealthRow{LastOK: now.Add(-4 * 24 * time.Hour), ErrorKind: "unauthenticated"}, week, sdk.HealthCredentials},
		{"listing window: 5.5 days quiet", state.HealthRow{LastOK: now.Add(-132 * time.Hour), ErrorKind: "unauthenticated"}, week, sdk.HealthAtRisk},
		{"no window: 5.5 days quiet", state.HealthRow{LastOK: now.Add(-132 * time.Hour), ErrorKind: "unavailable"}, 0, sdk.HealthStalled},
		// Queued reviews whose message was lost, waiting to be listed again.
		{"lost messages", state.HealthRow{LastOK: now.Add(-iv), Delivery: state.DeliveryFacts{Lost: 2}}, 0, sdk.HealthDegraded},
	} {
		got := Compute(c.row, iv, c.window, now)
		if got.Health != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got.Health, got.Reason, c.want)
		}
		if got.Health != sdk.HealthOK && got.Reason == "" {
			t.Errorf("%s: no reason", c.name)
		}
	}
	// Since: from the facts where they tell.
	st := Compute(state.HealthRow{LastOK: now.Add(-time.Hour), FailingSince: now.Add(-50 * time.Minute), ErrorKind: "unauthenticated"}, time.Hour, 0, now)
	if !st.Since.Equal(now.Add(-50 * time.Minute)) {
		t.Errorf("credentials since %v, want the first failure", st.Since)
	}
	st = Compute(state.HealthRow{LastOK: now.Add(-4 * time.Hour)}, time.Hour, 0, now)
	if !st.Since.Equal(now.Add(-time.Hour)) {
		t.Errorf("stalled since %v, want three intervals after the last success", st.Since)
	}
}

type plugins struct{}

func (plugins) Info(string) (sdk.Info, bool) {
	return sdk.Info{Kind: sdk.PluginKindStore, Store: &sdk.StoreCapabilities{}}, true
}

func (plugins) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return nil, sdk.Info{}, &sdk.Error{Kind: sdk.ErrorKindUnavailable, Message: "not in this test"}
}

type sink struct {
	mu  sync.Mutex
	got []WebhookPayload
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p WebhookPayload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, "bad", 400)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, p)
	s.mu.Unlock()
}

func (s *sink) list() []WebhookPayload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookPayload(nil), s.got...)
}

// TestCooldown moves a clock: an alert, a recovery held back until the
// cooldown ends, and a flap inside the cooldown that sends nothing.
func TestCooldown(t *testing.T) {
	ctx := context.Background()
	seal, _ := secrets.New(bytes.Repeat([]byte{1}, secrets.KeySize))
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), seal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &sink{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	in := state.Integration{ID: "i", HelpdeskPlugin: "desk", Source: "api", Apps: []state.App{{ID: "a", StorePlugin: "store", StoreAppID: "x"}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAlerts(ctx, "i", state.AlertConfig{WebhookURL: srv.URL, Cooldown: time.Hour}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	m := &Monitor{DB: db, Plugins: plugins{}, Logger: slog.New(slog.DiscardHandler), Interval: 10 * time.Minute,
		now: func() time.Time { return now }}
	ref := state.AppRef{IntegrationID: "i", AppID: "a"}
	poll := func(err error) {
		t.Helper()
		if err := db.RecordPoll(ctx, ref, now, err); err != nil {
			t.Fatal(err)
		}
	}
	deny := &sdk.Error{Kind: sdk.ErrorKindUnauthenticated, Message: "revoked"}
	expect := func(n int, what string) {
		t.Helper()
		if got := s.list(); len(got) != n {
			t.Fatalf("%s: %d alerts, want %d: %+v", what, len(got), n, got)
		}
	}

	poll(nil)
	m.Check(ctx)
	expect(0, "healthy")
	now = now.Add(time.Minute)
	poll(deny)
	m.Check(ctx)
	m.Check(ctx)
	expect(1, "revoked")
	now = now.Add(time.Minute)
	poll(nil)
	m.Check(ctx)
	expect(1, "recovered inside the cooldown")
	now = now.Add(time.Hour)
	poll(nil)
	m.Check(ctx)
	expect(2, "cooldown over")
	if p := s.list()[1].Alert; !p.Recovered || p.Previous != sdk.HealthCredentials {
		t.Errorf("recovery %+v", p)
	}
	// A flap inside the cooldown: bad, then fixed before it ends.
	now = now.Add(time.Minute)
	poll(deny)
	m.Check(ctx)
	now = now.Add(time.Minute)
	poll(nil)
	m.Check(ctx)
	now = now.Add(2 * time.Hour)
	poll(nil)
	m.Check(ctx)
	expect(2, "a flap inside the cooldown")
}

// oldDesk is a helpdesk plugin built before PostAlert existed.
type oldDesk struct{ sdk.HelpdeskPlugin }

type oldPlugins struct{ plugins }

func (oldPlugins) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return oldDesk{}, sdk.Info{}, nil
}

// A helpdesk plugin without PostAlert: the webhook alone carries the alert,
// which counts as sent (not retried for ever), and it is said once.
func TestHelpdeskWithoutAlertsFallsBackToTheWebhook(t *testing.T) {
	ctx := context.Background()
	seal, _ := secrets.New(bytes.Repeat([]byte{1}, secrets.KeySize))
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), seal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &sink{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	in := state.Integration{ID: "i", HelpdeskPlugin: "old", Source: "api", Apps: []state.App{{ID: "a", StorePlugin: "store", StoreAppID: "x"},
		{ID: "b", StorePlugin: "store", StoreAppID: "y"}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAlerts(ctx, "i", state.AlertConfig{Helpdesk: true, WebhookURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	m := &Monitor{DB: db, Plugins: oldPlugins{}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Interval: time.Minute,
		now: func() time.Time { return now }}
	deny := &sdk.Error{Kind: sdk.ErrorKindPermissionDenied, Message: "role removed"}
	for _, app := range []string{"a", "b"} {
		if err := db.RecordPoll(ctx, state.AppRef{IntegrationID: "i", AppID: app}, now, deny); err != nil {
			t.Fatal(err)
		}
	}
	m.Check(ctx)
	m.Check(ctx)
	if n := len(s.list()); n != 2 {
		t.Fatalf("%d webhook alerts, want one per app", n)
	}
	if n := bytes.Count(logs.Bytes(), []byte("posts no alerts")); n != 1 {
		t.Errorf("the missing PostAlert was logged %d times, want once:\n%s", n, logs.String())
	}
}

type windowPlugins struct{ plugins }

func (windowPlugins) Info(string) (sdk.Info, bool) {
	return sdk.Info{Kind: sdk.PluginKindStore, Store: &sdk.StoreCapabilities{ListingWindow: 7 * 24 * time.Hour}}, true
}

// A store that lists only the last 7 days (Google Play): an app whose last
// success is 5 days old is at risk of loss, and says since when.
func TestAtRiskOfLossUsesTheStoresListingWindow(t *testing.T) {
	ctx := context.Background()
	seal, _ := secrets.New(bytes.Repeat([]byte{1}, secrets.KeySize))
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), seal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := state.Integration{ID: "i", HelpdeskPlugin: "desk", Source: "api", Apps: []state.App{{ID: "gp", StorePlugin: "googleplay", StoreAppID: "x", PollInterval: 12 * time.Hour}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	m := &Monitor{DB: db, Plugins: windowPlugins{}, Logger: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
	ref := state.AppRef{IntegrationID: "i", AppID: "gp"}
	if err := db.RecordPoll(ctx, ref, t0, nil); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(30 * time.Hour) // 2.5 intervals: still ok
	if apps, _ := m.Apps(ctx, "i"); apps[0].Health != sdk.HealthOK {
		t.Fatalf("after 30h: %+v", apps[0].Status)
	}
	now = t0.Add(50 * time.Hour)
	if apps, _ := m.Apps(ctx, "i"); apps[0].Health != sdk.HealthStalled {
		t.Fatalf("after 50h: %+v", apps[0].Status)
	}
	now = t0.Add(5*24*time.Hour + time.Minute)
	apps, err := m.Apps(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	if a := apps[0]; a.Health != sdk.HealthAtRisk || !a.Since.Equal(t0.Add(5*24*time.Hour)) {
		t.Fatalf("after 5 days: %+v", a.Status)
	}
}
