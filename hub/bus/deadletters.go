package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// DeadLetter is a message that failed for good, with the reason.
type DeadLetter struct {
	Offset    int64             `json:"id"`
	UUID      string            `json:"uuid"`
	CreatedAt string            `json:"created_at"`
	Topic     string            `json:"topic"`
	Handler   string            `json:"handler"`
	Reason    string            `json:"reason"`
	Payload   json.RawMessage   `json:"payload"`
	Metadata  map[string]string `json:"metadata"`
}

// ErrNoDeadLetter is returned for an unknown dead letter id.
var ErrNoDeadLetter = errors.New("no such dead letter")

var deadTable = SQLiteSchema{}.MessagesTable(TopicDeadLetters)

// ListDeadLetters returns the dead letters, oldest first.
func ListDeadLetters(ctx context.Context, db *sql.DB) ([]DeadLetter, error) {
	rows, err := db.QueryContext(ctx, `SELECT "offset", uuid, created_at, payload, metadata FROM `+deadTable+` ORDER BY "offset"`)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		d, err := scanDead(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func scanDead(row interface{ Scan(...any) error }) (DeadLetter, error) {
	var d DeadLetter
	var payload []byte
	var md string
	if err := row.Scan(&d.Offset, &d.UUID, &d.CreatedAt, &payload, &md); err != nil {
		return d, err
	}
	d.Metadata = map[string]string{}
	if err := json.Unmarshal([]byte(md), &d.Metadata); err != nil {
		return d, fmt.Errorf("dead letter %d: metadata: %w", d.Offset, err)
	}
	d.Topic = d.Metadata[middleware.PoisonedTopicKey]
	d.Handler = d.Metadata[middleware.PoisonedHandlerKey]
	d.Reason = d.Metadata[middleware.ReasonForPoisonedKey]
	if json.Valid(payload) {
		d.Payload = payload
	} else {
		d.Payload, _ = json.Marshal(string(payload))
	}
	return d, nil
}

// RetryDeadLetter puts a dead letter back on its topic and removes it, in
// one transaction.
func RetryDeadLetter(ctx context.Context, db *sql.DB, b Bus, id int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	d, err := scanDead(tx.QueryRowContext(ctx, `SELECT "offset", uuid, created_at, payload, metadata FROM `+deadTable+` WHERE "offset" = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("retry dead letter %d: %w", id, ErrNoDeadLetter)
	}
	if err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	if d.Topic == "" {
		return fmt.Errorf("retry dead letter %d: its original topic is unknown", id)
	}
	var payload []byte
	if err := tx.QueryRowContext(ctx, `SELECT payload FROM `+deadTable+` WHERE "offset" = ?`, id).Scan(&payload); err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	msg := NewMessage(d.Metadata[middleware.CorrelationIDMetadataKey], payload)
	for k, v := range d.Metadata {
		switch k {
		case middleware.ReasonForPoisonedKey, middleware.PoisonedTopicKey, middleware.PoisonedHandlerKey, middleware.PoisonedSubscriberKey:
		default:
			msg.Metadata.Set(k, v)
		}
	}
	if err := b.PublishTx(tx, d.Topic, msg); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+deadTable+` WHERE "offset" = ?`, id); err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	b.Committed()
	return nil
}

// DropDeadLetter deletes a dead letter.
func DropDeadLetter(ctx context.Context, db *sql.DB, id int64) error {
	res, err := db.ExecContext(ctx, `DELETE FROM `+deadTable+` WHERE "offset" = ?`, id)
	if err != nil {
		return fmt.Errorf("drop dead letter %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("drop dead letter %d: %w", id, ErrNoDeadLetter)
	}
	return nil
}
