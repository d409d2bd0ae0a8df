package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/sdk"
)

func reviewReply(t *testing.T, db *DB, reviewID string) ReviewReply {
	t.Helper()
	s, err := db.ReviewOf(context.Background(), "i", "a", reviewID)
	if err != nil {
		t.Fatal(err)
	}
	return s.Reply
}

func inTx(t *testing.T, db *DB, f func(tx *Tx) error) {
	t.Helper()
	if err := db.InTx(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

func TestReviewReplyStatus(t *testing.T) { dialects(t, testReviewReplyStatus) }

func testReviewReplyStatus(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "r1", Rating: 2, Text: "bad"})
	if st := reviewReply(t, db, "r1"); st.Status != "" {
		t.Fatalf("new review: %+v", st)
	}
	add := func(msg, rule string) {
		inTx(t, db, func(tx *Tx) error {
			_, err := tx.AddReply(ctx, Reply{IntegrationID: "i", MessageID: msg, AppID: "a", ReviewID: "r1", Text: "hi " + msg,
				Status: ReplyPending, Rule: rule})
			return err
		})
	}
	set := func(msg, status, detail string) {
		inTx(t, db, func(tx *Tx) error { return tx.SetReplyStatus(ctx, "i", msg, status, detail) })
	}
	add("m1", "")
	if st := reviewReply(t, db, "r1"); st.Status != ReplyPending || st.MessageID != "m1" || !st.ByPerson() {
		t.Fatalf("accepted: %+v", st)
	}
	// A later answer still on its way decides: m1's outcome does not hide it.
	add("m2", "")
	set("m1", ReplyFailed, "boom")
	if st := reviewReply(t, db, "r1"); st.Status != ReplyPending || st.MessageID != "m2" {
		t.Fatalf("older outcome replaced a pending answer: %+v", st)
	}
	set("m2", ReplyPublished, "")
	if st := reviewReply(t, db, "r1"); st.Status != ReplyPublished || st.Version != 1 {
		t.Fatalf("published: %+v", st)
	}
	// The store lists the review with the reply, then the reviewer edits it.
	obs := observe(t, db, sdk.Review{ID: "r1", Rating: 2, Text: "bad", Reply: &sdk.DeveloperReply{Text: "hi m2"}})
	if obs.Kind != Unchanged || obs.ReplyOutdated || obs.ReplyDeleted {
		t.Fatalf("reply seen: %+v", obs)
	}
	obs = observe(t, db, sdk.Review{ID: "r1", Rating: 4, Text: "better", Reply: &sdk.DeveloperReply{Text: "hi m2"}})
	if !obs.ReplyOutdated || obs.Reply.Status != ReplyPublished {
		t.Fatalf("edit after the answer: %+v", obs)
	}
	if st := reviewReply(t, db, "r1"); st.Status != ReplyOutdated || st.Detail != DetailOutdated || st.Version != 1 {
		t.Fatalf("outdated: %+v", st)
	}
	// The developer reply disappears from the store.
	obs = observe(t, db, sdk.Review{ID: "r1", Rating: 4, Text: "better"})
	if !obs.ReplyDeleted || obs.Kind != Unchanged {
		t.Fatalf("reply removed: %+v", obs)
	}
	if st := reviewReply(t, db, "r1"); st.Status != ReplyDeleted {
		t.Fatalf("deleted: %+v", st)
	}
	// A failed answer is retried: pending again, attempts start over.
	add("m3", "")
	if n, err := db.ReplyAttempt(ctx, "i", "m3"); err != nil || n != 1 {
		t.Fatalf("attempt: %d %v", n, err)
	}
	set("m3", ReplyFailed, "store down")
	if st := reviewReply(t, db, "r1"); st.Status != ReplyFailed || st.Detail != "store down" {
		t.Fatalf("failed: %+v", st)
	}
	if list, err := db.RepliesWithStatus(ctx, "i", ReplyFailed, 10); err != nil || len(list) != 2 {
		t.Fatalf("failed answers: %v %v", list, err) // m1 and m3
	}
	if list, err := db.RepliesWithStatus(ctx, "i", "", 2); err != nil || len(list) != 2 {
		t.Fatalf("any two answers: %v %v", list, err)
	}
	inTx(t, db, func(tx *Tx) error {
		r, err := tx.RetryReply(ctx, "i", "m3")
		if err != nil || r.Status != ReplyPending || r.Attempts != 0 || r.Retries != 1 || r.NoteID() != "m3#retry-1" {
			t.Errorf("retry: %+v %v", r, err)
		}
		return err
	})
	if st := reviewReply(t, db, "r1"); st.Status != ReplyPending || st.MessageID != "m3" {
		t.Fatalf("retried: %+v", st)
	}
	inTx(t, db, func(tx *Tx) error {
		if _, err := tx.RetryReply(ctx, "i", "m3"); !errors.Is(err, ErrNotRetryable) {
			t.Errorf("retry of a pending answer: %v", err)
		}
		if _, err := tx.RetryReply(ctx, "i", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("retry of an unknown answer: %v", err)
		}
		return nil
	})
	counts, err := db.ReplyStatusCounts(ctx, "i")
	if err != nil || counts["a"][ReplyPending] != 1 {
		t.Errorf("counts %v %v", counts, err)
	}
}

