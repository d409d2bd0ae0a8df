package poll

import (
	"context"
	"testing"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// exec runs q on the rig's database (a test's direct change of the bus's
// tables).
func (r *pubRig) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := r.db.SQL().Exec(q); err != nil {
		t.Fatal(err)
	}
}

// consumeAll acknowledges every message of the app's reviews partition
// without a handler: pruned (the rows deleted) or only acknowledged (the
// consumer group's position past them).
func (r *pubRig) consumeAll(t *testing.T, prune bool) {
	t.Helper()
	topic := bus.TopicFor(bus.TopicReviews, r.in.ID)
	switch {
	case prune && r.postgres:
		r.exec(t, `DELETE FROM `+wsql.DefaultPostgreSQLSchema{}.MessagesTable(topic))
	case prune:
		r.exec(t, `DELETE FROM `+bus.SQLiteSchema{}.MessagesTable(topic))
	case r.postgres:
		r.exec(t, `INSERT INTO `+wsql.DefaultPostgreSQLOffsetsAdapter{}.MessagesOffsetsTable(topic)+
			` (consumer_group, offset_acked, last_processed_transaction_id) VALUES ('g', 1000000000, '100000000000'::xid8)`)
	default:
		r.exec(t, `INSERT INTO `+bus.SQLiteSchema{}.OffsetsTable(topic)+` (consumer_group, offset_acked) VALUES ('g', 1000000000)`)
	}
}

func (r *pubRig) reconcile(t *testing.T) map[string]bool {
	t.Helper()
	marked, err := r.p.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, q := range marked {
		out[q.ReviewID] = true
	}
	return out
}

