package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
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
	passLeaseTime(t, db, webhookLeases, 2*time.Minute) // PostgreSQL: the server's clock
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

// On PostgreSQL the delivery claims run by the database server's clock
// (lease.go), also where the dispatcher looks for due deliveries: a hub
// whose clock is ahead does not list a delivery another hub holds, and a
// hub whose clock is behind lists one whose claim ran out.
func TestWebhookDueFollowsTheServerClockOnPostgres(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		if db.Dialect() != Postgres {
			t.Skip("on SQLite the leases run by the hub's clock")
		}
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: "ep", URL: "https://a.example/", Source: SourceAPI, CreatedAt: now},
			"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddEvent(ctx, Event{ID: "evt_c", Type: "review.created", OccurredAt: now, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := db.WebhookLeases(NewOwner("hub-1")).Take(ctx, now, time.Minute, "ep", "evt_c"); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		ahead := now.Add(time.Hour)
		if due, err := db.DueWebhookDeliveries(ctx, ahead, 10); err != nil || len(due) != 0 {
			t.Errorf("a hub an hour ahead lists a delivery another hub holds: %v %v", due, err)
		}
		passLeaseTime(t, db, webhookLeases, 2*time.Minute)
		if due, err := db.DueWebhookDeliveries(ctx, ahead, 10); err != nil || len(due) != 1 {
			t.Errorf("a claim that ran out by the server's clock: due %v %v", due, err)
		}
	})
}

func TestLinkDeliveredWritesTheEventInItsTransaction(t *testing.T) {
	dialects(t, testLinkDeliveredEvent)
}

// A delivered review's event is written with its link, in the same
// transaction (on PostgreSQL: the link's one statement, which the rows'
// xmin shows), queued for the endpoints; linked again (a redelivery), it
// adds nothing.
func testLinkDeliveredEvent(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	stamp := now.Format("150405.000000000")
	review, evID := "ev-link-"+stamp, "evt_link_"+stamp
	observe(t, db, sdk.Review{ID: review, Rating: 3, Text: "ok", UpdatedAt: now})
	if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: "ep-" + stamp, URL: "https://a.example/", Source: SourceAPI, CreatedAt: now},
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	ev := Event{ID: evID, Type: "review.created", IntegrationID: "i", OccurredAt: now, Payload: []byte(`{"id":"x"}`)}
	publish := func(*Tx, []string) error { return nil }
	link := func() {
		t.Helper()
		if err := db.LinkDelivered(ctx, DeliveredTicket{"i", "a", review, "T-" + stamp}, publish, nil, ev); err != nil {
			t.Fatal(err)
		}
	}
	link()
	if db.Dialect() == Postgres {
		xmin := func(q string, args ...any) string {
			t.Helper()
			var x string
			if err := db.queryRow(ctx, q, args...).Scan(&x); err != nil {
				t.Fatal(err)
			}
			return x
		}
		linkTx := xmin(`SELECT xmin::text FROM reviews WHERE integration_id = 'i' AND app_id = 'a' AND review_id = ?`, review)
		eventTx := xmin(`SELECT xmin::text FROM events WHERE id = ?`, evID)
		deliveryTx := xmin(`SELECT xmin::text FROM webhook_deliveries WHERE event_id = ?`, evID)
		if linkTx != eventTx || eventTx != deliveryTx {
			t.Errorf("link, event and delivery written in transactions %s, %s, %s; want one", linkTx, eventTx, deliveryTx)
		}
	}
	link() // a redelivery links again
	if got, err := db.EventByID(ctx, evID); err != nil || string(got.Payload) != `{"id":"x"}` {
		t.Fatalf("the event: %+v %v", got, err)
	}
	if ds, err := db.WebhookDeliveries(ctx, "ep-"+stamp, 10); err != nil || len(ds) != 1 || ds[0].EventID != evID {
		t.Fatalf("the event queued once: %+v %v", ds, err)
	}
}

