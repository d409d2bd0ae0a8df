package state

import (
	"context"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

// Two hubs on one PostgreSQL database whose clocks disagree by ten
// minutes: the leases run by the server's clock, so the hub ahead never
// takes a poll lease, an alert claim or a history import's lease that
// the hub behind holds (by its own clock they ran out nine minutes ago),
// and neither does the hub behind take the ahead hub's; each keeps
// working under its own.
func TestSkewedHubClocksNeverShareALease(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	open := func() *DB {
		db, err := OpenPostgres(ctx, dsn, sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	putApps(t, dbA, "acme", []App{{ID: "a", StorePlugin: "s"}, {ID: "b", StorePlugin: "s"}})
	wall := time.Now()
	behind, ahead := wall, wall.Add(10*time.Minute)
	scheduleAll(t, dbA, wall.Add(-time.Second))
	hubA, hubB := NewOwner("hub-behind"), NewOwner("hub-ahead")

	// Poll leases.
	first, err := dbA.Claim(ctx, hubA, behind, time.Minute, 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("hub behind claimed %+v: %v", first, err)
	}
	if !first[0].LeaseUntil.After(wall) || first[0].LeaseUntil.After(wall.Add(2*time.Minute)) {
		t.Errorf("lease until %v, want about a minute after the server's now (%v)", first[0].LeaseUntil, wall)
	}
	second, err := dbB.Claim(ctx, hubB, ahead, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 1 || second[0].AppRef == first[0].AppRef {
		t.Fatalf("hub ahead claimed %+v while hub behind holds %v: want only the other app", second, first[0].AppRef)
	}
	if got, err := dbA.Claim(ctx, hubA, behind.Add(2*time.Minute), time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("hub behind claimed %+v while hub ahead holds %v: %v", got, second[0].AppRef, err)
	}
	if n, err := dbA.RenewLeases(ctx, hubA, first, behind, time.Minute); n != 1 || err != nil {
		t.Fatalf("hub behind renewed %d of its leases: %v", n, err)
	}
	if ok, err := dbA.StartPoll(ctx, hubA, first[0], behind, time.Minute, time.Minute); !ok || err != nil {
		t.Fatalf("hub behind could not start its poll: %v %v", ok, err)
	}
	if ok, err := dbB.StartPoll(ctx, hubB, second[0], ahead, time.Minute, time.Minute); !ok || err != nil {
		t.Fatalf("hub ahead could not start its poll: %v %v", ok, err)
	}
	if apps, _, leased, err := dbB.ScheduleCounts(ctx, ahead); err != nil || apps != 2 || leased != 2 {
		t.Errorf("by the hub ahead: %d apps, %d leased (%v), want both leased", apps, leased, err)
	}

	// Alert claims.
	for _, app := range []string{"a", "b"} {
		if err := dbA.RecordPoll(ctx, AppRef{"acme", app}, behind, nil); err != nil {
			t.Fatal(err)
		}
	}
	refA, refB := AppRef{"acme", "a"}, AppRef{"acme", "b"}
	if _, ok, err := dbA.ClaimAlert(ctx, hubA, refA, "", behind, time.Minute); !ok || err != nil {
		t.Fatalf("hub behind could not claim the alert: %v %v", ok, err)
	}
	if _, ok, err := dbB.ClaimAlert(ctx, hubB, refA, "", ahead, time.Minute); ok || err != nil {
		t.Fatalf("hub ahead claimed the alert hub behind holds: %v %v", ok, err)
	}
	if _, ok, err := dbB.ClaimAlert(ctx, hubB, refB, "", ahead, time.Minute); !ok || err != nil {
		t.Fatalf("hub ahead could not claim the other alert: %v %v", ok, err)
	}
	if _, ok, err := dbA.ClaimAlert(ctx, hubA, refB, "", behind.Add(2*time.Minute), time.Minute); ok || err != nil {
		t.Fatalf("hub behind claimed the alert hub ahead holds: %v %v", ok, err)
	}

	// History imports' leases (the Leases type).
	h := HistoryImport{IntegrationID: "acme", AppID: "a", From: wall.Add(-48 * time.Hour), To: wall.Add(-24 * time.Hour)}
	if err := dbA.CreateHistoryImport(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := dbA.HistoryImportLeases(hubA).Take(ctx, behind, time.Minute, HistoryImportKey(h)...); !ok || err != nil {
		t.Fatalf("hub behind could not take the import: %v %v", ok, err)
	}
	if _, ok, err := dbB.HistoryImportLeases(hubB).Take(ctx, ahead, time.Minute, HistoryImportKey(h)...); ok || err != nil {
		t.Fatalf("hub ahead took the import hub behind holds: %v %v", ok, err)
	}
}

// Webhook deliveries listed as due by hubs whose clocks disagree by ten
// minutes: a delivery another hub claimed is not listed by the hub ahead
// (by whose clock the claim ran out long ago), and a claim that ran out
// on the server's clock is listed at once by the hub behind (by whose
// clock it still runs): the listing decides a claim's end by the clock
// the claims run by, as Take does.
func TestSkewedHubClocksListOnlyUnclaimedWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, pgtest.DSN(t), sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	wall := time.Now().UTC().Truncate(time.Millisecond)
	behind, ahead := wall.Add(-10*time.Minute), wall.Add(10*time.Minute)
	if err := db.CreateWebhookEndpoint(ctx, WebhookEndpoint{ID: "all", URL: "https://a.example/", Source: SourceAPI,
		CreatedAt: behind}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddEvent(ctx, Event{ID: "evt_1", Type: "review.created", IntegrationID: "acme", OccurredAt: behind,
		Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// Its first try is due by both hubs' clocks (as written by the hub behind).
	if _, err := db.exec(ctx, `UPDATE webhook_deliveries SET next_ms = ?`, ms(behind.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	due := func(now time.Time) int {
		t.Helper()
		ds, err := db.DueWebhookDeliveries(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if n := due(behind.Add(time.Minute)); n != 1 {
		t.Fatalf("%d deliveries due before any claim, want 1", n)
	}
	if _, ok, err := db.WebhookLeases(NewOwner("hub-behind")).Take(ctx, behind, time.Minute, "all", "evt_1"); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if n := due(ahead); n != 0 {
		t.Errorf("the hub ahead lists a delivery the hub behind is sending (%d due)", n)
	}
	passLeaseTime(t, db, webhookLeases, 2*time.Minute)
	if n := due(behind.Add(time.Minute)); n != 1 {
		t.Errorf("the hub behind does not list a delivery whose claim ran out on the server (%d due)", n)
	}
}
