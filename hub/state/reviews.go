package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Cursor is an app's poll state.
type Cursor struct {
	Value string
	// Connected is set once the first full listing (with backfill) is done.
	Connected bool
	// LastPollAt is the last poll, failed or not.
	LastPollAt time.Time
	// LastSuccessAt is the last complete (successful) listing; failed
	// polls leave it: gap recovery starts from it.
	LastSuccessAt time.Time
	LastError     string
}

// Cursor returns the poll state of an app (zero if never polled).
func (d *DB) Cursor(ctx context.Context, integrationID, appID string) (Cursor, error) {
	var c Cursor
	var last string
	var success int64
	err := d.queryRow(ctx, `SELECT cursor, connected, last_poll_at, last_success_ms, last_error FROM cursors WHERE integration_id = ? AND app_id = ?`,
		integrationID, appID).Scan(&c.Value, &c.Connected, &last, &success, &c.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("state: cursor %s/%s: %w", integrationID, appID, err)
	}
	c.LastPollAt = parseTS(last)
	c.LastSuccessAt = fromMS(success)
	return c, nil
}

// SaveCursor stores the cursor after a complete listing and marks the app connected.
func (t *Tx) SaveCursor(ctx context.Context, integrationID, appID, cursor string) error {
	now := t.db.now()
	_, err := t.exec(ctx, `
		INSERT INTO cursors (integration_id, app_id, cursor, connected, last_poll_at, last_success_ms, last_error) VALUES (?, ?, ?, 1, ?, ?, '')
		ON CONFLICT (integration_id, app_id) DO UPDATE SET cursor = excluded.cursor, connected = 1,
			last_poll_at = excluded.last_poll_at, last_success_ms = excluded.last_success_ms, last_error = ''`,
		integrationID, appID, cursor, ts(now), ms(now))
	if err != nil {
		return fmt.Errorf("state: save cursor %s/%s: %w", integrationID, appID, err)
	}
	return nil
}

// Connecting locks the app's cursor row for the rest of the transaction
// and reports whether the app is still to be connected (no listing of it
// completed and committed yet). A first listing (backfill) imports only
// the most recent reviews and records the others as seen without queuing
// them; deciding that from a cursor read before the transaction lost
// reviews when two listings of the app overlapped: the second, started
// before the first connected the app, recorded every review listed since
// (new ones, never delivered) as skipped by the backfill limit. Read here
// instead, under the row's lock (PostgreSQL: the upsert waits for a
// transaction connecting the app concurrently and returns the row as it
// committed; SQLite: one writer at a time), the answer holds until this
// transaction commits.
func (t *Tx) Connecting(ctx context.Context, integrationID, appID string) (bool, error) {
	var connected int
	err := t.queryRow(ctx, `
		INSERT INTO cursors (integration_id, app_id) VALUES (?, ?)
		ON CONFLICT (integration_id, app_id) DO UPDATE SET connected = cursors.connected
		RETURNING connected`, integrationID, appID).Scan(&connected)
	if err != nil {
		return false, fmt.Errorf("state: lock the cursor of %s/%s: %w", integrationID, appID, err)
	}
	return connected == 0, nil
}

// SetPollError records the last poll's error (empty clears it). It moves
// LastPollAt, never LastSuccessAt.
func (d *DB) SetPollError(ctx context.Context, integrationID, appID, msg string) error {
	_, err := d.exec(ctx, `
		INSERT INTO cursors (integration_id, app_id, last_poll_at, last_error) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, app_id) DO UPDATE SET last_poll_at = excluded.last_poll_at, last_error = excluded.last_error`,
		integrationID, appID, ts(d.now()), msg)
	if err != nil {
		return fmt.Errorf("state: poll error %s/%s: %w", integrationID, appID, err)
	}
	return nil
}

// Unchanged is the kind of an observation that found nothing new.
const Unchanged = "unchanged"

