package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

func TestUnreadableKeptCountedDedupedAndPruned(t *testing.T) { dialects(t, testUnreadable) }

func testUnreadable(t *testing.T, db *DB) {
	ctx := context.Background()
	clock := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	db.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	keep := func(u Unreadable) bool {
		t.Helper()
		isNew, err := db.KeepUnreadable(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return isNew
	}
	// Webhooks: 105 distinct calls, the newest 100 stay, newest first.
	for i := range 105 {
		keep(Unreadable{IntegrationID: "acme", Kind: UnreadableWebhook, Plugin: "desk", Reason: fmt.Sprintf("event %d unknown", i),
			Shape: `{"event":string}`, Webhook: &WebhookCall{Method: "POST", Body: `{"event":"x"}`, BodyBytes: 13}})
	}
	hooks, err := db.UnreadableItems(ctx, "acme", UnreadableWebhook, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != KeepUnreadable || hooks[0].Reason != "event 104 unknown" || hooks[99].Reason != "event 5 unknown" {
		t.Fatalf("kept %d webhooks, first %q, last %q", len(hooks), hooks[0].Reason, hooks[len(hooks)-1].Reason)
	}
	if w := hooks[0].Webhook; w == nil || w.Body != `{"event":"x"}` || w.BodyBytes != 13 || hooks[0].Plugin != "desk" || hooks[0].Times != 1 {
		t.Errorf("kept webhook %+v %+v", hooks[0], w)
	}
	if !hooks[0].LastSeenAt.After(hooks[1].LastSeenAt) {
		t.Errorf("times not newest first: %v, %v", hooks[0].LastSeenAt, hooks[1].LastSeenAt)
	}

	// Reviews per app; the same item id again updates the kept one, is not counted again.
	if !keep(Unreadable{IntegrationID: "acme", Kind: UnreadableReview, AppID: "ios", Plugin: "store", ItemID: "r1", Reason: "rating 0", Shape: "{}"}) {
		t.Error("first sighting of r1 not new")
	}
	keep(Unreadable{IntegrationID: "acme", Kind: UnreadableReview, AppID: "android", Plugin: "store", ItemID: "r9", Reason: "no text", Shape: "{}"})
	if keep(Unreadable{IntegrationID: "acme", Kind: UnreadableReview, AppID: "ios", Plugin: "store", ItemID: "r1", Reason: "rating 0 again", Shape: "{}"}) {
		t.Error("second sighting of r1 counted as new")
	}
	ios, err := db.UnreadableItems(ctx, "acme", UnreadableReview, "ios")
	if err != nil {
		t.Fatal(err)
	}
	if len(ios) != 1 || ios[0].Times != 2 || ios[0].Reason != "rating 0 again" || !ios[0].LastSeenAt.After(ios[0].FirstSeenAt) || ios[0].Webhook != nil {
		t.Errorf("ios unreadable %+v", ios)
	}
	all, err := db.UnreadableItems(ctx, "acme", UnreadableReview, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ItemID != "r1" || all[1].AppID != "android" {
		t.Errorf("all apps, newest first: %+v", all)
	}
	if other, _ := db.UnreadableItems(ctx, "other", UnreadableReview, ""); len(other) != 0 {
		t.Errorf("another integration sees %d", len(other))
	}

	counters, err := db.Counters(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if counters[""][CountWebhooksIgnored] != 105 || counters["ios"][CountReviewsUnreadable] != 1 || counters["android"][CountReviewsUnreadable] != 1 {
		t.Errorf("counters %v", counters)
	}

	// Bad input is refused; overlong fields are bounded.
	if _, err := db.KeepUnreadable(ctx, Unreadable{IntegrationID: "acme", Kind: UnreadableReview}); err == nil {
		t.Error("a review without app id was kept")
	}
	if _, err := db.KeepUnreadable(ctx, Unreadable{IntegrationID: "acme", Kind: "mystery"}); err == nil {
		t.Error("an unknown kind was kept")
	}
	keep(Unreadable{IntegrationID: "big", Kind: UnreadableWebhook, Reason: strings.Repeat("é", 5000), Shape: strings.Repeat("s", 9000)})
	big, _ := db.UnreadableItems(ctx, "big", UnreadableWebhook, "")
	if len(big) != 1 || len(big[0].Reason) > maxReason+len("…") || len(big[0].Shape) > maxShape+len("…") || !strings.HasSuffix(big[0].Reason, "…") {
		t.Errorf("not bounded: reason %d bytes, shape %d bytes", len(big[0].Reason), len(big[0].Shape))
	}
}

func TestReadOnlyOpenChangesNothing(t *testing.T) {
	db, path := open(t)
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *Tx) error {
		return tx.PutIntegration(ctx, Integration{ID: "acme", HelpdeskSettings: map[string]string{"k": "v"}})
	}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenSQLiteReadOnly(ctx, path, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	in, err := ro.Integration(ctx, "acme")
	if err != nil || in.HelpdeskSettings["k"] != "v" {
		t.Fatalf("read through the read-only handle: %+v %v", in, err)
	}
	if err := ro.InTx(ctx, func(tx *Tx) error { return tx.Count(ctx, "acme", "", "x", 1) }); err == nil {
		t.Error("the read-only handle wrote")
	}
	if _, err := OpenSQLiteReadOnly(ctx, filepath.Join(t.TempDir(), "none.db"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadOnlyOpenPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	db, err := OpenPostgres(ctx, dsn, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InTx(ctx, func(tx *Tx) error {
		return tx.PutIntegration(ctx, Integration{ID: "acme", HelpdeskSettings: map[string]string{"k": "v"}})
	}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenPostgresReadOnly(ctx, dsn, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if in, err := ro.Integration(ctx, "acme"); err != nil || in.HelpdeskSettings["k"] != "v" {
		t.Fatalf("read through the read-only handle: %+v %v", in, err)
	}
	if err := ro.InTx(ctx, func(tx *Tx) error { return tx.Count(ctx, "acme", "", "x", 1) }); err == nil {
		t.Error("the read-only handle wrote")
	}
}
