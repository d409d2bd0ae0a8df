package bus

import (
	"context"
	"fmt"
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
