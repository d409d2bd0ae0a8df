package deliver

import (
	"context"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
)

// RetryReply queues a failed or refused answer again, as it is (same text,
// same idempotency key): the admin API's and the console's retry.
func (d *Deliverer) RetryReply(ctx context.Context, integrationID, messageID string) (state.Reply, error) {
	var r state.Reply
	correlationID := watermill.NewUUID()
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		var err error
		if r, err = tx.RetryReply(ctx, integrationID, messageID); err != nil {
			return err
		}
		if r.Rule != "" && r.AppID != "" {
			// Its count was given back when it was not published.
			if err := tx.RetakeAutoReply(ctx, integrationID, r.AppID, r.CreatedAt); err != nil {
				return err
			}
		}
		return busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplies, integrationID, correlationID, busmsg.Reply{IntegrationID: integrationID, MessageID: messageID})
	})
	if err != nil {
		return r, err
	}
	d.Logger.Info("answer queued again", "integration", integrationID, "message", messageID, "rule", r.Rule, "correlation_id", correlationID)
	return r, nil
}
