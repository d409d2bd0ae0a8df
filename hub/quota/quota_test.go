package quota

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func openDB(t *testing.T) *state.DB {
	t.Helper()
	db, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var info = sdk.Info{Name: "store",
	Settings: []sdk.SettingField{{Key: "key_id"}, {Key: "private_key", Secret: true}},
	Store: &sdk.StoreCapabilities{Quotas: []sdk.QuotaBucket{
		{Name: "key", Per: []string{"key_id", "private_key"}, Limit: 100, Window: time.Hour},
		{Name: "app reads", Per: []string{sdk.QuotaPerApp}, Limit: 10, Window: time.Minute, Ops: []string{sdk.OpList}},
		{Name: "broken", Limit: 0, Window: time.Hour},
	}}}

func TestBucketsPerCredential(t *testing.T) {
	a := state.App{StoreAppID: "com.x", StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "SECRET-PEM"}}
	b := state.App{StoreAppID: "com.y", StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "SECRET-PEM"}}
	feed := state.App{StoreAppID: "com.z"}

	ba, bb := Buckets(info, a, sdk.OpList), Buckets(info, b, sdk.OpList)
	if len(ba) != 2 || len(bb) != 2 {
		t.Fatalf("buckets: %+v %+v (the invalid one must be skipped)", ba, bb)
	}
	if ba[0].Key != bb[0].Key {
		t.Error("two apps of one key do not share the key's bucket")
	}
	if ba[1].Key == bb[1].Key {
		t.Error("two apps share a per-app bucket")
	}
	if strings.Contains(ba[0].Account, "SECRET") || !strings.Contains(ba[0].Account, "key_id K1") {
		t.Errorf("account label %q: want the key id and no secret", ba[0].Account)
	}
	if got := Buckets(info, feed, sdk.OpList); len(got) != 1 || got[0].Name != "app reads" {
		t.Errorf("an app without a key spends from %+v; want only its per-app bucket", got)
	}
	if got := Buckets(info, a, sdk.OpReply); len(got) != 1 || got[0].Name != "key" {
		t.Errorf("replies spend from %+v; want the key's bucket only", got)
	}
}

func TestTakeKeepsPollingInsideTheBudgetAndRoomForReplies(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	app := state.App{StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "p"}}
	key := Buckets(info, app, sdk.OpList)[:1]
	now := time.Now()
	if got := key[0].PollBudget(0.2); got != 80 {
		t.Fatalf("poll budget %d, want 80 (20 kept for replies)", got)
	}
	for i := range 80 {
		if use, err := Take(ctx, db, key, now, 1, 0.2); err != nil || use != nil {
			t.Fatalf("take %d: %+v %v", i, use, err)
		}
	}
	use, err := Take(ctx, db, key, now, 1, 0.2)
	if err != nil || use == nil || use.Used != 80 || use.Budget != 80 || !use.FreesAt.After(now) {
		t.Fatalf("the 81st take: %+v %v; want refused until the window frees", use, err)
	}
	// Reservations count until settled; settled, they count when the calls ended.
	if err := Settle(ctx, db, key, now, 80, now, 80); err != nil {
		t.Fatal(err)
	}
	// Replies still get through: they spend without a budget check.
	if err := Spend(ctx, db, Buckets(info, app, sdk.OpReply), now, 5); err != nil {
		t.Fatal(err)
	}
	if u, _ := Read(ctx, db, key[0], now, 0.2); u.Used != 85 {
		t.Errorf("used %d, want 85", u.Used)
	}
	// Still refused just before the spent slot leaves the window; free after.
	slot := key[0].Slot()
	if use, err := Take(ctx, db, key, now.Add(time.Hour-slot), 1, 0.2); err != nil || use == nil {
		t.Errorf("a slot before the window ends: %+v %v", use, err)
	}
	if use, err := Take(ctx, db, key, now.Add(time.Hour+3*slot), 1, 0.2); err != nil || use != nil {
		t.Errorf("after the window: %+v %v", use, err)
	}
}

func TestFitLengthensIntervalsOfAppsSharingABucket(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	app := state.App{StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "p"}}
	key := Buckets(info, app, sdk.OpList)[:1]
	// 50 apps at 1 minute, 1 call each: 3,000 calls/h asked; budget 80/h.
	var got time.Duration
	var why *Stretch
	for i := range 50 {
		var err error
		got, why, err = Fit(ctx, db, key, state.AppRef{IntegrationID: "i", AppID: string(rune('a' + i))}, time.Minute, 1, 0.2, true)
		if err != nil {
			t.Fatal(err)
		}
	}
	want := time.Duration(float64(time.Minute) * 3000 / 80)
	if got != want || why == nil || why.Apps != 50 {
		t.Fatalf("interval %v (%v), want %v for 50 apps", got, why, want)
	}
	if !strings.Contains(why.String(), "shared by 50 apps asking 3000 requests/h, the polling budget is 80/h") {
		t.Errorf("explanation: %s", why)
	}
	// One app alone fits.
	alone, why, err := Fit(ctx, db, Buckets(info, state.App{StoreSettings: sdk.Settings{"key_id": "K2"}}, sdk.OpList)[:1],
		state.AppRef{IntegrationID: "i", AppID: "solo"}, time.Hour, 1, 0.2, true)
	if err != nil || alone != time.Hour || why != nil {
		t.Errorf("a lone app: %v %v %v", alone, why, err)
	}
}

// A reservation settled later moves to the slot the call ended in, so it
// stays counted as long as the store counts it.
func TestSettleCountsWhenTheCallEnded(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	app := state.App{StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "p"}}
	key := Buckets(info, app, sdk.OpList)[:1]
	slot := key[0].Slot()
	start := time.Now().Truncate(slot)
	if use, err := Take(ctx, db, key, start, 1, 0.2); err != nil || use != nil {
		t.Fatal(use, err)
	}
	end := start.Add(10 * slot) // a slow call
	// In flight, the reservation counts however long the call takes.
	if u, _ := Read(ctx, db, key[0], end, 0.2); u.Used != 1 {
		t.Errorf("used %d during the call, want the reservation", u.Used)
	}
	if err := Settle(ctx, db, key, start, 1, end, 3); err != nil {
		t.Fatal(err)
	}
	// Just after the start's slot left the window, the call still counts.
	at := start.Add(time.Hour + 3*slot)
	if u, _ := Read(ctx, db, key[0], at, 0.2); u.Used != 3 {
		t.Errorf("used %d an hour after the call began, want 3 (it ended later)", u.Used)
	}
	if u, _ := Read(ctx, db, key[0], end.Add(time.Hour+3*slot), 0.2); u.Used != 0 {
		t.Errorf("used %d after the window, want 0", u.Used)
	}
}
