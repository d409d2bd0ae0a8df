package state

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func scheduleAll(t *testing.T, db *DB, at time.Time) int {
	t.Helper()
	slots, err := db.Unscheduled(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range slots {
		slots[i].NextAt = at
	}
	if err := db.Schedule(context.Background(), slots); err != nil {
		t.Fatal(err)
	}
	return len(slots)
}

func putApps(t *testing.T, db *DB, id string, apps []App) {
	t.Helper()
	in := Integration{ID: id, Source: "config", HelpdeskPlugin: "desk", Apps: apps}
	if err := db.InTx(context.Background(), func(tx *Tx) error { return tx.PutIntegration(context.Background(), in) }); err != nil {
		t.Fatal(err)
	}
}

// Due apps are claimed once across concurrent claimers; a lease keeps an
// app from others until it expires; only the owner writes the next time.
func TestScheduleClaimsAndLeases(t *testing.T) { dialects(t, testScheduleClaims) }

func testScheduleClaims(t *testing.T, db *DB) {
	ctx := context.Background()
	var apps []App
	for i := range 40 {
		apps = append(apps, App{ID: fmt.Sprintf("a%02d", i), StorePlugin: "s", StoreSettings: sdk.Settings{"k": "v"}})
	}
	putApps(t, db, "acme", apps)
	now := time.Now()
	if n := scheduleAll(t, db, now.Add(-time.Second)); n != 40 {
		t.Fatalf("%d apps scheduled, want 40", n)
	}
	if n := scheduleAll(t, db, now); n != 0 {
		t.Fatalf("%d apps scheduled again", n)
	}

	// Eight hubs claim at once: every app goes to exactly one.
	var mu sync.Mutex
	owners := map[string]Owner{}
	claimed := map[string][]Slot{}
	var wg sync.WaitGroup
	for h := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := NewOwner(fmt.Sprintf("hub%d", h))
			for {
				slots, err := db.Claim(ctx, owner, now, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(slots) == 0 {
					return
				}
				mu.Lock()
				for _, s := range slots {
					if prev, dup := owners[s.AppID]; dup {
						t.Errorf("app %s claimed by %s and %s", s.AppID, prev, owner)
					}
					owners[s.AppID] = owner
					claimed[owner.String()] = append(claimed[owner.String()], s)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owners) != 40 {
		t.Fatalf("%d apps claimed, want 40", len(owners))
	}

	// A live lease keeps the app; an expired one lets another hub take it.
	passLeaseTime(t, db, pollLeases, 30*time.Second)
	if got, _ := db.Claim(ctx, NewOwner("other"), now.Add(30*time.Second), time.Minute, 100); len(got) != 0 {
		t.Fatalf("claimed %d leased apps", len(got))
	}
	if n, err := db.RenewLeases(ctx, owners["a00"], claimed[owners["a00"].String()], now, 5*time.Minute); err != nil || n == 0 {
		t.Fatalf("renew: %d %v", n, err)
	}
	passLeaseTime(t, db, pollLeases, 90*time.Second)
	got, err := db.Claim(ctx, NewOwner("other"), now.Add(2*time.Minute), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	others := 0
	for _, o := range owners {
		if o != owners["a00"] {
			others++
		}
	}
	for _, s := range got {
		if owners[s.AppID] == owners["a00"] {
			t.Errorf("app %s taken over although its owner renewed the lease", s.AppID)
		}
	}
	if len(got) != others {
		t.Fatalf("%d expired leases taken over, want %d", len(got), others)
	}
	// Expire the renewed ones too: a hub that stopped renewing loses them.
	third := NewOwner("third")
	passLeaseTime(t, db, pollLeases, 4*time.Minute)
	later, err := db.Claim(ctx, third, now.Add(6*time.Minute), time.Minute, 100)
	if err != nil || len(later) != 40 {
		t.Fatalf("took %d of the 40 apps whose leases all expired: %v", len(later), err)
	}

	// The old owner of a taken-over app cannot write its next time.
	taken := later[0]
	stale := taken
	stale.NextAt = now.Add(time.Hour)
	if ok, err := db.Release(ctx, owners[taken.AppID], stale); err != nil || ok {
		t.Fatalf("release by a hub that lost the lease: %v %v", ok, err)
	}
	next := taken
	next.NextAt, next.Failures, next.Interval, next.CallsPerPoll, next.Note = now.Add(time.Hour), 2, time.Minute, 1.5, "why"
	if ok, err := db.Release(ctx, third, next); err != nil || !ok {
		t.Fatalf("release by the owner: %v %v", ok, err)
	}
	sched, err := db.ScheduleOf(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s := sched[taken.AppID]
	if s.LeaseOwner != "" || !s.NextAt.Equal(next.NextAt.Truncate(time.Millisecond)) || s.Failures != 2 || s.Interval != time.Minute || s.CallsPerPoll != 1.5 || s.Note != "why" {
		t.Errorf("after release: %+v", s)
	}
	if at, ok, err := db.NextDue(ctx); err != nil || !ok || !at.Equal(s.NextAt) {
		t.Errorf("next due %v %v %v, want %v", at, ok, err, s.NextAt)
	}

	// A claim moves the next time one interval on: when the claiming hub
	// dies mid-poll, the app is taken over an interval later, not at once.
	at := next.NextAt.Add(time.Second)
	find := func(slots []Slot) *Slot {
		for i := range slots {
			if slots[i].AppID == taken.AppID {
				return &slots[i]
			}
		}
		return nil
	}
	got, err = db.Claim(ctx, NewOwner("dies"), at, 10*time.Second, 100)
	if c := find(got); err != nil || c == nil || !c.NextAt.Equal(next.NextAt.Truncate(time.Millisecond)) {
		t.Fatalf("claim of the released app: %+v %v (NextAt must be when it was due)", c, err)
	}
	passLeaseTime(t, db, pollLeases, 20*time.Second)
	if c := find(mustClaim(t, db, NewOwner("heir"), at.Add(20*time.Second))); c != nil {
		t.Errorf("taken over after the lease but within the interval: %+v", c)
	}
	passLeaseTime(t, db, pollLeases, 41*time.Second)
	if c := find(mustClaim(t, db, NewOwner("heir"), at.Add(61*time.Second))); c == nil {
		t.Error("not taken over after the interval")
	}
}

func mustClaim(t *testing.T, db *DB, owner Owner, now time.Time) []Slot {
	t.Helper()
	got, err := db.Claim(context.Background(), owner, now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Changing or removing an app drops its schedule row (a changed app is
// scheduled afresh and polled soon); an unchanged app keeps its row, and
// deleting the integration drops all of them.
func TestScheduleFollowsAppChanges(t *testing.T) { dialects(t, testScheduleChanges) }

func testScheduleChanges(t *testing.T, db *DB) {
	ctx := context.Background()
	apps := []App{
		{ID: "same", StorePlugin: "s", StoreSettings: sdk.Settings{"k": "v"}},
		{ID: "secret", StorePlugin: "s", StoreSettings: sdk.Settings{"k": "v"}},
		{ID: "interval", StorePlugin: "s"},
		{ID: "gone", StorePlugin: "s"},
	}
	putApps(t, db, "acme", apps)
	scheduleAll(t, db, time.Now().Add(time.Hour))
	if err := db.QuotaJoin(ctx, "b", AppRef{"acme", "gone"}, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	changed := []App{apps[0],
		{ID: "secret", StorePlugin: "s", StoreSettings: sdk.Settings{"k": "new"}},
		{ID: "interval", StorePlugin: "s", PollInterval: time.Minute},
	}
	putApps(t, db, "acme", changed)
	un, err := db.Unscheduled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range un {
		names = append(names, s.AppID)
	}
	if fmt.Sprint(names) != "[interval secret]" {
		t.Errorf("unscheduled after the change: %v, want [interval secret]", names)
	}
	if un[0].AppInterval != time.Minute {
		t.Errorf("interval of the unscheduled app: %v", un[0].AppInterval)
	}
	sched, _ := db.ScheduleOf(ctx, "acme")
	if _, ok := sched["gone"]; ok || len(sched) != 1 {
		t.Errorf("schedule after the change: %v", sched)
	}
	if apps, _, err := db.QuotaDemand(ctx, "b"); err != nil || apps != 0 {
		t.Errorf("a removed app still shares a quota: %d %v", apps, err)
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.DeleteIntegration(ctx, "acme") }); err != nil {
		t.Fatal(err)
	}
	if sched, _ := db.ScheduleOf(ctx, "acme"); len(sched) != 0 {
		t.Errorf("schedule after delete: %v", sched)
	}
}

// QuotaTake never lets concurrent takers overspend a budget.
func TestQuotaTakeIsAtomic(t *testing.T) { dialects(t, testQuotaTake) }

func testQuotaTake(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	took := 0
	for range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := db.QuotaTake(ctx, "key", now, now.Add(-time.Hour), 1, 10)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				took++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if took != 10 {
		t.Errorf("%d takes succeeded within a budget of 10", took)
	}
	if err := db.QuotaSpend(ctx, "key", now, -2, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if used, err := db.QuotaUsed(ctx, "key", now.Add(-time.Hour)); err != nil || used != 8 {
		t.Errorf("used %d %v, want 8", used, err)
	}
	// Slots older than the window do not count.
	if used, _ := db.QuotaUsed(ctx, "key", now.Add(time.Second)); used != 0 {
		t.Errorf("used after the window: %d", used)
	}
	if err := db.QuotaJoin(ctx, "key", AppRef{"i", "a"}, 2, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.QuotaJoin(ctx, "key", AppRef{"i", "b"}, 1, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if apps, perHour, err := db.QuotaDemand(ctx, "key"); err != nil || apps != 2 || perHour != 4 {
		t.Errorf("demand: %d apps, %v/h, %v; want 2 apps, 4/h", apps, perHour, err)
	}
}

// Commit hooks run after a commit, never after a rollback.
func TestOnCommitHooks(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	ran := 0
	if err := db.InTx(ctx, func(tx *Tx) error { tx.OnCommit(func() { ran++ }); return nil }); err != nil {
		t.Fatal(err)
	}
	_ = db.InTx(ctx, func(tx *Tx) error { tx.OnCommit(func() { ran += 10 }); return fmt.Errorf("rolled back") })
	if ran != 1 {
		t.Errorf("hooks ran %d, want 1 (after the commit only)", ran)
	}
}

// A restarted hub ends the leases of its killed predecessor (same name,
// another instance; or the name alone, as hubs before the one lease wrote
// it), not its own nor those of other hubs, even with a name that begins
// like its own; on SQLite it may end them all.
func TestReleaseLeasesOfAnEarlierRun(t *testing.T) { dialects(t, testReleaseLeases) }

func testReleaseLeases(t *testing.T, db *DB) {
	ctx := context.Background()
	putApps(t, db, "acme", []App{{ID: "a", StorePlugin: "s"}, {ID: "b", StorePlugin: "s"}, {ID: "c", StorePlugin: "s"},
		{ID: "d", StorePlugin: "s"}, {ID: "e", StorePlugin: "s"}})
	now := time.Now()
	scheduleAll(t, db, now.Add(-time.Second))
	const name = "host/127.0.0.1:8080"
	restarted := NewOwner(name)
	holders := []Owner{NewOwner(name), NewOwner("other/127.0.0.1:8080"), NewOwner(name + "0"), restarted}
	for _, o := range holders {
		if got, err := db.Claim(ctx, o, now, time.Hour, 1); err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
	}
	// The fifth app as a hub of the previous release held it.
	legacy := mustClaim(t, db, NewOwner("x"), now)
	if len(legacy) != 1 {
		t.Fatal(legacy)
	}
	if _, err := db.exec(ctx, `UPDATE poll_schedule SET lease_owner = ? WHERE app_id = ?`, name, legacy[0].AppID); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ReleaseLeases(ctx, restarted, false); err != nil || n != 2 {
		t.Fatalf("released %d %v, want the predecessor's and the legacy one", n, err)
	}
	sched, err := db.ScheduleOf(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, s := range sched {
		held[s.LeaseOwner] = true
	}
	for i, o := range holders {
		if held[o.String()] == (i == 0) {
			t.Errorf("after the release, %s holds a lease: %v (want %v)", o, held[o.String()], i != 0)
		}
	}
	// Claimable again once its (moved) next time is due; the others are not.
	got := mustClaim(t, db, NewOwner("y"), now.Add(time.Second))
	if len(got) != 2 {
		t.Fatalf("claimed %+v after the release, want the two released apps", got)
	}
	if n, err := db.ReleaseLeases(ctx, restarted, true); err != nil || n != 5 {
		t.Errorf("released %d %v, want all five", n, err)
	}
}

// The poll leases are fenced: a slot whose lease another claim took since
// (another instance of the same name, or this hub's own later claim after
// the lease lapsed) can neither start its listing nor write its next time.
func TestPollLeasesAreFenced(t *testing.T) { dialects(t, testPollLeasesFenced) }

func testPollLeasesFenced(t *testing.T, db *DB) {
	ctx := context.Background()
	putApps(t, db, "acme", []App{{ID: "a", StorePlugin: "s"}})
	now := time.Now()
	scheduleAll(t, db, now.Add(-time.Second))
	hub, twin := NewOwner("host/127.0.0.1:8080"), NewOwner("host/127.0.0.1:8080")
	first := mustClaim(t, db, hub, now)
	if len(first) != 1 {
		t.Fatal(first)
	}
	if ok, err := db.StartPoll(ctx, twin, first[0], now, time.Minute, time.Minute); ok || err != nil {
		t.Fatalf("another instance of the same name started the poll: %v %v", ok, err)
	}
	if n, err := db.RenewLeases(ctx, twin, first, now, time.Minute); n != 0 || err != nil {
		t.Fatalf("another instance of the same name renewed %d leases: %v", n, err)
	}
	// The lease lapses (interval 0: due again at once) and the same hub
	// claims the app again: the first claim is fenced off.
	passLeaseTime(t, db, pollLeases, 2*time.Minute)
	second := mustClaim(t, db, hub, now.Add(2*time.Minute))
	if len(second) != 1 || second[0].Fence <= first[0].Fence {
		t.Fatalf("second claim %+v after %+v", second, first)
	}
	if ok, err := db.StartPoll(ctx, hub, first[0], now.Add(2*time.Minute), time.Minute, time.Minute); ok || err != nil {
		t.Fatalf("a fenced-off claim started the poll: %v %v", ok, err)
	}
	if ok, err := db.Release(ctx, hub, first[0]); ok || err != nil {
		t.Fatalf("a fenced-off claim wrote the next time: %v %v", ok, err)
	}
	if ok, err := db.StartPoll(ctx, hub, second[0], now.Add(2*time.Minute), time.Minute, time.Minute); !ok || err != nil {
		t.Fatalf("the current claim could not start the poll: %v %v", ok, err)
	}
	if ok, err := db.Release(ctx, hub, second[0]); !ok || err != nil {
		t.Fatalf("the current claim could not release: %v %v", ok, err)
	}
}

// TestRenewOnlyHeldPollLeases: the hub renews the leases of the slots its
// workers hold now, by key and fence; a slot it no longer works on (its
// release failed) is not renewed: its lease expires and the app is
// claimed again (before, every row of the owner was renewed forever).
func TestRenewOnlyHeldPollLeases(t *testing.T) { dialects(t, testRenewOnlyHeld) }

func testRenewOnlyHeld(t *testing.T, db *DB) {
	ctx := context.Background()
	putApps(t, db, "acme", []App{{ID: "a", StorePlugin: "s"}, {ID: "b", StorePlugin: "s"}})
	now := time.Now()
	scheduleAll(t, db, now.Add(-time.Second))
	hub := NewOwner("hub")
	slots := mustClaim(t, db, hub, now)
	if len(slots) != 2 {
		t.Fatal(slots)
	}
	// The worker of slots[1] ended but its release failed: only slots[0]
	// is held. Renewed past the first lease's expiry, twice.
	for _, at := range []time.Time{now.Add(50 * time.Second), now.Add(100 * time.Second)} {
		passLeaseTime(t, db, pollLeases, 50*time.Second)
		if n, err := db.RenewLeases(ctx, hub, slots[:1], at, time.Minute); n != 1 || err != nil {
			t.Fatalf("renew at %s: %d %v", at, n, err)
		}
	}
	passLeaseTime(t, db, pollLeases, 10*time.Second)
	got := mustClaim(t, db, NewOwner("other"), now.Add(110*time.Second))
	if len(got) != 1 || got[0].AppRef != slots[1].AppRef {
		t.Fatalf("claimed %+v, want only %v (its lease not renewed)", got, slots[1].AppRef)
	}
	// The slot taken over is no longer renewed under the old fence.
	if n, err := db.RenewLeases(ctx, hub, slots[1:], now.Add(120*time.Second), time.Minute); n != 0 || err != nil {
		t.Fatalf("renewed a lease another took: %d %v", n, err)
	}
}
