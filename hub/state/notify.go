package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// NotifyDestination is a chat destination's progress (hub/notify): its
// place in the events outbox, its policy's state, its retry.
type NotifyDestination struct {
	Name string
	// CursorMS and CursorID: the last event taken or passed (Events' after).
	CursorMS int64
	CursorID string
	// Policy is the notifypolicy.State as JSON ("": none yet).
	Policy string
	// FlushAt: post what the policy holds then (zero: nothing held).
	FlushAt time.Time
	// RetryAt: a send failed; try again then (zero: no wait). Tries
	// counts the failures in a row.
	RetryAt time.Time
	Tries   int
	// Refused counts the events the destination refused for good.
	Refused int
}

// notifyLeases are the claims of destinations: one hub sends a
// destination's events at a time, in order.
var notifyLeases = LeaseTable{Table: "notify_destinations", Key: []string{"name"},
	OwnerColumn: "lease_owner", UntilColumn: "lease_ms", FenceColumn: "lease_fence"}

// NotifyLeases are owner's claims of destinations.
func (d *DB) NotifyLeases(owner Owner) *Leases { return d.Leases(notifyLeases, owner) }

// EnsureNotifyDestination adds the destination's row when it is missing,
// its cursor at startMS (a new destination takes the events from then on).
func (d *DB) EnsureNotifyDestination(ctx context.Context, name string, startMS int64) error {
	if _, err := d.exec(ctx, `INSERT INTO notify_destinations (name, cursor_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, startMS); err != nil {
		return fmt.Errorf("state: add notify destination %s: %w", name, err)
	}
	return nil
}

// NotifyDestinationByName reads a destination's progress (ErrNotFound).
func (d *DB) NotifyDestinationByName(ctx context.Context, name string) (NotifyDestination, error) {
	n := NotifyDestination{Name: name}
	var flush, retry int64
	err := d.queryRow(ctx, `SELECT cursor_ms, cursor_id, policy, flush_ms, retry_ms, tries, refused FROM notify_destinations WHERE name = ?`, name).
		Scan(&n.CursorMS, &n.CursorID, &n.Policy, &flush, &retry, &n.Tries, &n.Refused)
	if errors.Is(err, sql.ErrNoRows) {
		return n, ErrNotFound
	}
	if err != nil {
		return n, fmt.Errorf("state: notify destination %s: %w", name, err)
	}
	n.FlushAt, n.RetryAt = fromMS(flush), fromMS(retry)
	return n, nil
}

// SaveNotifyDestination writes a destination's progress under claim
// (ErrLeaseLost when another hub took it).
func (d *DB) SaveNotifyDestination(ctx context.Context, claim Lease, n NotifyDestination) error {
	held, hargs := notifyLeases.held(claim)
	res, err := d.exec(ctx, `UPDATE notify_destinations SET cursor_ms = ?, cursor_id = ?, policy = ?, flush_ms = ?, retry_ms = ?, tries = ?, refused = ?
		WHERE name = ? AND `+held, append([]any{n.CursorMS, n.CursorID, n.Policy, ms(n.FlushAt), ms(n.RetryAt), n.Tries, n.Refused, n.Name}, hargs...)...)
	if err != nil {
		return fmt.Errorf("state: save notify destination %s: %w", n.Name, err)
	}
	if c, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: save notify destination %s: %w", n.Name, err)
	} else if c == 0 {
		return fmt.Errorf("state: notify destination %s: %w", n.Name, ErrLeaseLost)
	}
	return nil
}

// NotifyThread is the MessageRef of key's thread at destination ("": none).
func (d *DB) NotifyThread(ctx context.Context, destination, key string) (string, error) {
	var ref string
	err := d.queryRow(ctx, `SELECT message_ref FROM notify_threads WHERE destination = ? AND thread_key = ?`, destination, key).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: notify thread of %s: %w", destination, err)
	}
	return ref, nil
}

// AddNotifyThread keeps ref as key's thread at destination unless one is
// kept already (the first message's stays).
func (d *DB) AddNotifyThread(ctx context.Context, destination, key, ref string, at time.Time) error {
	if _, err := d.exec(ctx, `INSERT INTO notify_threads (destination, thread_key, message_ref, created_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (destination, thread_key) DO NOTHING`, destination, key, ref, ms(at)); err != nil {
		return fmt.Errorf("state: add notify thread of %s: %w", destination, err)
	}
	return nil
}
