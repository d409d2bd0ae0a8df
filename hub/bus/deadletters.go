package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// Both backends keep dead letters in a table named like SQLiteSchema's
// (watermill-sql's PostgreSQL schema uses the same name and columns).
var deadTable = SQLiteSchema{}.MessagesTable(TopicDeadLetters)

// DeadLetters reads and replays the dead letters of a hub's bus.
type DeadLetters struct {
	DB *sql.DB
	// Postgres selects $n placeholders.
	Postgres bool
	// Dropped, when set, is told which review a dead letter of the reviews
	// topic was about before Drop deletes it, so that the state records
	// the review's delivery as given up on purpose (the poller's
	// reconciliation would otherwise take the review, with neither ticket
	// nor message, for lost and queue it again). An error keeps the dead
	// letter.
	Dropped func(ctx context.Context, s Subject) error
}

func (dl DeadLetters) byID(q string) string {
	if dl.Postgres {
		return q + ` WHERE "offset" = $1`
	}
	return q + ` WHERE "offset" = ?`
}

const deadColumns = `SELECT "offset", uuid, CAST(created_at AS TEXT), payload, metadata FROM `

// List returns the dead letters, oldest first.
func (dl DeadLetters) List(ctx context.Context) ([]DeadLetter, error) {
	rows, err := dl.DB.QueryContext(ctx, deadColumns+deadTable+` ORDER BY "offset"`)
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
	var md []byte
	if err := row.Scan(&d.Offset, &d.UUID, &d.CreatedAt, &payload, &md); err != nil {
		return d, err
	}
	d.Metadata = map[string]string{}
	if err := json.Unmarshal(md, &d.Metadata); err != nil {
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

// Retry puts a dead letter back on its topic and removes it, in
// one transaction.
func (dl DeadLetters) Retry(ctx context.Context, b Bus, id int64) error {
	tx, err := dl.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	d, err := scanDead(tx.QueryRowContext(ctx, dl.byID(deadColumns+deadTable), id))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("retry dead letter %d: %w", id, ErrNoDeadLetter)
	}
	if err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	if d.Topic == "" {
		return fmt.Errorf("retry dead letter %d: its original topic is unknown", id)
	}
	// The payload is read again as it is: DeadLetter.Payload is the JSON
	// shown to people (a payload that is not JSON is quoted as a string),
	// not the bytes to replay.
	var payload []byte
	if err := tx.QueryRowContext(ctx, dl.byID(`SELECT payload FROM `+deadTable), id).Scan(&payload); err != nil {
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
	if _, err := tx.ExecContext(ctx, dl.byID(`DELETE FROM `+deadTable), id); err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("retry dead letter %d: %w", id, err)
	}
	b.Committed()
	return nil
}

// Drop deletes a dead letter.
func (dl DeadLetters) Drop(ctx context.Context, id int64) error {
	if dl.Dropped != nil {
		d, err := scanDead(dl.DB.QueryRowContext(ctx, dl.byID(deadColumns+deadTable), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("drop dead letter %d: %w", id, ErrNoDeadLetter)
		}
		if err != nil {
			return fmt.Errorf("drop dead letter %d: %w", id, err)
		}
		if review := d.Metadata[MetadataReview]; review != "" && strings.HasPrefix(d.Topic, TopicReviews) {
			if err := dl.Dropped(ctx, Subject{Group: d.Metadata[MetadataGroup], App: d.Metadata[MetadataApp], Review: review}); err != nil {
				return fmt.Errorf("drop dead letter %d: %w", id, err)
			}
		}
	}
	res, err := dl.DB.ExecContext(ctx, dl.byID(`DELETE FROM `+deadTable), id)
	if err != nil {
		return fmt.Errorf("drop dead letter %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("drop dead letter %d: %w", id, ErrNoDeadLetter)
	}
	return nil
}