// Observation is what the hub learnt from seeing a review.
type Observation struct {
	Kind     string // sdk.Change* or Unchanged
	Version  int
	TicketID string
	// History holds the earlier versions, oldest first.
	History []sdk.ReviewVersion
	// Reply is the review's reply status before this observation.
	Reply ReviewReply
	// ReplyOutdated: the review changed after its answer was published
	// (the status is now ReplyOutdated). ReplyDeleted: the store lists the
	// review without the developer reply it listed before (ReplyDeleted).
	ReplyOutdated bool
	ReplyDeleted  bool
}

// ObserveReview compares a listed review with what is stored and records a
// new version when rating, title or text changed.
func (t *Tx) ObserveReview(ctx context.Context, integrationID, appID string, r sdk.Review) (Observation, error) {
	return t.observeReview(ctx, integrationID, appID, r, false)
}

// ObserveArchivedReview is ObserveReview for a row of the store's history
// (a history import, hub/poll/history.go), which may be older than the
// stored version: a row whose UpdatedAt is not after the stored version's
// date in the store (posted_ms; unknown: when the hub first saw it, which
// a listing showed then) is skipped as Unchanged, and a row without a
// developer reply (reports may not carry it) neither deletes nor changes
// the stored reply.
func (t *Tx) ObserveArchivedReview(ctx context.Context, integrationID, appID string, r sdk.Review) (Observation, error) {
	return t.observeReview(ctx, integrationID, appID, r, true)
}

func (t *Tx) observeReview(ctx context.Context, integrationID, appID string, r sdk.Review, archived bool) (Observation, error) {
	replyText := ""
	if r.Reply != nil {
		replyText = r.Reply.Text
	}
	stored, known := t.batch.preloaded(reviewKey{integrationID, appID, r.ID})
	if !known {
		var err error
		if stored, err = t.storedReview(ctx, integrationID, appID, r.ID); err != nil {
			return Observation{}, err
		}
	}
	if archived && stored != nil {
		storedAt := fromMS(stored.posted)
		if storedAt.IsZero() {
			storedAt = parseTS(stored.seenAt)
		}
		if !r.UpdatedAt.After(storedAt) {
			return Observation{Kind: Unchanged, Version: stored.version, TicketID: stored.ticket, Reply: stored.rr}, nil
		}
		if r.Reply == nil {
			replyText = stored.reply
		}
	}
	now := ts(t.db.now())
	if stored == nil {
		meta := metaOf(r, t.db.now())
		if known {
			// Preloaded page (PostgreSQL): inserted with the page's other
			// new reviews, before the transaction's next statement.
			t.batch.pending = append(t.batch.pending, pendingReview{integrationID: integrationID, appID: appID,
				reviewID: r.ID, rating: r.Rating, title: r.Title, body: r.Text, reply: replyText, seenAt: now, meta: meta})
			return Observation{Kind: sdk.ChangeKindNew, Version: 1}, nil
		}
		if err := t.insertReview(ctx, integrationID, appID, r, replyText, now, meta); err != nil {
			return Observation{}, err
		}
		if err := t.insertVersion(ctx, integrationID, appID, r, 1, replyText, now); err != nil {
			return Observation{}, err
		}
		return Observation{Kind: sdk.ChangeKindNew, Version: 1}, nil
	}
	version, rating, title, body, ticket, storedReply, rr := stored.version, stored.rating, stored.title, stored.body,
		stored.ticket, stored.reply, stored.rr
	rr.At = parseTS(stored.replyAt)
	// The store no longer shows the developer reply it showed (removed in
	// its console): the published answer is gone.
	// Never from a history row: replyText is the stored one when the row
	// has none.
	deleted := storedReply != "" && replyText == "" && (rr.Status == ReplyPublished || rr.Status == ReplyOutdated)
	if rating == r.Rating && title == r.Title && body == r.Text {
		obs := Observation{Kind: Unchanged, Version: version, TicketID: ticket, Reply: rr, ReplyDeleted: deleted}
		if storedReply != replyText {
			if err := t.observeReply(ctx, integrationID, appID, r.ID, replyText, deleted); err != nil {
				return Observation{}, err
			}
		}
		if stored.requeue {
			return t.requeued(ctx, integrationID, appID, r.ID, obs)
		}
		return obs, nil
	}
	outdated := !deleted && rr.Status == ReplyPublished
	kind := sdk.ChangeKindUpdated
	switch {
	case r.Rating > rating:
		kind = sdk.ChangeKindBetter
	case r.Rating < rating:
		kind = sdk.ChangeKindWorse
	}
	version++
	if err := t.updateReview(ctx, integrationID, appID, r, version, replyText, now, metaOf(r, t.db.now())); err != nil {
		return Observation{}, err
	}
	if outdated || deleted {
		if err := t.markReply(ctx, integrationID, appID, r.ID, deleted); err != nil {
			return Observation{}, err
		}
	}
	if err := t.insertVersion(ctx, integrationID, appID, r, version, replyText, now); err != nil {
		return Observation{}, err
	}
	hist, err := t.history(ctx, integrationID, appID, r.ID, version)
	if err != nil {
		return Observation{}, err
	}
	return Observation{Kind: kind, Version: version, TicketID: ticket, History: hist, Reply: rr,
		ReplyOutdated: outdated, ReplyDeleted: deleted}, nil
}

