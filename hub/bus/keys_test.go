package bus

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

func publishKeyed(t *testing.T, db *sql.DB, b *SQLite, msgs ...[3]string) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs { // payload, group, key
		msg := NewMessage("", []byte(m[0]))
		SetKeys(msg, m[1], m[2])
		if err := b.PublishTx(tx, TopicReviews, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Committed()
}

// quiet reports a message that arrives within a short wait (nil: none).
// Used only to check that something is held back: a slow machine can make
// it miss a wrongly delivered message, never report a right one.
func quiet(ch <-chan *message.Message) *message.Message {
	select {
	case m := <-ch:
		return m
	case <-time.After(150 * time.Millisecond):
		return nil
	}
}

func TestKeyedMessagesInParallelInOrderPerKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	db := openDB(t, path)
	b, err := NewSQLite(context.Background(), db, slog.New(slog.DiscardHandler), SubscriberConfig{
		PollInterval: 10 * time.Millisecond, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, InFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, db, b,
		[3]string{"a1", "A", "r1"}, [3]string{"a1-edit", "A", "r1"}, [3]string{"a2", "A", "r2"},
		[3]string{"a3", "A", "r3"}, [3]string{"a4", "A", "r4"}, [3]string{"b1", "B", "r1"},
		[3]string{"barrier", "A", ""}, [3]string{"a5", "A", "r5"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*message.Message{}
	take := func(n int) []string {
		var got []string
		for range n {
			m := receive(t, ch)
			out[string(m.Payload)] = m
			got = append(got, string(m.Payload))
		}
		slices.Sort(got)
		return got
	}
	// Group A may have 3 out: r1, r2, r3 (r1's edit waits for r1). Group B
	// is not held back by A's bound.
	if got := take(4); !slices.Equal(got, []string{"a1", "a2", "a3", "b1"}) {
		t.Fatalf("first hand-out %v, want [a1 a2 a3 b1]", got)
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%q handed out while group A had 3 in flight", m.Payload)
	}
	out["a2"].Ack()
	if got := take(1); !slices.Equal(got, []string{"a4"}) {
		t.Fatalf("after a2's ack got %v, want a4 (the edit of r1 waits for r1)", got)
	}
	out["a1"].Nack()
	if got := take(1); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("after a1's nack got %v, want a1 again before its edit", got)
	}
	out["a1"].Ack()
	if got := take(1); !slices.Equal(got, []string{"a1-edit"}) {
		t.Fatalf("after a1's ack got %v, want a1-edit", got)
	}
	for _, k := range []string{"a1-edit", "a3", "b1"} {
		out[k].Ack()
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%q handed out while a4 (before the message without a key) was in flight", m.Payload)
	}
	out["a4"].Ack()
	if got := take(1); !slices.Equal(got, []string{"barrier"}) {
		t.Fatalf("got %v, want the message without a key once every earlier one was done", got)
	}
	if m := quiet(ch); m != nil {
		t.Fatalf("%q overtook the message without a key", m.Payload)
	}
	out["barrier"].Ack()
	if got := take(1); !slices.Equal(got, []string{"a5"}) {
		t.Fatalf("got %v, want a5", got)
	}
	// Not acked: a restart hands out a5 again, and only a5 (everything
	// before it was acked as one prefix).
	ch2 := restart(t, path, b, cancel, ch)
	m := receive(t, ch2)
	if string(m.Payload) != "a5" {
		t.Fatalf("after restart got %q, want a5", m.Payload)
	}
	m.Ack()
}

func TestAckedOutOfOrderRedeliveredAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	db := openDB(t, path)
	b, err := NewSQLite(context.Background(), db, slog.New(slog.DiscardHandler), SubscriberConfig{
		PollInterval: 10 * time.Millisecond, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, db, b, [3]string{"first", "A", "r1"}, [3]string{"second", "A", "r2"})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*message.Message{}
	for range 2 {
		m := receive(t, ch)
		got[string(m.Payload)] = m
	}
	got["second"].Ack() // done, but "first" is not: the offset cannot pass it
	ch2 := restart(t, path, b, cancel, ch)
	var again []string
	for range 2 {
		m := receive(t, ch2)
		again = append(again, string(m.Payload))
		m.Ack()
	}
	if !slices.Equal(again, []string{"first", "second"}) {
		t.Fatalf("after restart got %v, want [first second] (at-least-once)", again)
	}
}

// Acks are recorded for many messages at once; a stop records the done
// prefix, so a clean restart redelivers only what was not acknowledged.
func TestStopRecordsTheAckedPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	db := openDB(t, path)
	b, err := NewSQLite(context.Background(), db, slog.New(slog.DiscardHandler), SubscriberConfig{
		PollInterval: time.Hour, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, InFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, db, b, [3]string{"a1", "A", "r1"}, [3]string{"a2", "A", "r2"}, [3]string{"a3", "A", "r3"}, [3]string{"a4", "A", "r4"})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := b.Subscriber().Subscribe(ctx, TopicReviews)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*message.Message{}
	for range 4 {
		m := receive(t, ch)
		got[string(m.Payload)] = m
	}
	for _, p := range []string{"a1", "a2", "a3"} {
		got[p].Ack() // a4 stays in flight: the window is not done
	}
	ch2 := restart(t, path, b, cancel, ch)
	m := receive(t, ch2)
	if string(m.Payload) != "a4" {
		t.Fatalf("after a clean stop got %q first, want a4 (a1–a3 were acknowledged)", m.Payload)
	}
	m.Ack()
	if m := quiet(ch2); m != nil {
		t.Fatalf("after a clean stop %q was delivered again", m.Payload)
	}
}
