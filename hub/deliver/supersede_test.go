package deliver

import (
	"context"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// A person answers while a delayed automatic reply waits: the automatic
// reply must not replace the person's answer at the store (found by review).
func TestDelayedAutoReplyDoesNotReplaceAPersonsAnswer(t *testing.T) {
	r := newRig(t, time.Hour, 20*time.Millisecond)
	ctx := context.Background()
	r.review(t, "w1", "T1")
	id := busmsg.RuleReplyID("five", "ios", "w1", 1)
	if err := r.db.InTx(ctx, func(tx *state.Tx) error {
		_, err := busmsg.QueueRuleReply(ctx, r.d.Bus, tx, "acme", "ios", "w1", "T1",
			busmsg.RuleReply{MessageID: id, Rule: "five", Mode: rules.ModeAuto, Text: "AUTO", NotBefore: time.Now().Add(500 * time.Millisecond)},
			"", "test", time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m-staff", Text: "STAFF"})
	eventually(t, "staff published", func() bool { return r.reply(t, "m-staff").Status == state.ReplyPublished })
	// When its delay ends, the automatic reply is handled: not published.
	eventually(t, "the automatic reply handled", func() bool { return r.reply(t, id).Status != state.ReplyPending })
	r.f.mu.Lock()
	text := r.f.texts["w1"]
	r.f.mu.Unlock()
	if text != "STAFF" {
		t.Errorf("the store shows %q, want the person's answer", text)
	}
	if got := r.reply(t, id); got.Status != state.ReplySuperseded || got.Detail == "" {
		t.Errorf("automatic reply %s (%q), want superseded with the reason", got.Status, got.Detail)
	}
	if st, _ := r.db.ReviewOf(ctx, "acme", "ios", "w1"); st.Reply.MessageID != "m-staff" || st.Reply.Status != state.ReplyPublished {
		t.Errorf("the review's reply %+v, want the person's, published", st.Reply)
	}
}

// An older answer waiting for its retry must not replace a newer one.
func TestOlderAnswerRetriedAfterANewerIsNotPublished(t *testing.T) {
	r := newRig(t, time.Hour, 20*time.Millisecond)
	r.d.ReplyRetryMin = 500 * time.Millisecond
	r.review(t, "w2", "T2")
	r.f.mu.Lock()
	r.f.postErr = sdk.Errorf(sdk.ErrorKindUnavailable, "503")
	r.f.mu.Unlock()
	r.accept(t, sdk.ReplyRequest{TicketID: "T2", MessageID: "m-old", Text: "OLD"})
	eventually(t, "old parked", func() bool { return len(r.parked(t)) == 1 })
	r.f.mu.Lock()
	r.f.postErr = nil
	r.f.mu.Unlock()
	r.accept(t, sdk.ReplyRequest{TicketID: "T2", MessageID: "m-new", Text: "NEW"})
	eventually(t, "new published", func() bool { return r.reply(t, "m-new").Status == state.ReplyPublished })
	eventually(t, "the older answer handled", func() bool { return r.reply(t, "m-old").Status != state.ReplyPending })
	r.f.mu.Lock()
	text := r.f.texts["w2"]
	r.f.mu.Unlock()
	if text != "NEW" {
		t.Errorf("the store shows %q, want the newer answer", text)
	}
	if got := r.reply(t, "m-old").Status; got != state.ReplySuperseded {
		t.Errorf("the older answer is %s, want superseded", got)
	}
	if st, _ := r.db.ReviewOf(context.Background(), "acme", "ios", "w2"); st.Reply.MessageID != "m-new" || st.Reply.Status != state.ReplyPublished {
		t.Errorf("the review's reply %+v, want the newer answer, published", st.Reply)
	}
}