// storedReview reads a stored review (nil: not stored).
func (t *Tx) storedReview(ctx context.Context, integrationID, appID, reviewID string) (*storedReview, error) {
	s := &storedReview{}
	err := t.queryRow(ctx, `SELECT version, rating, title, body, ticket_id, reply_text,
			reply_status, reply_message_id, reply_detail, reply_version, reply_rule, reply_at, requeue, seen_at, posted_ms
		FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		integrationID, appID, reviewID).Scan(&s.version, &s.rating, &s.title, &s.body, &s.ticket, &s.reply,
		&s.rr.Status, &s.rr.MessageID, &s.rr.Detail, &s.rr.Version, &s.rr.Rule, &s.replyAt, &s.requeue, &s.seenAt, &s.posted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("state: read review %s: %w", reviewID, err)
	}
	return s, nil
}

func (t *Tx) insertVersion(ctx context.Context, integrationID, appID string, r sdk.Review, version int, replyText, now string) error {
	_, err := t.exec(ctx, `
		INSERT INTO review_versions (integration_id, app_id, review_id, version, rating, title, body, reply_text, seen_at, app_version, posted_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, integrationID, appID, r.ID, version, r.Rating, r.Title, r.Text, replyText, now,
		r.AppVersion, metaOf(r, t.db.now()).postedMs)
	if err != nil {
		return fmt.Errorf("state: insert review version %s/%d: %w", r.ID, version, err)
	}
	return nil
}

func (t *Tx) history(ctx context.Context, integrationID, appID, reviewID string, before int) ([]sdk.ReviewVersion, error) {
	rows, err := t.query(ctx, `
		SELECT rating, title, body, reply_text, seen_at FROM review_versions
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND version < ? ORDER BY version`,
		integrationID, appID, reviewID, before)
	if err != nil {
		return nil, fmt.Errorf("state: review history %s: %w", reviewID, err)
	}
	defer rows.Close()
	var out []sdk.ReviewVersion
	for rows.Next() {
		var v sdk.ReviewVersion
		var reply, seen string
		if err := rows.Scan(&v.Rating, &v.Title, &v.Text, &reply, &seen); err != nil {
			return nil, fmt.Errorf("state: scan review version: %w", err)
		}
		v.SeenAt = parseTS(seen)
		if reply != "" {
			v.Reply = &sdk.DeveloperReply{Text: reply}
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LinkTicket records the helpdesk ticket a review lives in.
func (t *Tx) LinkTicket(ctx context.Context, integrationID, appID, reviewID, ticketID string) error {
	_, err := t.exec(ctx, `UPDATE reviews SET ticket_id = ?, delivery_error = '' WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		ticketID, integrationID, appID, reviewID)
	if err != nil {
		return fmt.Errorf("state: link ticket %s to review %s: %w", ticketID, reviewID, err)
	}
	return nil
}

// TicketOf returns the ticket linked to a review ("" if none).
func (d *DB) TicketOf(ctx context.Context, integrationID, appID, reviewID string) (string, error) {
	var ticket string
	err := d.queryRow(ctx, `SELECT ticket_id FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		integrationID, appID, reviewID).Scan(&ticket)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: ticket of review %s: %w", reviewID, err)
	}
	return ticket, nil
}

// ReviewChangedAt is when the stored review was last changed in the store
// (posted_ms: its author's last change as the store dated it; zero when
// the review is not stored).
func (d *DB) ReviewChangedAt(ctx context.Context, integrationID, appID, reviewID string) (time.Time, error) {
	var posted int64
	err := d.queryRow(ctx, `SELECT posted_ms FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		integrationID, appID, reviewID).Scan(&posted)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("state: date of review %s: %w", reviewID, err)
	}
	return fromMS(posted), nil
}

// ErrLinkedElsewhere is returned by ReviewOfTicket when the review the
// helpdesk named is linked to another ticket.
var ErrLinkedElsewhere = errors.New("the review is linked to another ticket")

// ReviewOfTicket finds the review a ticket belongs to. With reviewID set
// (the helpdesk knew it), it is used when no link exists, but never
// overrides one: a review linked to another ticket gives ErrLinkedElsewhere.
func (d *DB) ReviewOfTicket(ctx context.Context, integrationID, ticketID, reviewID string) (appID, foundReviewID string, err error) {
	return reviewOfTicket(ctx, d.queryRow, integrationID, ticketID, reviewID)
}

// ReviewOfTicket is DB.ReviewOfTicket inside the transaction.
func (t *Tx) ReviewOfTicket(ctx context.Context, integrationID, ticketID, reviewID string) (appID, foundReviewID string, err error) {
	return reviewOfTicket(ctx, t.queryRow, integrationID, ticketID, reviewID)
}

func reviewOfTicket(ctx context.Context, queryRow func(context.Context, string, ...any) row, integrationID, ticketID, reviewID string) (appID, foundReviewID string, err error) {
	err = queryRow(ctx, `SELECT app_id, review_id FROM reviews WHERE integration_id = ? AND ticket_id = ? AND ticket_id <> ''`,
		integrationID, ticketID).Scan(&appID, &foundReviewID)
	if err == nil {
		return appID, foundReviewID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("state: review of ticket %s: %w", ticketID, err)
	}
	if reviewID == "" {
		return "", "", ErrNotFound
	}
	var linked string
	err = queryRow(ctx, `SELECT app_id, review_id, ticket_id FROM reviews WHERE integration_id = ? AND review_id = ?`,
		integrationID, reviewID).Scan(&appID, &foundReviewID, &linked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("state: review %s: %w", reviewID, err)
	}
	if linked != "" && linked != ticketID {
		return "", "", ErrLinkedElsewhere
	}
	return appID, foundReviewID, nil
}

// ParkedReply is an answer waiting for its ticket to be linked to a review.
type ParkedReply struct {
	IntegrationID string
	MessageID     string
	TicketID      string
	ReviewID      string
	Reason        string
	ParkedAt      time.Time
	// NextAt is when a timer looks at it again; Until is when it is refused.
	NextAt time.Time
	Until  time.Time
}

// ParkReply records (or re-records) an answer as waiting.
func (t *Tx) ParkReply(ctx context.Context, p ParkedReply) error {
	_, err := t.exec(ctx, `
		INSERT INTO parked_replies (integration_id, message_id, ticket_id, review_id, reason, parked_at, next_at_ms, until_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (integration_id, message_id) DO UPDATE SET ticket_id = excluded.ticket_id, review_id = excluded.review_id,
			reason = excluded.reason, next_at_ms = excluded.next_at_ms, until_ms = excluded.until_ms`,
		p.IntegrationID, p.MessageID, p.TicketID, p.ReviewID, p.Reason, ts(t.db.now()), p.NextAt.UnixMilli(), p.Until.UnixMilli())
	if err != nil {
		return fmt.Errorf("state: park reply %s: %w", p.MessageID, err)
	}
	return nil
}

// ReleaseParked removes an answer from the waiting ones; false when it was
// not waiting (another hub or the link released it first).
func (t *Tx) ReleaseParked(ctx context.Context, integrationID, messageID string) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM parked_replies WHERE integration_id = ? AND message_id = ?`, integrationID, messageID)
	if err != nil {
		return false, fmt.Errorf("state: release reply %s: %w", messageID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state: release reply %s: %w", messageID, err)
	}
	return n == 1, nil
}

// ReleaseParkedFor removes and returns the message ids of the answers that
// wait for ticketID or name reviewID (a link was just recorded).
func (t *Tx) ReleaseParkedFor(ctx context.Context, integrationID, ticketID, reviewID string) ([]string, error) {
	rows, err := t.query(ctx, `
		DELETE FROM parked_replies WHERE integration_id = ?
			AND ((ticket_id <> '' AND ticket_id = ?) OR (review_id <> '' AND review_id = ?))
		RETURNING message_id`, integrationID, ticketID, reviewID)
	if err != nil {
		return nil, fmt.Errorf("state: release replies of ticket %s: %w", ticketID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("state: release replies of ticket %s: %w", ticketID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: release replies of ticket %s: %w", ticketID, err)
	}
	return ids, nil
}

// DueParked returns up to limit waiting answers whose NextAt has come,
// earliest first.
func (d *DB) DueParked(ctx context.Context, limit int) ([]ParkedReply, error) {
	return d.parked(ctx, `WHERE next_at_ms <= ? ORDER BY next_at_ms LIMIT ?`, d.now().UnixMilli(), limit)
}

// ParkedReplies lists an integration's waiting answers, earliest first.
func (d *DB) ParkedReplies(ctx context.Context, integrationID string) ([]ParkedReply, error) {
	return d.parked(ctx, `WHERE integration_id = ? ORDER BY parked_at, message_id`, integrationID)
}

func (d *DB) parked(ctx context.Context, where string, args ...any) ([]ParkedReply, error) {
	rows, err := d.query(ctx, `SELECT integration_id, message_id, ticket_id, review_id, reason, parked_at, next_at_ms, until_ms
		FROM parked_replies `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("state: parked replies: %w", err)
	}
	defer rows.Close()
	var out []ParkedReply
	for rows.Next() {
		var p ParkedReply
		var parked string
		var next, until int64
		if err := rows.Scan(&p.IntegrationID, &p.MessageID, &p.TicketID, &p.ReviewID, &p.Reason, &parked, &next, &until); err != nil {
			return nil, fmt.Errorf("state: scan parked reply: %w", err)
		}
		p.ParkedAt, p.NextAt, p.Until = parseTS(parked), time.UnixMilli(next).UTC(), time.UnixMilli(until).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// RecheckParkedAt moves a waiting answer's next look to next.
func (d *DB) RecheckParkedAt(ctx context.Context, integrationID, messageID string, next time.Time) error {
	_, err := d.exec(ctx, `UPDATE parked_replies SET next_at_ms = ? WHERE integration_id = ? AND message_id = ?`,
		next.UnixMilli(), integrationID, messageID)
	if err != nil {
		return fmt.Errorf("state: recheck reply %s: %w", messageID, err)
	}
	return nil
}

// Counter names (per app) of the two journeys, shown in the status view.
const (
	CountQueued    = "reviews_queued"
	CountDelivered = "reviews_delivered"
	CountPublished = "replies_published"
	CountRefused   = "replies_refused"
	CountSkipped   = "skipped_" // + filter name
)

// counterShards is how many rows a hot counter is spread over on
// PostgreSQL (see Count).
const counterShards = 8

// shardSep ends a counter's name in the name of one of its rows.
const shardSep = "\x1f"

// shardedCounters are added to by every delivery (of a review, of an
// answer), by up to bus.in_flight transactions of an app at once.
var shardedCounters = map[string]bool{CountDelivered: true, CountPublished: true}

// Count adds delta to a counter of an app. On PostgreSQL the counters
// every delivery adds to are spread over counterShards rows (NAME\x1fN)
// that Counters sums: on one row, concurrent deliveries queued for its
// lock until each committed (pg-perf, docs/performance.md).
func (t *Tx) Count(ctx context.Context, integrationID, appID, name string, delta int) error {
	row := t.db.counterRow(name)
	_, err := t.exec(ctx, `
		INSERT INTO counters (integration_id, app_id, name, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, app_id, name) DO UPDATE SET value = counters.value + excluded.value`,
		integrationID, appID, row, delta)
	if err != nil {
		return fmt.Errorf("state: count %s: %w", name, err)
	}
	return nil
}

// counterRow is the row a count of name adds to: one of its spread rows
// on PostgreSQL when it is a hot counter (Count).
func (d *DB) counterRow(name string) string {
	if d.dialect == Postgres && shardedCounters[name] {
		return name + shardSep + strconv.Itoa(rand.IntN(counterShards))
	}
	return name
}

// Counters returns an integration's counters by app and name (a counter
// spread over rows summed).
func (d *DB) Counters(ctx context.Context, integrationID string) (map[string]map[string]int, error) {
	byApp, err := d.countsByApp(ctx, "counters", `SELECT app_id, name, value FROM counters WHERE integration_id = ?`, integrationID)
	if err != nil {
		return nil, err
	}
	for _, counts := range byApp {
		for name, v := range counts {
			if base, _, sharded := strings.Cut(name, shardSep); sharded {
				delete(counts, name)
				counts[base] += v
			}
		}
	}
	return byApp, nil
}

// countsByApp reads rows of (app, name, number) into numbers by app and name.
func (d *DB) countsByApp(ctx context.Context, what, q string, args ...any) (map[string]map[string]int, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var app, name string
		var v int
		if err := rows.Scan(&app, &name, &v); err != nil {
			return nil, fmt.Errorf("state: %s: %w", what, err)
		}
		if out[app] == nil {
			out[app] = map[string]int{}
		}
		out[app][name] = v
	}
	return out, rows.Err()
}

// Reply statuses (of an answer, and of a review: its latest answer's).
const (
	ReplyPending   = "pending"
	ReplyPublished = sdk.OutcomePublished
	ReplyRefused   = sdk.OutcomeRefused // a person must change something
	ReplyFailed    = sdk.OutcomeFailed  // transient failures until the limit
	// ReplyDraft is a rule's answer waiting for staff approval.
	ReplyDraft = "draft"
	// ReplyOutdated: the review changed after the answer was published.
	ReplyOutdated = "outdated"
	// ReplyDeleted: the store no longer shows the published answer.
	ReplyDeleted = "deleted"
	// An answered draft: approved (published as a staff answer) or
	// superseded (staff answered something else, or a newer draft came).
	ReplyApproved   = "approved"
	ReplySuperseded = "superseded"
)

// Reply is a staff answer on its way to the store.
type Reply struct {
	IntegrationID string
	MessageID     string
	TicketID      string
	AppID         string
	ReviewID      string
	Text          string
	Staff         string
	Status        string
	Detail        string
	// Rule is the auto-reply rule that wrote the answer ("" staff).
	Rule string
	// Attempts counts transient failures (ReplyFailed after the limit).
	Attempts int
	// Retries counts retries from the admin API (RetryReply).
	Retries int
	// Deferred is the review message a ticketless automatic reply
	// delivers after all when it is refused or fails.
	Deferred string
	// Refusal is what a refused answer needs (RefusalText,
	// RefusalAccount; "" nothing known).
	Refusal   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// What a refused answer needs (Reply.Refusal): retrying it as it is
// cannot help.
const (
	// RefusalText: a new text (empty, or longer than the store takes).
	RefusalText = "text"
	// RefusalAccount: a store account that may reply (none connected, or
	// the store refused its credentials or rights).
	RefusalAccount = "account"
)

// Retryable reports whether retrying the answer as it is may help: it
// failed, or was refused for a reason other than its text or the store
// account.
func (r Reply) Retryable() bool {
	switch {
	case r.Status == ReplyFailed:
		return true
	case r.Status != ReplyRefused:
		return false
	}
	return r.Refusal != RefusalText && r.Refusal != RefusalAccount
}

// AddReply records a reply request; it returns false when one with the same
// message id exists (a replayed webhook).
func (t *Tx) AddReply(ctx context.Context, r Reply) (bool, error) {
	now := ts(t.db.now())
	res, err := t.exec(ctx, `
		INSERT INTO replies (integration_id, message_id, ticket_id, app_id, review_id, body, staff, status, detail, rule, deferred, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id, message_id) DO NOTHING`,
		r.IntegrationID, r.MessageID, r.TicketID, r.AppID, r.ReviewID, r.Text, r.Staff, r.Status, r.Detail, r.Rule, r.Deferred, now, now)
	if err != nil {
		return false, fmt.Errorf("state: add reply %s: %w", r.MessageID, err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		actor := r.Staff
		if r.Rule != "" {
			actor = "rule " + r.Rule
		}
		if err := t.replyEvent(ctx, r.IntegrationID, r.MessageID, r.Status, r.Detail, actor); err != nil {
			return false, err
		}
	}
	if n == 1 && r.AppID != "" && r.ReviewID != "" {
		// The latest answer decides the review's reply status.
		if err := t.pointReview(ctx, r, r.Status, r.Detail); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// Reply returns a reply by message id.
func (d *DB) Reply(ctx context.Context, integrationID, messageID string) (Reply, error) {
	return d.replyVia(ctx, d.queryRow, integrationID, messageID)
}

// SetReplyStatus records a reply's outcome, and the review's reply status
// when this reply is the review's latest (see ReviewReply).
func (t *Tx) SetReplyStatus(ctx context.Context, integrationID, messageID, status, detail string) error {
	_, err := t.exec(ctx, `UPDATE replies SET status = ?, detail = ?, updated_at = ? WHERE integration_id = ? AND message_id = ?`,
		status, detail, ts(t.db.now()), integrationID, messageID)
	if err != nil {
		return fmt.Errorf("state: reply %s status: %w", messageID, err)
	}
	if err := t.replyEvent(ctx, integrationID, messageID, status, detail, ""); err != nil {
		return err
	}
	return t.replyStatusOfReview(ctx, integrationID, messageID, status, detail)
}

// SetReplyRefusal records what a refused answer needs (a Refusal
// constant, or "").
func (t *Tx) SetReplyRefusal(ctx context.Context, integrationID, messageID, refusal string) error {
	if _, err := t.exec(ctx, `UPDATE replies SET refusal = ? WHERE integration_id = ? AND message_id = ?`,
		refusal, integrationID, messageID); err != nil {
		return fmt.Errorf("state: reply %s refusal: %w", messageID, err)
	}
	return nil
}

// SetReplyTarget records the app and review a reply answers (known late
// when the webhook came before the ticket was linked).
func (t *Tx) SetReplyTarget(ctx context.Context, integrationID, messageID, appID, reviewID string) error {
	_, err := t.exec(ctx, `UPDATE replies SET app_id = ?, review_id = ? WHERE integration_id = ? AND message_id = ?`,
		appID, reviewID, integrationID, messageID)
	if err != nil {
		return fmt.Errorf("state: reply %s target: %w", messageID, err)
	}
	return nil
}

// Replies lists an integration's replies, newest first.
func (d *DB) Replies(ctx context.Context, integrationID string) ([]Reply, error) {
	return d.repliesOf(ctx, integrationID, `SELECT message_id FROM replies WHERE integration_id = ? ORDER BY created_at DESC`, integrationID)
}

// repliesOf loads the replies whose message ids q lists, in its order.
func (d *DB) repliesOf(ctx context.Context, integrationID, q string, args ...any) ([]Reply, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: replies: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("state: replies: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: replies: %w", err)
	}
	out := make([]Reply, 0, len(ids))
	for _, id := range ids {
		r, err := d.Reply(ctx, integrationID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RecentReview is the latest version of a review the hub recorded and the
// ticket it lives in ("" when it was filtered out or is not delivered yet).
type RecentReview struct {
	AppID    string    `json:"app_id"`
	ReviewID string    `json:"review_id"`
	Version  int       `json:"version"`
	Rating   int       `json:"rating"`
	TicketID string    `json:"ticket_id,omitempty"`
	SeenAt   time.Time `json:"seen_at"`
	// ReplyStatus is the review's reply status ("" never answered).
	ReplyStatus string `json:"reply_status,omitempty"`
	// DeliveryError says why the review's delivery to the helpdesk failed
	// for good ("" when it did not, or it was delivered since).
	DeliveryError string `json:"delivery_error,omitempty"`
}

// RecentReviews lists the limit reviews of an integration seen last.
func (d *DB) RecentReviews(ctx context.Context, integrationID string, limit int) ([]RecentReview, error) {
	rows, err := d.query(ctx, `SELECT app_id, review_id, version, rating, ticket_id, seen_at, reply_status, delivery_error FROM reviews
		WHERE integration_id = ? ORDER BY seen_at DESC LIMIT ?`, integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("state: recent reviews: %w", err)
	}
	defer rows.Close()
	out := []RecentReview{}
	for rows.Next() {
		var r RecentReview
		var seen string
		if err := rows.Scan(&r.AppID, &r.ReviewID, &r.Version, &r.Rating, &r.TicketID, &seen, &r.ReplyStatus, &r.DeliveryError); err != nil {
			return nil, fmt.Errorf("state: recent reviews: %w", err)
		}
		r.SeenAt = parseTS(seen)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecentReplies lists the limit replies of an integration changed last,
// newest first, with their outcome.
func (d *DB) RecentReplies(ctx context.Context, integrationID string, limit int) ([]Reply, error) {
	rows, err := d.query(ctx, `
		SELECT message_id, ticket_id, app_id, review_id, body, staff, status, detail, rule, attempts, refusal, created_at, updated_at
		FROM replies WHERE integration_id = ? ORDER BY updated_at DESC LIMIT ?`, integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("state: recent replies: %w", err)
	}
	defer rows.Close()
	out := []Reply{}
	for rows.Next() {
		r := Reply{IntegrationID: integrationID}
		var created, updated string
		if err := rows.Scan(&r.MessageID, &r.TicketID, &r.AppID, &r.ReviewID, &r.Text, &r.Staff, &r.Status, &r.Detail,
			&r.Rule, &r.Attempts, &r.Refusal, &created, &updated); err != nil {
			return nil, fmt.Errorf("state: recent replies: %w", err)
		}
		r.CreatedAt, r.UpdatedAt = parseTS(created), parseTS(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}
