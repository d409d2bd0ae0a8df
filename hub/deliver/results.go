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
	if err := hd.WriteReplyResult(ctx, sdk.ReplyResultRequest{Settings: in.HelpdeskSettings, IntegrationID: in.ID, Result: m.Result}); err != nil {
		d.gates.hold(in.ID, sdk.RetryAfterOf(err))
		return fmt.Errorf("reply result %s to %s: %w", m.Result.MessageID, in.HelpdeskPlugin, err)
	}
	return nil
}
