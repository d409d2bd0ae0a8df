package state

import (
	"context"
	"fmt"
)

// A page of listed reviews is recorded in one transaction. On SQLite each
// statement costs microseconds; on PostgreSQL each is a round trip, and a
// page of 200 reviews made about 600 of them one after the other (read the
// review, insert it, insert its first version: 430–970 ms a page, pg-perf
// in docs/performance.md). There, PreloadReviews reads the page's stored
// reviews in one statement, and the new reviews ObserveReview finds are
// inserted together (both tables, one statement) just before the
// transaction's next other statement or its commit: nothing else in the
// transaction ever sees the table without them.

// reviewKey names a stored review.
type reviewKey struct{ integrationID, appID, reviewID string }

// storedReview is what ObserveReview compares a listed review with.
type storedReview struct {
	version, rating            int
	title, body, ticket, reply string
	rr                         ReviewReply
	replyAt                    string
	// seenAt and posted (ms, 0 unknown): when the hub first saw the stored
	// version, and its date in the store.
	seenAt string
	posted int64
	// requeue: its queued message was found lost (MarkLost); the next
	// listing queues it again.
	requeue bool
}

// pageBatch is a transaction's preloaded reviews and the new reviews not
// yet inserted (PostgreSQL).
type pageBatch struct {
	// known holds the preloaded reviews; a nil value: known not stored.
	// An entry is used once (a review listed twice in a page is read
	// again the second time, after what the first one wrote).
	known map[reviewKey]*storedReview
	// pending are new reviews to insert with their first version.
	pending []pendingReview
	// err is a failed insert of pending reviews: the transaction does not
	// commit.
	err error
}

type pendingReview struct {
	reviewID, title, body, reply, seenAt string
	rating                               int
	integrationID, appID                 string
	meta                                 reviewMeta
}

// PreloadReviews reads the stored reviews of ids (listed for one app) in
// one statement, for the ObserveReview calls that follow in this
// transaction. Only on PostgreSQL, where a statement is a round trip.
func (t *Tx) PreloadReviews(ctx context.Context, integrationID, appID string, ids []string) error {
	if t.db.dialect != Postgres || len(ids) == 0 {
		return nil
	}
	if t.batch.known == nil {
		t.batch.known = map[reviewKey]*storedReview{}
	}
	for _, id := range ids {
		t.batch.known[reviewKey{integrationID, appID, id}] = nil
	}
	rows, err := t.query(ctx, `SELECT review_id, version, rating, title, body, ticket_id, reply_text,
			reply_status, reply_message_id, reply_detail, reply_version, reply_rule, reply_at, requeue,
			seen_at, posted_ms
		FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ANY(?::text[])`, integrationID, appID, ids)
	if err != nil {
		return fmt.Errorf("state: read the listed reviews: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		s := &storedReview{}
		if err := rows.Scan(&id, &s.version, &s.rating, &s.title, &s.body, &s.ticket, &s.reply,
			&s.rr.Status, &s.rr.MessageID, &s.rr.Detail, &s.rr.Version, &s.rr.Rule, &s.replyAt, &s.requeue,
			&s.seenAt, &s.posted); err != nil {
			return fmt.Errorf("state: read the listed reviews: %w", err)
		}
		t.batch.known[reviewKey{integrationID, appID, id}] = s
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("state: read the listed reviews: %w", err)
	}
	return nil
}

// preloaded returns the preloaded stored review of k (nil: not stored) and
// whether it was preloaded; it is used up.
func (b *pageBatch) preloaded(k reviewKey) (*storedReview, bool) {
	s, ok := b.known[k]
	if ok {
		delete(b.known, k)
	}
	return s, ok
}

// insertPendingReviews inserts the new reviews waiting to be inserted
// (and their first versions) in one statement. It runs before any other
// statement of the transaction and before its commit.
func (t *Tx) insertPendingReviews(ctx context.Context) error {
	if t.batch.err != nil || len(t.batch.pending) == 0 {
		return t.batch.err
	}
	p := t.batch.pending
	t.batch.pending = nil
	// One app's reviews, as queued by one page; grouped per app anyway.
	for len(p) > 0 {
		n := 0
		for n < len(p) && p[n].integrationID == p[0].integrationID && p[n].appID == p[0].appID {
			n++
		}
		if err := t.insertReviews(ctx, p[:n]); err != nil {
			t.batch.err = err
			return err
		}
		p = p[n:]
	}
	return nil
}

const insertReviews = `WITH u AS (
		SELECT * FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::text[])
			AS u(review_id, rating, title, body, reply_text, seen_at, author, country, language, app_version, url, posted_ms, search)
	), r AS (
		INSERT INTO reviews (integration_id, app_id, review_id, version, rating, title, body, reply_text, seen_at,
			author, country, language, app_version, url, posted_ms, indexed)
		SELECT $1, $2, review_id, 1, rating, title, body, reply_text, seen_at,
			author, country, language, app_version, url, posted_ms, 1 FROM u
		RETURNING review_id, seq
	), s AS (
		INSERT INTO review_search (seq, search) SELECT r.seq, u.search::tsvector FROM r JOIN u USING (review_id)
	)
	INSERT INTO review_versions (integration_id, app_id, review_id, version, rating, title, body, reply_text, seen_at, app_version, posted_ms)
	SELECT $1, $2, review_id, 1, rating, title, body, reply_text, seen_at, app_version, posted_ms FROM u`

func (t *Tx) insertReviews(ctx context.Context, p []pendingReview) error {
	n := len(p)
	ids, ratings := make([]string, n), make([]int32, n)
	titles, bodies, replies, seen := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	authors, countries, languages, versions, urls := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	posted, search := make([]int64, n), make([]string, n)
	for i, r := range p {
		ids[i], ratings[i], titles[i], bodies[i], replies[i], seen[i] = r.reviewID, int32(r.rating), r.title, r.body, r.reply, r.seenAt
		m := r.meta
		authors[i], countries[i], languages[i], versions[i], urls[i], posted[i] = m.author, m.country, m.language, m.appVersion, m.url, m.postedMs
		search[i] = tsVector(m.tokens)
	}
	st, err := t.txStmt(ctx, insertReviews)
	if err == nil {
		_, err = st.ExecContext(ctx, p[0].integrationID, p[0].appID, ids, ratings, titles, bodies, replies, seen,
			authors, countries, languages, versions, urls, posted, search)
	}
	if err != nil {
		return fmt.Errorf("state: insert %d new reviews of %s/%s: %w", len(p), p[0].integrationID, p[0].appID, err)
	}
	return nil
}
