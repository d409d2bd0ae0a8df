package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Event is one entry of the events outbox (hub/events makes them): its id
// is the webhook-id its receivers dedupe by, Payload the JSON they get.
type Event struct {
	ID            string
	Type          string
	IntegrationID string
	OccurredAt    time.Time
	Payload       []byte
}

// AddEvent writes e into the outbox in the transaction of the change it
// reports, and queues it for every webhook endpoint that takes it (the
// endpoint's integration, or every one; its event types, or every one);
// a disabled endpoint's deliveries wait until it is enabled again (their
// next_ms waitingNext). An event whose id is already there changes nothing: added
// reports false (an event written again after a crash).
func (t *Tx) AddEvent(ctx context.Context, e Event) (added bool, err error) {
	now := ms(t.db.now())
	if t.db.dialect == Postgres {
		// One statement (a round trip) in the change's transaction.
		ctes, args := addEventCTEs(e, now)
		var n int
		if err := t.queryRow(ctx, `WITH `+ctes+` SELECT COUNT(*) FROM ev`, args...).Scan(&n); err != nil {
			return false, fmt.Errorf("state: add event %s: %w", e.ID, err)
		}
		return n > 0, nil
	}
	res, err := t.exec(ctx, `INSERT INTO events (id, type, integration_id, occurred_ms, payload) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, e.ID, e.Type, e.IntegrationID, ms(e.OccurredAt), string(e.Payload))
	if err != nil {
		return false, fmt.Errorf("state: add event %s: %w", e.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := t.exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, created_ms, next_ms)
		SELECT id, ?, ?, CASE WHEN disabled_ms = 0 THEN ? ELSE `+waitingNext+` END FROM webhook_endpoints
		WHERE (integration_id = '' OR integration_id = ?) AND (event_types = '' OR event_types LIKE ?)
		ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
		e.ID, now, now, e.IntegrationID, "%,"+e.Type+",%"); err != nil {
		return false, fmt.Errorf("state: queue event %s for the webhooks: %w", e.ID, err)
	}
	return true, nil
}

// addEventCTEs are the common table expressions that add e to the outbox
// (ev: its id when it is new) and queue it for the endpoints that take it
// (PostgreSQL: part of one statement), with their arguments.
func addEventCTEs(e Event, now int64) (string, []any) {
	return `ev AS (
			INSERT INTO events (id, type, integration_id, occurred_ms, payload) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING RETURNING id
		), queued AS (
			INSERT INTO webhook_deliveries (endpoint_id, event_id, created_ms, next_ms)
			SELECT p.id, ev.id, ?, CASE WHEN p.disabled_ms = 0 THEN ? ELSE ` + waitingNext + ` END FROM webhook_endpoints p CROSS JOIN ev
			WHERE (p.integration_id = '' OR p.integration_id = ?) AND (p.event_types = '' OR p.event_types LIKE ?)
			ON CONFLICT (endpoint_id, event_id) DO NOTHING
		)`, []any{e.ID, e.Type, e.IntegrationID, ms(e.OccurredAt), string(e.Payload), now, now, e.IntegrationID, "%," + e.Type + ",%"}
}

// AddEvent is Tx.AddEvent in a transaction of its own, for an event whose
// change is already committed: its id must be derived from that change,
// so that writing it again (after a crash between the two) adds nothing.
func (d *DB) AddEvent(ctx context.Context, e Event) (added bool, err error) {
	// Grouped (SQLite: with other small writes); it may run more than
	// once, which AddEvent's id makes harmless.
	err = d.InTxGrouped(ctx, func(tx *Tx) error {
		added, err = tx.AddEvent(ctx, e)
		return err
	})
	return added, err
}

// ChangeHealth records ref's computed health when the recorded one is
// still was (compare and swap: of several hubs computing the same change,
// one records it), with event, when not nil, in the same transaction.
// changed reports whether this call recorded it.
func (d *DB) ChangeHealth(ctx context.Context, ref AppRef, was, health, reason string, since time.Time, event func() (Event, error)) (changed bool, err error) {
	err = d.InTx(ctx, func(tx *Tx) error {
		changed = false
		res, err := tx.exec(ctx, `UPDATE app_health SET health = ?, reason = ?, since_ms = ? WHERE integration_id = ? AND app_id = ? AND health = ?`,
			health, reason, ms(since), ref.IntegrationID, ref.AppID, was)
		if err != nil {
			return fmt.Errorf("state: set health of %s: %w", ref, err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		changed = true
		if event == nil {
			return nil
		}
		e, err := event()
		if err != nil {
			return err
		}
		_, err = tx.AddEvent(ctx, e)
		return err
	})
	return changed, err
}

// Events pages through the outbox in the order of their times (then ids)
// after the event (afterMS, afterID): how a consumer that keeps its own
// position reads the stream. The webhooks get theirs queued by AddEvent.
func (d *DB) Events(ctx context.Context, afterMS int64, afterID string, limit int) ([]Event, error) {
	rs, err := d.query(ctx, `SELECT id, type, integration_id, occurred_ms, payload FROM events
		WHERE occurred_ms > ? OR (occurred_ms = ? AND id > ?) ORDER BY occurred_ms, id LIMIT ?`, afterMS, afterMS, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("state: events: %w", err)
	}
	defer rs.Close()
	var out []Event
	for rs.Next() {
		var e Event
		var at int64
		var payload string
		if err := rs.Scan(&e.ID, &e.Type, &e.IntegrationID, &at, &payload); err != nil {
			return nil, fmt.Errorf("state: events: %w", err)
		}
		e.OccurredAt, e.Payload = fromMS(at), []byte(payload)
		out = append(out, e)
	}
	return out, rs.Err()
}

// EventByID reads one event of the outbox.
func (d *DB) EventByID(ctx context.Context, id string) (Event, error) {
	var e Event
	var at int64
	var payload string
	err := d.queryRow(ctx, `SELECT id, type, integration_id, occurred_ms, payload FROM events WHERE id = ?`, id).
		Scan(&e.ID, &e.Type, &e.IntegrationID, &at, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	if err != nil {
		return Event{}, fmt.Errorf("state: event %s: %w", id, err)
	}
	e.OccurredAt, e.Payload = fromMS(at), []byte(payload)
	return e, nil
}

// PruneEvents deletes what is done and older than before: finished
// deliveries (delivered or given up) made and last tried before it, with
// all their attempts (a delivery replayed lately keeps its log, and no
// attempt outlives its delivery), and events no delivery needs.
func (d *DB) PruneEvents(ctx context.Context, before time.Time) error {
	b := ms(before)
	return d.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM webhook_attempts WHERE EXISTS (SELECT 1 FROM webhook_deliveries w
			WHERE w.endpoint_id = webhook_attempts.endpoint_id AND w.event_id = webhook_attempts.event_id
			AND w.status <> ? AND w.created_ms < ? AND w.last_ms < ?)`, DeliveryPending, b, b); err != nil {
			return fmt.Errorf("state: prune webhook attempts: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> ? AND created_ms < ? AND last_ms < ?`, DeliveryPending, b, b); err != nil {
			return fmt.Errorf("state: prune webhook deliveries: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM events WHERE occurred_ms < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.event_id = events.id)`, b); err != nil {
			return fmt.Errorf("state: prune events: %w", err)
		}
		return nil
	})
}
