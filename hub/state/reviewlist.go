package state

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// The reviews as the console's Reviews pages list them (issue 25): every
// review of every integration, filtered, searched (searchtokens.go) and
// paged by key (the last row's date and seq, never OFFSET: a deep page
// costs what the first does, and reviews that arrive meanwhile do not
// shift the pages after them).

// reviewMeta is what a review says besides rating, title and text, and
// its search tokens.
type reviewMeta struct {
	author, country, language, appVersion, url string
	postedMs                                   int64
	tokens                                     []string
}

// metaOf is r's meta; posted is the store's date of this version (its
// update, else its creation), else now.
func metaOf(r sdk.Review, now time.Time) reviewMeta {
	posted := r.UpdatedAt
	if posted.IsZero() {
		posted = r.CreatedAt
	}
	if posted.IsZero() {
		posted = now
	}
	return reviewMeta{author: r.Author, country: r.Country, language: r.Language, appVersion: r.AppVersion, url: r.URL,
		postedMs: posted.UnixMilli(), tokens: searchTokens(r.Title, r.Text, r.Author)}
}

// insertReview inserts a new review with its meta and search tokens.
func (t *Tx) insertReview(ctx context.Context, integrationID, appID string, r sdk.Review, replyText, now string, m reviewMeta) error {
	var err error
	if t.db.dialect == Postgres {
		_, err = t.exec(ctx, `
			WITH r AS (
				INSERT INTO reviews (integration_id, app_id, review_id, version, rating, title, body, reply_text, seen_at,
					author, country, language, app_version, url, posted_ms, indexed)
				VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING seq
			)
			INSERT INTO review_search (seq, search) SELECT seq, ?::tsvector FROM r`,
			integrationID, appID, r.ID, r.Rating, r.Title, r.Text, replyText, now,
			m.author, m.country, m.language, m.appVersion, m.url, m.postedMs, tsVector(m.tokens))
	} else {
		_, err = t.exec(ctx, `
			INSERT INTO reviews (integration_id, app_id, review_id, version, rating, title, body, reply_text, seen_at,
				author, country, language, app_version, url, posted_ms, indexed, seq)
			VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM reviews))`,
			integrationID, appID, r.ID, r.Rating, r.Title, r.Text, replyText, now,
			m.author, m.country, m.language, m.appVersion, m.url, m.postedMs)
		if err == nil {
			err = t.indexReview(ctx, integrationID, appID, r.ID, m.tokens)
		}
	}
	if err != nil {
		return fmt.Errorf("state: insert review %s: %w", r.ID, err)
	}
	return nil
}

// updateReview records a review's new version with its meta and tokens.
func (t *Tx) updateReview(ctx context.Context, integrationID, appID string, r sdk.Review, version int, replyText, now string, m reviewMeta) error {
	set := `version = ?, rating = ?, title = ?, body = ?, reply_text = ?, seen_at = ?,
		author = ?, country = ?, language = ?, app_version = ?, url = ?, posted_ms = ?, indexed = 1, requeue = 0`
	args := []any{version, r.Rating, r.Title, r.Text, replyText, now, m.author, m.country, m.language, m.appVersion, m.url, m.postedMs,
		integrationID, appID, r.ID}
	if _, err := t.exec(ctx, `UPDATE reviews SET `+set+` WHERE integration_id = ? AND app_id = ? AND review_id = ?`, args...); err != nil {
		return fmt.Errorf("state: update review %s: %w", r.ID, err)
	}
	if err := t.indexReview(ctx, integrationID, appID, r.ID, m.tokens); err != nil {
		return fmt.Errorf("state: update review %s: %w", r.ID, err)
	}
	return nil
}

