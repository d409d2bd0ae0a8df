package state

import (
	"context"
	"encoding/json"
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

// parseAutomation reads a stored automation and prepares it (keywords):
// it was validated when it was written.
func parseAutomation(s string) (rules.Automation, error) {
	var a rules.Automation
	if s == "" || s == "{}" {
		return a, nil
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return a, fmt.Errorf("automation: %w", err)
	}
	if errs := a.Normalize(nil, nil); len(errs) > 0 {
		return a, fmt.Errorf("stored automation is invalid: %v", errs[0])
	}
	return a, nil
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
	var n int
	err := t.queryRow(ctx, `SELECT COALESCE((SELECT replies FROM auto_reply_days WHERE integration_id = ? AND app_id = ? AND day = ?), 0)`,
		integrationID, appID, day).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
	}
	if n >= dailyCap {
		return fmt.Sprintf("the daily cap of %d automatic replies for this app is reached (UTC day %s)", dailyCap, day), nil
	}
	if reviewer != "" && cooldown > 0 {
		var last int64
		err := t.queryRow(ctx, `SELECT COALESCE((SELECT last_ms FROM auto_reply_reviewers WHERE integration_id = ? AND app_id = ? AND reviewer = ?), 0)`,
			integrationID, appID, reviewer).Scan(&last)
		if err != nil {
			return "", fmt.Errorf("state: auto replies to a reviewer of %s/%s: %w", integrationID, appID, err)
		}
		if last > 0 && now.Sub(time.UnixMilli(last)) < cooldown {
			return fmt.Sprintf("this reviewer got an automatic reply less than %s ago (cooldown)", cooldown), nil
		}
		if _, err := t.exec(ctx, `INSERT INTO auto_reply_reviewers (integration_id, app_id, reviewer, last_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (integration_id, app_id, reviewer) DO UPDATE SET last_ms = excluded.last_ms`,
			integrationID, appID, reviewer, now.UnixMilli()); err != nil {
			return "", fmt.Errorf("state: auto replies to a reviewer of %s/%s: %w", integrationID, appID, err)
		}
	}
	if _, err := t.exec(ctx, `INSERT INTO auto_reply_days (integration_id, app_id, day, replies) VALUES (?, ?, ?, 1)
		ON CONFLICT (integration_id, app_id, day) DO UPDATE SET replies = auto_reply_days.replies + 1`,
		integrationID, appID, day); err != nil {
		return "", fmt.Errorf("state: auto replies of %s/%s: %w", integrationID, appID, err)
	}
	return "", nil
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
