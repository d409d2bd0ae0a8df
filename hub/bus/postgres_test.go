package bus

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(32) // as the hub's pool (state.OpenPostgres): no connection opened per statement
	t.Cleanup(func() { db.Close() })
	return db
}

func newPostgresBus(t *testing.T, db *sql.DB, cfg SubscriberConfig) *Postgres {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	b, err := NewPostgres(context.Background(), db, slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// publishPG publishes keyed messages in one transaction; the payloads are
// JSON strings (the column is JSON).
func publishPG(t *testing.T, db *sql.DB, b *Postgres, msgs ...[3]string) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs { // payload, group, key
		msg := NewMessage("", []byte(`"`+m[0]+`"`))
		if m[1] != "" {
			SetKeys(msg, m[1], m[2])
		}
		if err := b.PublishTx(tx, TopicReviews, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresPruneConsumedKeepsWhatIsNotAcknowledged(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{})
	publish := func(payloads ...string) {
		t.Helper()
		var msgs [][3]string
		for _, p := range payloads {
			msgs = append(msgs, [3]string{p, "", ""})
		}
		publishPG(t, db, b, msgs...)
	}
	count := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + b.schema.MessagesTable(TopicReviews)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Before any group subscribed, nothing is consumed.
	publish("a", "b")
	publish("c")
	if n, err := b.PruneConsumed(context.Background()); err != nil || n != 0 {
		t.Fatalf("before any subscription pruned %d (%v), want 0", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c"} {
		m := receive(t, ch)
		if string(m.Payload) != `"`+want+`"` {
			t.Fatalf("got %s, want %q", m.Payload, want)
		}
		m.Ack()
	}
	publish("d", "e") // not acknowledged yet
	// Acks are recorded shortly after the messages are done: wait until
	// only d and e can be unacknowledged.
	deadline := time.Now().Add(10 * time.Second)
	var pruned int64
	for {
		n, err := b.PruneConsumed(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pruned += n
		if pruned >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pruned != 3 || count() != 2 {
		t.Fatalf("pruned %d, %d left; want 3 pruned, 2 left (d and e unacknowledged)", pruned, count())
	}
	for _, want := range []string{"d", "e"} {
		m := receive(t, ch)
		if string(m.Payload) != `"`+want+`"` {
			t.Fatalf("after the prune got %s, want %q", m.Payload, want)
		}
		m.Ack()
	}
}

func payloads(ms ...*message.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Trim(string(m.Payload), `"`))
	}
	slices.Sort(out)
	return out
}

// The PostgreSQL bus delivers several messages of an integration at once,
// in order per review, as the SQLite bus does.
func TestPostgresKeyedMessagesInParallelInOrderPerKey(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{InFlight: 3, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	publishPG(t, db, b, [3]string{"a1", "A", "r1"}, [3]string{"a1-edit", "A", "r1"}, [3]string{"a2", "A", "r2"},
		[3]string{"a3", "A", "r3"}, [3]string{"a4", "A", "r4"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	first := []*message.Message{receive(t, ch), receive(t, ch), receive(t, ch)}
	if got := payloads(first...); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("first hand-out %v, want [a1 a2 a3] (three at once, a1's edit after a1)", got)
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%s handed out while three of its integration were in flight", m.Payload)
	}
	byName := map[string]*message.Message{}
	for _, m := range first {
		byName[payloads(m)[0]] = m
	}
	byName["a1"].Ack() // r1 is free: its edit goes, and three are in flight again
	if m := receive(t, ch); payloads(m)[0] != "a1-edit" {
		t.Fatalf("after a1's ack got %s, want a1-edit", m.Payload)
	} else {
		byName["a1-edit"] = m
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%s handed out while three of its integration were in flight", m.Payload)
	}
	byName["a2"].Ack()
	if m := receive(t, ch); payloads(m)[0] != "a4" {
		t.Fatalf("after a2's ack got %s, want a4", m.Payload)
	} else {
		m.Ack()
	}
	byName["a3"].Ack()
	byName["a1-edit"].Ack()
}

// One hub at a time delivers a subscription (the lease holder); when it
// stops, another takes over at once and nothing is delivered twice.
func TestPostgresOneHubDeliversAPartitionAndHandsItOver(t *testing.T) {
	db := openPostgres(t)
	cfg := SubscriberConfig{InFlight: 4, Lease: 3 * time.Second}
	cfgA, cfgB := cfg, cfg
	cfgA.Owner, cfgB.Owner = "hub-a", "hub-b"
	a := newPostgresBus(t, db, cfgA)
	bb := newPostgresBus(t, db, cfgB)
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	chA, err := a.Subscriber().Subscribe(ctxA, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	// Let hub-a take the lease before hub-b subscribes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owner string
		err := db.QueryRow(`SELECT owner FROM `+leasesTable+` WHERE topic = $1`, TopicReviews).Scan(&owner)
		if err == nil && strings.HasPrefix(owner, "hub-a#") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub-a did not take the lease (%v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	chB, err := bb.Subscriber().Subscribe(ctxB, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	publishPG(t, db, a, [3]string{"m1", "A", "r1"}, [3]string{"m2", "A", "r2"}, [3]string{"m3", "A", "r3"})
	for range 3 {
		receive(t, chA).Ack()
	}
	if m := quiet(chB); m != nil {
		t.Fatalf("hub-b got %s while hub-a holds the lease", m.Payload)
	}
	// hub-a stops cleanly: its acks are recorded and its lease released.
	cancelA()
	for range chA {
	}
	publishPG(t, db, bb, [3]string{"m4", "A", "r4"})
	m := receive(t, chB)
	if got := payloads(m); !slices.Equal(got, []string{"m4"}) {
		t.Fatalf("hub-b got %v first, want [m4] (m1–m3 were acknowledged by hub-a)", got)
	}
	m.Ack()
	if m := quiet(chB); m != nil {
		t.Fatalf("hub-b got %s again", m.Payload)
	}
}

// When the lease is lost while a message's handler runs, the message is
// not handed out again until that handler acknowledged or refused it (no
// message is out twice in one hub); refused, it comes again once the
// lease is back.
func TestPostgresLeaseLostWaitsForTheHandlerInFlight(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{Owner: "hub-a", Lease: 600 * time.Millisecond,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	publishPG(t, db, b, [3]string{"m1", "A", "r1"})
	first := receive(t, ch) // its handler runs: no ack yet
	// Another hub holds the lease for a moment: this hub's renewal fails.
	if _, err := db.Exec(`UPDATE ` + leasesTable + ` SET owner = 'other', until = now() + interval '300 milliseconds'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Context().Done(): // the handler is told to stop
	case <-time.After(10 * time.Second):
		t.Fatal("the lease was lost but the handler's context did not end")
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%s handed out again while its first copy is still being handled", m.Payload)
	}
	first.Nack() // the handler gives up
	again := receive(t, ch)
	if again.UUID != first.UUID {
		t.Fatalf("got %s, want %s again (refused, not acknowledged)", again.UUID, first.UUID)
	}
	again.Ack()
}

// A lease left by this hub's predecessor (killed before it could release
// it: same Owner, another process) is taken back at once, not an hour later.
func TestPostgresPredecessorsLeaseIsTakenBackAtOnce(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{Owner: "hub-x", Lease: time.Hour})
	for _, q := range []string{
		`INSERT INTO ` + leasesTable + ` (topic, consumer_group, owner, until) VALUES ('reviews', 'hub', 'hub-x#dead', now() + interval '1 hour')`,
		`INSERT INTO ` + leasesTable + ` (topic, consumer_group, owner, until) VALUES ('replies', 'hub', 'hub-y#alive', now() + interval '1 hour')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	publishPG(t, db, b, [3]string{"m1", "A", "r1"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, ch).Ack()
	var owner string
	if err := db.QueryRow(`SELECT owner FROM ` + leasesTable + ` WHERE topic = 'replies'`).Scan(&owner); err != nil || owner != "hub-y#alive" {
		t.Fatalf("another hub's lease: owner %q (%v), want it untouched", owner, err)
	}
}

// A message committed after a transaction that is still running cannot be
// read yet (that transaction may still publish before it), but the read
// says it is pending, so the subscription looks again soon rather than at
// its next idle poll.
func TestPostgresMessageBehindARunningTransactionIsPending(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{})
	if _, err := db.Exec(`CREATE TABLE pending_side (n int)`); err != nil {
		t.Fatal(err)
	}
	src := b.sub.src.(*pgSource)
	ctx := context.Background()
	rows, pending, err := src.after(ctx, TopicReviews, position{}, 10)
	if err != nil || len(rows) != 0 || pending {
		t.Fatalf("empty topic: %d rows, pending %v (%v); want none", len(rows), pending, err)
	}
	older, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback()                                                       //nolint:errcheck
	if _, err := older.Exec(`INSERT INTO pending_side VALUES (1)`); err != nil { // takes its transaction id
		t.Fatal(err)
	}
	publishPG(t, db, b, [3]string{"m1", "A", "r1"})
	rows, pending, err = src.after(ctx, TopicReviews, position{}, 10)
	if err != nil || len(rows) != 0 || !pending {
		t.Fatalf("behind a running transaction: %d rows, pending %v (%v); want none read, pending", len(rows), pending, err)
	}
	if err := older.Commit(); err != nil {
		t.Fatal(err)
	}
	// Other sessions of the server may hold the horizon for a moment too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, pending, err = src.after(ctx, TopicReviews, position{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 {
			break
		}
		if !pending || time.Now().After(deadline) {
			t.Fatalf("after the older transaction ended: %d rows, pending %v; want m1", len(rows), pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if string(rows[0].msg.Payload) != `"m1"` || pending {
		t.Fatalf("read %s, pending %v; want m1, nothing pending", rows[0].msg.Payload, pending)
	}
}