// indexReview writes a review's tokens into the search index: SQLite's
// FTS4 table (docid: seq), PostgreSQL's review_search.
func (t *Tx) indexReview(ctx context.Context, integrationID, appID, reviewID string, tokens []string) error {
	var err error
	if t.db.dialect == Postgres {
		_, err = t.exec(ctx, `INSERT INTO review_search (seq, search)
			SELECT seq, ?::tsvector FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?
			ON CONFLICT (seq) DO UPDATE SET search = excluded.search`, tsVector(tokens), integrationID, appID, reviewID)
	} else {
		_, err = t.exec(ctx, `INSERT OR REPLACE INTO review_search (docid, tokens)
			SELECT seq, ? FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
			strings.Join(tokens, " "), integrationID, appID, reviewID)
	}
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	return nil
}

// indexBatch is how many unindexed reviews IndexReviews reads at once.
const indexBatch = 500

// IndexReviews writes the search tokens of reviews that have none (stored
// before the search came, or by an older hub during a rolling upgrade),
// up to limit of them (0: all), and returns how many it wrote. Their date
// is the time the hub saw them. Safe to run on several hubs at once.
func (d *DB) IndexReviews(ctx context.Context, limit int) (int, error) {
	done := 0
	for limit <= 0 || done < limit {
		n, err := d.indexSome(ctx)
		done += n
		if err != nil {
			return done, err
		}
		if n < indexBatch {
			break
		}
	}
	return done, nil
}

func (d *DB) indexSome(ctx context.Context) (int, error) {
	n := 0
	err := d.InTx(ctx, func(tx *Tx) error {
		n = 0
		rows, err := tx.query(ctx, `SELECT integration_id, app_id, review_id, title, body, author, seen_at, posted_ms
			FROM reviews WHERE indexed = 0 ORDER BY seq LIMIT ?`, indexBatch)
		if err != nil {
			return err
		}
		type todo struct {
			in, app, id, title, body, author, seen string
			posted                                 int64
		}
		var list []todo
		for rows.Next() {
			var x todo
			if err := rows.Scan(&x.in, &x.app, &x.id, &x.title, &x.body, &x.author, &x.seen, &x.posted); err != nil {
				rows.Close()
				return err
			}
			list = append(list, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range list {
			posted := x.posted
			if posted == 0 {
				posted = parseTS(x.seen).UnixMilli()
			}
			_, err = tx.exec(ctx, `UPDATE reviews SET indexed = 1, posted_ms = ? WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
				posted, x.in, x.app, x.id)
			if err == nil {
				err = tx.indexReview(ctx, x.in, x.app, x.id, searchTokens(x.title, x.body, x.author))
			}
			if err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: index reviews for search: %w", err)
	}
	return n, nil
}

// ReviewQuery selects and pages reviews. Zero fields select everything.
type ReviewQuery struct {
	IntegrationID string
	AppID         string
	// Store is the store plugin's name (the app's store).
	Store string
	// Ratings: any of them (empty: any rating).
	Ratings []int
	// ReplyStatus: a Reply* status, or ReplyNone for never answered.
	ReplyStatus string
	// Language: the review's language as the store gave it, or its
	// primary subtag ("pt" selects "pt-BR" too).
	Language string
	// From and Until bound the store's date of the review's latest
	// version: From <= date < Until.
	From, Until time.Time
	// Search: every term must match (searchtokens.go).
	Search string
	// After and Before are page keys (ReviewPage.Next, Prev); one at most.
	After, Before string
	// Limit is the page size (default 50, at most MaxReviewPage).
	Limit int
}

// sortMatchesUpTo is how many search matches (SQLite) are read and sorted;
// with more, the list's order is walked instead (Reviews).
var sortMatchesUpTo = 2000

// ReplyNone selects the reviews never answered (ReviewQuery.ReplyStatus).
const ReplyNone = "none"

// MaxReviewPage bounds a page of reviews.
const MaxReviewPage = 200

// ListedReview is a review as the list shows it.
type ListedReview struct {
	IntegrationID string
	AppID         string
	AppName       string
	Store         string
	ReviewID      string
	Version       int
	Rating        int
	Title         string
	Text          string
	Author        string
	Country       string
	Language      string
	AppVersion    string
	URL           string
	TicketID      string
	SeenAt        time.Time
	PostedAt      time.Time
	// Reply is the review's reply status (Status "" never answered).
	Reply ReviewReply
	// AnswerText is the text of the answer that decides Reply ("" none).
	AnswerText string
	// StoreReply is the developer reply the store shows now ("" none).
	StoreReply string
	// DeliveryError says why delivery to the helpdesk failed for good.
	DeliveryError string
	key           string
}

// ReviewPage is one page of reviews, newest first. Next and Prev are the
// keys of the pages after and before it ("" none).
type ReviewPage struct {
	Reviews    []ListedReview
	Next, Prev string
}

// ErrBadKey is returned for a page key the hub did not give out.
var ErrBadKey = errors.New("not a page key of this list")

func pageKey(postedMs, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(postedMs, 10) + "." + strconv.FormatInt(seq, 10)))
}

func parsePageKey(k string) (postedMs, seq int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return 0, 0, ErrBadKey
	}
	a, s, ok := strings.Cut(string(b), ".")
	if !ok {
		return 0, 0, ErrBadKey
	}
	if postedMs, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, ErrBadKey
	}
	if seq, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, ErrBadKey
	}
	return postedMs, seq, nil
}

