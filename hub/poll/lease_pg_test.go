package poll

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// listingStore records when each listing came (by the pollers' clock) and
// runs during the first one what the test makes happen meanwhile.
type listingStore struct {
	store
	clock    *atomic.Int64 // unix ms, shared with the pollers
	at       []time.Time
	keys     []string // the listings' "key" setting
	inListed func()
}

func (s *listingStore) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	s.at = append(s.at, time.UnixMilli(s.clock.Load()))
	s.keys = append(s.keys, req.Settings["key"])
	if f := s.inListed; f != nil {
		s.inListed = nil
		f()
	}
	return s.store.ListReviews(ctx, req)
}

type listingPlugins struct{ st *listingStore }

func (p listingPlugins) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return p.st, sdk.Info{Name: "s", Settings: []sdk.SettingField{{Key: "key"}}, Store: &sdk.StoreCapabilities{}}, nil
}
func (p listingPlugins) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return plugins{}.Helpdesk("")
}

// twoHubs is one app (interval 1m) on a PostgreSQL database and two hubs'
// pollers sharing a clock that the test moves. The leases run by the
// server's clock, which the test cannot move: lapse lets time pass for
// them (every lease's end moves back).
func twoHubs(t *testing.T) (a, b *Poller, st *listingStore, clock *atomic.Int64, lapse func(time.Duration)) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	lapse = func(by time.Duration) {
		if _, err := raw.ExecContext(ctx, `UPDATE poll_schedule SET lease_until_ms = lease_until_ms - $1
			WHERE lease_owner <> ''`, by.Milliseconds()); err != nil {
			t.Fatal(err)
		}
	}
	open := func() *state.DB {
		db, err := state.OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA := open()
	in := state.Integration{ID: "acme", Source: "config", HelpdeskPlugin: "desk",
		Apps: []state.App{{ID: "ios", StorePlugin: "s", StoreAppID: "store-ios", StoreSettings: sdk.Settings{"key": "K"},
			PollInterval: time.Minute}}}
	if err := dbA.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	clock = &atomic.Int64{}
	st = &listingStore{clock: clock}
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	newPoller := func(db *state.DB, owner string) *Poller {
		p := &Poller{DB: db, Plugins: listingPlugins{st}, Logger: slog.New(slog.DiscardHandler), now: now}
		p.Schedule.Owner, p.Schedule.Lease = owner, 10*time.Second
		p.Schedule.setDefaults()
		return p
	}
	a, b = newPoller(dbA, "hub-a"), newPoller(open(), "hub-b")
	a.sync(ctx)
	return a, b, st, clock, lapse
}

// claimAndPoll claims what is due on p's clock and polls it; it returns
// how many apps it claimed.
func claimAndPoll(t *testing.T, p *Poller) int {
	t.Helper()
	ctx := context.Background()
	slots, err := p.DB.Claim(ctx, p.Schedule.owner, p.clock(), p.Schedule.Lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		p.pollSlot(ctx, s)
	}
	return len(slots)
}

// A hub whose poll reaches the store late (it waited for its database
// seconds after the claim) and which then dies before writing the app's
// next time: the other hub takes the app over one interval after that
// listing, not one interval after the claim, so the app is never listed
// twice within an interval.
func TestLateListingOfADeadHubIsNotRepeatedWithinTheInterval(t *testing.T) {
	a, b, st, clock, lapse := twoHubs(t)
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond) // the app is due
	clock.Store(start.UnixMilli())
	ctx, kill := context.WithCancel(context.Background())
	slots, err := a.DB.Claim(ctx, a.Schedule.owner, start, a.Schedule.Lease, 10)
	if err != nil || len(slots) != 1 {
		t.Fatalf("claim: %v %v", slots, err)
	}
	// Hub a lists 50 s after its claim; during the listing it dies (its
	// context ends, so it writes nothing more) and the clock goes on to
	// one minute and a second after the claim, when hub b looks.
	clock.Store(start.Add(50 * time.Second).UnixMilli())
	lapse(50 * time.Second)
	tookOver := -1
	st.inListed = func() {
		kill()
		clock.Store(start.Add(61 * time.Second).UnixMilli())
		lapse(11 * time.Second)
		tookOver = claimAndPoll(t, b)
	}
	a.pollSlot(ctx, slots[0])
	if tookOver != 0 || len(st.at) != 1 {
		t.Fatalf("hub b claimed %d apps 11 s after hub a's listing; listings at %v", tookOver, st.at)
	}
	// One interval after the listing the app is b's.
	clock.Store(start.Add(50*time.Second + 61*time.Second).UnixMilli())
	lapse(50 * time.Second)
	if n := claimAndPoll(t, b); n != 1 || len(st.at) != 2 {
		t.Fatalf("one interval after the listing hub b claimed %d apps; listings at %v", n, st.at)
	}
}

