package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWebhookOutboxOnBothDialects(t *testing.T) { dialects(t, testWebhookOutbox) }

// Events are queued for the endpoints that take them, once by id; a
// delivery is claimed by one owner, its attempt recorded under the claim
// only; replay queues it again; the secret is sealed at rest.
func testWebhookOutbox(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for _, e := range []WebhookEndpoint{
		{ID: "all", URL: "https://a.example/", Source: SourceAPI, CreatedAt: now},
		{ID: "acme-created", IntegrationID: "acme", URL: "https://b.example/", EventTypes: []string{"review.created"}, Source: SourceAPI, CreatedAt: now},
		{ID: "other", IntegrationID: "beta", URL: "https://c.example/", Source: SourceAPI, CreatedAt: now},
	} {
		if err := db.CreateWebhookEndpoint(ctx, e, secret); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: "all", URL: "https://x.example/"}, secret); !errors.Is(err, ErrExists) {
		t.Errorf("a second endpoint all: %v", err)
	}
	var raw []byte
	if err := db.queryRow(ctx, `SELECT secret FROM webhook_endpoints WHERE id = 'all'`).Scan(&raw); err != nil || string(raw) == secret {
		t.Errorf("the secret is not sealed at rest: %v", err)
	}
	if s, err := db.WebhookSecret(ctx, "all"); err != nil || s != secret {
		t.Errorf("secret %q %v", s, err)
	}
	ev := Event{ID: "evt_1", Type: "review.created", IntegrationID: "acme", OccurredAt: now, Payload: []byte(`{}`)}
	for i := range 2 {
		added, err := db.AddEvent(ctx, ev)
		if err != nil || added != (i == 0) {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	if _, err := db.AddEvent(ctx, Event{ID: "evt_2", Type: "reply.published", IntegrationID: "acme", OccurredAt: now, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	count := func(endpoint string) int {
		ds, err := db.WebhookDeliveries(ctx, endpoint, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if a, b, c := count("all"), count("acme-created"), count("other"); a != 2 || b != 1 || c != 0 {
		t.Errorf("deliveries all %d, acme-created %d, other %d; want 2, 1, 0", a, b, c)
	}
	due, err := db.DueWebhookDeliveries(ctx, now.Add(time.Second), 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("due %v %v", due, err)
	}

	one, two := db.WebhookLeases(NewOwner("hub-1")), db.WebhookLeases(NewOwner("hub-2"))
	claim, ok, err := one.Take(ctx, now, time.Minute, "all", "evt_1")
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, ok, err := two.Take(ctx, now, time.Minute, "all", "evt_1"); err != nil || ok {
		t.Errorf("a second hub took a held claim: %v %v", ok, err)
	}
	if due, _ := db.DueWebhookDeliveries(ctx, now.Add(time.Second), 10); len(due) != 2 {
		t.Errorf("a claimed delivery is listed as due: %v", due)
	}
	// The claim runs out and the second hub takes it: the first cannot
	// record its attempt.
	passLeaseTime(t, db, webhookLeases, 2*time.Minute)
	claim2, ok, err := two.Take(ctx, now.Add(2*time.Minute), time.Minute, "all", "evt_1")
	if err != nil || !ok {
		t.Fatalf("takeover: %v %v", ok, err)
	}
	fail := DeliveryOutcome{Attempt: WebhookAttempt{At: now, StatusCode: 503, Error: "answered 503", Response: "down"}, Status: DeliveryPending, NextAt: now.Add(time.Minute)}
	if err := db.RecordWebhookAttempt(ctx, claim, "all", "evt_1", fail); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("an attempt under a lost claim: %v", err)
	}
	if err := db.RecordWebhookAttempt(ctx, claim2, "all", "evt_1", fail); err != nil {
		t.Fatal(err)
	}
	claim3, _, _ := two.Take(ctx, now.Add(3*time.Minute), time.Minute, "all", "evt_1")
	okOutcome := DeliveryOutcome{Attempt: WebhookAttempt{At: now.Add(3 * time.Minute), StatusCode: 200}, Status: DeliveryDelivered}
	if err := db.RecordWebhookAttempt(ctx, claim3, "all", "evt_1", okOutcome); err != nil {
		t.Fatal(err)
	}
	d, err := db.WebhookDeliveryByKey(ctx, "all", "evt_1")
	if err != nil || d.Status != DeliveryDelivered || d.Attempts != 2 || d.Tries != 2 || d.LastStatus != 200 || !d.NextAt.IsZero() {
		t.Errorf("delivery %+v %v", d, err)
	}
	if err := db.ReplayWebhookDelivery(ctx, "all", "evt_1", now); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.WebhookDeliveryByKey(ctx, "all", "evt_1"); d.Status != DeliveryPending || d.Tries != 0 || d.Attempts != 2 {
		t.Errorf("replayed %+v", d)
	}
	if err := db.ReplayWebhookDelivery(ctx, "all", "evt_9", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("replay of nothing: %v", err)
	}

	// Disabled: once (one hub alerts), nothing due, enabled again resets.
	if since, err := db.WebhookEndpointOutcome(ctx, "all", false, now); err != nil || !since.Equal(now) {
		t.Errorf("failing since %v %v", since, err)
	}
	if since, _ := db.WebhookEndpointOutcome(ctx, "all", false, now.Add(time.Hour)); !since.Equal(now) {
		t.Errorf("a later failure moved the failing time to %v", since)
	}
	for i := range 2 {
		if done, err := db.DisableWebhookEndpoint(ctx, "all", "gone", now); err != nil || done != (i == 0) {
			t.Errorf("disable %d: %v %v", i, done, err)
		}
	}
	if due, _ := db.DueWebhookDeliveries(ctx, now.Add(time.Hour), 10); len(due) != 1 || due[0].EndpointID != "acme-created" {
		t.Errorf("due with all disabled: %v", due)
	}
	if err := db.EnableWebhookEndpoint(ctx, "all", now); err != nil {
		t.Fatal(err)
	}
	if e, _ := db.WebhookEndpointByID(ctx, "all"); e.Disabled() || !e.FailingSince.IsZero() {
		t.Errorf("enabled %+v", e)
	}
	if pending, oldest, err := db.WebhookQueue(ctx, now.Add(time.Minute)); err != nil || pending != 3 || oldest <= 0 {
		t.Errorf("queue %d %v %v", pending, oldest, err)
	}
	if err := db.DeleteWebhookEndpoint(ctx, "all"); err != nil || count("all") != 0 {
		t.Errorf("delete: %v", err)
	}
}

// Of two hubs recording the same health change, one records it and
// writes its event.
func TestChangeHealthOnceOnBothDialects(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.exec(ctx, `INSERT INTO app_health (integration_id, app_id, health) VALUES ('acme', 'ios', 'ok')`); err != nil {
			t.Fatal(err)
		}
		n := 0
		ev := func() (Event, error) {
			n++
			return Event{ID: "evt_h" + string(rune('0'+n)), Type: "app.health_changed", IntegrationID: "acme", OccurredAt: time.Now(), Payload: []byte(`{}`)}, nil
		}
		ref := AppRef{IntegrationID: "acme", AppID: "ios"}
		for i := range 2 {
			changed, err := db.ChangeHealth(ctx, ref, "ok", "failing", "down", time.Now(), ev)
			if err != nil || changed != (i == 0) {
				t.Errorf("change %d: %v %v", i, changed, err)
			}
		}
		evs, err := db.Events(ctx, 0, "", 10)
		if err != nil || len(evs) != 1 {
			t.Errorf("events %v %v, want one", evs, err)
		}
	})
}