const listedColumns = `r.integration_id, r.app_id, COALESCE(a.name, ''), COALESCE(a.store_plugin, ''), r.review_id, r.version,
	r.rating, r.title, r.body, r.author, r.country, r.language, r.app_version, r.url, r.ticket_id, r.seen_at, r.posted_ms, r.seq,
	r.reply_status, r.reply_message_id, r.reply_detail, r.reply_version, r.reply_rule, r.reply_at, COALESCE(p.body, ''), r.reply_text,
	r.delivery_error`

const listedFrom = ` FROM reviews r
	LEFT JOIN apps a ON a.integration_id = r.integration_id AND a.id = r.app_id
	LEFT JOIN replies p ON p.integration_id = r.integration_id AND p.message_id = r.reply_message_id`

func scanListed(rs interface{ Scan(...any) error }) (ListedReview, int64, int64, error) {
	var l ListedReview
	var seen, at string
	var posted, seq int64
	err := rs.Scan(&l.IntegrationID, &l.AppID, &l.AppName, &l.Store, &l.ReviewID, &l.Version, &l.Rating, &l.Title, &l.Text,
		&l.Author, &l.Country, &l.Language, &l.AppVersion, &l.URL, &l.TicketID, &seen, &posted, &seq,
		&l.Reply.Status, &l.Reply.MessageID, &l.Reply.Detail, &l.Reply.Version, &l.Reply.Rule, &at, &l.AnswerText, &l.StoreReply,
		&l.DeliveryError)
	l.SeenAt, l.Reply.At, l.PostedAt = parseTS(seen), parseTS(at), time.UnixMilli(posted).UTC()
	l.key = pageKey(posted, seq)
	return l, posted, seq, err
}

