package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReviewReply is a review's reply status: that of its latest answer
// (pending, draft, published, refused, failed), or outdated (the review
// changed after the answer was published) or deleted (the store no longer
// shows it). Status "" means never answered.
type ReviewReply struct {
	Status    string `json:"status"`
	MessageID string `json:"message_id,omitempty"`
	Detail    string `json:"detail,omitempty"`
	// Version is the review version the published answer answered.
	Version int `json:"version,omitempty"`
	// Rule is the auto-reply rule that wrote the answer ("" a person).
	Rule string    `json:"rule,omitempty"`
	At   time.Time `json:"at"`
}

// ByPerson reports whether a person's answer is published or on its way
// (automation never replaces it).
func (r ReviewReply) ByPerson() bool {
	if r.Rule != "" {
		return false
	}
	switch r.Status {
	case ReplyPending, ReplyPublished, ReplyOutdated:
		return true
	}
	return false
}

// pointReview makes r the review's latest answer.
func (t *Tx) pointReview(ctx context.Context, r Reply, status, detail string) error {
	_, err := t.exec(ctx, `
		UPDATE reviews SET reply_message_id = ?, reply_status = ?, reply_detail = ?, reply_rule = ?, reply_at = ?
		WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		r.MessageID, status, detail, r.Rule, ts(t.db.now()), r.IntegrationID, r.AppID, r.ReviewID)
	if err != nil {
		return fmt.Errorf("state: reply status of review %s: %w", r.ReviewID, err)
	}
	return nil
}

// replyStatusOfReview records an answer's status as its review's, unless
// a later answer is still on its way (the latest answer decides). A
// published answer records the review version it answered.
func (t *Tx) replyStatusOfReview(ctx context.Context, integrationID, messageID, status, detail string) error {
	var appID, reviewID, rule string
	err := t.queryRow(ctx, `SELECT app_id, review_id, rule FROM replies WHERE integration_id = ? AND message_id = ?`,
		integrationID, messageID).Scan(&appID, &reviewID, &rule)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (appID == "" || reviewID == "") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: reply %s: %w", messageID, err)
	}
	switch status {
	case ReplyApproved, ReplySuperseded:
		// A draft that was answered: the staff answer it led to decides.
		return nil
	}
	_, err = t.exec(ctx, `
		UPDATE reviews SET reply_message_id = ?, reply_status = ?, reply_detail = ?, reply_rule = ?, reply_at = ?,
			reply_version = CASE WHEN ? = 'published' THEN version ELSE reply_version END
		WHERE integration_id = ? AND app_id = ? AND review_id = ?
			AND (reply_message_id = '' OR reply_message_id = ? OR reply_status <> 'pending')`,
		messageID, status, detail, rule, ts(t.db.now()), status, integrationID, appID, reviewID, messageID)
	if err != nil {
		return fmt.Errorf("state: reply status of review %s: %w", reviewID, err)
	}
	return nil
}

// observeReply records the developer reply the store shows now, without a
// new review version; deleted marks the published answer gone.
func (t *Tx) observeReply(ctx context.Context, integrationID, appID, reviewID, replyText string, deleted bool) error {
	if _, err := t.exec(ctx, `UPDATE reviews SET reply_text = ? WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		replyText, integrationID, appID, reviewID); err != nil {
		return fmt.Errorf("state: reply of review %s: %w", reviewID, err)
	}
	if deleted {
		return t.markReply(ctx, integrationID, appID, reviewID, true)
	}
	return nil
}

// ReasonDelayed is the reason of a parked automatic reply waiting for the
// automation's delay (not for its ticket).
const ReasonDelayed = "automatic reply: waiting for the delay before posting"

// ReasonRetrying is the reason of a parked answer waiting for its next
// attempt after a transient failure.
const ReasonRetrying = "publishing failed; waiting for the next attempt"

// Details the hub gives for outdated and deleted answers.
const (
	DetailOutdated = "the review changed after the answer was published; the published answer may no longer fit: answer again to replace it"
	DetailDeleted  = "the store no longer shows the published answer (removed in the store's console?): answer again to publish one"
)

// markReply sets a review's published answer outdated (or deleted).
func (t *Tx) markReply(ctx context.Context, integrationID, appID, reviewID string, deleted bool) error {
	status, detail := ReplyOutdated, DetailOutdated
	if deleted {
		status, detail = ReplyDeleted, DetailDeleted
	}
	if _, err := t.exec(ctx, `INSERT INTO reply_events (integration_id, message_id, at_ms, status, detail, actor)
		SELECT integration_id, reply_message_id, ?, ?, ?, '' FROM reviews
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND reply_message_id <> ''`,
		t.db.now().UnixMilli(), status, detail, integrationID, appID, reviewID); err != nil {
		return fmt.Errorf("state: timeline of the answer to review %s: %w", reviewID, err)
	}
	_, err := t.exec(ctx, `UPDATE reviews SET reply_status = ?, reply_detail = ?, reply_at = ?
		WHERE integration_id = ? AND app_id = ? AND review_id = ?`, status, detail, ts(t.db.now()), integrationID, appID, reviewID)
	if err != nil {
		return fmt.Errorf("state: reply status of review %s: %w", reviewID, err)
	}
	return nil
}

