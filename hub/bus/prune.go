package bus

import (
	"context"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
)

// PruneConsumed deletes the messages of the work topics that the consumer
// group has acknowledged: without it the message tables keep every review
// and reply the hub ever delivered. Unacknowledged messages and the dead
// letters are kept; offsets are never reused (AUTOINCREMENT), so deleting
// acknowledged rows cannot make a later message look consumed.
func (b *SQLite) PruneConsumed(ctx context.Context) (int64, error) {
	var total int64
	for _, topic := range AllTopics() {
		if topic == TopicDeadLetters {
			continue
		}
		n, err := b.prune(ctx, topic)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (b *SQLite) prune(ctx context.Context, topic string) (int64, error) {
	if gate := b.sub.cfg.WriteGate; gate != nil {
		defer gate(ctx)()
	}
	res, err := b.db.ExecContext(ctx, `DELETE FROM `+b.schema.MessagesTable(topic)+`
		WHERE "offset" <= (SELECT COALESCE(MIN(offset_acked), 0) FROM `+b.schema.OffsetsTable(topic)+`)`)
	if err != nil {
		return 0, fmt.Errorf("bus: prune %s: %w", topic, err)
	}
	return res.RowsAffected()
}

// PruneConsumed deletes the messages of the work topics that every
// consumer group has acknowledged. watermill-sql orders a topic's messages
// by (transaction id, offset) and records a group's position as the last
// acknowledged pair, so a message at or before every group's position is
// consumed. Unacknowledged messages and the dead letters are kept; a topic
// no group has subscribed to yet is left alone.
func (b *Postgres) PruneConsumed(ctx context.Context) (int64, error) {
	var total int64
	for _, topic := range AllTopics() {
		if topic == TopicDeadLetters {
			continue
		}
		msgs, offs := b.schema.MessagesTable(topic), wsql.DefaultPostgreSQLOffsetsAdapter{}.MessagesOffsetsTable(topic)
		res, err := b.db.ExecContext(ctx, `DELETE FROM `+msgs+` m
			WHERE EXISTS (SELECT 1 FROM `+offs+`)
			AND NOT EXISTS (SELECT 1 FROM `+offs+` o
				WHERE (m.transaction_id, m."offset") > (o.last_processed_transaction_id, o.offset_acked))`)
		if err != nil {
			return total, fmt.Errorf("bus: prune %s: %w", topic, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("bus: prune %s: %w", topic, err)
		}
		total += n
	}
	return total, nil
}
