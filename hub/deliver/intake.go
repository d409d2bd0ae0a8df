package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// AcceptReplies records the reply requests a webhook carried, each once by
// message id, and queues them, all in one transaction. A replayed webhook
// queues nothing. It returns how many were new.
func (d *Deliverer) AcceptReplies(ctx context.Context, in state.Integration, reqs []sdk.ReplyRequest, correlationID string) (int, error) {
	type item struct {
		r       state.Reply
		pending bool
	}
	items := make([]item, 0, len(reqs))
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
		items = append(items, item{r: r, pending: r.Status == state.ReplyPending})
	}
	added := 0
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		added = 0
		for _, it := range items {
			inserted, err := tx.AddReply(ctx, it.r)
			if err != nil {
				return err
			}
			if !inserted {
				continue
			}
			added++
			if it.r.Status == state.ReplyRefused {
				if err := tx.Count(ctx, in.ID, it.r.AppID, state.CountRefused, 1); err != nil {
					return err
				}
			}
			if it.pending {
				err = busmsg.Publish(d.Bus, tx, bus.TopicReplies, in.ID, correlationID, busmsg.Reply{IntegrationID: in.ID, MessageID: it.r.MessageID})
			} else {
				err = busmsg.Publish(d.Bus, tx, bus.TopicReplyResults, in.ID, correlationID, busmsg.Result{IntegrationID: in.ID, Result: sdk.ReplyResult{
					TicketID: it.r.TicketID, MessageID: it.r.MessageID, ReviewID: it.r.ReviewID,
					Outcome: it.r.Status, Detail: it.r.Detail,
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
