package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// StartDelivery is called before a review is handed to the helpdesk
// plugin. It returns the ticket linked to the review ("" if none) and
// whether this is certainly the first attempt to deliver it: no ticket is
// linked and no earlier attempt was recorded. The attempt is recorded (and
// committed) before it returns, so a crash during the plugin call makes
// every later attempt a retry, and the plugin looks the ticket up then.
func (d *DB) StartDelivery(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	if d.dialect == Postgres {
		return d.startDeliveryPG(ctx, integrationID, appID, reviewID)
	}
	err = d.InTxGrouped(ctx, func(tx *Tx) error {
		ticket, first, err = tx.StartDelivery(ctx, integrationID, appID, reviewID)
		return err
	})
	return ticket, first, err
}

// StartDelivery is DB.StartDelivery inside the transaction (committed
// before the plugin is called). A review not linked and not attempted yet
// costs one statement.
func (t *Tx) StartDelivery(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	res, err := t.exec(ctx, `UPDATE reviews SET delivery_attempted = 1
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = '' AND delivery_attempted = 0`,
		integrationID, appID, reviewID)
	if err != nil {
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, err)
	}
	if n == 1 {
		// Within a while of a restore from a backup, a ticket made after
		// the backup may exist: the plugin looks it up (version.go).
		return "", t.db.firstAttemptsSure(), nil
	}
	err = t.queryRow(ctx, `SELECT ticket_id FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		integrationID, appID, reviewID).Scan(&ticket)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state: ticket of review %s: %w", reviewID, err)
	}
	return ticket, false, nil
}

// startDeliveryPG is StartDelivery in one statement on its own (each
// statement is a round trip on PostgreSQL, and BEGIN and COMMIT are two
// more): the attempt recorded if none was, and the review's ticket.
func (d *DB) startDeliveryPG(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	var n int
	err = d.queryRow(ctx, `WITH attempt AS (
			UPDATE reviews SET delivery_attempted = 1
			WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = '' AND delivery_attempted = 0
			RETURNING 1)
		SELECT (SELECT COUNT(*) FROM attempt),
			COALESCE((SELECT ticket_id FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?), '')`,
		integrationID, appID, reviewID, integrationID, appID, reviewID).Scan(&n, &ticket)
	if err != nil {
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, err)
	}
	if n == 1 {
		return "", d.firstAttemptsSure(), nil
	}
	return ticket, false, nil
}

// DeliveredTicket is the link a delivery records: the review and the
// helpdesk ticket it lives in.
type DeliveredTicket struct {
	IntegrationID, AppID, ReviewID, TicketID string
}

// LinkDelivered records that a delivered review lives in its ticket: the
// link, the delivered counter, and the answers that waited for that link,
// released (no longer parked). publish runs in the same transaction with
// the released answers' message ids, maybe none (it queues them, outbox),
// whenever answers may have been released; then more
// (nil: nothing more). Both may run more than once (InTxGrouped): they
// must set, not accumulate.
//
// On PostgreSQL, when more is nil, the link and the count are one
// statement on their own (a round trip, where a transaction is three
// more), committed without waiting for the WAL flush (AsyncCommit): lost
// in a crash of the server, the review's message is delivered again (its
// ack is lost with it, being later in the WAL) and the plugin, told it is
// not a first attempt, finds the ticket. Only when answers wait for the
// link are they released and published in a transaction of its own after
// it (committed as usual). Should the hub stop between the two, they are
// released by the timer that looks at parked answers (their ticket is
// linked now) or by the review's redelivery.
func (d *DB) LinkDelivered(ctx context.Context, l DeliveredTicket, publish func(tx *Tx, released []string) error, more func(tx *Tx) error) error {
	if d.dialect == Postgres && more == nil {
		waiting, err := d.linkDeliveredPG(ctx, l)
		if err != nil || !waiting {
			return err
		}
		return d.InTx(ctx, func(tx *Tx) error {
			released, err := tx.ReleaseParkedFor(ctx, l.IntegrationID, l.TicketID, l.ReviewID)
			if err != nil {
				return err
			}
			return publish(tx, released)
		})
	}
	// Grouped: the links of deliveries finishing together share one
	// transaction (SQLite); each returns once its own link committed.
	return d.InTxGrouped(ctx, func(tx *Tx) error {
		if err := tx.LinkTicket(ctx, l.IntegrationID, l.AppID, l.ReviewID, l.TicketID); err != nil {
			return err
		}
		released, err := tx.ReleaseParkedFor(ctx, l.IntegrationID, l.TicketID, l.ReviewID)
		if err != nil {
			return err
		}
		if err := publish(tx, released); err != nil {
			return err
		}
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		return tx.Count(ctx, l.IntegrationID, l.AppID, CountDelivered, 1)
	})
}

// linkDeliveredPG records the link and counts the delivery in one
// statement, and tells whether answers wait for the link. It commits
// without waiting for the WAL flush (AsyncCommit): see LinkDelivered.
func (d *DB) linkDeliveredPG(ctx context.Context, l DeliveredTicket) (waiting bool, err error) {
	err = d.queryRow(ctx, `WITH async AS (`+AsyncCommit+`), link AS (
			UPDATE reviews SET ticket_id = ?, delivery_error = ''
			WHERE integration_id = ? AND app_id = ? AND review_id = ?
		), counted AS (
			INSERT INTO counters (integration_id, app_id, name, value) VALUES (?, ?, ?, 1)
			ON CONFLICT (integration_id, app_id, name) DO UPDATE SET value = counters.value + excluded.value
		)
		SELECT EXISTS (SELECT 1 FROM parked_replies WHERE integration_id = ?
			AND ((ticket_id <> '' AND ticket_id = ?) OR (review_id <> '' AND review_id = ?))) FROM async`,
		l.TicketID, l.IntegrationID, l.AppID, l.ReviewID,
		l.IntegrationID, l.AppID, d.counterRow(CountDelivered),
		l.IntegrationID, l.TicketID, l.ReviewID).Scan(&waiting)
	if err != nil {
		return false, fmt.Errorf("state: link ticket %s to review %s: %w", l.TicketID, l.ReviewID, err)
	}
	return waiting, nil
}

// AsyncCommit is a PostgreSQL query that makes the transaction it runs in
// commit without waiting for its WAL record to reach the disk
// (synchronous_commit off for that transaction only). A statement on its
// own is its own transaction: as a common table expression the statement
// uses, it commits that statement so. On the hub's 2-CPU test machine a
// commit's wait for the WAL flush was most of a delivery's time on
// PostgreSQL (docs/performance.md, round 6).
//
// Only for writes whose loss in a crash of the server does no harm: what
// they record is recorded again, because the messages they follow are
// delivered again. Every later commit that waits for the flush (any
// session's) makes them durable too, WAL being written in order; so a
// write that must be on disk before the hub calls a vendor (a delivery's
// attempt record) commits as usual, and carries the earlier ones with it.
const AsyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

// RefusedDelivery undoes the record of a first attempt that the helpdesk
// refused before doing anything (it answered "rate limited"), so the next
// attempt is a first one again and needs no lookup either.
func (d *DB) RefusedDelivery(ctx context.Context, integrationID, appID, reviewID string) error {
	_, err := d.exec(ctx, `UPDATE reviews SET delivery_attempted = 0
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = ''`,
		integrationID, appID, reviewID)
	if err != nil {
		return fmt.Errorf("state: undo delivery attempt of review %s: %w", reviewID, err)
	}
	return nil
}
