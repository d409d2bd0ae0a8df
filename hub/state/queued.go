package state

import (
	"context"
	"fmt"

	"github.com/reviewhub/reviewhub/sdk"
)

// What the poller queued, and the reconciliation that finds a queued
// review whose message was lost (hub/poll/reconcile.go; docs/performance.md,
// "Lost reviews"). A listed review's change is either queued — its
// message committed in the page's transaction, and MarkQueued records the
// version there — or skipped on purpose (unchanged, the backfill limit, a
// filter, a rule's answer without a ticket), which leaves queued_version
// behind the review's version. A queued review not linked to a ticket
// must therefore have its message waiting on the bus or a dead letter (or
// a delivery that failed for good recorded); one that has none is lost,
// and MarkLost makes the next listing that shows it queue it again.

// CountLost counts, per app, reviews whose queued message was found lost
// and that were marked to be queued again (MarkLost).
const CountLost = "reviews_lost_requeued"

// QueuedReview is a review and the version whose change was queued.
type QueuedReview struct {
	AppRef
	ReviewID string
	Version  int
}

// MarkQueued records that the changes of queued (reviews of one app) were
// queued in this transaction: their messages commit with it.
func (t *Tx) MarkQueued(ctx context.Context, integrationID, appID string, queued map[string]int) error {
	if len(queued) == 0 {
		return nil
	}
	if t.db.dialect == Postgres {
		ids, versions := make([]string, 0, len(queued)), make([]int32, 0, len(queued))
		for id, v := range queued {
			ids, versions = append(ids, id), append(versions, int32(v))
		}
		_, err := t.exec(ctx, `UPDATE reviews r SET queued_version = q.version, requeue = 0
			FROM unnest(?::text[], ?::int[]) AS q(review_id, version)
			WHERE r.integration_id = ? AND r.app_id = ? AND r.review_id = q.review_id`, ids, versions, integrationID, appID)
		if err != nil {
			return fmt.Errorf("state: mark %d reviews of %s/%s queued: %w", len(queued), integrationID, appID, err)
		}
		return nil
	}
	for id, v := range queued {
		if _, err := t.exec(ctx, `UPDATE reviews SET queued_version = ?, requeue = 0
			WHERE integration_id = ? AND app_id = ? AND review_id = ?`, v, integrationID, appID, id); err != nil {
			return fmt.Errorf("state: mark review %s queued: %w", id, err)
		}
	}
	return nil
}

// requeued turns the unchanged observation obs of a review marked lost
// into a change to queue again: new when no ticket is linked (the lost
// message was its first delivery), else an update, with the review's
// history. The mark is taken off here; the queuing records the version
// again (MarkQueued), a filter may skip it as it would any change.
func (t *Tx) requeued(ctx context.Context, integrationID, appID, reviewID string, obs Observation) (Observation, error) {
	if _, err := t.exec(ctx, `UPDATE reviews SET requeue = 0, queued_version = 0
		WHERE integration_id = ? AND app_id = ? AND review_id = ?`, integrationID, appID, reviewID); err != nil {
		return Observation{}, fmt.Errorf("state: queue review %s again: %w", reviewID, err)
	}
	obs.Kind = sdk.ChangeKindNew
	if obs.TicketID != "" {
		obs.Kind = sdk.ChangeKindUpdated
	}
	if obs.Version > 1 {
		hist, err := t.history(ctx, integrationID, appID, reviewID, obs.Version)
		if err != nil {
			return Observation{}, err
		}
		obs.History = hist
	}
	return obs, nil
}