// ReviewStatus is a review the hub knows and its reply status.
type ReviewStatus struct {
	AppID    string      `json:"app_id"`
	ReviewID string      `json:"review_id"`
	Version  int         `json:"version"`
	Rating   int         `json:"rating"`
	TicketID string      `json:"ticket_id,omitempty"`
	SeenAt   time.Time   `json:"seen_at"`
	Reply    ReviewReply `json:"reply"`
}

// ReviewOf returns a review's status (ErrNotFound when the hub never saw it).
func (d *DB) ReviewOf(ctx context.Context, integrationID, appID, reviewID string) (ReviewStatus, error) {
	s := ReviewStatus{AppID: appID, ReviewID: reviewID}
	var seen, at string
	err := d.queryRow(ctx, `SELECT version, rating, ticket_id, seen_at, reply_status, reply_message_id, reply_detail,
			reply_version, reply_rule, reply_at
		FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`, integrationID, appID, reviewID).
		Scan(&s.Version, &s.Rating, &s.TicketID, &seen, &s.Reply.Status, &s.Reply.MessageID, &s.Reply.Detail,
			&s.Reply.Version, &s.Reply.Rule, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("state: review %s: %w", reviewID, err)
	}
	s.SeenAt, s.Reply.At = parseTS(seen), parseTS(at)
	return s, nil
}

// ReplyStatusCounts counts an integration's reviews by reply status, per
// app (reviews never answered are left out).
func (d *DB) ReplyStatusCounts(ctx context.Context, integrationID string) (map[string]map[string]int, error) {
	return d.countsByApp(ctx, "reply status counts", `SELECT app_id, reply_status, COUNT(*) FROM reviews
		WHERE integration_id = ? AND reply_status <> '' GROUP BY app_id, reply_status`, integrationID)
}

// ReplyAttempt counts one more transient failure of an answer and returns
// how many there were.
func (d *DB) ReplyAttempt(ctx context.Context, integrationID, messageID string) (int, error) {
	var n int
	err := d.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE replies SET attempts = attempts + 1 WHERE integration_id = ? AND message_id = ?`,
			integrationID, messageID); err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT attempts FROM replies WHERE integration_id = ? AND message_id = ?`,
			integrationID, messageID).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("state: reply %s attempt: %w", messageID, err)
	}
	return n, nil
}

// ErrNotRetryable is returned by RetryReply for an answer that is neither
// failed nor refused, or was refused for its text or the store account.
var ErrNotRetryable = errors.New("only a failed answer, or one refused for another reason than its text or the store account, can be retried")

// RetryReply makes a failed or refused answer pending again (its attempts
// start over) and the review's latest answer; the caller queues it in the
// same transaction.
func (t *Tx) RetryReply(ctx context.Context, integrationID, messageID string) (Reply, error) {
	r, err := t.db.replyVia(ctx, t.queryRow, integrationID, messageID)
	if err != nil {
		return r, err
	}
	switch {
	case r.Status != ReplyFailed && r.Status != ReplyRefused:
		return r, fmt.Errorf("answer %s is %s: %w", messageID, r.Status, ErrNotRetryable)
	case r.Refusal == RefusalText:
		return r, fmt.Errorf("answer %s needs a new text (answer again in the ticket): %w", messageID, ErrNotRetryable)
	case r.Refusal == RefusalAccount:
		return r, fmt.Errorf("answer %s needs a store account that may reply (connect it, then answer again in the ticket): %w",
			messageID, ErrNotRetryable)
	}
	res, err := t.exec(ctx, `UPDATE replies SET status = ?, detail = '', refusal = '', attempts = 0, retries = retries + 1, updated_at = ?
		WHERE integration_id = ? AND message_id = ? AND status = ?`, ReplyPending, ts(t.db.now()), integrationID, messageID, r.Status)
	if err != nil {
		return r, fmt.Errorf("state: retry reply %s: %w", messageID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return r, fmt.Errorf("answer %s changed meanwhile: %w", messageID, ErrNotRetryable)
	}
	if err := t.replyEvent(ctx, integrationID, messageID, ReplyPending, "", "retry"); err != nil {
		return r, err
	}
	r.Status, r.Detail, r.Refusal, r.Attempts, r.Retries = ReplyPending, "", "", 0, r.Retries+1
	if r.AppID != "" && r.ReviewID != "" {
		if err := t.pointReview(ctx, r, ReplyPending, ""); err != nil {
			return r, err
		}
	}
	return r, nil
}

// OpenDraft returns the newest draft waiting for approval in a review
// (ErrNotFound when there is none).
func (t *Tx) OpenDraft(ctx context.Context, integrationID, appID, reviewID string) (Reply, error) {
	var id string
	err := t.queryRow(ctx, `SELECT message_id FROM replies WHERE integration_id = ? AND app_id = ? AND review_id = ? AND status = ?
		ORDER BY created_at DESC, message_id DESC LIMIT 1`, integrationID, appID, reviewID, ReplyDraft).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Reply{}, ErrNotFound
	}
	if err != nil {
		return Reply{}, fmt.Errorf("state: draft of review %s: %w", reviewID, err)
	}
	return t.db.replyVia(ctx, t.queryRow, integrationID, id)
}

