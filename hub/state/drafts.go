package state

import (
	"context"
	"errors"
	"fmt"
)

// ReplyRejected is a draft a person rejected (in the console): nothing is
// published, and the review waits for a person's answer.
const ReplyRejected = "rejected"

// ErrNotDraft is returned for an answer that is not a draft waiting for
// approval (any more): approved, rejected or superseded meanwhile.
var ErrNotDraft = errors.New("this answer is not a draft waiting for approval (any more)")

// CountDrafts counts the reviews whose latest answer is a draft waiting for
// approval, over every integration (the console's navigation shows it).
func (d *DB) CountDrafts(ctx context.Context) (int, error) {
	var n int
	if err := d.queryRow(ctx, `SELECT COUNT(*) FROM reviews WHERE reply_status = ?`, ReplyDraft).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: count drafts: %w", err)
	}
	return n, nil
}

// TakeDraft closes the draft messageID of an integration as status
// (ReplyApproved or ReplyRejected), recording by in its timeline, and
// returns it as it was. ErrNotFound: no such answer; ErrNotDraft: it is
// not a draft waiting. A rejected draft that was its review's latest
// answer makes the review's reply status rejected.
func (t *Tx) TakeDraft(ctx context.Context, integrationID, messageID, status, by string) (Reply, error) {
	if status != ReplyApproved && status != ReplyRejected {
		return Reply{}, fmt.Errorf("state: a draft is closed as %s or %s, not %q", ReplyApproved, ReplyRejected, status)
	}
	r, err := t.db.replyVia(ctx, t.queryRow, integrationID, messageID)
	if err != nil {
		return Reply{}, err
	}
	if r.Status != ReplyDraft {
		return r, fmt.Errorf("answer %s is %s: %w", messageID, r.Status, ErrNotDraft)
	}
	res, err := t.exec(ctx, `UPDATE replies SET status = ?, updated_at = ? WHERE integration_id = ? AND message_id = ? AND status = ?`,
		status, ts(t.db.now()), integrationID, messageID, ReplyDraft)
	if err != nil {
		return r, fmt.Errorf("state: close draft %s: %w", messageID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return r, fmt.Errorf("answer %s changed meanwhile: %w", messageID, ErrNotDraft)
	}
	if err := t.replyEvent(ctx, integrationID, messageID, status, "", by); err != nil {
		return r, err
	}
	if status == ReplyRejected && r.AppID != "" && r.ReviewID != "" {
		if _, err := t.exec(ctx, `UPDATE reviews SET reply_status = ?, reply_at = ?
			WHERE integration_id = ? AND app_id = ? AND review_id = ? AND reply_message_id = ?`,
			ReplyRejected, ts(t.db.now()), integrationID, r.AppID, r.ReviewID, messageID); err != nil {
			return r, fmt.Errorf("state: reply status of review %s: %w", r.ReviewID, err)
		}
	}
	return r, nil
}
