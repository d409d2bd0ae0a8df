package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// AcceptReplies records the reply requests a webhook carried, each once by
// message id, and queues them, all in one transaction. A replayed webhook
// queues nothing. It returns how many were new.
func (d *Deliverer) AcceptReplies(ctx context.Context, in state.Integration, reqs []sdk.ReplyRequest, correlationID string) (int, error) {
	items := make([]state.Reply, 0, len(reqs))
	for _, rr := range reqs {
		if rr.MessageID == "" {
			return 0, fmt.Errorf("reply request for ticket %s has no message id", rr.TicketID)
		}
		r := state.Reply{IntegrationID: in.ID, MessageID: rr.MessageID, TicketID: rr.TicketID, Text: rr.Text,
			Staff: rr.Staff, Status: state.ReplyPending}
		appID, reviewID, err := d.DB.ReviewOfTicket(ctx, in.ID, rr.TicketID, rr.ReviewID)
		switch {
		case errors.Is(err, state.ErrLinkedElsewhere):
			// Refused at once: a review id never moves an answer to a
			// review that lives in another ticket.
			r.ReviewID, r.Status, r.Detail = rr.ReviewID, state.ReplyRefused, ReasonOtherTicket
		case errors.Is(err, state.ErrNotFound):
			// Queued anyway: the handler links it once the ticket is
			// recorded, or refuses it after UnknownTicketGrace.
			r.ReviewID = rr.ReviewID
		case err != nil:
			return 0, err
		default:
			r.AppID, r.ReviewID = appID, reviewID
		}
		items = append(items, r)
	}
	added := 0
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		added = 0
		for _, r := range items {
			drafts := ""
			if r.Status == state.ReplyPending {
				var err error
				if r, drafts, err = approval(ctx, tx, r); err != nil {
					return err
				}
			}
			inserted, err := tx.AddReply(ctx, r)
			if err != nil {
				return err
			}
			if !inserted {
				continue
			}
			added++
			if drafts != "" {
				if err := tx.CloseDraftsBy(ctx, in.ID, r.AppID, r.ReviewID, drafts, "", r.Staff); err != nil {
					return err
				}
			}
			if drafts == state.ReplyApproved {
				// Who approved is the helpdesk's staff member; the entry
				// is written with the answer, or neither is.
				if err := tx.AddAudit(ctx, approvalEntry(in.ID, r)); err != nil {
					return err
				}
			}
			if r.Status == state.ReplyRefused {
				if err := tx.Count(ctx, in.ID, r.AppID, state.CountRefused, 1); err != nil {
					return err
				}
			}
			if r.Status == state.ReplyPending {
				err = busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplies, in.ID, correlationID, busmsg.Reply{IntegrationID: in.ID, MessageID: r.MessageID})
			} else {
				err = busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplyResults, in.ID, correlationID, busmsg.Result{IntegrationID: in.ID, Result: sdk.ReplyResult{
					TicketID: r.TicketID, MessageID: r.MessageID, ReviewID: r.ReviewID,
					Outcome: r.Status, Detail: r.Detail,
				}})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// ReasonNoDraft refuses the approve command where no draft waits.
const ReasonNoDraft = "there is no draft answer waiting for approval in this ticket: nothing was published (write the answer itself)"

// approval applies a staff answer to the review's open draft: the approve
// command publishes the draft's text; an answer with the draft's text
// approves it too; any other answer supersedes it. It returns the answer
// to record and what the open drafts become ("" none open).
func approval(ctx context.Context, tx *state.Tx, r state.Reply) (state.Reply, string, error) {
	approve := rules.IsApprove(r.Text)
	if r.AppID == "" {
		if approve {
			r.Status, r.Detail = state.ReplyRefused, ReasonNoDraft
		}
		return r, "", nil
	}
	draft, err := tx.OpenDraft(ctx, r.IntegrationID, r.AppID, r.ReviewID)
	switch {
	case errors.Is(err, state.ErrNotFound):
		if approve {
			r.Status, r.Detail = state.ReplyRefused, ReasonNoDraft
		}
		return r, "", nil
	case err != nil:
		return r, "", err
	case approve:
		r.Text = draft.Text
		return r, state.ReplyApproved, nil
	case rules.SameText(r.Text, draft.Text):
		return r, state.ReplyApproved, nil
	default:
		return r, state.ReplySuperseded, nil
	}
}

// approvalEntry is the audit log's entry of a draft a staff member
// approved in the helpdesk.
func approvalEntry(integrationID string, r state.Reply) state.AuditEntry {
	staff := r.Staff
	if staff == "" {
		staff = "unknown"
	}
	return state.AuditEntry{Subject: "helpdesk:" + staff, Name: staff, Via: "helpdesk", Kind: "approval", Action: "approve",
		IntegrationID: integrationID, Target: r.AppID + "/" + r.ReviewID,
		Changes: []state.AuditChange{{Field: "message_id", To: r.MessageID}, {Field: "ticket_id", To: r.TicketID}}}
}