func (r *pubRig) lostCount(t *testing.T) (counted, waiting int) {
	t.Helper()
	c, err := r.db.Counters(context.Background(), r.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if waiting, err = r.db.Requeued(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c[r.app().ID][state.CountLost], waiting
}

// A queued review not linked to a ticket whose message is neither waiting
// on the bus nor a dead letter is lost: Reconcile finds it (and nothing
// delivered, waiting, dead-lettered or skipped on purpose), counts it, and
// the next listing queues it again.
func TestReconcileFindsALostMessageAndQueuesTheReviewAgain(t *testing.T) {
	dialects(t, func(t *testing.T, r *pubRig) {
		ctx := context.Background()
		r.st.size = 4
		r.st.put(sdk.Review{ID: "seed", Rating: 5, Text: "connects the app"})
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		// Ten new reviews, rated 5,4,3,2,1,5,…: the app's filter lets the
		// two rated 5 through (new-005 and new-000), the others are
		// skipped on purpose.
		r.st.put(reviews("new", 10)...)
		app := r.app()
		app.Filters.Ratings = []int{5}
		if _, err := r.p.PollOnce(ctx, r.in, app); err != nil {
			t.Fatal(err)
		}
		if got := r.reconcile(t); len(got) != 0 {
			t.Fatalf("right after the listing, with every message waiting: %v taken as lost", got)
		}
		q := r.queued(t)
		if len(q) != 3 || q["seed"] != 1 || q["new-005"] != 1 || q["new-000"] != 1 {
			t.Fatalf("queued %v, want seed, new-005 and new-000", q)
		}
		// seed delivered; new-005 became a dead letter; the bus then
		// passed every message without a handler: new-000 is lost.
		if err := r.db.InTx(ctx, func(tx *state.Tx) error { return tx.LinkTicket(ctx, r.in.ID, app.ID, "seed", "T1") }); err != nil {
			t.Fatal(err)
		}
		dead := bus.NewMessage("", []byte(`{}`))
		bus.SetKeys(dead, r.in.ID, "")
		bus.SetSubject(dead, app.ID, "new-005")
		dead.Metadata.Set(middleware.PoisonedTopicKey, bus.TopicFor(bus.TopicReviews, r.in.ID))
		if err := r.bus.Publisher().Publish(bus.TopicDeadLetters, dead); err != nil {
			t.Fatal(err)
		}
		r.consumeAll(t, true)
		if got := r.reconcile(t); len(got) != 1 || !got["new-000"] {
			t.Fatalf("lost: %v, want new-000 alone", got)
		}
		if counted, waiting := r.lostCount(t); counted != 1 || waiting != 1 {
			t.Errorf("counted %d lost, %d waiting to be queued again; want 1 and 1", counted, waiting)
		}
		if by, err := r.db.LostByApp(ctx); err != nil || by[state.AppRef{IntegrationID: r.in.ID, AppID: app.ID}] != 1 || len(by) != 1 {
			t.Errorf("lost by app %v (%v), want 1 for %s", by, err, app.ID)
		}
		if got := r.reconcile(t); len(got) != 0 {
			t.Errorf("found again before the next listing: %v", got)
		}
		// The next listing queues it again (the store still lists it).
		if _, err := r.p.PollOnce(ctx, r.in, app); err != nil {
			t.Fatal(err)
		}
		if q := r.queued(t); len(q) != 1 || q["new-000"] != 1 {
			t.Fatalf("queued after the lost one was found: %v, want new-000 once", q)
		}
		if _, waiting := r.lostCount(t); waiting != 0 {
			t.Errorf("%d reviews still waiting to be queued again", waiting)
		}
		if got := r.reconcile(t); len(got) != 0 {
			t.Errorf("queued again and waiting, yet found lost: %v", got)
		}
		// Acknowledged without a handler, not pruned: lost again.
		r.consumeAll(t, false)
		if got := r.reconcile(t); len(got) != 1 || !got["new-000"] {
			t.Fatalf("acknowledged without its handler: lost %v, want new-000", got)
		}
		if counted, _ := r.lostCount(t); counted != 2 {
			t.Errorf("counted %d lost, want 2", counted)
		}
		// The dead letter dropped by an operator: its review's delivery is
		// given up on purpose, not lost.
		dl := bus.DeadLetters{DB: r.db.SQL(), Postgres: r.postgres, Dropped: func(ctx context.Context, s bus.Subject) error {
			return r.db.DeliveryDropped(ctx, s.Group, s.App, s.Review)
		}}
		list, err := dl.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("dead letters %v (%v), want the one", list, err)
		}
		if err := dl.Drop(ctx, list[0].Offset); err != nil {
			t.Fatal(err)
		}
		if got := r.reconcile(t); len(got) != 0 {
			t.Errorf("after its dead letter was dropped: lost %v, want none", got)
		}
	})
}

// TestReconcilePagesThroughEveryQueuedReview: more queued reviews wait
// than one run looks at (2 here), the first of them legitimately (their
// messages on the bus); the lost ones after them are found by the runs
// that follow (each goes on after the last), not left behind forever.
func TestReconcilePagesThroughEveryQueuedReview(t *testing.T) {
	dialects(t, func(t *testing.T, r *pubRig) {
		ctx := context.Background()
		r.st.size = 10
		r.st.put(sdk.Review{ID: "seed", Rating: 5, Text: "connects the app"})
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		r.st.put(reviews("z-lost", 1)...)
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		r.consumeAll(t, true) // seed's and z-lost's messages gone
		r.st.put(reviews("a-wait", 4)...)
		if _, err := r.p.PollOnce(ctx, r.in, r.app()); err != nil {
			t.Fatal(err)
		}
		r.p.reconcileLimit = 2
		found := map[string]bool{}
		for range 3 {
			for id := range r.reconcile(t) {
				found[id] = true
			}
		}
		if len(found) != 2 || !found["seed"] || !found["z-lost-000"] {
			t.Fatalf("after three runs of 2: lost %v, want seed and z-lost-000", found)
		}
		// The end was reached: the next runs start from the first again.
		for range 3 {
			if got := r.reconcile(t); len(got) != 0 {
				t.Fatalf("found again: %v", got)
			}
		}
	})
}
