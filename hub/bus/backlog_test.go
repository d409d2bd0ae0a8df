package bus

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Backlog counts what no consumer acknowledged yet, per topic (its
// partitions summed), and the age of the oldest.
func TestBacklog(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "bus.db"))
	b := newBus(t, db)
	publishTx(t, db, b, true, "a", "b", "c")
	publishTx(t, db, b, false, "rolled back")
	if _, err := db.Exec(`UPDATE "watermill_reviews" SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-90 seconds') WHERE "offset" = (SELECT MIN("offset") FROM "watermill_reviews")`); err != nil {
		t.Fatal(err)
	}
	got, err := Backlog(context.Background(), db, false)
	if err != nil {
		t.Fatal(err)
	}
	if r := got[TopicReviews]; r.Depth != 3 || r.Oldest < 80*time.Second || r.Oldest > 10*time.Minute {
		t.Errorf("reviews backlog %+v, want 3 messages, the oldest about 90 s old", r)
	}
	if r := got[TopicReplies]; r.Depth != 0 || r.Oldest != 0 {
		t.Errorf("replies backlog %+v, want none", r)
	}
	if _, err := db.Exec(`INSERT INTO "watermill_offsets_reviews" (consumer_group, offset_acked) VALUES ('g', 2)`); err != nil {
		t.Fatal(err)
	}
	if got, _ = Backlog(context.Background(), db, false); got[TopicReviews].Depth != 1 {
		t.Errorf("after two acknowledged: %+v, want 1 waiting", got[TopicReviews])
	}
	n, err := DeadLetters{DB: db}.Count(context.Background())
	if err != nil || n != 0 {
		t.Errorf("dead letters %d %v", n, err)
	}
}

// Dead letters are counted by the integration and app their messages
// name (SetSubject); those that name none are left out.
func TestDeadLettersCountByApp(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := openDB(t, filepath.Join(t.TempDir(), "bus.db"))
		b := newBus(t, db)
		testCountByApp(t, DeadLetters{DB: db}, b.Publisher())
	})
	t.Run("postgres", func(t *testing.T) {
		db := openPostgres(t)
		b := newPostgresBus(t, db, SubscriberConfig{})
		testCountByApp(t, DeadLetters{DB: db, Postgres: true}, b.Publisher())
	})
}

func testCountByApp(t *testing.T, dl DeadLetters, pub message.Publisher) {
	t.Helper()
	for _, m := range [][3]string{{"acme", "ios", "r1"}, {"acme", "ios", "r2"}, {"acme", "android", "r3"}, {"beta", "ios", "r4"}, {"acme", "", ""}} {
		msg := NewMessage("", []byte(`{"x":1}`))
		SetKeys(msg, m[0], "")
		SetSubject(msg, m[1], m[2])
		if err := pub.Publish(TopicDeadLetters, msg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := dl.CountByApp(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[AppRef]int{{"acme", "ios"}: 2, {"acme", "android"}: 1, {"beta", "ios"}: 1}
	if !maps.Equal(got, want) {
		t.Errorf("dead letters by app %v, want %v", got, want)
	}
}