// CloseDrafts marks a review's open drafts approved or superseded, except
// keep.
func (t *Tx) CloseDrafts(ctx context.Context, integrationID, appID, reviewID, status, keep string) error {
	return t.CloseDraftsBy(ctx, integrationID, appID, reviewID, status, keep, "")
}

// CloseDraftsBy is CloseDrafts recording who closed them (the staff member
// whose answer approved or superseded them) in their timelines.
func (t *Tx) CloseDraftsBy(ctx context.Context, integrationID, appID, reviewID, status, keep, by string) error {
	if _, err := t.exec(ctx, `INSERT INTO reply_events (integration_id, message_id, at_ms, status, detail, actor)
		SELECT integration_id, message_id, ?, ?, '', ? FROM replies
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND status = ? AND message_id <> ?`,
		t.db.now().UnixMilli(), status, by, integrationID, appID, reviewID, ReplyDraft, keep); err != nil {
		return fmt.Errorf("state: close drafts of review %s: %w", reviewID, err)
	}
	_, err := t.exec(ctx, `UPDATE replies SET status = ?, updated_at = ?
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND status = ? AND message_id <> ?`,
		status, ts(t.db.now()), integrationID, appID, reviewID, ReplyDraft, keep)
	if err != nil {
		return fmt.Errorf("state: close drafts of review %s: %w", reviewID, err)
	}
	return nil
}

func (d *DB) replyVia(ctx context.Context, queryRow func(context.Context, string, ...any) row, integrationID, messageID string) (Reply, error) {
	r := Reply{IntegrationID: integrationID, MessageID: messageID}
	var created, updated string
	err := queryRow(ctx, `
		SELECT ticket_id, app_id, review_id, body, staff, status, detail, rule, attempts, retries, deferred, refusal, created_at, updated_at
		FROM replies WHERE integration_id = ? AND message_id = ?`, integrationID, messageID).
		Scan(&r.TicketID, &r.AppID, &r.ReviewID, &r.Text, &r.Staff, &r.Status, &r.Detail, &r.Rule, &r.Attempts, &r.Retries, &r.Deferred,
			&r.Refusal, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Reply{}, ErrNotFound
	}
	if err != nil {
		return Reply{}, fmt.Errorf("state: reply %s: %w", messageID, err)
	}
	r.CreatedAt, r.UpdatedAt = parseTS(created), parseTS(updated)
	return r, nil
}

// NoteID is the id of the note of an answer's outcome: its message id, and
// after retries the retry's number (each outcome is its own note).
func (r Reply) NoteID() string {
	if r.Retries == 0 {
		return r.MessageID
	}
	return fmt.Sprintf("%s#retry-%d", r.MessageID, r.Retries)
}

// NoteOnce records that the hub writes note id into a ticket; false when
// it was recorded before (the note is not written twice).
func (t *Tx) NoteOnce(ctx context.Context, integrationID, noteID string) (bool, error) {
	res, err := t.exec(ctx, `INSERT INTO ticket_notes (integration_id, note_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (integration_id, note_id) DO NOTHING`, integrationID, noteID, ts(t.db.now()))
	if err != nil {
		return false, fmt.Errorf("state: note %s: %w", noteID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RepliesWithStatus lists up to limit answers of an integration with a
// status ("" any), changed last first.
func (d *DB) RepliesWithStatus(ctx context.Context, integrationID, status string, limit int) ([]Reply, error) {
	return d.repliesOf(ctx, integrationID, `SELECT message_id FROM replies WHERE integration_id = ? AND (? = '' OR status = ?)
		ORDER BY updated_at DESC, message_id LIMIT ?`, integrationID, status, status, limit)
}

// NewerAnswer names an answer that makes r stale, "" when none: for the
// same review, an answer given after r that is published, or — when r is
// automatic — any answer by a person that is published or on its way.
// Publishing r then would replace it at the store (an answer retried after
// a newer one was published; a delayed automatic reply after a person
// answered). A newer answer still on its way does not count: it may yet be
// refused, and then r's text is the one that should stand.
func (d *DB) NewerAnswer(ctx context.Context, r Reply) (string, error) {
	if r.AppID == "" || r.ReviewID == "" {
		return "", nil
	}
	others, err := d.repliesOf(ctx, r.IntegrationID, `SELECT message_id FROM replies
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND message_id <> ? AND status IN (?, ?)`,
		r.IntegrationID, r.AppID, r.ReviewID, r.MessageID, ReplyPending, ReplyPublished)
	if err != nil {
		return "", err
	}
	for _, o := range others {
		if (o.Status == ReplyPublished && o.CreatedAt.After(r.CreatedAt)) || (r.Rule != "" && o.Rule == "") {
			return o.MessageID, nil
		}
	}
	return "", nil
}
