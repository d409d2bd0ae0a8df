package poll

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// The publishing side of the reviews' journey: every listed review is
// either queued (its message committed with it) or skipped on purpose
// (docs/performance.md, "Lost reviews: the publishing side").

// pageStore lists the reviews it holds, newest first, in pages of size;
// hook, when set, runs at the start of each listing call (before the
// reviews are read) and may block it.
type pageStore struct {
	store
	mu      sync.Mutex
	reviews []sdk.Review // newest first
	size    int
	hook    func(call int)
	calls   int
}

func (s *pageStore) put(rs ...sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reviews = append(append([]sdk.Review(nil), rs...), s.reviews...)
}

func (s *pageStore) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	s.mu.Lock()
	s.calls++
	call, hook := s.calls, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	if req.PageToken != "" {
		fmt.Sscan(req.PageToken, &start)
	}
	end := min(start+s.size, len(s.reviews))
	resp := sdk.ListReviewsResponse{Reviews: append([]sdk.Review(nil), s.reviews[start:end]...), Cursor: "c"}
	if end < len(s.reviews) {
		resp.NextPageToken = fmt.Sprint(end)
	}
	return resp, nil
}

type pagePlugins struct{ st *pageStore }

func (p pagePlugins) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return p.st, sdk.Info{Name: "s", Settings: []sdk.SettingField{{Key: "key"}}, Store: &sdk.StoreCapabilities{}}, nil
}

// pubRig is a poller with a real bus on one dialect's state.
type pubRig struct {
	db       *state.DB
	bus      bus.Bus
	p        *Poller
	st       *pageStore
	in       state.Integration
	postgres bool
	// uninstall removes the fault install put in.
	uninstall func()
}

func dialects(t *testing.T, f func(t *testing.T, r *pubRig)) {
	for _, d := range []string{state.SQLite, state.Postgres} {
		t.Run(d, func(t *testing.T) { f(t, newPubRig(t, d)) })
	}
}

func newPubRig(t *testing.T, dialect string) *pubRig {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	r := &pubRig{postgres: dialect == state.Postgres, st: &pageStore{size: 3}}
	var err error
	var b bus.Bus
	if r.postgres {
		if r.db, err = state.OpenPostgres(ctx, pgtest.DSN(t), nil); err != nil {
			t.Fatal(err)
		}
		err = r.db.WithSchemaLock(ctx, func() error {
			var err error
			b, err = bus.NewPostgres(ctx, r.db.SQL(), log, bus.SubscriberConfig{})
			return err
		})
	} else {
		if r.db, err = state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil); err != nil {
			t.Fatal(err)
		}
		b, err = bus.NewSQLite(ctx, r.db.SQL(), log, bus.SubscriberConfig{WriteGate: r.db.WriteGate()})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(); r.db.Close() })
	r.in = state.Integration{ID: "acme", Source: "config", HelpdeskPlugin: "desk",
		Apps: []state.App{{ID: "ios", StorePlugin: "s", StoreAppID: "store-ios", StoreSettings: sdk.Settings{"key": "K"}}}}
	if err := r.db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, r.in) }); err != nil {
		t.Fatal(err)
	}
	if r.in, err = r.db.Integration(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	r.bus = b
	r.p = &Poller{DB: r.db, Bus: b, Plugins: pagePlugins{r.st}, Logger: log}
	return r
}

func reviews(prefix string, n int) []sdk.Review {
	out := make([]sdk.Review, n)
	for i := range out {
		out[i] = sdk.Review{ID: fmt.Sprintf("%s-%03d", prefix, n-1-i), Rating: 1 + i%5, Text: "text", UpdatedAt: time.Now()}
	}
	return out
}