// A hub that reaches the listing after another hub took the app over (its
// lease ran out while it waited) does not list it.
func TestHubWhoseLeaseWasTakenOverDoesNotList(t *testing.T) {
	a, b, st, clock, lapse := twoHubs(t)
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	clock.Store(start.UnixMilli())
	ctx := context.Background()
	slots, err := a.DB.Claim(ctx, a.Schedule.owner, start, a.Schedule.Lease, 10)
	if err != nil || len(slots) != 1 {
		t.Fatalf("claim: %v %v", slots, err)
	}
	// Hub a stalls past its lease and the interval; hub b takes the app
	// over and polls it.
	clock.Store(start.Add(2 * time.Minute).UnixMilli())
	lapse(2 * time.Minute)
	if n := claimAndPoll(t, b); n != 1 || len(st.at) != 1 {
		t.Fatalf("hub b claimed %d apps; listings at %v", n, st.at)
	}
	a.pollSlot(ctx, slots[0])
	if len(st.at) != 1 {
		t.Fatalf("hub a listed the app after hub b had taken it over: listings at %v", st.at)
	}
	sched, err := a.DB.ScheduleOf(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s := sched["ios"]; s.LeaseOwner != "" || s.NextAt.Before(start.Add(2*time.Minute+54*time.Second)) {
		t.Errorf("after both polls: %+v", s)
	}
}

// Two hubs whose clocks disagree by ten minutes: while the hub behind
// lists the app, the hub ahead (by whose clock the first one's lease ran
// out minutes ago, and the app is due again) neither claims nor lists it,
// because the leases run by the database server's clock.
func TestHubsWithSkewedClocksDoNotPollOneAppAtOnce(t *testing.T) {
	a, b, st, clock, _ := twoHubs(t)
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond) // the app is due
	clock.Store(start.UnixMilli())
	b.now = func() time.Time { return time.UnixMilli(clock.Load()).Add(10 * time.Minute) }
	ctx := context.Background()
	slots, err := a.DB.Claim(ctx, a.Schedule.owner, a.clock(), a.Schedule.Lease, 10)
	if err != nil || len(slots) != 1 {
		t.Fatalf("claim: %v %v", slots, err)
	}
	tookOver := -1
	st.inListed = func() { tookOver = claimAndPoll(t, b) }
	a.pollSlot(ctx, slots[0])
	if tookOver != 0 || len(st.at) != 1 {
		t.Fatalf("the hub ahead claimed %d apps while the hub behind listed; listings at %v", tookOver, st.at)
	}
}

// An integration changed by another hub is polled with the change at its
// next poll (state.DB.CurrentIntegration, the one copy the poller and the
// handlers read).
func TestPollSeesAnIntegrationChangedByAnotherHub(t *testing.T) {
	a, b, st, clock, _ := twoHubs(t)
	ctx := context.Background()
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	clock.Store(start.UnixMilli())
	if n := claimAndPoll(t, a); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	in, err := b.DB.CurrentIntegration(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	in.Apps[0].StoreSettings = sdk.Settings{"key": "K2"}
	if err := b.DB.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	a.sync(ctx) // the changed app is scheduled afresh, within a second
	clock.Store(start.Add(time.Minute).UnixMilli())
	if n := claimAndPoll(t, a); n != 1 {
		t.Fatalf("claimed %d after the change", n)
	}
	if len(st.keys) != 2 || st.keys[0] != "K" || st.keys[1] != "K2" {
		t.Fatalf("listed with keys %q, want the changed one second", st.keys)
	}
}
