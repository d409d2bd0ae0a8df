package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func (r *rig) publish(t *testing.T, topic string, v any) {
	t.Helper()
	err := r.db.InTx(context.Background(), func(tx *state.Tx) error {
		return busmsg.Publish(context.Background(), r.d.Bus, tx, topic, "acme", "test", v)
	})
	if err != nil {
		t.Fatal(err)
	}
	r.d.Bus.Committed()
}

func (r *rig) result(messageID, outcome string) (sdk.ReplyResult, bool) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for _, res := range r.f.results {
		if res.MessageID == messageID && res.Outcome == outcome {
			return res, true
		}
	}
	return sdk.ReplyResult{}, false
}

// A rule's draft goes into the ticket as a note and is published only when
// staff approve it: with /approve (its text, not the command, is
// published) or by answering with its text.
func TestDraftIsPublishedOnlyAfterApproval(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.review(t, "d1", "")
	r.f.tickets["d1"] = "T1"
	draftID := busmsg.RuleReplyID("thanks", "ios", "d1", 1)
	r.publish(t, bus.TopicReviews, busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
		Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "d1", Rating: 5}},
		Reply:  &busmsg.RuleReply{MessageID: draftID, Rule: "thanks", Mode: rules.ModeApproval, Text: "Thank you, Ann!"}})
	eventually(t, "the draft note", func() bool { _, ok := r.result(draftID, sdk.OutcomeDraft); return ok })
	note, _ := r.result(draftID, sdk.OutcomeDraft)
	if note.TicketID != "T1" || !strings.Contains(note.Detail, "Thank you, Ann!") || !strings.Contains(note.Detail, "/approve") {
		t.Errorf("draft note %+v", note)
	}
	if st, _ := r.db.ReviewOf(context.Background(), "acme", "ios", "d1"); st.Reply.Status != state.ReplyDraft {
		t.Errorf("review status %+v, want draft", st.Reply)
	}
	// An unrelated answer elsewhere is published; the draft is not.
	r.review(t, "other", "T2")
	r.accept(t, sdk.ReplyRequest{TicketID: "T2", MessageID: "m-other", Text: "hello"})
	eventually(t, "the other answer", func() bool { return r.reply(t, "m-other").Status == state.ReplyPublished })
	if posts := r.f.posted(); len(posts) != 1 {
		t.Fatalf("store posts %v before approval", posts)
	}
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m-approve", Text: " /approve "})
	eventually(t, "the approved draft published", func() bool { return r.reply(t, "m-approve").Status == state.ReplyPublished })
	r.f.mu.Lock()
	text := r.f.texts["d1"]
	r.f.mu.Unlock()
	if text != "Thank you, Ann!" {
		t.Errorf("published %q, want the draft's text", text)
	}
	if got := r.reply(t, draftID).Status; got != state.ReplyApproved {
		t.Errorf("draft status %q, want approved", got)
	}
	// The approval is in the audit log: who (the helpdesk's staff), which review.
	audit, err := r.db.Audit(context.Background(), state.AuditFilter{Kind: "approval"})
	if err != nil || len(audit) != 1 || audit[0].Target != "ios/d1" || audit[0].IntegrationID != "acme" || audit[0].Via != "helpdesk" ||
		!strings.HasPrefix(audit[0].Subject, "helpdesk:") {
		t.Errorf("approval audit %+v (%v)", audit, err)
	}
	// No draft is left: the command is refused, nothing is posted.
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m-again", Text: "/approve"})
	if rep := r.reply(t, "m-again"); rep.Status != state.ReplyRefused || rep.Detail != ReasonNoDraft {
		t.Errorf("second approval: %+v", rep)
	}
	eventually(t, "the refusal in the ticket", func() bool { _, ok := r.result("m-again", sdk.OutcomeRefused); return ok })
	if posts := r.f.posted(); len(posts) != 2 {
		t.Errorf("store posts %v, want other and d1", posts)
	}
}

