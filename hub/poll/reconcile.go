package poll

import (
	"context"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The reconciliation makes a lost review loud and then heals it. A review
// whose change was queued (its message committed with it, state.MarkQueued)
// is delivered when its ticket is linked; until then its message waits on
// the bus, or it became a dead letter, or its delivery failed for good
// (recorded on the review). A queued review with none of these lost its
// message somewhere between the publish and the handler — as 843 reviews
// did once on PostgreSQL (docs/performance.md, "Lost reviews") — and
// nothing else would ever say so. Reconcile finds such reviews, logs them
// as errors, counts them per app (state.CountLost, shown with the app's
// counters in the admin API and the console) and marks them, so that the
// next listing that shows the review queues it again (delivery is
// idempotent by key: a review delivered after all is only updated).

// DefaultReconcileEvery is how often the poller looks for lost reviews.
const DefaultReconcileEvery = 5 * time.Minute

// reconcileBatch bounds the reviews one reconciliation looks at; the next
// one goes on after the last of them (wrapping around at the end), so
// every queued review is looked at, however many wait.
const reconcileBatch = 10000

// Reconcile looks for queued reviews whose message was lost and marks them
// to be queued again; it returns those it marked. Each run looks at up to
// reconcileBatch reviews, after those the previous run looked at.
func (p *Poller) Reconcile(ctx context.Context) ([]state.QueuedReview, error) {
	p.reconcileMu.Lock()
	defer p.reconcileMu.Unlock()
	limit := reconcileBatch
	if p.reconcileLimit > 0 {
		limit = p.reconcileLimit
	}
	queued, err := p.DB.UnlinkedQueued(ctx, p.reconcileAfter, limit)
	if err != nil {
		return nil, err
	}
	if len(queued) < limit {
		p.reconcileAfter = state.QueuedReview{} // the end: from the first again next time
	} else {
		p.reconcileAfter = queued[len(queued)-1]
	}
	if len(queued) == 0 {
		p.Logger.Debug("looked for lost reviews", "queued_not_linked", 0)
		return nil, nil
	}
	// Read after the reviews: a message acknowledged meanwhile was linked
	// first, which MarkLost looks at again. The dead letters are read
	// before and after the topic: one retried meanwhile (the dead letter
	// deleted as its message is queued again) is seen in one of the reads.
	waiting, err := bus.WaitingReviews(ctx, p.DB.SQL(), p.DB.Dialect() == state.Postgres)
	if err != nil {
		return nil, err
	}
	again, err := bus.WaitingReviews(ctx, p.DB.SQL(), p.DB.Dialect() == state.Postgres)
	if err != nil {
		return nil, err
	}
	var lost []state.QueuedReview
	for _, q := range queued {
		s := bus.Subject{Group: q.IntegrationID, App: q.AppID, Review: q.ReviewID}
		if !waiting[s] && !again[s] {
			lost = append(lost, q)
		}
	}
	if len(lost) == 0 {
		p.Logger.Debug("looked for lost reviews", "queued_not_linked", len(queued), "not_waiting", 0)
		return nil, nil
	}
	// Most of these were delivered since they were read (linked, then
	// acknowledged): MarkLost marks only those still not linked.
	marked, err := p.DB.MarkLost(ctx, lost)
	if err != nil {
		return nil, err
	}
	p.Logger.Debug("looked for lost reviews", "queued_not_linked", len(queued), "not_waiting", len(lost), "lost", len(marked))
	for i, q := range marked {
		if i == 20 {
			p.Logger.Error("more reviews lost their queued message", "more", len(marked)-i)
			break
		}
		p.Logger.Error("a queued review's message was lost: not delivered, not waiting on the bus, no dead letter; "+
			"it is queued again when the store lists it next", "integration", q.IntegrationID, "app", q.AppID,
			"review", q.ReviewID, "version", q.Version)
	}
	return marked, nil
}

// reconcileLoop runs Reconcile when the poller starts (a hub restarted
// after a crash looks at once) and then every ReconcileEvery until ctx
// ends.
func (p *Poller) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(p.Schedule.ReconcileEvery)
	defer t.Stop()
	for {
		if _, err := p.Reconcile(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Error("looking for lost reviews failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
