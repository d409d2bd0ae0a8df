package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestHealthFactsClaimsAndAlertSettings(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		in := Integration{ID: "h", HelpdeskPlugin: "desk", Source: "api", Apps: []App{
			{ID: "a", Name: "A", StorePlugin: "store", StoreAppID: "x", PollInterval: time.Minute},
			{ID: "b", StorePlugin: "store", StoreAppID: "y"}}}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
			t.Fatal(err)
		}
		t0 := time.UnixMilli(1_800_000_000_000).UTC()
		ref := AppRef{IntegrationID: "h", AppID: "a"}
		if err := db.RecordPoll(ctx, ref, t0, nil); err != nil {
			t.Fatal(err)
		}
		deny := &sdk.Error{Kind: sdk.ErrorKindUnauthenticated, Message: "key revoked"}
		for i := 1; i <= 2; i++ {
			if err := db.RecordPoll(ctx, ref, t0.Add(time.Duration(i)*time.Minute), deny); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.HealthRows(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if b := rows[1]; b.AppID != "b" || !b.FirstSeen.IsZero() {
			t.Fatalf("app b before KeepHealthRows: %+v, want no facts", b)
		}
		if err := db.KeepHealthRows(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if rows, err = db.HealthRows(ctx, "h"); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("rows %+v, want one per app", rows)
		}
		a, b := rows[0], rows[1]
		if !a.LastOK.Equal(t0) || a.ErrorKind != "unauthenticated" || !strings.Contains(a.Error, "key revoked") ||
			!a.FailingSince.Equal(t0.Add(time.Minute)) || a.AppInterval != time.Minute || a.AppName != "A" || a.StorePlugin != "store" {
			t.Errorf("app a %+v: the last success, the error kind and the first failure are kept", a)
		}
		if !b.LastOK.IsZero() || !b.FirstSeen.Equal(t0.Add(time.Hour)) {
			t.Errorf("app b %+v: never polled, first seen when the health was first read", b)
		}
		if err := db.RecordPoll(ctx, ref, t0.Add(3*time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetHealth(ctx, ref, sdk.HealthCredentials, "why", t0); err != nil {
			t.Fatal(err)
		}
		rows, _ = db.HealthRows(ctx, "h")
		if a := rows[0]; a.ErrorKind != "" || !a.FailingSince.IsZero() || !a.LastOK.Equal(t0.Add(3*time.Minute)) ||
			a.Recorded != sdk.HealthCredentials || !a.RecordedSince.Equal(t0) {
			t.Errorf("after a success %+v", a)
		}

		// One claim at a time; a released claim can be taken again; a sent
		// alert moves the state the next claim must name.
		now := t0.Add(2 * time.Hour)
		hubA, hubB := NewOwner("hub-a"), NewOwner("hub-b")
		first, ok, err := db.ClaimAlert(ctx, hubA, ref, "", now, time.Minute)
		if !ok || err != nil {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if _, ok, _ := db.ClaimAlert(ctx, hubB, ref, "", now, time.Minute); ok {
			t.Fatal("a second claim while the first holds")
		}
		if err := db.ReleaseAlert(ctx, ref, first); err != nil {
			t.Fatal(err)
		}
		second, ok, _ := db.ClaimAlert(ctx, hubB, ref, "", now, time.Minute)
		if !ok {
			t.Fatal("a released claim could not be taken again")
		}
		// A claim another hub took since can neither be released nor
		// recorded as sent by its first holder.
		if err := db.ReleaseAlert(ctx, ref, first); err != nil {
			t.Fatal(err)
		}
		if err := db.AlertSent(ctx, ref, first, sdk.HealthCredentials, now); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("alert recorded under a lost claim: %v", err)
		}
		if err := db.AlertSent(ctx, ref, second, sdk.HealthCredentials, now); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := db.ClaimAlert(ctx, hubA, ref, "", now, time.Minute); ok {
			t.Fatal("a claim naming a state already alerted away from")
		}
		rows, _ = db.HealthRows(ctx, "h")
		if a := rows[0]; a.Alerted != sdk.HealthCredentials || !a.AlertedAt.Equal(now) {
			t.Errorf("alert bookkeeping %+v", a)
		}

		// Alert settings: the webhook URL is sealed at rest.
		if c, err := db.Alerts(ctx, "h"); err != nil || c.Enabled() {
			t.Fatalf("no settings yet: %+v %v", c, err)
		}
		want := AlertConfig{Helpdesk: true, WebhookURL: "https://hooks.example/services/T/B/topsecret", Cooldown: 30 * time.Minute}
		if err := db.PutAlerts(ctx, "h", want); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Alerts(ctx, "h"); err != nil || got != want {
			t.Fatalf("alerts %+v %v, want %+v", got, err, want)
		}
		var raw []byte
		if err := db.queryRow(ctx, `SELECT webhook_url FROM integration_alerts WHERE integration_id = ?`, "h").Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "topsecret") {
			t.Error("the webhook URL is stored in clear")
		}

		// A removed app's row goes.
		in.Apps = in.Apps[:1]
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
			t.Fatal(err)
		}
		if err := db.KeepHealthRows(ctx, now); err != nil {
			t.Fatal(err)
		}
		if rows, _ = db.HealthRows(ctx, "h"); len(rows) != 1 {
			t.Errorf("rows after removing app b: %+v", rows)
		}
	})
}

