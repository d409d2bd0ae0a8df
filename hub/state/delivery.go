package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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

// startDeliveryPG is StartDelivery on PostgreSQL. The attempt must be on
// disk before the plugin is called, so its commit waits for the WAL
// flush; each delivery's own commit made one flush per review, one after
// the other, and on a busy disk that wait was most of a delivery's time.
// Deliveries starting together are recorded in one statement (one commit,
// one flush) by attemptBatcher: the first waits for nothing, those coming
// while its statement runs go together in the next.
func (d *DB) startDeliveryPG(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	req := &attemptReq{ctx: ctx, key: reviewKey{integrationID, appID, reviewID}, done: make(chan attemptResult, 1)}
	d.attempts.add(d, req)
	select {
	case r := <-req.done:
		return r.ticket, r.first, r.err
	case <-ctx.Done():
		// The attempt may still be recorded: the next one looks the
		// ticket up, which is always safe.
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, context.Cause(ctx))
	}
}

// maxAttemptBatch bounds the attempts recorded in one statement.
const maxAttemptBatch = 64

type attemptReq struct {
	ctx  context.Context
	key  reviewKey
	done chan attemptResult
}

type attemptResult struct {
	ticket string
	first  bool
	err    error
}

// attemptBatcher records the attempts queued while a statement runs in
// the next one (PostgreSQL).
type attemptBatcher struct {
	mu      sync.Mutex
	queue   []*attemptReq
	running bool
}

func (b *attemptBatcher) add(d *DB, req *attemptReq) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, req)
	if !b.running {
		b.running = true
		go b.run(d)
	}
}

// run records batches until none is queued. One review appears once in a
// batch (its second request waits for the next: it must see the first's
// attempt).
func (b *attemptBatcher) run(d *DB) {
	for {
		b.mu.Lock()
		var batch, rest []*attemptReq
		seen := map[reviewKey]bool{}
		for _, r := range b.queue {
			switch {
			case r.ctx.Err() != nil: // its caller has gone
			case seen[r.key] || len(batch) == maxAttemptBatch:
				rest = append(rest, r)
			default:
				seen[r.key] = true
				batch = append(batch, r)
			}
		}
		b.queue = rest
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		d.recordAttempts(batch)
	}
}

// recordAttempts records the attempts of batch in one statement and
// answers each request.
func (d *DB) recordAttempts(batch []*attemptReq) {
	integrations, apps, reviews := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
	for i, r := range batch {
		integrations[i], apps[i], reviews[i] = r.key.integrationID, r.key.appID, r.key.reviewID
	}
	results := map[reviewKey]attemptResult{}
	ctx, cancel := context.WithTimeout(context.Background(), groupTxTimeout)
	defer cancel()
	err := d.retry(ctx, func() error {
		clear(results)
		rs, err := d.query(ctx, `WITH req AS (
				SELECT * FROM unnest(?::text[], ?::text[], ?::text[]) AS q(integration_id, app_id, review_id)
			), attempt AS (
				UPDATE reviews r SET delivery_attempted = 1 FROM req
				WHERE r.integration_id = req.integration_id AND r.app_id = req.app_id AND r.review_id = req.review_id
					AND r.ticket_id = '' AND r.delivery_attempted = 0
				RETURNING r.integration_id, r.app_id, r.review_id
			)
			SELECT req.integration_id, req.app_id, req.review_id, COALESCE(rv.ticket_id, ''), a.review_id IS NOT NULL
			FROM req
			LEFT JOIN reviews rv ON rv.integration_id = req.integration_id AND rv.app_id = req.app_id AND rv.review_id = req.review_id
			LEFT JOIN attempt a ON a.integration_id = req.integration_id AND a.app_id = req.app_id AND a.review_id = req.review_id`,
			integrations, apps, reviews)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var k reviewKey
			var r attemptResult
			if err := rs.Scan(&k.integrationID, &k.appID, &k.reviewID, &r.ticket, &r.first); err != nil {
				return err
			}
			results[k] = r
		}
		return rs.Err()
	})
	sure := d.firstAttemptsSure()
	for _, req := range batch {
		r, ok := results[req.key]
		switch {
		case err != nil:
			r = attemptResult{err: fmt.Errorf("state: record delivery attempt of review %s: %w", req.key.reviewID, err)}
		case !ok:
			r = attemptResult{err: fmt.Errorf("state: record delivery attempt of review %s: not in the statement's answer", req.key.reviewID)}
		case r.first:
			r.first, r.ticket = sure, ""
		}
		req.done <- r
	}
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
// must set, not accumulate. evs, the events of the delivery (hub/events),
// are added to the outbox in the same transaction (Tx.AddEvent; on
// PostgreSQL, with more nil and at most one event, in the link's one
// statement): written with the link, or again with it on the review's
// redelivery, their ids derived from it.
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
func (d *DB) LinkDelivered(ctx context.Context, l DeliveredTicket, publish func(tx *Tx, released []string) error, more func(tx *Tx) error, evs ...Event) error {
	if d.dialect == Postgres && more == nil && len(evs) <= 1 {
		waiting, err := d.linkDeliveredPG(ctx, l, evs)
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
		for _, e := range evs {
			if _, err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
		}
		return tx.Count(ctx, l.IntegrationID, l.AppID, CountDelivered, 1)
	})
}

// linkDeliveredPG records the link and counts the delivery in one
// statement, and tells whether answers wait for the link. It commits
// without waiting for the WAL flush (AsyncCommit): see LinkDelivered.
func (d *DB) linkDeliveredPG(ctx context.Context, l DeliveredTicket, evs []Event) (waiting bool, err error) {
	args := []any{l.TicketID, l.IntegrationID, l.AppID, l.ReviewID, l.IntegrationID, l.AppID, d.counterRow(CountDelivered)}
	event := ""
	for _, e := range evs { // at most one (LinkDelivered)
		ctes, eargs := addEventCTEs(e, ms(d.now()))
		event, args = `, `+ctes, append(args, eargs...)
	}
	err = d.queryRow(ctx, `WITH async AS (`+AsyncCommit+`), link AS (
			UPDATE reviews SET ticket_id = ?, delivery_error = ''
			WHERE integration_id = ? AND app_id = ? AND review_id = ?
		), counted AS (
			INSERT INTO counters (integration_id, app_id, name, value) VALUES (?, ?, ?, 1)
			ON CONFLICT (integration_id, app_id, name) DO UPDATE SET value = counters.value + excluded.value
		)`+event+`
		SELECT EXISTS (SELECT 1 FROM parked_replies WHERE integration_id = ?
			AND ((ticket_id <> '' AND ticket_id = ?) OR (review_id <> '' AND review_id = ?))) FROM async`,
		append(args, l.IntegrationID, l.TicketID, l.ReviewID)...).Scan(&waiting)
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
