package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/redact"
)

// Kinds of unreadable input.
const (
	// UnreadableWebhook: an authentic webhook call the helpdesk plugin could
	// not read (sdk.HandleWebhookResponse.Ignored).
	UnreadableWebhook = "webhook"
	// UnreadableReview: a listed review the store plugin could not map
	// (sdk.ListReviewsResponse.Unreadable).
	UnreadableReview = "review"
)

// Counter names of unreadable input (see Counters): webhooks are counted
// under the app id "", reviews under their app.
const (
	CountWebhooksIgnored   = "webhooks_ignored"
	CountReviewsUnreadable = "reviews_unreadable"
)

// KeepUnreadable is how many unreadable items are kept per integration
// (webhooks) or per integration and app (reviews); older ones are pruned.
const KeepUnreadable = 100

// Bounds of what is stored of one item.
const (
	maxItemID = 200
	maxReason = 1000
	maxShape  = 4000
)

// WebhookCall is what is kept of an ignored webhook call, already redacted
// by the caller: no secret and no personal text is stored.
type WebhookCall struct {
	Method      string `json:"method,omitempty"`
	Query       string `json:"query,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Body is the redacted body (see hub/redact).
	Body string `json:"body,omitempty"`
	// BodyBytes is the length of the body as received.
	BodyBytes int `json:"body_bytes"`
}

// Unreadable is one kept item a plugin received but could not read.
type Unreadable struct {
	IntegrationID string       `json:"-"`
	Kind          string       `json:"kind"`
	AppID         string       `json:"app_id,omitempty"`
	Plugin        string       `json:"plugin"`
	ItemID        string       `json:"item_id,omitempty"`
	Reason        string       `json:"reason"`
	Shape         string       `json:"shape"`
	Webhook       *WebhookCall `json:"webhook,omitempty"`
	// Times counts how often the same item (same non-empty ItemID) came.
	Times       int       `json:"times"`
	FirstSeenAt time.Time `json:"first_seen_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
}

// tsSortable formats t with a fixed width, so that the text sorts in time
// order (RFC3339Nano drops trailing zeros and does not).
func tsSortable(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func scopeOf(u Unreadable) (appID, counter string, err error) {
	switch u.Kind {
	case UnreadableWebhook:
		return "", CountWebhooksIgnored, nil
	case UnreadableReview:
		if u.AppID == "" {
			return "", "", errors.New("state: an unreadable review needs its app id")
		}
		return u.AppID, CountReviewsUnreadable, nil
	}
	return "", "", fmt.Errorf("state: unknown kind of unreadable input %q", u.Kind)
}

// KeepUnreadable records an unreadable item, counts it and prunes the
// oldest beyond KeepUnreadable in its scope. An item with the same
// non-empty ItemID as a kept one (a helpdesk retrying its call, a store
// listing the same review again) updates that one instead and is not
// counted again; isNew tells which happened.
func (d *DB) KeepUnreadable(ctx context.Context, u Unreadable) (isNew bool, err error) {
	appID, counter, err := scopeOf(u)
	if err != nil {
		return false, err
	}
	u.ItemID = redact.Cut(u.ItemID, maxItemID)
	u.Reason = redact.Cut(u.Reason, maxReason)
	u.Shape = redact.Cut(u.Shape, maxShape)
	detail := []byte("{}")
	if u.Webhook != nil {
		if detail, err = json.Marshal(u.Webhook); err != nil {
			return false, fmt.Errorf("state: encode webhook call: %w", err)
		}
	}
	now := tsSortable(d.now())
	err = d.InTx(ctx, func(tx *Tx) error {
		isNew = true
		if u.ItemID != "" {
			var seq int64
			err := tx.queryRow(ctx, `SELECT seq FROM unreadable WHERE integration_id = ? AND kind = ? AND app_id = ? AND item_id = ?
				ORDER BY seq DESC LIMIT 1`, u.IntegrationID, u.Kind, appID, u.ItemID).Scan(&seq)
			switch {
			case err == nil:
				isNew = false
				_, err = tx.exec(ctx, `UPDATE unreadable SET times = times + 1, last_seen_at = ?, plugin = ?, reason = ?, shape = ?, detail = ?
					WHERE seq = ?`, now, u.Plugin, u.Reason, u.Shape, string(detail), seq)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO unreadable (integration_id, kind, app_id, plugin, item_id, reason, shape, detail, times, first_seen_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			u.IntegrationID, u.Kind, appID, u.Plugin, u.ItemID, u.Reason, u.Shape, string(detail), now, now); err != nil {
			return err
		}
		if err := tx.Count(ctx, u.IntegrationID, appID, counter, 1); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM unreadable WHERE integration_id = ? AND kind = ? AND app_id = ? AND seq NOT IN (
				SELECT seq FROM unreadable WHERE integration_id = ? AND kind = ? AND app_id = ?
				ORDER BY last_seen_at DESC, seq DESC LIMIT ?)`,
			u.IntegrationID, u.Kind, appID, u.IntegrationID, u.Kind, appID, KeepUnreadable)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("state: keep unreadable %s of %s: %w", u.Kind, u.IntegrationID, err)
	}
	return isNew, nil
}

// UnreadableItems lists the kept items of an integration of one kind,
// newest first. For reviews, appID "" lists every app's.
func (d *DB) UnreadableItems(ctx context.Context, integrationID, kind, appID string) ([]Unreadable, error) {
	q := `SELECT kind, app_id, plugin, item_id, reason, shape, detail, times, first_seen_at, last_seen_at
		FROM unreadable WHERE integration_id = ? AND kind = ?`
	args := []any{integrationID, kind}
	if appID != "" {
		q += ` AND app_id = ?`
		args = append(args, appID)
	}
	rows, err := d.query(ctx, q+` ORDER BY last_seen_at DESC, seq DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list unreadable %s of %s: %w", kind, integrationID, err)
	}
	defer rows.Close()
	out := []Unreadable{}
	for rows.Next() {
		u := Unreadable{IntegrationID: integrationID}
		var detail, first, last string
		if err := rows.Scan(&u.Kind, &u.AppID, &u.Plugin, &u.ItemID, &u.Reason, &u.Shape, &detail, &u.Times, &first, &last); err != nil {
			return nil, fmt.Errorf("state: scan unreadable: %w", err)
		}
		if u.Kind == UnreadableWebhook {
			u.Webhook = &WebhookCall{}
			if err := json.Unmarshal([]byte(detail), u.Webhook); err != nil {
				return nil, fmt.Errorf("state: unreadable webhook of %s: %w", integrationID, err)
			}
		}
		u.FirstSeenAt, u.LastSeenAt = parseTS(first), parseTS(last)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: list unreadable %s of %s: %w", kind, integrationID, err)
	}
	return out, nil
}
