package state

import (
	"context"
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
		if ok, err := db.ClaimAlert(ctx, ref, "", now, time.Minute); !ok || err != nil {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, _ := db.ClaimAlert(ctx, ref, "", now, time.Minute); ok {
			t.Fatal("a second claim while the first holds")
		}
		if err := db.ReleaseAlert(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if ok, _ := db.ClaimAlert(ctx, ref, "", now, time.Minute); !ok {
			t.Fatal("a released claim could not be taken again")
		}
		if err := db.AlertSent(ctx, ref, sdk.HealthCredentials, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := db.ClaimAlert(ctx, ref, "", now, time.Minute); ok {
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
