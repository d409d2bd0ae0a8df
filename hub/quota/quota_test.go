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
	ledger := Ledger{DB: db, ReplyReserve: 0.2}
	if got := key[0].PollBudget(0.2); got != 80 {
		t.Fatalf("poll budget %d, want 80 (20 kept for replies)", got)
	}
	var reserved []Reservation
	for i := range 80 {
		r, use, ok, err := ledger.Take(ctx, key, now, 1)
		if err != nil || !ok {
			t.Fatalf("take %d: %+v %v", i, use, err)
		}
		reserved = append(reserved, r)
	}
	_, use, ok, err := ledger.Take(ctx, key, now, 1)
	if err != nil || ok || use.Used != 80 || use.Budget != 80 || !use.FreesAt.After(now) {
		t.Fatalf("the 81st take: %v %+v %v; want refused until the window frees", ok, use, err)
	}
	// Reservations count until settled; settled, they count when the calls ended.
	for _, r := range reserved {
		if err := ledger.Settle(ctx, r, now, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Replies still get through: they spend without a budget check.
	if err := ledger.Spend(ctx, Buckets(info, app, sdk.OpReply), now, 5); err != nil {
		t.Fatal(err)
	}
	if u, _ := ledger.Read(ctx, key[0], now); u.Used != 85 {
		t.Errorf("used %d, want 85", u.Used)
	}
	// Still refused just before the spent slot leaves the window; free after.
	slot := key[0].Slot()
	if _, use, ok, err := ledger.Take(ctx, key, now.Add(time.Hour-slot), 1); err != nil || ok {
		t.Errorf("a slot before the window ends: %+v %v", use, err)
	}
	if _, use, ok, err := ledger.Take(ctx, key, now.Add(time.Hour+3*slot), 1); err != nil || !ok {
		t.Errorf("after the window: %+v %v", use, err)
	}
}

func TestFitLengthensIntervalsOfAppsSharingABucket(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	app := state.App{StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "p"}}
	key := Buckets(info, app, sdk.OpList)[:1]
	// 50 apps at 1 minute, 1 call each: 3,000 calls/h asked; budget 80/h.
	ledger := Ledger{DB: db, ReplyReserve: 0.2}
	var got time.Duration
	var why *Stretch
	for i := range 50 {
		var err error
		got, why, err = ledger.Fit(ctx, key, Demand{App: state.AppRef{IntegrationID: "i", AppID: string(rune('a' + i))},
			Interval: time.Minute, CallsPerPoll: 1, Record: true})
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
	alone, why, err := ledger.Fit(ctx, Buckets(info, state.App{StoreSettings: sdk.Settings{"key_id": "K2"}}, sdk.OpList)[:1],
		Demand{App: state.AppRef{IntegrationID: "i", AppID: "solo"}, Interval: time.Hour, CallsPerPoll: 1, Record: true})
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
	ledger := Ledger{DB: db, ReplyReserve: 0.2}
	r, use, ok, err := ledger.Take(ctx, key, start, 1)
	if err != nil || !ok {
		t.Fatal(use, err)
	}
	end := start.Add(10 * slot) // a slow call
	// In flight, the reservation counts however long the call takes.
	if u, _ := ledger.Read(ctx, key[0], end); u.Used != 1 {
		t.Errorf("used %d during the call, want the reservation", u.Used)
	}
	if err := ledger.Settle(ctx, r, end, 3); err != nil {
		t.Fatal(err)
	}
	// Just after the start's slot left the window, the call still counts.
	at := start.Add(time.Hour + 3*slot)
	if u, _ := ledger.Read(ctx, key[0], at); u.Used != 3 {
		t.Errorf("used %d an hour after the call began, want 3 (it ended later)", u.Used)
	}
	if u, _ := ledger.Read(ctx, key[0], end.Add(time.Hour+3*slot)); u.Used != 0 {
		t.Errorf("used %d after the window, want 0", u.Used)
	}
}

// A ledger without a reply reserve (or an impossible one) keeps
// DefaultReplyReserve for replies, as the poller's schedule did.
func TestLedgerDefaultsTheReplyReserve(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	key := Buckets(info, state.App{StoreSettings: sdk.Settings{"key_id": "K1", "private_key": "p"}}, sdk.OpList)[:1]
	want := key[0].PollBudget(DefaultReplyReserve)
	for _, reserve := range []float64{0, -1, 1, 2} {
		u, err := Ledger{DB: db, ReplyReserve: reserve}.Read(ctx, key[0], time.Now())
		if err != nil || u.Budget != want {
			t.Errorf("reserve %v: budget %d (%v), want %d", reserve, u.Budget, err, want)
		}
	}
	if u, _ := (Ledger{DB: db, ReplyReserve: 0.5}).Read(ctx, key[0], time.Now()); u.Budget != 50 {
		t.Errorf("reserve 0.5: budget %d, want 50", u.Budget)
	}
}
