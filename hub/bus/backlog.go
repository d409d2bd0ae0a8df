package bus

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TopicBacklog is what waits on one topic (all its partitions): messages
// not yet acknowledged and the age of the oldest.
type TopicBacklog struct {
	Depth  int
	Oldest time.Duration
}

// Backlog reads the unacknowledged messages of the work topics (for
// metrics). postgres selects watermill-sql's PostgreSQL schema.
func Backlog(ctx context.Context, db *sql.DB, postgres bool) (map[string]TopicBacklog, error) {
	out := map[string]TopicBacklog{}
	for _, topic := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
		var b TopicBacklog
		for n := range Partitions {
			t := PartitionTopic(topic, n)
			msgs, offs := SQLiteSchema{}.MessagesTable(t), SQLiteSchema{}.OffsetsTable(t)
			age := `(julianday('now') - julianday(MIN(created_at))) * 86400.0`
			if postgres {
				age = `EXTRACT(EPOCH FROM (LOCALTIMESTAMP - MIN(created_at)))`
			}
			q := `SELECT COUNT(*), COALESCE(` + age + `, 0) FROM ` + msgs +
				` WHERE "offset" > COALESCE((SELECT MAX(offset_acked) FROM ` + offs + `), 0)`
			var depth int
			var seconds float64
			if err := db.QueryRowContext(ctx, q).Scan(&depth, &seconds); err != nil {
				return nil, fmt.Errorf("bus: backlog of %s: %w", t, err)
			}
			b.Depth += depth
			b.Oldest = max(b.Oldest, time.Duration(seconds*float64(time.Second)))
		}
		out[topic] = b
	}
	return out, nil
}

// Count returns how many dead letters there are.
func (dl DeadLetters) Count(ctx context.Context) (int, error) {
	var n int
	if err := dl.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+deadTable).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}

// AppRef names an app of an integration in CountByApp.
type AppRef struct{ Integration, App string }

// CountByApp counts the dead letters by the integration and app they are
// about (SetSubject; messages that name no app are left out).
func (dl DeadLetters) CountByApp(ctx context.Context) (map[AppRef]int, error) {
	field := func(key string) string { return `json_extract(metadata, '$.` + key + `')` }
	if dl.Postgres {
		field = func(key string) string { return `(metadata::jsonb ->> '` + key + `')` }
	}
	g, a := field(MetadataGroup), field(MetadataApp)
	rows, err := dl.DB.QueryContext(ctx, `SELECT `+g+`, `+a+`, COUNT(*) FROM `+deadTable+
		` WHERE `+a+` IS NOT NULL GROUP BY `+g+`, `+a)
	if err != nil {
		return nil, fmt.Errorf("count dead letters by app: %w", err)
	}
	defer rows.Close()
	out := map[AppRef]int{}
	for rows.Next() {
		var group sql.NullString
		var ref AppRef
		var n int
		if err := rows.Scan(&group, &ref.App, &n); err != nil {
			return nil, fmt.Errorf("count dead letters by app: %w", err)
		}
		ref.Integration = group.String
		out[ref] += n
	}
	return out, rows.Err()
}