// queued returns the reviews of the app that have a message on the
// reviews topic (committed, whether consumed or not).
func (r *pubRig) queued(t *testing.T) map[string]int {
	t.Helper()
	topic := bus.TopicFor(bus.TopicReviews, r.in.ID)
	table, field := bus.SQLiteSchema{}.MessagesTable(topic), `json_extract(metadata, '$.`+bus.MetadataReview+`')`
	if r.postgres {
		table, field = wsql.DefaultPostgreSQLSchema{}.MessagesTable(topic), `(metadata::jsonb ->> '`+bus.MetadataReview+`')`
	}
	rows, err := r.db.SQL().Query(`SELECT ` + field + ` FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (r *pubRig) app() state.App { return r.in.Apps[0] }

// Two listings of an app overlap (a double poll): the second began before
// the first connected the app, so it too took itself for the app's first
// listing, which imports only the backfill limit's most recent reviews.
// Reviews that came after the app was connected are new ones, and each
// must be queued; before the decision was taken inside the transaction
// the second listing recorded all but the 20 newest as seen and skipped.
func TestOverlappingFirstListingsSkipNothingNew(t *testing.T) {
	dialects(t, func(t *testing.T, r *pubRig) {
		ctx := context.Background()
		r.st.size = 1000
		r.st.put(sdk.Review{ID: "seed", Rating: 5, Text: "connects the app", UpdatedAt: time.Now().Add(-time.Hour)})
		listed, release := make(chan struct{}), make(chan struct{})
		r.st.hook = func(call int) {
			if call == 1 {
				close(listed)
				<-release
			}
		}
		errs := make(chan error, 1)
		go func() { _, err := r.p.PollOnce(ctx, r.in, r.app()); errs <- err }() // read the cursor: not connected
		<-listed
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil { // connects the app with "seed"
			t.Fatal(err)
		}
		r.st.put(reviews("new", 60)...) // after the app was connected
		close(release)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		got := r.queued(t)
		for _, rv := range reviews("new", 60) {
			if got[rv.ID] != 1 {
				t.Errorf("review %s came after the app was connected: queued %d times, want 1", rv.ID, got[rv.ID])
			}
		}
		if got["seed"] != 1 {
			t.Errorf("seed queued %d times, want 1", got["seed"])
		}
	})
}

// Two first listings at once, neither yet committed when the other
// begins: one of them connects the app; the other either fails (its
// reviews clash with the first's) or, run after it, takes itself for a
// later listing. Either way a review is queued once or skipped by the
// one backfill that connected the app, never skipped twice over.
func TestFirstListingIsTheOneThatConnects(t *testing.T) {
	dialects(t, func(t *testing.T, r *pubRig) {
		ctx := context.Background()
		r.st.size = 1000
		r.st.put(reviews("old", 30)...) // before the app was connected: 20 imported
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = r.p.PollOnce(ctx, r.in, r.app()) }()
		}
		wg.Wait()
		if errs[0] != nil && errs[1] != nil {
			t.Fatalf("both listings failed: %v; %v", errs[0], errs[1])
		}
		got := r.queued(t)
		n := 0
		for _, c := range got {
			if c != 1 {
				t.Errorf("queued %v: a review twice", got)
			}
			n += c
		}
		if n != 20 {
			t.Errorf("%d reviews queued, want the backfill limit's 20: %v", n, got)
		}
	})
}

// fault is a trigger that fails (or, on PostgreSQL with sleep, outlasts
// the state's deadline) one statement of the page transaction: table,
// event, and the condition on NEW in each dialect.
type fault struct {
	name, table, event, pg, sqlite string
	sleep                          bool // PostgreSQL only: sleep past the deadline instead of failing
	commit                         bool // PostgreSQL only: fail at the commit (a deferred constraint trigger)
}

func (r *pubRig) install(t *testing.T, f fault) {
	t.Helper()
	table := f.table
	if table == "messages" {
		topic := bus.TopicFor(bus.TopicReviews, r.in.ID)
		table = bus.SQLiteSchema{}.MessagesTable(topic)
		if r.postgres {
			table = wsql.DefaultPostgreSQLSchema{}.MessagesTable(topic)
		}
	}
	if r.postgres {
		body := `RAISE EXCEPTION 'injected fault';`
		if f.sleep {
			body = `PERFORM pg_sleep(1); RETURN NEW;`
		}
		r.exec(t, `CREATE FUNCTION fault() RETURNS trigger AS $$ BEGIN `+body+` END $$ LANGUAGE plpgsql`)
		trigger := `CREATE TRIGGER fault BEFORE ` + f.event + ` ON ` + table + ` FOR EACH ROW`
		if f.commit {
			trigger = `CREATE CONSTRAINT TRIGGER fault AFTER ` + f.event + ` ON ` + table + ` DEFERRABLE INITIALLY DEFERRED FOR EACH ROW`
		}
		r.exec(t, trigger+` WHEN (`+f.pg+`) EXECUTE FUNCTION fault()`)
		r.uninstall = func() { r.exec(t, `DROP TRIGGER fault ON `+table); r.exec(t, `DROP FUNCTION fault()`) }
		return
	}
	r.exec(t, `CREATE TRIGGER fault BEFORE `+f.event+` ON `+table+` FOR EACH ROW WHEN `+f.sqlite+
		` BEGIN SELECT RAISE(ABORT, 'injected fault'); END`)
	r.uninstall = func() { r.exec(t, `DROP TRIGGER fault`) }
}

// A page transaction that fails at any one of its statements (or, on
// PostgreSQL, runs out of the state's deadline there) commits nothing of
// its page: the listing fails, and the next one queues every review not
// queued before. Afterwards each listed review was queued exactly once
// and none is taken as lost.
func TestPageTransactionFailingAnywhereLosesNothing(t *testing.T) {
	faults := []fault{
		{name: "review insert", table: "reviews", event: "INSERT", pg: `NEW.review_id = 'new-005'`, sqlite: `NEW.review_id = 'new-005'`},
		{name: "version insert", table: "review_versions", event: "INSERT", pg: `NEW.review_id = 'new-006'`, sqlite: `NEW.review_id = 'new-006'`},
		{name: "message insert", table: "messages", event: "INSERT", pg: `NEW.metadata::jsonb ->> 'rh_review' = 'new-005'`,
			sqlite: `json_extract(NEW.metadata, '$.rh_review') = 'new-005'`},
		{name: "queued counter", table: "counters", event: "INSERT", pg: `NEW.name LIKE 'reviews_queued%'`, sqlite: `NEW.name LIKE 'reviews_queued%'`},
		{name: "queued mark", table: "reviews", event: "UPDATE", pg: `NEW.queued_version > 0 AND NEW.review_id = 'new-001'`,
			sqlite: `NEW.queued_version > 0 AND NEW.review_id = 'new-001'`},
		{name: "cursor", table: "cursors", event: "INSERT", pg: `NEW.cursor <> ''`, sqlite: `NEW.cursor <> ''`},
		{name: "deadline at the message insert", table: "messages", event: "INSERT", sleep: true,
			pg: `NEW.metadata::jsonb ->> 'rh_review' = 'new-005'`},
		{name: "commit", table: "messages", event: "INSERT", commit: true,
			pg: `NEW.metadata::jsonb ->> 'rh_review' = 'new-005'`},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			dialects(t, func(t *testing.T, r *pubRig) {
				if (f.sleep || f.commit) && !r.postgres {
					t.Skip("SQLite triggers can neither sleep nor wait for the commit")
				}
				ctx := context.Background()
				r.st.put(sdk.Review{ID: "seed", Rating: 5, Text: "connects the app"})
				if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
					t.Fatal(err)
				}
				r.st.size = 4
				r.st.put(reviews("new", 10)...) // pages: new-009…new-006, new-005…new-002, new-001, new-000, seed
				r.install(t, f)
				if f.sleep {
					r.db.SetTimeout(300 * time.Millisecond)
				}
				if _, err := r.p.PollOnce(ctx, r.in, r.app()); err == nil {
					t.Fatal("the listing succeeded with a statement failing")
				}
				r.uninstall()
				r.db.SetTimeout(state.DefaultTimeout)
				if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
					t.Fatal(err)
				}
				got := r.queued(t)
				for _, rv := range append(reviews("new", 10), sdk.Review{ID: "seed"}) {
					if got[rv.ID] != 1 {
						t.Errorf("review %s queued %d times, want 1 (queued: %v)", rv.ID, got[rv.ID], got)
					}
				}
				if lost := r.reconcile(t); len(lost) != 0 {
					t.Errorf("taken as lost: %v", lost)
				}
			})
		})
	}
}

// Two listings of a connected app at once (a double poll), page after
// page over the same new reviews: whichever commits a review's page first
// queues it, the other fails on it or finds it unchanged. After one more
// listing every review was queued exactly once.
func TestOverlappingListingsQueueEachReviewOnce(t *testing.T) {
	dialects(t, func(t *testing.T, r *pubRig) {
		ctx := context.Background()
		r.st.put(sdk.Review{ID: "seed", Rating: 5, Text: "connects the app"})
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		r.st.size = 4
		r.st.put(reviews("new", 30)...)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = r.p.PollOnce(ctx, r.in, r.app()) }() // either may fail on the other's rows
		}
		wg.Wait()
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		got := r.queued(t)
		for _, rv := range append(reviews("new", 30), sdk.Review{ID: "seed"}) {
			if got[rv.ID] != 1 {
				t.Errorf("review %s queued %d times, want 1", rv.ID, got[rv.ID])
			}
		}
		if lost := r.reconcile(t); len(lost) != 0 {
			t.Errorf("taken as lost: %v", lost)
		}
	})
}
