package deliver

import (
	"context"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
)

// ApprovedPrefix starts the message id of the answer an approval in the
// console makes of a draft ("console:" + the draft's id): approving the
// same draft twice records one answer.
const ApprovedPrefix = "console:"

// ApproveDraft publishes a draft waiting for approval as by's answer, with
// text (the draft's own when ""), the way an answer with the draft's text
// in the helpdesk does: the draft becomes approved and the answer is
// queued for the store, in one transaction. state.ErrNotFound: no such
// answer; state.ErrNotDraft: it is not waiting any more.
func (d *Deliverer) ApproveDraft(ctx context.Context, integrationID, messageID, text, by string) (state.Reply, error) {
	var out state.Reply
	correlationID := watermill.NewUUID()
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		draft, err := tx.TakeDraft(ctx, integrationID, messageID, state.ReplyApproved, by)
		if err != nil {
			return err
		}
		if text == "" {
			text = draft.Text
		}
		out = state.Reply{IntegrationID: integrationID, MessageID: ApprovedPrefix + messageID, TicketID: draft.TicketID,
			AppID: draft.AppID, ReviewID: draft.ReviewID, Text: text, Staff: by, Status: state.ReplyPending}
		if _, err := tx.AddReply(ctx, out); err != nil {
			return err
		}
		return busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplies, integrationID, correlationID,
			busmsg.Reply{IntegrationID: integrationID, MessageID: out.MessageID})
	})
	if err != nil {
		return state.Reply{}, err
	}
	d.Logger.Info("draft approved", "integration", integrationID, "draft", messageID, "message", out.MessageID, "correlation_id", correlationID)
	return out, nil
}

// RejectDraft closes a draft waiting for approval as rejected: nothing is
// published; the review waits for a person's answer (in the helpdesk).
func (d *Deliverer) RejectDraft(ctx context.Context, integrationID, messageID, by string) (state.Reply, error) {
	var out state.Reply
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		var err error
		out, err = tx.TakeDraft(ctx, integrationID, messageID, state.ReplyRejected, by)
		return err
	})
	if err != nil {
		return state.Reply{}, err
	}
	out.Status = state.ReplyRejected
	d.Logger.Info("draft rejected", "integration", integrationID, "draft", messageID)
	return out, nil
}
