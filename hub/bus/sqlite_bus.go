package bus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// SQLite is the embedded backend: messages live in the state database.
type SQLite struct {
	db     *sql.DB
	schema SQLiteSchema
	pub    *wsql.Publisher
	sub    *WindowSubscriber
	logger watermill.LoggerAdapter
}

// NewSQLite returns the embedded bus on the state database db.
func NewSQLite(ctx context.Context, db *sql.DB, logger *slog.Logger, cfg SubscriberConfig) (*SQLite, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wl := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	schema := SQLiteSchema{}
	for _, topic := range AllTopics() {
		if err := initSchema(ctx, db, schema, topic); err != nil {
			return nil, err
		}
	}
	pub, err := wsql.NewPublisher(db, wsql.PublisherConfig{SchemaAdapter: schema}, wl)
	if err != nil {
		return nil, fmt.Errorf("bus: publisher: %w", err)
	}
	return &SQLite{db: db, schema: schema, pub: pub, sub: NewSQLiteSubscriber(db, schema, cfg, wl), logger: wl}, nil
}

// PublishTx publishes inside tx: the schema's insert, run on tx directly
// (a watermill-sql Publisher made for each call cost a tenth of the poll's
// CPU in the benchmark and added nothing: the tables exist, the topics are
// the hub's own).
func (b *SQLite) PublishTx(tx wsql.ContextExecutor, topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	afterCommit(b.sub, tx, topic)
	for _, part := range insertChunks(msgs) {
		q, err := b.schema.InsertQuery(topic, part)
		if err != nil {
			return fmt.Errorf("bus: publish to %s: %w", topic, err)
		}
		if _, err := tx.ExecContext(context.Background(), q.Query, q.Args...); err != nil {
			return fmt.Errorf("bus: publish to %s: %w", topic, err)
		}
	}
	return nil
}

// Publisher publishes outside transactions.
func (b *SQLite) Publisher() message.Publisher { return b.pub }

// Subscriber is the SQLite subscriber.
func (b *SQLite) Subscriber() message.Subscriber { return b.sub }

// Committed wakes idle subscriptions.
func (b *SQLite) Committed() { b.sub.Wake() }

// Close stops the subscriber.
func (b *SQLite) Close() error {
	return errors.Join(b.sub.Close(), b.pub.Close())
}
