package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Refusal reasons the hub itself gives.
const (
	ReasonNoStoreAccount = "connect the store account to reply"
	ReasonUnknownTicket  = "this ticket is not linked to any review the hub knows"
	ReasonAppGone        = "the app of this review is no longer part of the integration"
	ReasonCannotReply    = "this store does not accept developer replies"
	ReasonEmptyReply     = "the answer is empty"
	ReasonOtherTicket    = "the review this answer names is linked to another ticket"
)

// handleReply publishes a stored reply to the store, or refuses it, and
// queues the outcome for the ticket (topic "replies").
func (d *Deliverer) handleReply(ctx context.Context, m busmsg.Reply, msg *message.Message) error {
	r, err := d.DB.Reply(ctx, m.IntegrationID, m.MessageID)
	if errors.Is(err, state.ErrNotFound) {
		return bus.Permanent(fmt.Errorf("reply %s not found", m.MessageID))
	}
	if err != nil {
		return err
	}
	if r.Status != state.ReplyPending {
		return nil // already handled (redelivery)
	}
	in, err := d.integration(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	var outcome, detail string
	var posted *sdk.DeveloperReply
	linked := r.AppID != ""
	if !linked {
		appID, reviewID, err := d.DB.ReviewOfTicket(ctx, in.ID, r.TicketID, r.ReviewID)
		switch {
		case err == nil:
			r.AppID, r.ReviewID, linked = appID, reviewID, true
		case errors.Is(err, state.ErrLinkedElsewhere):
			outcome, detail = sdk.OutcomeRefused, ReasonOtherTicket
		case !errors.Is(err, state.ErrNotFound):
			return err
		case time.Since(r.CreatedAt) < d.grace():
			// Not a failure: park it in the state until its ticket is
			// linked (or the grace ends), so it holds up no other answer.
			return d.park(ctx, m, msg, r)
		default:
			outcome, detail = sdk.OutcomeRefused, ReasonUnknownTicket
		}
	}
	if linked {
		if outcome, detail, posted, err = d.publishReply(ctx, in, r); err != nil {
			return err
		}
	}
	result := sdk.ReplyResult{TicketID: r.TicketID, MessageID: r.MessageID, ReviewID: r.ReviewID,
		Outcome: outcome, Detail: detail, Reply: posted}
	err = d.DB.InTx(ctx, func(tx *state.Tx) error {
		if err := tx.SetReplyStatus(ctx, r.IntegrationID, r.MessageID, outcome, detail); err != nil {
			return err
		}
		if err := tx.SetReplyTarget(ctx, r.IntegrationID, r.MessageID, r.AppID, r.ReviewID); err != nil {
			return err
		}
		counter := state.CountRefused
		if outcome == sdk.OutcomePublished {
			counter = state.CountPublished
		}
		if err := tx.Count(ctx, r.IntegrationID, r.AppID, counter, 1); err != nil {
			return err
		}
		return busmsg.Publish(d.Bus, tx, bus.TopicReplyResults, in.ID, bus.CorrelationID(msg), busmsg.Result{IntegrationID: in.ID, Result: result})
	})
	if err != nil {
		return err
	}
	d.Metrics.Reply(in.ID, replyStore(in, r.AppID), outcome)
	d.Logger.Info("reply handled", "integration", in.ID, "app", r.AppID, "review", r.ReviewID, "message", r.MessageID,
		"outcome", outcome, "detail", detail, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// publishReply posts the reply; a refusal is an outcome, not an error.
// Transient errors are returned so the message is retried.
func (d *Deliverer) publishReply(ctx context.Context, in state.Integration, r state.Reply) (outcome, detail string, posted *sdk.DeveloperReply, err error) {
	app, ok := findApp(in, r.AppID)
	if !ok {
		return sdk.OutcomeRefused, ReasonAppGone, nil, nil
	}
	if strings.TrimSpace(r.Text) == "" {
		return sdk.OutcomeRefused, ReasonEmptyReply, nil, nil
	}
	st, info, err := d.Plugins.Store(app.StorePlugin)
	if err != nil {
		return "", "", nil, err
	}
	if !setup.HasStoreAccount(app, info) {
		return sdk.OutcomeRefused, ReasonNoStoreAccount, nil, nil
	}
	if info.Store != nil && !info.Store.CanReply {
		return sdk.OutcomeRefused, ReasonCannotReply, nil, nil
	}
	cctx, calls := sdk.CountCalls(ctx)
	rep, err := st.PostReply(cctx, sdk.PostReplyRequest{
		Settings: app.StoreSettings, AppID: app.StoreAppID, ReviewID: r.ReviewID, Text: r.Text,
	})
	// Replies spend from the store's quotas too; polling keeps room for them.
	if serr := quota.Spend(ctx, d.DB, quota.Buckets(info, app, sdk.OpReply), time.Now(), max(calls.Count(), 1)); serr != nil {
		d.Logger.Error("recording quota use failed", "integration", in.ID, "app", app.ID, "error", serr)
	}
	if err != nil {
		if bus.IsPermanent(err) {
			return sdk.OutcomeRefused, sdk.MessageOf(err), nil, nil
		}
		return "", "", nil, fmt.Errorf("reply %s to %s: %w", r.MessageID, app.StorePlugin, err)
	}
	return sdk.OutcomePublished, "", &rep, nil
}

// replyStore is the store plugin of an integration's app (a bounded label).
func replyStore(in state.Integration, appID string) string {
	if a, ok := findApp(in, appID); ok {
		return a.StorePlugin
	}
	return ""
}
