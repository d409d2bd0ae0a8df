package deliver

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
)

// errRelinked makes park give up: the link appeared meanwhile, so the
// message is handled again at once instead.
var errRelinked = errors.New("the ticket was linked meanwhile")

// park records an answer as waiting for its ticket's link and acks its
// message: a recorded link or the timer publishes it again.
func (d *Deliverer) park(ctx context.Context, m busmsg.Reply, msg *message.Message, r state.Reply) error {
	now := time.Now()
	until := r.CreatedAt.Add(d.grace())
	next := now.Add(d.recheckEvery())
	if next.After(until) {
		next = until
	}
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		// Looked at again inside the transaction: a link recorded since the
		// first look (SQLite serializes the two) is not missed.
		switch _, _, err := tx.ReviewOfTicket(ctx, r.IntegrationID, r.TicketID, r.ReviewID); {
		case err == nil, errors.Is(err, state.ErrLinkedElsewhere):
			return errRelinked
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
		return tx.ParkReply(ctx, state.ParkedReply{IntegrationID: r.IntegrationID, MessageID: r.MessageID,
			TicketID: r.TicketID, ReviewID: r.ReviewID, Reason: ReasonUnknownTicket, NextAt: next, Until: until})
	})
	if errors.Is(err, errRelinked) {
		return d.handleReply(ctx, m, msg)
	}
	if err != nil {
		return err
	}
	d.Logger.Debug("answer parked until its ticket is linked", "integration", r.IntegrationID, "ticket", r.TicketID,
		"message", r.MessageID, "until", until, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// parkedBatch bounds the answers one tick looks at.
const parkedBatch = 200

// handleTick looks at the parked answers whose time has come: those whose
// ticket is linked now and those whose grace is over are published again
// (handleReply publishes or refuses them); the others wait until the next
// look. Errors are logged; the next tick tries again.
func (d *Deliverer) handleTick(msg *message.Message) error {
	ctx := msg.Context()
	due, err := d.DB.DueParked(ctx, parkedBatch)
	if err != nil {
		d.Logger.Error("reading parked answers failed", "error", err)
		return nil
	}
	released := 0
	for _, p := range due {
		now := time.Now()
		if now.Before(p.Until) {
			_, _, err := d.DB.ReviewOfTicket(ctx, p.IntegrationID, p.TicketID, p.ReviewID)
			if errors.Is(err, state.ErrNotFound) {
				next := now.Add(d.recheckEvery())
				if next.After(p.Until) {
					next = p.Until
				}
				if err := d.DB.RecheckParkedAt(ctx, p.IntegrationID, p.MessageID, next); err != nil {
					d.Logger.Error("parked answer: recording the next look failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
					return nil
				}
				continue
			}
			if err != nil && !errors.Is(err, state.ErrLinkedElsewhere) {
				d.Logger.Error("parked answer: looking up its ticket failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
				return nil
			}
		}
		err := d.DB.InTx(ctx, func(tx *state.Tx) error {
			ok, err := tx.ReleaseParked(ctx, p.IntegrationID, p.MessageID)
			if err != nil || !ok {
				return err
			}
			released++
			return busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplies, p.IntegrationID, bus.CorrelationID(msg), busmsg.Reply{IntegrationID: p.IntegrationID, MessageID: p.MessageID})
		})
		if err != nil {
			d.Logger.Error("releasing a parked answer failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
			return nil
		}
	}
	if released > 0 {
		d.Logger.Debug("parked answers released", "answers", released)
	}
	return nil
}