// Answering with a draft's text approves it; answering something else
// supersedes it.
func TestAnsweringWithTheDraftApprovesIt(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	r.review(t, "x", "T3")
	add := func(id, text string) {
		err := r.db.InTx(ctx, func(tx *state.Tx) error {
			_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", "x", "T3",
				busmsg.RuleReply{MessageID: id, Rule: "r", Mode: rules.ModeApproval, Text: text}, "", "test", time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("draft-1", "Thanks a lot!")
	r.accept(t, sdk.ReplyRequest{TicketID: "T3", MessageID: "a1", Text: "Thanks   a lot!\n"})
	if got := r.reply(t, "draft-1").Status; got != state.ReplyApproved {
		t.Errorf("draft answered with its text: %q", got)
	}
	add("draft-2", "Sorry!")
	r.accept(t, sdk.ReplyRequest{TicketID: "T3", MessageID: "a2", Text: "We fixed it in 2.1"})
	if got := r.reply(t, "draft-2").Status; got != state.ReplySuperseded {
		t.Errorf("draft answered otherwise: %q", got)
	}
	eventually(t, "both answers published", func() bool {
		return r.reply(t, "a1").Status == state.ReplyPublished && r.reply(t, "a2").Status == state.ReplyPublished
	})
}

// Transient failures are retried until ReplyAttempts, then the answer is
// failed (written to the ticket); a retry publishes it as it is.
func TestFailedAfterAttemptsThenRetried(t *testing.T) {
	r := newRig(t, time.Hour, 20*time.Millisecond)
	r.d.ReplyAttempts, r.d.ReplyRetryMin = 3, 10*time.Millisecond
	r.f.postErr = sdk.Errorf(sdk.ErrorKindUnavailable, "the store answered 503")
	r.review(t, "f1", "T1")
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m1", Text: "Sorry"})
	eventually(t, "the answer failed", func() bool { return r.reply(t, "m1").Status == state.ReplyFailed })
	rep := r.reply(t, "m1")
	if rep.Attempts != 3 || !strings.Contains(rep.Detail, "gave up after 3 attempts") || !strings.Contains(rep.Detail, "503") {
		t.Errorf("failed answer %+v", rep)
	}
	eventually(t, "the failure in the ticket", func() bool { _, ok := r.result("m1", sdk.OutcomeFailed); return ok })
	if got := r.parked(t); len(got) != 0 {
		t.Errorf("still parked after failing: %+v", got)
	}
	if st, _ := r.db.ReviewOf(context.Background(), "acme", "ios", "f1"); st.Reply.Status != state.ReplyFailed {
		t.Errorf("review status %+v", st.Reply)
	}
	r.f.mu.Lock()
	r.f.postErr = nil
	r.f.mu.Unlock()
	if _, err := r.d.RetryReply(context.Background(), "acme", "m1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried answer published", func() bool { return r.reply(t, "m1").Status == state.ReplyPublished })
	// Its outcome is a note of its own (the failure's note keeps its id).
	eventually(t, "the retry's outcome in the ticket", func() bool { _, ok := r.result("m1#retry-1", sdk.OutcomePublished); return ok })
	if st, _ := r.db.ReviewOf(context.Background(), "acme", "ios", "f1"); st.Reply.Status != state.ReplyPublished {
		t.Errorf("review status after the retry %+v", st.Reply)
	}
}

// A ticketless automatic reply that the store refuses delivers its review
// after all, with the refusal as a note; the kill switch refuses automatic
// replies still waiting.
func TestTicketlessRefusalReachesAPersonAndKillSwitch(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	r.review(t, "t1", "")
	r.f.tickets["t1"] = "T7"
	r.f.postErr = sdk.Errorf(sdk.ErrorKindRefused, "Google refused the reply to this review (403)")
	rm := busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
		Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "t1", Rating: 5}}}
	deferred, _ := json.Marshal(rm)
	id := busmsg.RuleReplyID("five", "ios", "t1", 1)
	err := r.db.InTx(ctx, func(tx *state.Tx) error {
		_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", "t1", "",
			busmsg.RuleReply{MessageID: id, Rule: "five", Mode: rules.ModeAuto, Text: "Thanks!"}, string(deferred), "test", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.d.Bus.Committed()
	eventually(t, "the refusal noted in a new ticket", func() bool {
		res, ok := r.result(id, sdk.OutcomeRefused)
		return ok && res.TicketID == "T7" && strings.Contains(res.Detail, `automatic reply (rule "five")`) && strings.Contains(res.Detail, "403")
	})
	// The kill switch: an automatic reply still waiting is refused.
	if err := r.db.SetAutomationStopped(ctx, "acme", true, ""); err != nil {
		t.Fatal(err)
	}
	r.f.mu.Lock()
	r.f.postErr = nil
	r.f.mu.Unlock()
	r.review(t, "t2", "T8")
	id2 := busmsg.RuleReplyID("five", "ios", "t2", 1)
	err = r.db.InTx(ctx, func(tx *state.Tx) error {
		_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", "t2", "T8",
			busmsg.RuleReply{MessageID: id2, Rule: "five", Mode: rules.ModeAuto, Text: "Thanks!"}, "", "test", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.d.Bus.Committed()
	eventually(t, "the waiting reply refused", func() bool { return r.reply(t, id2).Status == state.ReplyRefused })
	if rep := r.reply(t, id2); !strings.Contains(rep.Detail, ReasonAutomationOff) {
		t.Errorf("refusal %q", rep.Detail)
	}
	if posts := r.f.posted(); len(posts) != 0 {
		t.Errorf("store posts %v", posts)
	}
}

// The automation's delay is kept in the state (a parked answer, not a
// sleeping goroutine) and the answer is published once it is over; no
// ticket link releases it early.
func TestDelayedAutomaticReplyIsParkedThenPublished(t *testing.T) {
	r := newRig(t, time.Hour, 20*time.Millisecond)
	ctx := context.Background()
	r.review(t, "w1", "T1")
	id := busmsg.RuleReplyID("five", "ios", "w1", 1)
	err := r.db.InTx(ctx, func(tx *state.Tx) error {
		_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", "w1", "T1",
			busmsg.RuleReply{MessageID: id, Rule: "five", Mode: rules.ModeAuto, Text: "Thanks!", NotBefore: time.Now().Add(300 * time.Millisecond)},
			"", "test", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Recorded in the same transaction: parked, not queued.
	p := r.parked(t)
	if len(p) != 1 || p[0].Reason != state.ReasonDelayed || p[0].TicketID != "" || p[0].ReviewID != "" {
		t.Fatalf("parked %+v", p)
	}
	// A delivery of the review (a link) does not release it.
	r.f.mu.Lock()
	r.f.tickets["w1"] = "T1"
	r.f.mu.Unlock()
	err = r.db.InTx(ctx, func(tx *state.Tx) error {
		released, err := tx.ReleaseParkedFor(ctx, "acme", "T1", "w1")
		if len(released) != 0 {
			t.Errorf("a link released %v", released)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delayed reply published", func() bool { return r.reply(t, id).Status == state.ReplyPublished })
	if got := r.parked(t); len(got) != 0 {
		t.Errorf("still parked: %+v", got)
	}
}

// An answer that fails transiently waits for its next attempt in the state
// (acknowledged, not redelivered), so the answers behind it on its
// partition are published meanwhile.
func TestFailingAnswerHoldsNoOtherUp(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.d.ReplyRetryMin = time.Hour
	r.review(t, "bad", "T1")
	r.review(t, "good", "T2")
	r.f.mu.Lock()
	r.f.postErr = sdk.Errorf(sdk.ErrorKindUnavailable, "503")
	r.f.mu.Unlock()
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m-bad", Text: "Sorry"})
	eventually(t, "the failing answer parked", func() bool { return len(r.parked(t)) == 1 })
	p := r.parked(t)[0]
	if p.Reason != state.ReasonRetrying || p.MessageID != "m-bad" {
		t.Fatalf("parked %+v", p)
	}
	if rep := r.reply(t, "m-bad"); rep.Status != state.ReplyPending || !strings.Contains(rep.Detail, "attempt 1 failed (503)") {
		t.Errorf("failing answer %+v", rep)
	}
	r.f.mu.Lock()
	r.f.postErr = nil
	r.f.mu.Unlock()
	r.accept(t, sdk.ReplyRequest{TicketID: "T2", MessageID: "m-good", Text: "Thanks"})
	eventually(t, "the next answer published", func() bool { return r.reply(t, "m-good").Status == state.ReplyPublished })
	if rep := r.reply(t, "m-bad"); rep.Status != state.ReplyPending || rep.Attempts != 1 {
		t.Errorf("the failing answer was tried again before its time: %+v", rep)
	}
}

// N7: the daily cap counts published automatic replies only: one the kill
// switch refused gives its count back, and takes it again when retried.
func TestAutoReplyCapCountsPublishedOnly(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	queue := func(review, ticket string) string {
		t.Helper()
		r.review(t, review, ticket)
		id := busmsg.RuleReplyID("five", "ios", review, 1)
		err := r.db.InTx(ctx, func(tx *state.Tx) error {
			if why, err := tx.ReserveAutoReply(ctx, "acme", "ios", "", time.Now(), 5, 0); err != nil || why != "" {
				return fmt.Errorf("reserve: %q %w", why, err)
			}
			_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", review, ticket,
				busmsg.RuleReply{MessageID: id, Rule: "five", Mode: rules.ModeAuto, Text: "Thanks!"}, "", "test", time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		r.d.Bus.Committed()
		return id
	}
	today := func() int {
		t.Helper()
		n, err := r.db.AutoRepliesToday(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return n["ios"]
	}
	published := queue("c1", "T1")
	eventually(t, "the first reply published", func() bool { return r.reply(t, published).Status == state.ReplyPublished })
	if n := today(); n != 1 {
		t.Fatalf("after one published reply the day counts %d", n)
	}
	if err := r.db.SetAutomationStopped(ctx, "acme", true, ""); err != nil {
		t.Fatal(err)
	}
	refused := queue("c2", "T2")
	eventually(t, "the waiting reply refused", func() bool { return r.reply(t, refused).Status == state.ReplyRefused })
	if n := today(); n != 1 {
		t.Errorf("after a reply the kill switch refused the day counts %d, want 1 (published only)", n)
	}
	if err := r.db.SetAutomationStopped(ctx, "acme", false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.RetryReply(ctx, "acme", refused); err != nil {
		t.Fatal(err)
	}
	r.d.Bus.Committed()
	eventually(t, "the retried reply published", func() bool { return r.reply(t, refused).Status == state.ReplyPublished })
	if n := today(); n != 2 {
		t.Errorf("after the retried reply was published the day counts %d, want 2", n)
	}
}
