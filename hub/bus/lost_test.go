package bus

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// The paths by which the acknowledged position could pass a message no
// handler acknowledged (see docs/performance.md, "Seen once, not
// explained"), each held to: it does not.

// positionOfUUID is where a message sits in its topic's order of delivery.
func positionOfUUID(t *testing.T, db *sql.DB, b *Postgres, topic, uuid string) position {
	t.Helper()
	var tx string
	var off int64
	if err := db.QueryRow(`SELECT transaction_id::text, "offset" FROM `+b.schema.MessagesTable(topic)+` WHERE uuid = $1`,
		uuid).Scan(&tx, &off); err != nil {
		t.Fatalf("position of %s: %v", uuid, err)
	}
	id, err := strconv.ParseInt(tx, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return position{tx: id, offset: off}
}

// ackedPos is the group's recorded position ({} before any ack).
func ackedPos(t *testing.T, b *Postgres, topic string) position {
	t.Helper()
	p, err := b.sub.src.acked(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitAcked waits until the recorded position reaches p.
func waitAcked(t *testing.T, b *Postgres, topic string, p position) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ackedPos(t, b, topic).compare(p) < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged position %+v, want it at %+v at least", ackedPos(t, b, topic), p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// byPayload indexes messages by their payload.
func byPayload(ms ...*message.Message) map[string]*message.Message {
	out := map[string]*message.Message{}
	for _, m := range ms {
		out[payloads(m)[0]] = m
	}
	return out
}

// When the lease is lost while the first message of the window is still
// being handled and later ones are acknowledged, the position recorded
// (as the acks come, and at the stop) is the acknowledged prefix only:
// never the end of the window or of what was acknowledged out of order.
// The refused first message is handed out again once the lease is back.
func TestPostgresLeaseLostRecordsOnlyTheAckedPrefix(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{Owner: "hub-a", InFlight: 3, Lease: 600 * time.Millisecond,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	publishPG(t, db, b, [3]string{"m1", "A", "r1"}, [3]string{"m2", "A", "r2"}, [3]string{"m3", "A", "r3"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	out := byPayload(receive(t, ch), receive(t, ch), receive(t, ch))
	m1 := out["m1"]
	p1 := positionOfUUID(t, db, b, TopicReviews, m1.UUID)
	out["m2"].Ack()
	out["m3"].Ack()
	// The later acks are taken in and the loop turns (ackEvery) before the
	// lease goes: whatever it records must stay before m1.
	time.Sleep(3 * ackEvery)
	if p := ackedPos(t, b, TopicReviews); p.compare(p1) >= 0 {
		t.Fatalf("position %+v recorded at or past m1 %+v while m1's handler runs", p, p1)
	}
	if _, err := db.Exec(`UPDATE ` + leasesTable + ` SET owner = 'other', until = now() + interval '300 milliseconds'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m1.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease was lost but m1's handler's context did not end")
	}
	m1.Nack() // the handler gives up as its context ended
	// The stop records the acked prefix (none): m1 is not passed over.
	// Once the lease is back the subscription reads the window anew from
	// the recorded position: m1 comes again, and m2 and m3 with it (their
	// acks were not recorded: at least once), three at once.
	again := []*message.Message{receive(t, ch), receive(t, ch), receive(t, ch)}
	if p := ackedPos(t, b, TopicReviews); p.compare(p1) >= 0 {
		t.Fatalf("position %+v at or past m1 %+v after the lease was lost with m1 refused", p, p1)
	}
	if got := payloads(again...); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("after the lease came back got %v, want [m1 m2 m3] (m1 refused, the acks after it not recorded)", got)
	}
	for _, m := range again {
		m.Ack()
	}
	waitAcked(t, b, TopicReviews, positionOfUUID(t, db, b, TopicReviews, out["m3"].UUID))
}

// A handler that acknowledges after the lease was lost (its hub no longer
// delivers) has its ack recorded at the stop, and a stale ack of an old
// holder never moves the position back over what the new holder recorded:
// the position only moves forward, and only over handled messages.
func TestPostgresLateAckOfAnOldHolderNeitherSkipsNorGoesBack(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{Owner: "hub-a", InFlight: 2, Lease: 600 * time.Millisecond,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	publishPG(t, db, b, [3]string{"m1", "A", "r1"}, [3]string{"m2", "A", "r2"})
	publishPG(t, db, b, [3]string{"m3", "A", "r3"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	out := byPayload(receive(t, ch), receive(t, ch))
	p1 := positionOfUUID(t, db, b, TopicReviews, out["m1"].UUID)
	p3 := positionOfUUID(t, db, b, TopicReviews, positionUUID(t, db, b, "m3"))
	if _, err := db.Exec(`UPDATE ` + leasesTable + ` SET owner = 'other', until = now() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	<-out["m1"].Context().Done()
	// The new holder (simulated: it records m3's position, having
	// delivered everything) moves on while the old handlers still run.
	if err := b.sub.src.ack(context.Background(), TopicReviews, ackSpan{to: p3, n: 3}); err != nil {
		t.Fatal(err)
	}
	out["m1"].Ack() // late: after the lease was lost
	out["m2"].Nack()
	// The subscription ends once both handlers answered, recording the
	// acked prefix (m1) at its stop; nothing else is handed out.
	cancel()
	for m := range ch {
		t.Fatalf("%s handed out while another hub holds the lease", m.Payload)
	}
	if p := ackedPos(t, b, TopicReviews); p != p3 {
		t.Fatalf("position %+v after the old holder's late ack of m1 %+v, want the new holder's %+v", p, p1, p3)
	}
}

// positionUUID is the UUID of the message whose payload is the JSON string
// payload.
func positionUUID(t *testing.T, db *sql.DB, b *Postgres, payload string) string {
	t.Helper()
	var uuid string
	if err := db.QueryRow(`SELECT uuid FROM `+b.schema.MessagesTable(TopicReviews)+` WHERE payload::jsonb = to_jsonb($1::text)`,
		payload).Scan(&uuid); err != nil {
		t.Fatalf("uuid of %s: %v", payload, err)
	}
	return uuid
}

// A transaction that took its snapshot before a message was published and
// acknowledged, but publishes only afterwards, gets its transaction id
// then: a higher one. Its message comes after the acknowledged position,
// and is delivered.
func TestPostgresTransactionGivenItsIDLateIsNotSkipped(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	late, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback()                            //nolint:errcheck
	if _, err := late.Exec(`SELECT 1`); err != nil { // running, no transaction id yet
		t.Fatal(err)
	}
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	publishPG(t, db, b, [3]string{"early", "A", "r1"})
	m := receive(t, ch)
	if payloads(m)[0] != "early" {
		t.Fatalf("got %s, want early", m.Payload)
	}
	m.Ack()
	pEarly := positionOfUUID(t, db, b, TopicReviews, m.UUID)
	waitAcked(t, b, TopicReviews, pEarly)
	if err := b.PublishTx(late, TopicReviews, NewMessage("", []byte(`"late"`))); err != nil {
		t.Fatal(err)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	m = receive(t, ch)
	if payloads(m)[0] != "late" {
		t.Fatalf("got %s, want late", m.Payload)
	}
	if p := positionOfUUID(t, db, b, TopicReviews, m.UUID); p.compare(pEarly) <= 0 {
		t.Fatalf("late message at %+v, not after the acknowledged %+v", p, pEarly)
	}
	m.Ack()
}

// A transaction that took its id before another one published, and
// publishes after that one committed, sorts before it: the later
// transaction's message is held back (pending) until the earlier one
// ends, so the position never passes the earlier one's message before it
// is readable. Both are delivered, in transaction order.
func TestPostgresEarlierTransactionCommittingLaterIsNotSkipped(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{})
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS lost_side (n int)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	earlier, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer earlier.Rollback()                                                    //nolint:errcheck
	if _, err := earlier.Exec(`INSERT INTO lost_side VALUES (1)`); err != nil { // takes its transaction id now
		t.Fatal(err)
	}
	publishPG(t, db, b, [3]string{"second", "A", "r2"})
	if m := quiet(ch); m != nil {
		t.Fatalf("%s delivered while an earlier transaction runs", m.Payload)
	}
	if p := ackedPos(t, b, TopicReviews); p != (position{}) {
		t.Fatalf("position %+v recorded while an earlier transaction runs", p)
	}
	if err := b.PublishTx(earlier, TopicReviews, NewMessage("", []byte(`"first"`))); err != nil {
		t.Fatal(err)
	}
	if err := earlier.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second"} {
		m := receive(t, ch)
		if got := payloads(m)[0]; got != want {
			t.Fatalf("got %s, want %s (transaction order)", got, want)
		}
		m.Ack()
	}
}

// Pruning deletes nothing that a consumer group has not acknowledged: with
// two groups, only what both have passed.
func TestPostgresPruneWaitsForEveryGroup(t *testing.T) {
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{})
	publishPG(t, db, b, [3]string{"a", "", ""})
	publishPG(t, db, b, [3]string{"b", "", ""})
	publishPG(t, db, b, [3]string{"c", "", ""})
	pa := positionOfUUID(t, db, b, TopicReviews, positionUUID(t, db, b, "a"))
	pc := positionOfUUID(t, db, b, TopicReviews, positionUUID(t, db, b, "c"))
	offs := wsql.DefaultPostgreSQLOffsetsAdapter{}.MessagesOffsetsTable(TopicReviews)
	for _, q := range []struct {
		group string
		p     position
	}{{"fast", pc}, {"slow", pa}} {
		if _, err := db.Exec(`INSERT INTO `+offs+` (consumer_group, offset_acked, last_processed_transaction_id) VALUES ($1, $2, $3::text::xid8)`,
			q.group, q.p.offset, strconv.FormatInt(q.p.tx, 10)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.PruneConsumed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM ` + b.schema.MessagesTable(TopicReviews)).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if n != 1 || left != 2 {
		t.Fatalf("pruned %d, %d left; want 1 pruned (a, passed by both groups), b and c left (slow has not passed them)", n, left)
	}
}

// The lease is taken away again and again while transactions publish
// concurrently and handlers refuse some messages, give up when their
// context ends, or acknowledge after it ended: the position reaches the last message, and every
// message it passed was acknowledged by a handler (duplicates allowed,
// nothing skipped).
func TestPostgresLeaseStolenRepeatedlyLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	db := openPostgres(t)
	b := newPostgresBus(t, db, SubscriberConfig{Owner: "hub-a", InFlight: 4, BatchSize: 20, Lease: 300 * time.Millisecond,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS lost_side (n int)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	go func() {
		for m := range ch {
			go func() {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				switch rand.IntN(8) {
				case 0:
					m.Nack()
					return
				case 1: // a slow handler that gives up when its context ends
					select {
					case <-m.Context().Done():
						m.Nack()
						return
					case <-time.After(100 * time.Millisecond):
					}
				case 2: // a slow handler that finishes all the same
					select {
					case <-m.Context().Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
				mu.Lock()
				acked[m.UUID] = true
				mu.Unlock()
				m.Ack()
			}()
		}
	}()
	// A thief takes the lease for a moment, again and again.
	thief := make(chan struct{})
	go func() {
		defer close(thief)
		for ctx.Err() == nil {
			time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
			if _, err := db.ExecContext(ctx, `UPDATE `+leasesTable+` SET owner = 'thief', until = now() + interval '150 milliseconds'`); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
	}()
	const publishers, txs, per = 3, 4, 30
	var wg sync.WaitGroup
	var last position
	var allMu sync.Mutex
	var all []string
	for p := range publishers {
		wg.Go(func() {
			for i := range txs {
				tx, err := db.Begin()
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := tx.Exec(`INSERT INTO lost_side VALUES (1)`); err != nil { // the transaction id is taken
					t.Error(err)
					return
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				var ids []string
				for j := range per {
					msg := NewMessage("", []byte(`"x"`))
					SetKeys(msg, "A", fmt.Sprintf("p%d-%d-%d", p, i, j%5))
					if err := b.PublishTx(tx, TopicReviews, msg); err != nil {
						t.Error(err)
						return
					}
					ids = append(ids, msg.UUID)
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				allMu.Lock()
				all = append(all, ids...)
				allMu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range all {
		if p := positionOfUUID(t, db, b, TopicReviews, id); p.compare(last) > 0 {
			last = p
		}
	}
	waitAckedWithin(t, b, TopicReviews, last, 90*time.Second)
	cancel()
	<-thief
	for range ch {
	}
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, id := range all {
		if !acked[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("the position passed %d of %d messages no handler acknowledged", missing, len(all))
	}
}

// waitAckedWithin waits until the recorded position reaches p, up to d.
func waitAckedWithin(t *testing.T, b *Postgres, topic string, p position, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for ackedPos(t, b, topic).compare(p) < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged position %+v, want it at %+v at least", ackedPos(t, b, topic), p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
