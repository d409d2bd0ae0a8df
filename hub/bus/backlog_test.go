package bus

import (
	"context"
	"path/filepath"
	"testing"
	"time"
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
