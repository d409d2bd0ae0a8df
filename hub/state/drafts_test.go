package state

import (
	"context"
	"errors"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// Drafts decided by a person: counted while waiting, taken once (a second
// decision is ErrNotDraft), the timeline names who; a rejected draft's
// review has the reply status rejected, an approved one's keeps its
// status for the answer that follows.
func TestTakeDraft(t *testing.T) { dialects(t, testTakeDraft) }

func testTakeDraft(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "r1", Rating: 2, Text: "bad"})
	observe(t, db, sdk.Review{ID: "r2", Rating: 5})
	inTx(t, db, func(tx *Tx) error {
		for _, r := range []Reply{
			{IntegrationID: "i", MessageID: "d1", AppID: "a", ReviewID: "r1", Text: "Sorry", Rule: "sorry", Status: ReplyDraft},
			{IntegrationID: "i", MessageID: "d2", AppID: "a", ReviewID: "r2", Text: "Thanks", Rule: "thanks", Status: ReplyDraft},
		} {
			if _, err := tx.AddReply(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if n, err := db.CountDrafts(ctx); err != nil || n != 2 {
		t.Fatalf("count: %d %v", n, err)
	}
	inTx(t, db, func(tx *Tx) error {
		d, err := tx.TakeDraft(ctx, "i", "d1", ReplyRejected, "Anna")
		if err != nil || d.Text != "Sorry" || d.Rule != "sorry" {
			t.Errorf("reject: %+v %v", d, err)
		}
		if _, err := tx.TakeDraft(ctx, "i", "d1", ReplyApproved, "Bob"); !errors.Is(err, ErrNotDraft) {
			t.Errorf("second decision: %v", err)
		}
		if _, err := tx.TakeDraft(ctx, "i", "nope", ReplyApproved, "Bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("no such draft: %v", err)
		}
		if _, err := tx.TakeDraft(ctx, "i", "d2", ReplyPublished, "Bob"); err == nil {
			t.Error("a draft closed as published")
		}
		_, err = tx.TakeDraft(ctx, "i", "d2", ReplyApproved, "Bob")
		return err
	})
	if st := reviewReply(t, db, "r1"); st.Status != ReplyRejected {
		t.Errorf("rejected review: %+v", st)
	}
	if r, _ := db.Reply(ctx, "i", "d2"); r.Status != ReplyApproved {
		t.Errorf("approved draft: %+v", r)
	}
	if n, err := db.CountDrafts(ctx); err != nil || n != 1 {
		// r2's reply status stays draft until the approved answer is
		// recorded (the deliverer does both in one transaction).
		t.Errorf("count after: %d %v", n, err)
	}
	d, err := db.ReviewDetail(ctx, "i", "a", "r1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range d.Answers {
		for _, e := range a.Events {
			if e.Status == ReplyRejected && e.Actor == "Anna" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the timeline does not say who rejected: %+v", d.Answers)
	}
}