func TestDrafts(t *testing.T) { dialects(t, testDrafts) }

func testDrafts(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "r2", Rating: 5})
	inTx(t, db, func(tx *Tx) error {
		if _, err := tx.OpenDraft(ctx, "i", "a", "r2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("no draft: %v", err)
		}
		_, err := tx.AddReply(ctx, Reply{IntegrationID: "i", MessageID: "d1", AppID: "a", ReviewID: "r2", Text: "Thanks!",
			Status: ReplyDraft, Rule: "thanks"})
		return err
	})
	st := reviewReply(t, db, "r2")
	if st.Status != ReplyDraft || st.Rule != "thanks" || st.ByPerson() {
		t.Fatalf("draft: %+v", st)
	}
	inTx(t, db, func(tx *Tx) error {
		d, err := tx.OpenDraft(ctx, "i", "a", "r2")
		if err != nil || d.Text != "Thanks!" {
			t.Errorf("open draft: %+v %v", d, err)
		}
		if err := tx.CloseDrafts(ctx, "i", "a", "r2", ReplyApproved, ""); err != nil {
			return err
		}
		if _, err := tx.OpenDraft(ctx, "i", "a", "r2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("closed draft still open: %v", err)
		}
		ok, err := tx.NoteOnce(ctx, "i", "note-1")
		if err != nil || !ok {
			t.Errorf("first note: %v %v", ok, err)
		}
		if ok, _ := tx.NoteOnce(ctx, "i", "note-1"); ok {
			t.Error("a note was recorded twice")
		}
		return nil
	})
	if r, _ := db.Reply(ctx, "i", "d1"); r.Status != ReplyApproved {
		t.Errorf("draft reply: %+v", r)
	}
}

func TestAutomationGuardrails(t *testing.T) { dialects(t, testGuardrails) }

func testGuardrails(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	reserve := func(reviewer string, at time.Time) string {
		var why string
		inTx(t, db, func(tx *Tx) error {
			var err error
			why, err = tx.ReserveAutoReply(ctx, "i", "a", reviewer, at, 3, time.Hour)
			return err
		})
		return why
	}
	if why := reserve("ann", now); why != "" {
		t.Fatal(why)
	}
	if why := reserve("ann", now.Add(30*time.Minute)); why == "" {
		t.Fatal("cooldown not applied")
	}
	if reserve("bob", now) != "" || reserve("", now) != "" {
		t.Fatal("cap reached too early")
	}
	if why := reserve("cat", now); why == "" {
		t.Fatal("fourth reply of the day allowed with a cap of 3")
	}
	// The next UTC day starts over.
	if why := reserve("cat", now.Add(2*time.Hour)); why != "" {
		t.Fatal(why)
	}
}

func TestAutomationIsStoredAndSwitched(t *testing.T) { dialects(t, testAutomationStored) }

func testAutomationStored(t *testing.T, db *DB) {
	ctx := context.Background()
	var a rules.Automation
	src := `{exceptions: [refund], templates: [{id: t, text: "Thanks {{reviewer_name}}"}], rules: [{id: r, reply: t, mode: auto, when: {ratings: [5]}}], delay: 5m}`
	if err := yaml.Unmarshal([]byte(src), &a); err != nil {
		t.Fatal(err)
	}
	if _, errs := rules.Compile(a, nil, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	inTx(t, db, func(tx *Tx) error {
		return tx.PutIntegration(ctx, Integration{ID: "auto", Source: "config", Automation: a})
	})
	in, err := db.Integration(ctx, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if in.AutomationStopped || in.Automation.Delay.D() != 5*time.Minute || len(in.Automation.Rules) != 1 {
		t.Fatalf("read back: %+v", in.Automation)
	}
	// The stored exceptions still hold (keywords prepared on read).
	d := in.Rules.Evaluate(rules.Input{Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5, Text: "refund!"}})
	if d.Reply != nil || d.Held == "" {
		t.Errorf("exception lost: %+v", d)
	}
	if err := db.SetAutomationStopped(ctx, "auto", true, "incident"); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Integration(ctx, "auto")
	if !again.AutomationStopped || again.Version != in.Version+1 {
		t.Errorf("stopped %v version %d → %d", again.AutomationStopped, in.Version, again.Version)
	}
	// The config file's rewrite keeps the switch.
	inTx(t, db, func(tx *Tx) error {
		return tx.PutIntegration(ctx, Integration{ID: "auto", Source: "config", Automation: a})
	})
	if again, _ = db.Integration(ctx, "auto"); !again.AutomationStopped {
		t.Error("a config rewrite turned automation back on")
	}
	if err := db.SetAutomationStopped(ctx, "nope", true, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown integration: %v", err)
	}
}