// UnlinkedQueued lists up to limit reviews whose current version was
// queued and that no ticket is linked to, no delivery failed for good
// and no mark to queue again waits for: each must have its message
// waiting on the bus or a dead letter, else it is lost (MarkLost). They
// come in key order after after (its zero value: from the first), so a
// reconciliation pages through all of them over its runs: fewer than
// limit means the end was reached.
func (d *DB) UnlinkedQueued(ctx context.Context, after QueuedReview, limit int) ([]QueuedReview, error) {
	rows, err := d.query(ctx, `SELECT integration_id, app_id, review_id, version FROM reviews
		WHERE ticket_id = '' AND queued_version > 0 AND queued_version = version AND requeue = 0 AND delivery_error = ''
			AND (integration_id, app_id, review_id) > (?, ?, ?)
		ORDER BY integration_id, app_id, review_id LIMIT ?`, after.IntegrationID, after.AppID, after.ReviewID, limit)
	if err != nil {
		return nil, fmt.Errorf("state: queued reviews not linked: %w", err)
	}
	defer rows.Close()
	var out []QueuedReview
	for rows.Next() {
		var q QueuedReview
		if err := rows.Scan(&q.IntegrationID, &q.AppID, &q.ReviewID, &q.Version); err != nil {
			return nil, fmt.Errorf("state: queued reviews not linked: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// MarkLost marks the reviews of lost to be queued again at their next
// listing — those still as UnlinkedQueued found them (a review linked
// since, its message acknowledged after the link, is left alone) — and
// counts them per app (CountLost). It returns the reviews marked.
func (d *DB) MarkLost(ctx context.Context, lost []QueuedReview) ([]QueuedReview, error) {
	var marked []QueuedReview
	err := d.InTx(ctx, func(tx *Tx) error {
		marked = marked[:0]
		per := map[AppRef]int{}
		for _, q := range lost {
			res, err := tx.exec(ctx, `UPDATE reviews SET requeue = 1
				WHERE integration_id = ? AND app_id = ? AND review_id = ? AND version = ? AND queued_version = ?
					AND ticket_id = '' AND requeue = 0 AND delivery_error = ''`,
				q.IntegrationID, q.AppID, q.ReviewID, q.Version, q.Version)
			if err != nil {
				return fmt.Errorf("state: mark review %s lost: %w", q.ReviewID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("state: mark review %s lost: %w", q.ReviewID, err)
			} else if n > 0 {
				marked = append(marked, q)
				per[q.AppRef]++
			}
		}
		for ref, n := range per {
			if err := tx.Count(ctx, ref.IntegrationID, ref.AppID, CountLost, n); err != nil {
				return err
			}
		}
		return nil
	})
	return marked, err
}

// DeliveryDropped records that the delivery of a review not linked to a
// ticket was given up on purpose: its dead letter was dropped (bus
// DeadLetters.Dropped). The review then says so, and the reconciliation
// leaves it alone.
func (d *DB) DeliveryDropped(ctx context.Context, integrationID, appID, reviewID string) error {
	if _, err := d.exec(ctx, `UPDATE reviews SET delivery_error = ?
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = '' AND delivery_error = ''`,
		DeliveryDroppedNote, integrationID, appID, reviewID); err != nil {
		return fmt.Errorf("state: record the dropped delivery of review %s: %w", reviewID, err)
	}
	return nil
}

// DeliveryDroppedNote is a review's delivery error once its dead letter
// was dropped.
const DeliveryDroppedNote = "not delivered: its dead letter was dropped"

// LostByApp counts, per app, the reviews marked lost that wait for a
// listing to queue them again.
func (d *DB) LostByApp(ctx context.Context) (map[AppRef]int, error) {
	rows, err := d.query(ctx, `SELECT integration_id, app_id, COUNT(*) FROM reviews WHERE requeue = 1 GROUP BY integration_id, app_id`)
	if err != nil {
		return nil, fmt.Errorf("state: lost reviews by app: %w", err)
	}
	defer rows.Close()
	out := map[AppRef]int{}
	for rows.Next() {
		var ref AppRef
		var n int
		if err := rows.Scan(&ref.IntegrationID, &ref.AppID, &n); err != nil {
			return nil, fmt.Errorf("state: lost reviews by app: %w", err)
		}
		out[ref] = n
	}
	return out, rows.Err()
}

// Requeued counts the reviews marked lost that wait for a listing to
// queue them again (a review the store no longer lists stays here: it is
// shown, not forgotten).
func (d *DB) Requeued(ctx context.Context) (int, error) {
	var n int
	if err := d.queryRow(ctx, `SELECT COUNT(*) FROM reviews WHERE requeue = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: reviews waiting to be queued again: %w", err)
	}
	return n, nil
}