func TestWebhookPruneKeepsNoAttemptWithoutItsDelivery(t *testing.T) {
	dialects(t, testWebhookPrune)
}

// Retention deletes a finished delivery with its whole log once it was
// made and last tried before the limit: a delivery replayed and delivered
// lately keeps its log, and no attempt is left without its delivery.
func testWebhookPrune(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	stamp := now.Format("150405.000000000")
	ep := "prune-" + stamp
	if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: ep, URL: "https://a.example/", Source: SourceAPI, CreatedAt: now},
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	old, recent := now.Add(-10*24*time.Hour), now.Add(-time.Hour)
	for _, id := range []string{"evt_old_" + stamp, "evt_replayed_" + stamp} {
		if _, err := db.AddEvent(ctx, Event{ID: id, Type: "review.created", OccurredAt: old, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		claim, ok, err := db.WebhookLeases(NewOwner("hub")).Take(ctx, now, time.Minute, ep, id)
		if err != nil || !ok {
			t.Fatalf("claim %s: %v %v", id, ok, err)
		}
		at := old
		if id == "evt_replayed_"+stamp {
			at = recent // made long ago, replayed and delivered an hour ago
		}
		if err := db.RecordWebhookAttempt(ctx, claim, ep, id, DeliveryOutcome{Attempt: WebhookAttempt{At: at, StatusCode: 200}, Status: DeliveryDelivered}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.exec(ctx, `UPDATE webhook_deliveries SET created_ms = ? WHERE endpoint_id = ?`, ms(old), ep); err != nil {
		t.Fatal(err)
	}
	if err := db.PruneEvents(ctx, now.Add(-7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ds, err := db.WebhookDeliveries(ctx, ep, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].EventID != "evt_replayed_"+stamp || len(ds[0].Log) != 1 {
		t.Errorf("after pruning: %+v; want the replayed delivery with its log", ds)
	}
	var orphans int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM webhook_attempts a WHERE a.endpoint_id = ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w
		WHERE w.endpoint_id = a.endpoint_id AND w.event_id = a.event_id)`, ep).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%d attempts left without their delivery (%v)", orphans, err)
	}
}

func TestWebhookDisabledBacklogIsOutOfTheDueRange(t *testing.T) {
	dialects(t, testWebhookDisabledBacklog)
}

// A disabled endpoint's pending deliveries, those queued before and after
// it was disabled, are out of the range of next_ms the dispatcher's look
// at the due deliveries reads every second (the index
// webhook_deliveries_due), so a long backlog is not read again and again;
// enabled again, they are due at once.
func testWebhookDisabledBacklog(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	stamp := now.Format("150405.000000000")
	ep := "off-" + stamp
	if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: ep, URL: "https://a.example/", Source: SourceAPI, CreatedAt: now},
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	add := func(id string) {
		t.Helper()
		if _, err := db.AddEvent(ctx, Event{ID: id + stamp, Type: "review.created", OccurredAt: now, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	add("evt_before_")
	if ok, err := db.DisableWebhookEndpoint(ctx, ep, "test", now); err != nil || !ok {
		t.Fatalf("disable: %v %v", ok, err)
	}
	add("evt_after_")
	later := now.Add(time.Hour)
	var inRange int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ? AND status = ? AND next_ms <= ?`,
		ep, DeliveryPending, ms(later)).Scan(&inRange); err != nil || inRange != 0 {
		t.Errorf("%d deliveries of a disabled endpoint in the due range (%v)", inRange, err)
	}
	ds, err := db.WebhookDeliveries(ctx, ep, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	for _, w := range ds {
		if !w.NextAt.IsZero() {
			t.Errorf("a waiting delivery shows a next try %v", w.NextAt)
		}
	}
	if err := db.EnableWebhookEndpoint(ctx, ep, now); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueWebhookDeliveries(ctx, later, 100)
	n := 0
	for _, w := range due {
		if w.EndpointID == ep {
			n++
		}
	}
	if err != nil || n != 2 {
		t.Errorf("enabled again: %d due (%v); want 2", n, err)
	}
}
