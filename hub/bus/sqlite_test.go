package bus

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	_ "github.com/mattn/go-sqlite3"
)

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newBus(t *testing.T, db *sql.DB) *SQLite {
	t.Helper()
	b, err := NewSQLite(context.Background(), db, slog.New(slog.DiscardHandler), SubscriberConfig{PollInterval: 10 * time.Millisecond, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publishTx(t *testing.T, db *sql.DB, b *SQLite, commit bool, payloads ...string) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if err := b.PublishTx(tx, TopicReviews, NewMessage("", []byte(p))); err != nil {
			t.Fatal(err)
		}
	}
	if commit {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
	}
	if err != nil {
		t.Fatal(err)
	}
	b.Committed()
}

func receive(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message delivered")
		return nil
	}
}

func TestOutboxRollbackAndRedelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	db := openDB(t, path)
	b := newBus(t, db)
	publishTx(t, db, b, false, "rolled-back")
	publishTx(t, db, b, true, "one", "two", "three")

	ctx, cancel := context.WithCancel(context.Background())
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, ch)
	if string(m.Payload) != "one" {
		t.Fatalf("first message %q, want one (the rolled back one must never appear)", m.Payload)
	}
	if CorrelationID(m) == "" {
		t.Error("no correlation id")
	}
	m.Ack()
	m = receive(t, ch)
	if string(m.Payload) != "two" {
		t.Fatalf("got %q, want two", m.Payload)
	}
	m.Nack()
	m = receive(t, ch)
	if string(m.Payload) != "two" {
		t.Fatalf("after nack got %q, want two again", m.Payload)
	}
	// "Crash": stop without acking two; a new subscriber on the same file resumes at two.
	ch2 := restart(t, path, b, cancel, ch)
	var got []string
	for range 2 {
		m := receive(t, ch2)
		got = append(got, string(m.Payload))
		m.Ack()
	}
	if fmt.Sprint(got) != "[two three]" {
		t.Fatalf("after restart got %v, want [two three]", got)
	}
}

// hookTx is a transaction with commit hooks, as the state's are.
type hookTx struct {
	*sql.Tx
	hooks []func()
}

func (h *hookTx) OnCommit(fn func()) { h.hooks = append(h.hooks, fn) }

// Publishing in a transaction with commit hooks wakes the subscriber once
// it commits: nobody has to remember to call Committed.
func TestPublishTxWakesTheSubscriberAfterCommit(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bus.db"))
	b, err := NewSQLite(context.Background(), db, slog.New(slog.DiscardHandler), SubscriberConfig{PollInterval: time.Hour,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the subscription's first (empty) read pass
	sqlTx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tx := &hookTx{Tx: sqlTx}
	if err := b.PublishTx(tx, TopicReviews, NewMessage("", []byte("woken"))); err != nil {
		t.Fatal(err)
	}
	if len(tx.hooks) == 0 {
		t.Fatal("PublishTx registered no commit hook")
	}
	if err := sqlTx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, h := range tx.hooks {
		h()
	}
	m := receive(t, ch) // without the wake it would wait for the hour's poll
	if string(m.Payload) != "woken" {
		t.Errorf("payload %q", m.Payload)
	}
	m.Ack()
}

// Acknowledged messages are pruned, the rest stay and are still delivered.
func TestPruneConsumedKeepsWhatIsNotAcknowledged(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bus.db"))
	b := newBus(t, db)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	publishTx(t, db, b, true, "a", "b", "c")
	for _, want := range []string{"a", "b", "c"} {
		m := receive(t, ch)
		if string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
		m.Ack()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var acked int64
		_ = db.QueryRow(`SELECT COALESCE(MAX(offset_acked), 0) FROM ` + b.schema.OffsetsTable(TopicReviews)).Scan(&acked)
		if acked >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged offset %d, want 3", acked)
		}
		time.Sleep(10 * time.Millisecond)
	}
	publishTx(t, db, b, true, "d", "e") // not acknowledged yet
	count := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + b.schema.MessagesTable(TopicReviews)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n, err := b.PruneConsumed(context.Background())
	if err != nil || n != 3 || count() != 2 {
		t.Fatalf("pruned %d (%v), %d left; want 3 pruned, 2 left", n, err, count())
	}
	for _, want := range []string{"d", "e"} {
		m := receive(t, ch)
		if string(m.Payload) != want {
			t.Fatalf("after the prune got %q, want %q", m.Payload, want)
		}
		m.Ack()
	}
}

// restart stops a subscription and its bus (the acknowledged prefix of its
// window is recorded, nothing else) and subscribes anew on the same
// database file, as a restarted hub does.
func restart(t *testing.T, path string, b *SQLite, cancel context.CancelFunc, ch <-chan *message.Message) <-chan *message.Message {
	t.Helper()
	cancel()
	b.Close()
	for range ch {
	}
	b2 := newBus(t, openDB(t, path))
	t.Cleanup(func() { b2.Close() })
	ch2, err := b2.Subscriber().Subscribe(context.Background(), TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	return ch2
}

// Many messages published at once go in a few multi-row inserts of fixed
// sizes, in order, none lost.
func TestPublishManyInChunks(t *testing.T) {
	for _, n := range []int{1, 5, 64, 100, 213} {
		var msgs []*message.Message
		for i := range n {
			msgs = append(msgs, NewMessage("", []byte(strconv.Itoa(i))))
		}
		parts := insertChunks(msgs)
		var got []string
		for _, p := range parts {
			if !slices.Contains(insertSizes, len(p)) {
				t.Fatalf("n=%d: a part of %d rows (sizes %v)", n, len(p), insertSizes)
			}
			for _, m := range p {
				got = append(got, string(m.Payload))
			}
		}
		if len(got) != n {
			t.Fatalf("n=%d: %d messages in the parts", n, len(got))
		}
		for i, g := range got {
			if g != strconv.Itoa(i) {
				t.Fatalf("n=%d: message %d is %s (order lost)", n, i, g)
			}
		}
	}
	db := openDB(t, filepath.Join(t.TempDir(), "bus.db"))
	b := newBus(t, db)
	defer b.Close()
	var msgs []*message.Message
	for i := range 100 {
		msgs = append(msgs, NewMessage("", []byte("m"+strconv.Itoa(i))))
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PublishTx(tx, TopicReviews, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT payload FROM ` + b.schema.MessagesTable(TopicReviews) + ` ORDER BY "offset"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		if p != "m"+strconv.Itoa(i) {
			t.Fatalf("stored message %d is %s", i, p)
		}
		i++
	}
	if i != 100 {
		t.Fatalf("%d messages stored, want 100", i)
	}
}
