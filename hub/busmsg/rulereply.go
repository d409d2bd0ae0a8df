package busmsg

import (
	"context"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// RuleReply is an auto-reply rule's answer to one review version, carried
// by the review message and recorded once its ticket is linked (or, for a
// ticketless rule, by the poller at once).
type RuleReply struct {
	// MessageID is the answer's idempotency key (RuleReplyID).
	MessageID string `json:"message_id"`
	Rule      string `json:"rule"`
	// Mode is rules.ModeApproval (a draft in the ticket) or rules.ModeAuto.
	Mode string `json:"mode"`
	Text string `json:"text"`
	// NotBefore delays posting (the automation's delay); zero: at once.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// RuleReplyID is the idempotency key of a rule's answer to one review
// version: delivering the version again records nothing new.
func RuleReplyID(rule, appID, reviewID string, version int) string {
	return fmt.Sprintf("rule:%s:%s:%s:%d", rule, appID, reviewID, version)
}

// DraftNote introduces a draft in the ticket.
const (
	DraftNote = "draft answer by rule %q, NOT published. To publish it, answer with this text (or with %s at the start of your answer); to publish something else, just answer.\n\n%s"
)

// QueueRuleReply records a rule's answer to a review in tx: a draft (mode
// approval) gets its note in the ticket; an automatic one is queued for
// the store, or parked until NotBefore. deferred, for a ticketless answer,
// is the review message to deliver should it be refused or fail. It
// returns false when the answer was recorded before (nothing is queued).
func QueueRuleReply(ctx context.Context, b bus.Bus, tx *state.Tx, integrationID, appID, reviewID, ticketID string,
	rr RuleReply, deferred, correlationID string, now time.Time) (bool, error) {
	status := state.ReplyPending
	if rr.Mode != rules.ModeAuto {
		status = state.ReplyDraft
		// A newer draft replaces older ones still open.
		if err := tx.CloseDrafts(ctx, integrationID, appID, reviewID, state.ReplySuperseded, rr.MessageID); err != nil {
			return false, err
		}
	}
	inserted, err := tx.AddReply(ctx, state.Reply{IntegrationID: integrationID, MessageID: rr.MessageID, TicketID: ticketID,
		AppID: appID, ReviewID: reviewID, Text: rr.Text, Rule: rr.Rule, Status: status, Deferred: deferred})
	if err != nil || !inserted {
		return false, err
	}
	switch {
	case status == state.ReplyDraft:
		if ticketID == "" {
			return true, nil
		}
		return true, Publish(ctx, b, tx, bus.TopicReplyResults, integrationID, correlationID, Result{IntegrationID: integrationID,
			Result: sdk.ReplyResult{TicketID: ticketID, MessageID: rr.MessageID, ReviewID: reviewID, Outcome: sdk.OutcomeDraft,
				Detail: fmt.Sprintf(DraftNote, rr.Rule, rules.ApproveCommand, rr.Text)}})
	case rr.NotBefore.After(now):
		// Parked without ticket and review, so that no link releases it
		// early: the timer publishes it at NotBefore.
		return true, tx.ParkReply(ctx, state.ParkedReply{IntegrationID: integrationID, MessageID: rr.MessageID,
			Reason: state.ReasonDelayed, NextAt: rr.NotBefore, Until: rr.NotBefore})
	default:
		return true, Publish(ctx, b, tx, bus.TopicReplies, integrationID, correlationID, Reply{IntegrationID: integrationID, MessageID: rr.MessageID})
	}
}
