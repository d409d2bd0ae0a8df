package webhooks

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
)

// attemptOnce queues one event for an endpoint at url, lets the
// dispatcher look once, and returns the delivery with its log.
func attemptOnce(t *testing.T, d *Dispatcher, url string) state.WebhookDelivery {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateWebhookEndpoint(ctx, state.WebhookEndpoint{ID: "ep", URL: url, Source: state.SourceAPI, CreatedAt: time.Now()}, NewSecret()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddEvent(ctx, state.Event{ID: "evt_1", Type: "review.created", IntegrationID: "acme", OccurredAt: time.Now(), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	d.DB, d.Logger = db, slog.New(slog.DiscardHandler)
	d.init()
	d.look(ctx, make(chan struct{}, workers))
	w, err := db.WebhookDeliveryByKey(ctx, "ep", "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	if logged, err := db.WebhookDeliveries(ctx, "ep", 1); err == nil && len(logged) == 1 {
		w.Log = logged[0].Log
	}
	if len(w.Log) != 1 {
		t.Fatalf("log %+v, want one attempt", w.Log)
	}
	return w
}

// A redirect is not followed: the attempt fails with the 3xx, and its
// target gets nothing.
func TestOutboundWebhookRedirectIsNotFollowed(t *testing.T) {
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirect.Close()
	w := attemptOnce(t, &Dispatcher{}, redirect.URL)
	if w.Status != state.DeliveryPending || w.Log[0].StatusCode != http.StatusFound || reached.Load() != 0 {
		t.Errorf("delivery %+v, target reached %d times; want a failed attempt with 302 and no request to the target", w, reached.Load())
	}
}

// A host outside health.alert_hosts is never called.
func TestOutboundWebhookHostRulesApply(t *testing.T) {
	var reached atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer srv.Close()
	w := attemptOnce(t, &Dispatcher{AllowHosts: []string{"hooks.example.com"}}, srv.URL)
	if reached.Load() != 0 || !strings.Contains(w.Log[0].Error, "health.alert_hosts") {
		t.Errorf("delivery %+v, reached %d times; want refused naming health.alert_hosts", w.Log[0], reached.Load())
	}
}

// An attempt has a deadline: a receiver that does not answer fails it,
// and the delivery is tried again on the schedule.
func TestOutboundWebhookAttemptHasADeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	w := attemptOnce(t, &Dispatcher{Timeout: 50 * time.Millisecond, Schedule: []time.Duration{time.Hour}}, srv.URL)
	if w.Status != state.DeliveryPending || !strings.Contains(w.Log[0].Error, "no answer within") || w.NextAt.Before(time.Now().Add(30*time.Minute)) {
		t.Errorf("delivery %+v, want pending, failed for the deadline, next in about an hour", w)
	}
}

// Past the schedule a delivery is given up.
func TestOutboundWebhookGivenUpAfterTheSchedule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) }))
	defer srv.Close()
	w := attemptOnce(t, &Dispatcher{Schedule: []time.Duration{}}, srv.URL)
	if w.Status != state.DeliveryPending {
		// An empty Schedule is the default one: the first failure is retried.
		t.Errorf("with the default schedule: %+v", w)
	}
	one := []time.Duration{time.Millisecond}
	d := &Dispatcher{Schedule: one}
	w = attemptOnce(t, d, srv.URL)
	if w.Status != state.DeliveryPending {
		t.Fatalf("first failure: %+v", w)
	}
	d.now = func() time.Time { return time.Now().Add(time.Minute) } // the 1 ms wait has passed: due again
	d.look(context.Background(), make(chan struct{}, workers))
	if w, _ = d.DB.WebhookDeliveryByKey(context.Background(), "ep", "evt_1"); w.Status != state.DeliveryFailed || w.Attempts != 2 {
		t.Errorf("after the schedule: %+v, want failed after 2 attempts", w)
	}
}

func TestOutboundWebhookJitterStaysWithinItsShare(t *testing.T) {
	for range 1000 {
		if d := withJitter(time.Hour); d < 48*time.Minute || d > 72*time.Minute {
			t.Fatalf("%s is not within 20%% of 1h", d)
		}
	}
}
