package state

import (
	"context"
	"fmt"
	"time"
)

// Review statistics (issue 25): the console's charts, their CSV and the
// admin API's series, per day, and the per-app rating gauges of /metrics.
// A review counts on the day (UTC) of the store's date of its latest
// version (posted_ms, the Reviews list's order) with its latest rating.

// StatsQuery selects the reviews counted: one integration, or all; one
// app of it, or all; the days From <= day < Until (UTC midnights).
type StatsQuery struct {
	IntegrationID string
	AppID         string
	From, Until   time.Time
}

// MaxStatsDays bounds a series.
const MaxStatsDays = 366

// DayStats is one day's reviews.
type DayStats struct {
	// Day is the day's UTC midnight.
	Day time.Time
	// Ratings counts the reviews by rating: Ratings[0] is 1 star.
	Ratings [5]int
	// Answered counts the reviews whose latest answer is published.
	Answered int
	// FirstAnswers counts the reviews with a published answer whose
	// publication the hub recorded (the answers' timeline), and
	// FirstAnswerSeconds sums the time from the review's store date to
	// the first publication among them.
	FirstAnswers       int
	FirstAnswerSeconds float64
}

// Reviews is the day's number of reviews.
func (s DayStats) Reviews() int {
	n := 0
	for _, c := range s.Ratings {
		n += c
	}
	return n
}

// RatingSum is the sum of the day's ratings.
func (s DayStats) RatingSum() int {
	n := 0
	for i, c := range s.Ratings {
		n += (i + 1) * c
	}
	return n
}

const dayMs = int64(24 * time.Hour / time.Millisecond)

// ReviewStats counts q's reviews per day: one DayStats for every day of
// the period, days without reviews included (zero).
func (d *DB) ReviewStats(ctx context.Context, q StatsQuery) ([]DayStats, error) {
	from, until := q.From.UTC().Truncate(24*time.Hour), q.Until.UTC().Truncate(24*time.Hour)
	days := int(until.Sub(from) / (24 * time.Hour))
	if days <= 0 || days > MaxStatsDays {
		return nil, fmt.Errorf("state: review statistics: %d days; from 1 to %d", days, MaxStatsDays)
	}
	where := "r.posted_ms >= ? AND r.posted_ms < ?"
	args := []any{from.UnixMilli(), until.UnixMilli()}
	if q.IntegrationID != "" {
		where += " AND r.integration_id = ?"
		args = append(args, q.IntegrationID)
	}
	if q.AppID != "" {
		where += " AND r.app_id = ?"
		args = append(args, q.AppID)
	}
	// The first publication of any answer to the review at or after its
	// date (an answer to an earlier version does not count), read only
	// for reviews with an answer: its answers by replies_review, then
	// their timeline by reply_events_message (CROSS JOIN keeps SQLite to
	// that order; left to itself it read every event of the integration
	// for each review: minutes on 200,000 reviews).
	rows, err := d.query(ctx, `
		SELECT day, rating, COUNT(*), SUM(answered), COALESCE(SUM(wait), 0), COUNT(wait)
		FROM (
			SELECT r.posted_ms / `+fmt.Sprint(dayMs)+` AS day, r.rating AS rating,
				CASE WHEN r.reply_status = 'published' THEN 1 ELSE 0 END AS answered,
				CASE WHEN r.reply_status <> '' THEN
					(SELECT MIN(e.at_ms) FROM replies p CROSS JOIN reply_events e
					WHERE p.integration_id = r.integration_id AND p.app_id = r.app_id AND p.review_id = r.review_id
						AND e.integration_id = p.integration_id AND e.message_id = p.message_id
						AND e.status = 'published' AND e.at_ms >= r.posted_ms) - r.posted_ms
				END AS wait
			FROM reviews r WHERE `+where+`
		) x GROUP BY day, rating`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: review statistics: %w", err)
	}
	defer rows.Close()
	out := make([]DayStats, days)
	for i := range out {
		out[i].Day = from.AddDate(0, 0, i)
	}
	first := from.UnixMilli() / dayMs
	for rows.Next() {
		var day, rating, n, answered, firsts int64
		var waitMs float64
		if err := rows.Scan(&day, &rating, &n, &answered, &waitMs, &firsts); err != nil {
			return nil, fmt.Errorf("state: review statistics: %w", err)
		}
		i := int(day - first)
		if i < 0 || i >= days {
			continue // cannot happen: the period bounds the query
		}
		s := &out[i]
		if rating >= 1 && rating <= 5 {
			s.Ratings[rating-1] += int(n)
		}
		s.Answered += int(answered)
		s.FirstAnswers += int(firsts)
		s.FirstAnswerSeconds += waitMs / 1000
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: review statistics: %w", err)
	}
	return out, nil
}

// RatingCount is how many reviews an app has with one rating, and how
// many of them have a published answer.
type RatingCount struct {
	IntegrationID, AppID string
	Rating               int
	Reviews, Answered    int
}

// RatingCounts counts every app's reviews by rating (the /metrics
// gauges): one row per app and rating that has reviews. It reads the
// reviews_ratings index alone.
func (d *DB) RatingCounts(ctx context.Context) ([]RatingCount, error) {
	rows, err := d.query(ctx, `SELECT integration_id, app_id, rating, COUNT(*),
			SUM(CASE WHEN reply_status = 'published' THEN 1 ELSE 0 END)
		FROM reviews GROUP BY integration_id, app_id, rating ORDER BY integration_id, app_id, rating`)
	if err != nil {
		return nil, fmt.Errorf("state: reviews by rating: %w", err)
	}
	defer rows.Close()
	var out []RatingCount
	for rows.Next() {
		var c RatingCount
		if err := rows.Scan(&c.IntegrationID, &c.AppID, &c.Rating, &c.Reviews, &c.Answered); err != nil {
			return nil, fmt.Errorf("state: reviews by rating: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: reviews by rating: %w", err)
	}
	return out, nil
}
