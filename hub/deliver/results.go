package deliver

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/sdk"
)

// handleResult writes a reply's outcome into its ticket (topic
// "reply_results").
func (d *Deliverer) handleResult(ctx context.Context, m busmsg.Result, msg *message.Message) error {
	if m.Result.TicketID == "" {
		return nil // a ticketless automatic reply: no ticket to write into
	}
	in, hd, err := d.helpdeskOf(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	_, err = hd.WriteReplyResult(ctx, sdk.WriteReplyResultRequest{Settings: in.HelpdeskSettings, IntegrationID: in.ID, Result: m.Result})
	if sdk.KindOf(err) == sdk.ErrorKindNotFound {
		// The ticket does not exist (any more) at the helpdesk: there is
		// nowhere to write the outcome, now or later. Not a dead letter:
		// an answer in a case the hub never made (or a bogus one sent with
		// the webhook's secret) would otherwise leave one each.
		d.Logger.Info("the reply's ticket does not exist at the helpdesk; its outcome is not written",
			"integration", in.ID, "ticket", m.Result.TicketID, "message_id", m.Result.MessageID, "outcome", m.Result.Outcome, "error", err)
		return nil
	}
	if err != nil {
		d.gates.hold(in.ID, sdk.RetryAfterOf(err))
		return fmt.Errorf("reply result %s to %s: %w", m.Result.MessageID, in.HelpdeskPlugin, err)
	}
	return nil
}
