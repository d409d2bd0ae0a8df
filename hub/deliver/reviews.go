package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// handleReview delivers a review change to the integration's helpdesk as a
// ticket and records the link (topic "reviews").
func (d *Deliverer) handleReview(ctx context.Context, m busmsg.Review, msg *message.Message) error {
	err := d.deliverReview(ctx, m, msg)
	d.recordDelivery(ctx, m, err)
	return err
}

// recordDelivery writes a delivery's outcome for the app's health (and,
// when it failed for good, for the review). A failure to read the
// integration or the state is the hub's own and not counted.
func (d *Deliverer) recordDelivery(ctx context.Context, m busmsg.Review, err error) {
	if err != nil && !errors.As(err, new(*deliveryError)) {
		return
	}
	ref := state.AppRef{IntegrationID: m.IntegrationID, AppID: m.AppID}
	if rerr := d.DB.RecordDelivery(ctx, ref, m.Change.Review.ID, time.Now(), err, bus.IsPermanent(err)); rerr != nil && ctx.Err() == nil {
		d.Logger.Error("recording a delivery for the app's health failed", "integration", m.IntegrationID, "app", m.AppID,
			"review", m.Change.Review.ID, "error", rerr)
	}
}

// deliveryError is the helpdesk's refusal or failure of a delivery.
type deliveryError struct{ err error }

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func (d *Deliverer) deliverReview(ctx context.Context, m busmsg.Review, msg *message.Message) error {
	in, hd, err := d.helpdeskOf(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	// Recorded before the call: a first attempt lets the plugin create the
	// ticket without looking it up; any later one (a retry, a redelivery
	// after a crash) makes it look first, so no ticket is made twice.
	ticket, first, err := d.DB.StartDelivery(ctx, m.IntegrationID, m.AppID, m.Change.Review.ID)
	if err != nil {
		return err
	}
	ref, err := hd.UpsertTicket(ctx, sdk.UpsertTicketRequest{
		Settings: in.HelpdeskSettings, IntegrationID: in.ID, TicketID: ticket,
		Change: d.ticketChange(ctx, in.ID, m.Change), Tags: m.Tags, DeliveryKey: m.DeliveryKey(), FirstAttempt: first,
	})
	if err != nil {
		d.Metrics.Delivery(in.ID, in.HelpdeskPlugin, deliveryFailure(err))
		if sdk.RetryAfterOf(err) > 0 {
			d.Metrics.RateLimitWait(in.ID, "delivery")
		}
		d.gates.hold(in.ID, sdk.RetryAfterOf(err))
		if first && sdk.KindOf(err) == sdk.ErrorKindRateLimited {
			// Refused before anything was done (the SDK's contract for a
			// rate-limited UpsertTicket): the next attempt is still a first.
			if uerr := d.DB.RefusedDelivery(ctx, m.IntegrationID, m.AppID, m.Change.Review.ID); uerr != nil {
				d.Logger.Warn("undoing a refused delivery attempt failed; the next attempt looks the ticket up",
					"integration", in.ID, "review", m.Change.Review.ID, "error", uerr)
			}
		}
		return &deliveryError{fmt.Errorf("review %s to %s: %w", m.Change.Review.ID, in.HelpdeskPlugin, err)}
	}
	if ref.ID == "" {
		return &deliveryError{bus.Permanent(fmt.Errorf("review %s: helpdesk %s returned no ticket id", m.Change.Review.ID, in.HelpdeskPlugin))}
	}
	var released []string
	drafted := false
	publish := func(tx *state.Tx, ids []string) error {
		// Answers that arrived before this link wait no longer.
		released = ids
		for _, id := range ids {
			if err := busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplies, m.IntegrationID, bus.CorrelationID(msg), busmsg.Reply{IntegrationID: m.IntegrationID, MessageID: id}); err != nil {
				return err
			}
		}
		return nil
	}
	var more func(tx *state.Tx) error
	if m.Reply != nil || len(m.Notes) > 0 {
		more = func(tx *state.Tx) error {
			drafted = false
			return d.ruleWork(ctx, tx, m, ref.ID, bus.CorrelationID(msg), &drafted)
		}
	}
	// The review's event goes with the link, in its transaction (its id
	// is the version's: a redelivery that links again writes nothing new).
	ev, err := events.ReviewDelivered(m, ref.ID, time.Now())
	if err != nil {
		return err
	}
	err = d.DB.LinkDelivered(ctx, state.DeliveredTicket{IntegrationID: m.IntegrationID, AppID: m.AppID, ReviewID: m.Change.Review.ID, TicketID: ref.ID},
		publish, more, ev)
	if err != nil {
		return err
	}
	delivered := "updated"
	if ref.Created {
		delivered = "created"
	}
	d.Metrics.Delivery(in.ID, in.HelpdeskPlugin, delivered)
	if drafted {
		d.Metrics.AutoReply(in.ID, m.Reply.Rule, "draft")
	}
	if len(released) > 0 {
		d.Logger.Info("answers released by their ticket's link", "integration", in.ID, "ticket", ref.ID, "answers", len(released),
			"correlation_id", bus.CorrelationID(msg))
	}
	d.Logger.Debug("review delivered", "integration", in.ID, "app", m.AppID, "review", m.Change.Review.ID,
		"kind", m.Change.Kind, "ticket", ref.ID, "created", ref.Created, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// deliveryFailure is the metrics outcome of a failed delivery: "retry"
// (the bus tries again) or "failed" (dead letter).
func deliveryFailure(err error) string {
	if bus.IsPermanent(err) {
		return "failed"
	}
	return "retry"
}

// ruleWork records what the automation decided for this change once its
// ticket is linked: a rule's answer (a draft, or an automatic reply with
// the ticket), and the hub's own notes, each once.
func (d *Deliverer) ruleWork(ctx context.Context, tx *state.Tx, m busmsg.Review, ticketID, correlationID string, drafted *bool) error {
	reviewID := m.Change.Review.ID
	if m.Reply != nil {
		inserted, err := busmsg.QueueRuleReply(ctx, d.Bus, tx, m.IntegrationID, m.AppID, reviewID, ticketID, *m.Reply, "", correlationID, time.Now())
		if err != nil {
			return err
		}
		*drafted = inserted && m.Reply.Mode == rules.ModeApproval
	}
	for _, n := range m.Notes {
		first, err := tx.NoteOnce(ctx, m.IntegrationID, n.MessageID)
		if err != nil {
			return err
		}
		if !first {
			continue
		}
		n.TicketID, n.ReviewID = ticketID, reviewID
		if err := busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplyResults, m.IntegrationID, correlationID, busmsg.Result{IntegrationID: m.IntegrationID, Result: n}); err != nil {
			return err
		}
	}
	return nil
}
