package state

import (
	"context"
	"testing"
	"time"
)

func TestReviewStats(t *testing.T) { dialects(t, testReviewStats) }

func testReviewStats(t *testing.T, db *DB) {
	ctx := context.Background()
	seedApps(t, db)
	storeReviews(t, db, searchCorpus)
	storeReviews(t, db, []seedReview{
		{"i1", "gp", "en3", 4, "", "Fine", "en", day(1).Add(time.Hour)},
		{"i1", "gp", "late", 3, "", "Outside the period", "en", day(20)},
	})
	// en1 (day 1, 12:00) answered and published 3 hours later; en2 (day 2)
	// answered, the answer refused: an answer but not a published one.
	publish := func(msg, app, review, status string, at time.Time) {
		t.Helper()
		db.now = func() time.Time { return at }
		err := db.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.AddReply(ctx, Reply{IntegrationID: "i1", MessageID: msg, AppID: app, ReviewID: review, Text: "Thanks",
				Status: ReplyPending}); err != nil {
				return err
			}
			return tx.SetReplyStatus(ctx, "i1", msg, status, "")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	publish("m1", "gp", "en1", ReplyPublished, day(1).Add(3*time.Hour))
	publish("m2", "gp", "en2", ReplyRefused, day(2).Add(time.Hour))
	// A second answer to en1, published later: the first publication counts.
	publish("m3", "gp", "en1", ReplyPublished, day(1).Add(30*time.Hour))

	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	got, err := db.ReviewStats(ctx, StatsQuery{IntegrationID: "i1", AppID: "gp", From: from, Until: from.AddDate(0, 0, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || !got[0].Day.Equal(from) || !got[9].Day.Equal(from.AddDate(0, 0, 9)) {
		t.Fatalf("days: %d, first %v", len(got), got[0].Day)
	}
	d1 := got[0]
	if d1.Ratings != [5]int{1, 0, 0, 1, 0} || d1.Reviews() != 2 || d1.RatingSum() != 5 || d1.Answered != 1 ||
		d1.FirstAnswers != 1 || d1.FirstAnswerSeconds != 3*3600 {
		t.Errorf("day 1: %+v", d1)
	}
	if d2 := got[1]; d2.Ratings != [5]int{0, 0, 0, 0, 1} || d2.Answered != 0 || d2.FirstAnswers != 0 {
		t.Errorf("day 2: %+v", d2)
	}
	if d8 := got[7]; d8.Ratings != [5]int{0, 1, 0, 0, 0} { // ja2
		t.Errorf("day 8: %+v", d8)
	}
	if got[2].Reviews() != 0 { // ru1 is app "as"
		t.Errorf("day 3 counted another app's review: %+v", got[2])
	}
	all, err := db.ReviewStats(ctx, StatsQuery{From: from, Until: from.AddDate(0, 0, 30)})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range all {
		total += s.Reviews()
	}
	if total != len(searchCorpus)+2 {
		t.Errorf("all integrations, 30 days: %d reviews, want %d", total, len(searchCorpus)+2)
	}
	if _, err := db.ReviewStats(ctx, StatsQuery{From: from, Until: from}); err == nil {
		t.Error("an empty period was accepted")
	}

	counts, err := db.RatingCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[3]any][2]int{
		{"i1", "gp", 1}: {1, 1}, {"i1", "gp", 2}: {1, 0}, {"i1", "gp", 3}: {1, 0}, {"i1", "gp", 4}: {1, 0}, {"i1", "gp", 5}: {1, 0},
		{"i1", "as", 1}: {1, 0}, {"i1", "as", 2}: {1, 0},
		{"i2", "gp", 3}: {1, 0}, {"i2", "gp", 4}: {1, 0}, {"i2", "gp", 5}: {1, 0},
	}
	if len(counts) != len(want) {
		t.Errorf("rating counts: %+v", counts)
	}
	for _, c := range counts {
		if w, ok := want[[3]any{c.IntegrationID, c.AppID, c.Rating}]; !ok || w != [2]int{c.Reviews, c.Answered} {
			t.Errorf("rating count %+v, want %v", c, w)
		}
	}
}