// Delivery facts: failures in a row with the last error and the first's
// time, the last failure for good (the review says why until it is
// linked), a delivery ending the run; answers failed and published.
func TestDeliveryFacts(t *testing.T) { dialects(t, testDeliveryFacts) }

func testDeliveryFacts(t *testing.T, db *DB) {
	ctx := context.Background()
	id := "dlv-" + time.Now().Format("150405.000000000") // PostgreSQL's database is shared between runs
	in := Integration{ID: "i", HelpdeskPlugin: "desk", Source: "api", Apps: []App{{ID: "a", StorePlugin: "store", StoreAppID: "x"}}}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	observe(t, db, sdk.Review{ID: id, Rating: 3, Text: "ok", UpdatedAt: time.Now()})
	ref := AppRef{IntegrationID: "i", AppID: "a"}
	t0 := time.UnixMilli(1_900_000_000_000).UTC()
	facts := func() DeliveryFacts {
		t.Helper()
		rows, err := db.HealthRows(ctx, "i")
		if err != nil || len(rows) != 1 {
			t.Fatalf("health rows %+v %v", rows, err)
		}
		return rows[0].Delivery
	}
	deliveryError := func() string {
		t.Helper()
		list, err := db.RecentReviews(ctx, "i", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.ReviewID == id {
				return r.DeliveryError
			}
		}
		t.Fatalf("review %s not listed", id)
		return ""
	}
	if err := db.RecordDelivery(ctx, ref, id, t0, sdk.Errorf(sdk.ErrorKindUnavailable, "503"), false); err != nil {
		t.Fatal(err)
	}
	refused := sdk.Errorf(sdk.ErrorKindInvalid, "400: channel_not_found")
	if err := db.RecordDelivery(ctx, ref, id, t0.Add(time.Minute), refused, true); err != nil {
		t.Fatal(err)
	}
	f := facts()
	if f.Failures != 2 || !f.FailingSince.Equal(t0) || !f.FailedForGood.Equal(t0.Add(time.Minute)) || f.ErrorKind != "invalid" ||
		!strings.Contains(f.Error, "channel_not_found") || !f.Failing() {
		t.Errorf("after a retried failure and one for good: %+v", f)
	}
	if e := deliveryError(); !strings.Contains(e, "channel_not_found") {
		t.Errorf("the review's delivery error %q, want the refusal", e)
	}
	if err := db.RecordDelivery(ctx, ref, id, t0.Add(2*time.Minute), nil, false); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.LinkTicket(ctx, "i", "a", id, "T1") }); err != nil {
		t.Fatal(err)
	}
	if f = facts(); f.Failures != 0 || f.Failing() || f.Error != "" || !f.FailingSince.IsZero() || !f.OK.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after a delivery: %+v", f)
	}
	if e := deliveryError(); e != "" {
		t.Errorf("a delivered review still says %q", e)
	}
	// Deliveries right after one that found the health current skip the
	// look, but never past a failure recorded in between.
	for i := range 3 {
		if err := db.RecordDelivery(ctx, ref, id, t0.Add(2*time.Minute+time.Duration(i)*time.Second), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordDelivery(ctx, ref, id, t0.Add(2*time.Minute+4*time.Second), sdk.Errorf(sdk.ErrorKindUnavailable, "503"), false); err != nil {
		t.Fatal(err)
	}
	if f = facts(); f.Failures != 1 {
		t.Errorf("after a failure: %+v", f)
	}
	if err := db.RecordDelivery(ctx, ref, id, t0.Add(2*time.Minute+5*time.Second), nil, false); err != nil {
		t.Fatal(err)
	}
	if f = facts(); f.Failures != 0 || f.Failing() {
		t.Errorf("a delivery just after a failure did not end it: %+v", f)
	}

	if err := db.RecordAnswer(ctx, ref, t0, "gave up after 12 attempts"); err != nil {
		t.Fatal(err)
	}
	if f = facts(); !f.AnswersFailing() || f.AnswerError != "gave up after 12 attempts" {
		t.Errorf("after a failed answer: %+v", f)
	}
	if err := db.RecordAnswer(ctx, ref, t0.Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	if f = facts(); f.AnswersFailing() || f.AnswerError != "" {
		t.Errorf("after a published answer: %+v", f)
	}
}