// Reviews lists one page of the reviews q selects, newest first (by the
// store's date of their latest version). ErrBadKey: q.After or q.Before
// is not a key this list gave.
func (d *DB) Reviews(ctx context.Context, q ReviewQuery) (ReviewPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxReviewPage)
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if q.IntegrationID != "" {
		add("r.integration_id = ?", q.IntegrationID)
	}
	if q.AppID != "" {
		add("r.app_id = ?", q.AppID)
	}
	if q.Store != "" && d.dialect != Postgres {
		add("a.store_plugin = ?", q.Store)
	} else if q.Store != "" {
		// PostgreSQL: the store's apps named (the join to apps kept it
		// from the date index: 4 s on a million reviews; SQLite's plan
		// is the better with the join: 20 ms against 190); very many:
		// joined.
		apps, err := d.appsOfStore(ctx, q.Store, q.IntegrationID)
		switch {
		case err != nil:
			return ReviewPage{}, err
		case len(apps) == 0:
			return ReviewPage{Reviews: []ListedReview{}}, nil
		case len(apps) > maxNamedApps:
			add("a.store_plugin = ?", q.Store)
		default:
			ph := make([]string, len(apps))
			for i, a := range apps {
				ph[i] = "(?, ?)"
				args = append(args, a[0], a[1])
			}
			where = append(where, "(r.integration_id, r.app_id) IN ("+strings.Join(ph, ", ")+")")
		}
	}
	if len(q.Ratings) > 0 {
		ph := make([]string, len(q.Ratings))
		for i, r := range q.Ratings {
			ph[i] = "?"
			args = append(args, r)
		}
		where = append(where, "r.rating IN ("+strings.Join(ph, ", ")+")")
	}
	switch q.ReplyStatus {
	case "":
	case ReplyNone:
		add("r.reply_status = ''")
	default:
		add("r.reply_status = ?", q.ReplyStatus)
	}
	if q.Language != "" {
		l := strings.ToLower(q.Language)
		add("(LOWER(r.language) = ? OR LOWER(r.language) LIKE ?)", l, strings.NewReplacer(`%`, ``, `_`, ``).Replace(l)+"-%")
	}
	if !q.From.IsZero() {
		add("r.posted_ms >= ?", q.From.UnixMilli())
	}
	if !q.Until.IsZero() {
		add("r.posted_ms < ?", q.Until.UnixMilli())
	}
	if terms := searchTerms(q.Search); len(terms) > 0 {
		// Reviews an older hub stored are made findable first (cheap
		// when there are none: a partial index of them).
		if _, err := d.IndexReviews(ctx, 5*indexBatch); err != nil {
			return ReviewPage{}, err
		}
		if d.dialect == Postgres {
			// Few matches: they are named (read by seq and sorted). Many:
			// PostgreSQL walks the list's order with them hashed. (Left
			// to the planner, a search matching nothing walked all
			// reviews: 15 s on a million.)
			tq := tsQuery(terms)
			seqs, err := d.searchSeqs(ctx, tq)
			if err != nil {
				return ReviewPage{}, err
			}
			switch {
			case len(seqs) == 0:
				return ReviewPage{Reviews: []ListedReview{}}, nil
			case len(seqs) < sortMatchesUpTo:
				add("r.seq = ANY(?::bigint[])", seqs)
			default:
				add("r.seq IN (SELECT seq FROM review_search WHERE search @@ ?::tsquery)", tq)
			}
		} else {
			match := ftsMatch(terms)
			// Few matches: read them by seq and sort them. Many: walk the
			// list's own order (its index) and keep the matching ones
			// ("+" keeps SQLite from reading the matches by seq), which
			// stops after a page instead of sorting them all.
			var n int
			if err := d.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT docid FROM review_search WHERE review_search MATCH ? LIMIT ?)`,
				match, sortMatchesUpTo).Scan(&n); err != nil {
				return ReviewPage{}, fmt.Errorf("state: search reviews: %w", err)
			}
			if n == 0 {
				return ReviewPage{Reviews: []ListedReview{}}, nil
			}
			if n < sortMatchesUpTo {
				add("r.seq IN (SELECT docid FROM review_search WHERE review_search MATCH ?)", match)
			} else {
				add("+r.seq IN (SELECT docid FROM review_search WHERE review_search MATCH ?)", match)
			}
		}
	} else if strings.TrimSpace(q.Search) != "" {
		// Only separators (punctuation): nothing can match.
		return ReviewPage{Reviews: []ListedReview{}}, nil
	}
	backward := false
	switch {
	case q.After != "" && q.Before != "":
		return ReviewPage{}, fmt.Errorf("both after and before: %w", ErrBadKey)
	case q.After != "":
		p, s, err := parsePageKey(q.After)
		if err != nil {
			return ReviewPage{}, err
		}
		add("(r.posted_ms, r.seq) < (?, ?)", p, s)
	case q.Before != "":
		p, s, err := parsePageKey(q.Before)
		if err != nil {
			return ReviewPage{}, err
		}
		add("(r.posted_ms, r.seq) > (?, ?)", p, s)
		backward = true
	}
	order := " ORDER BY r.posted_ms DESC, r.seq DESC"
	if backward {
		order = " ORDER BY r.posted_ms, r.seq"
	}
	sqlText := "SELECT " + listedColumns + listedFrom
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += order + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := d.query(ctx, sqlText, args...)
	if err != nil {
		return ReviewPage{}, fmt.Errorf("state: list reviews: %w", err)
	}
	defer rows.Close()
	list := []ListedReview{}
	for rows.Next() {
		l, _, _, err := scanListed(rows)
		if err != nil {
			return ReviewPage{}, fmt.Errorf("state: list reviews: %w", err)
		}
		list = append(list, l)
	}
	if err := rows.Err(); err != nil {
		return ReviewPage{}, fmt.Errorf("state: list reviews: %w", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	page := ReviewPage{}
	if backward {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
		if more && len(list) > 0 {
			page.Prev = list[0].key
		}
		if len(list) > 0 {
			page.Next = list[len(list)-1].key
		}
	} else {
		if more && len(list) > 0 {
			page.Next = list[len(list)-1].key
		}
		if q.After != "" && len(list) > 0 {
			page.Prev = list[0].key
		}
	}
	page.Reviews = list
	return page, nil
}

// maxNamedApps bounds the apps of a store filter named in the query.
const maxNamedApps = 200

// appsOfStore lists the (integration, app) of a store plugin's apps, of
// one integration when integrationID is set.
func (d *DB) appsOfStore(ctx context.Context, store, integrationID string) ([][2]string, error) {
	q, args := `SELECT integration_id, id FROM apps WHERE store_plugin = ?`, []any{store}
	if integrationID != "" {
		q += ` AND integration_id = ?`
		args = append(args, integrationID)
	}
	rows, err := d.query(ctx, q+` ORDER BY integration_id, id LIMIT ?`, append(args, maxNamedApps+1)...)
	if err != nil {
		return nil, fmt.Errorf("state: apps of store %s: %w", store, err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a [2]string
		if err := rows.Scan(&a[0], &a[1]); err != nil {
			return nil, fmt.Errorf("state: apps of store %s: %w", store, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// searchSeqs are the seqs of up to sortMatchesUpTo reviews matching tq
// (PostgreSQL).
func (d *DB) searchSeqs(ctx context.Context, tq string) ([]int64, error) {
	rows, err := d.query(ctx, `SELECT seq FROM review_search WHERE search @@ ?::tsquery LIMIT ?`, tq, sortMatchesUpTo)
	if err != nil {
		return nil, fmt.Errorf("state: search reviews: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("state: search reviews: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReviewVersion is one version of a review as the hub saw it.
type ReviewVersion struct {
	Version    int
	Rating     int
	Title      string
	Text       string
	AppVersion string
	// StoreReply is the developer reply the store showed with it.
	StoreReply string
	SeenAt     time.Time
	PostedAt   time.Time
}

// ReplyEvent is one status an answer went through.
type ReplyEvent struct {
	At     time.Time
	Status string
	Detail string
	// Actor is who moved it there when recorded: the staff member who
	// approved a draft, "retry" for the admin API's retry.
	Actor string
}

// AnswerHistory is an answer to a review with its status timeline.
type AnswerHistory struct {
	Reply
	Events []ReplyEvent
}

// ReviewDetail is one review with every version and every answer.
type ReviewDetail struct {
	ListedReview
	Versions []ReviewVersion
	Answers  []AnswerHistory
}

// ReviewDetail returns a review with its versions (oldest first) and its
// answers (oldest first) with their timelines; ErrNotFound when the hub
// never saw it.
func (d *DB) ReviewDetail(ctx context.Context, integrationID, appID, reviewID string) (ReviewDetail, error) {
	row := d.queryRow(ctx, "SELECT "+listedColumns+listedFrom+` WHERE r.integration_id = ? AND r.app_id = ? AND r.review_id = ?`,
		integrationID, appID, reviewID)
	l, _, _, err := scanListed(row)
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewDetail{}, ErrNotFound
	}
	if err != nil {
		return ReviewDetail{}, fmt.Errorf("state: review %s: %w", reviewID, err)
	}
	out := ReviewDetail{ListedReview: l}
	rows, err := d.query(ctx, `SELECT version, rating, title, body, app_version, reply_text, seen_at, posted_ms FROM review_versions
		WHERE integration_id = ? AND app_id = ? AND review_id = ? ORDER BY version`, integrationID, appID, reviewID)
	if err != nil {
		return out, fmt.Errorf("state: versions of review %s: %w", reviewID, err)
	}
	for rows.Next() {
		var v ReviewVersion
		var seen string
		var posted int64
		if err := rows.Scan(&v.Version, &v.Rating, &v.Title, &v.Text, &v.AppVersion, &v.StoreReply, &seen, &posted); err != nil {
			rows.Close()
			return out, fmt.Errorf("state: versions of review %s: %w", reviewID, err)
		}
		v.SeenAt = parseTS(seen)
		if posted != 0 {
			v.PostedAt = time.UnixMilli(posted).UTC()
		}
		out.Versions = append(out.Versions, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("state: versions of review %s: %w", reviewID, err)
	}
	answers, err := d.repliesOf(ctx, integrationID, `SELECT message_id FROM replies WHERE integration_id = ? AND app_id = ? AND review_id = ?
		ORDER BY created_at, message_id`, integrationID, appID, reviewID)
	if err != nil {
		return out, err
	}
	for _, a := range answers {
		ev, err := d.replyEvents(ctx, integrationID, a.MessageID)
		if err != nil {
			return out, err
		}
		out.Answers = append(out.Answers, AnswerHistory{Reply: a, Events: ev})
	}
	return out, nil
}

func (d *DB) replyEvents(ctx context.Context, integrationID, messageID string) ([]ReplyEvent, error) {
	rows, err := d.query(ctx, `SELECT at_ms, status, detail, actor FROM reply_events WHERE integration_id = ? AND message_id = ?
		ORDER BY at_ms`, integrationID, messageID)
	if err != nil {
		return nil, fmt.Errorf("state: timeline of answer %s: %w", messageID, err)
	}
	defer rows.Close()
	var out []ReplyEvent
	for rows.Next() {
		var e ReplyEvent
		var at int64
		if err := rows.Scan(&at, &e.Status, &e.Detail, &e.Actor); err != nil {
			return nil, fmt.Errorf("state: timeline of answer %s: %w", messageID, err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// replyEvent records that an answer reached status.
func (t *Tx) replyEvent(ctx context.Context, integrationID, messageID, status, detail, actor string) error {
	if _, err := t.exec(ctx, `INSERT INTO reply_events (integration_id, message_id, at_ms, status, detail, actor) VALUES (?, ?, ?, ?, ?, ?)`,
		integrationID, messageID, t.db.now().UnixMilli(), status, detail, actor); err != nil {
		return fmt.Errorf("state: timeline of answer %s: %w", messageID, err)
	}
	return nil
}
