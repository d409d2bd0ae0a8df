package bus

import (
	"context"
	"database/sql"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// Subject is what a message is about (SetKeys' group, SetSubject's app and
// review).
type Subject struct{ Group, App, Review string }

// WaitingReviews returns the subjects of the messages that still wait on a
// partition of the reviews topic (not acknowledged by every consumer
// group, as PruneConsumed counts them) and of every dead letter: the
// reviews whose queued change is still to be delivered, or failed and was
// kept. The poller's reconciliation (hub/poll/reconcile.go) takes a queued
// review not linked to a ticket and not among these as lost. A read only,
// beside the subscriber: the messages tables are small (pruned) unless a
// backlog waits.
func WaitingReviews(ctx context.Context, db *sql.DB, postgres bool) (map[Subject]bool, error) {
	field := func(key string) string { return `json_extract(metadata, '$.` + key + `')` }
	if postgres {
		field = func(key string) string { return `(metadata::jsonb ->> '` + key + `')` }
	}
	cols := `SELECT ` + field(MetadataGroup) + `, ` + field(MetadataApp) + `, ` + field(MetadataReview) + ` FROM `
	out := map[Subject]bool{}
	read := func(what, q string) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("bus: messages waiting on %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			var g, a, r sql.NullString
			if err := rows.Scan(&g, &a, &r); err != nil {
				return fmt.Errorf("bus: messages waiting on %s: %w", what, err)
			}
			if r.Valid {
				out[Subject{Group: g.String, App: a.String, Review: r.String}] = true
			}
		}
		return rows.Err()
	}
	for n := range Partitions {
		topic := PartitionTopic(TopicReviews, n)
		var q string
		if postgres {
			msgs, offs := wsql.DefaultPostgreSQLSchema{}.MessagesTable(topic), wsql.DefaultPostgreSQLOffsetsAdapter{}.MessagesOffsetsTable(topic)
			q = cols + msgs + ` m WHERE NOT EXISTS (SELECT 1 FROM ` + offs + `)
				OR EXISTS (SELECT 1 FROM ` + offs + ` o
					WHERE (m.transaction_id, m."offset") > (o.last_processed_transaction_id, o.offset_acked))`
		} else {
			msgs, offs := SQLiteSchema{}.MessagesTable(topic), SQLiteSchema{}.OffsetsTable(topic)
			q = cols + msgs + ` WHERE "offset" > COALESCE((SELECT MIN(offset_acked) FROM ` + offs + `), 0)`
		}
		if err := read(topic, q); err != nil {
			return nil, err
		}
	}
	if err := read(TopicDeadLetters, cols+deadTable); err != nil {
		return nil, err
	}
	return out, nil
}
