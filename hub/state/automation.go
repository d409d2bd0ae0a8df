package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/rules"
)

func automationJSON(a rules.Automation) string {
	b, err := json.Marshal(a)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// parseAutomation reads a stored automation and compiles it (it was
// validated when it was written): the canonical declaration and its
// engine (nil: none stored).
func parseAutomation(s string) (rules.Automation, *rules.Engine, error) {
	var a rules.Automation
	if s == "" || s == "{}" {
		return a, nil, nil
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return a, nil, fmt.Errorf("automation: %w", err)
	}
	eng, errs := rules.Compile(a, nil, nil)
	if len(errs) > 0 {
		return a, nil, fmt.Errorf("stored automation is invalid: %v", errs[0])
	}
	return eng.Automation(), eng, nil
}

// SetAutomationStopped sets an integration's kill switch (it survives
// restarts and config reloads) and bumps its version, so that every hub's
// cached copy is read again.
func (d *DB) SetAutomationStopped(ctx context.Context, integrationID string, stopped bool, reason string) error {
	return d.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE integrations SET version = version + 1 WHERE id = ?`, integrationID)
		if err != nil {
			return fmt.Errorf("state: automation switch of %s: %w", integrationID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.exec(ctx, `INSERT INTO automation_switch (integration_id, stopped, reason, changed_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (integration_id) DO UPDATE SET stopped = excluded.stopped, reason = excluded.reason, changed_at = excluded.changed_at`,
			integrationID, boolInt(stopped), reason, ts(d.now()))
		if err != nil {
			return fmt.Errorf("state: automation switch of %s: %w", integrationID, err)
		}
		return nil
	})
}

// utcDay is the day key of the daily cap.
func utcDay(t time.Time) string { return t.UTC().Format("2006-01-02") }

// ReserveAutoReply counts one automatic reply to reviewer (an author name;
// "" has no cooldown) of an app, if the app's daily cap and the reviewer's
// cooldown allow it; otherwise it counts nothing and says why.
func (t *Tx) ReserveAutoReply(ctx context.Context, integrationID, appID, reviewer string, now time.Time, dailyCap int, cooldown time.Duration) (string, error) {
	day := utcDay(now)
	capped := fmt.Sprintf("the daily cap of %d automatic replies for this app is reached (UTC day %s)", dailyCap, day)
	if dailyCap <= 0 {
		return capped, nil
	}
	// Each guard is one conditional write (check and count at once), so
	// two hubs reserving together on PostgreSQL cannot both pass a guard
	// that has room for one: the second waits for the first's row lock and
	// then sees its count.
	var n int
	err := t.queryRow(ctx, `INSERT INTO auto_reply_days AS d (integration_id, app_id, day, replies) VALUES (?, ?, ?, 1)
		ON CONFLICT (integration_id, app_id, day) DO UPDATE SET replies = d.replies + 1 WHERE d.replies < ?
		RETURNING replies`, integrationID, appID, day, dailyCap).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return capped, nil
	}
	if err != nil {
		return "", fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
	}
	if reviewer == "" || cooldown <= 0 {
		return "", nil
	}
	var last int64
	err = t.queryRow(ctx, `INSERT INTO auto_reply_reviewers AS r (integration_id, app_id, reviewer, last_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, app_id, reviewer) DO UPDATE SET last_ms = excluded.last_ms WHERE r.last_ms <= ?
		RETURNING last_ms`, integrationID, appID, reviewer, now.UnixMilli(), now.Add(-cooldown).UnixMilli()).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("state: auto replies to a reviewer of %s/%s: %w", integrationID, appID, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		// Held by the cooldown: the day's count taken above is given back
		// (this transaction holds its row).
		if _, err := t.exec(ctx, `UPDATE auto_reply_days SET replies = replies - 1 WHERE integration_id = ? AND app_id = ? AND day = ?`,
			integrationID, appID, day); err != nil {
			return "", fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
		}
		return fmt.Sprintf("this reviewer got an automatic reply less than %s ago (cooldown)", cooldown), nil
	}
	return "", nil
}

// ReleaseAutoReply gives back the count ReserveAutoReply took on the UTC
// day of at, for an automatic reply that was not published (refused by
// the kill switch, superseded by a person's answer, refused or failed at
// the store): the daily cap counts published replies only.
func (t *Tx) ReleaseAutoReply(ctx context.Context, integrationID, appID string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE auto_reply_days SET replies = replies - 1 WHERE integration_id = ? AND app_id = ? AND day = ? AND replies > 0`,
		integrationID, appID, utcDay(at)); err != nil {
		return fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
	}
	return nil
}

// RetakeAutoReply counts again, on the UTC day of at, an automatic reply
// whose count was given back (ReleaseAutoReply) and that a person queued
// again: it counts while it may be published. A person's retry is not
// held by the cap.
func (t *Tx) RetakeAutoReply(ctx context.Context, integrationID, appID string, at time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO auto_reply_days AS d (integration_id, app_id, day, replies) VALUES (?, ?, ?, 1)
		ON CONFLICT (integration_id, app_id, day) DO UPDATE SET replies = d.replies + 1`,
		integrationID, appID, utcDay(at)); err != nil {
		return fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
	}
	return nil
}

// AutoRepliesToday counts each app's automatic replies of the current UTC day.
func (d *DB) AutoRepliesToday(ctx context.Context, integrationID string) (map[string]int, error) {
	rows, err := d.query(ctx, `SELECT app_id, replies FROM auto_reply_days WHERE integration_id = ? AND day = ?`,
		integrationID, utcDay(d.now()))
	if err != nil {
		return nil, fmt.Errorf("state: auto replies today: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var app string
		var n int
		if err := rows.Scan(&app, &n); err != nil {
			return nil, fmt.Errorf("state: auto replies today: %w", err)
		}
		out[app] = n
	}
	return out, rows.Err()
}
