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

// Postgres is the distributed backend: watermill-sql's PostgreSQL schema,
// offsets and subscriber on the state database, so several hub replicas
// share the work (each message goes to one replica of the consumer group)
// and the outbox still commits with the state change.
type Postgres struct {
	db     *sql.DB
	schema wsql.DefaultPostgreSQLSchema
	pub    *wsql.Publisher
	sub    *wsql.Subscriber
	logger watermill.LoggerAdapter
}

// NewPostgres returns the PostgreSQL bus on db and creates the tables of
// every topic (AllTopics) now. Hubs starting together race on that
// creation (PostgreSQL's CREATE TABLE IF NOT EXISTS fails on pg_type's
// unique index when two sessions create the same table), so callers run it
// under the schema lock of the state database (state.DB.WithSchemaLock, as
// app.OpenBus does). Subscribing creates nothing more.
func NewPostgres(_ context.Context, db *sql.DB, logger *slog.Logger, cfg SubscriberConfig) (*Postgres, error) {
	wl := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPostgresPollInterval
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	schema := wsql.DefaultPostgreSQLSchema{SubscribeBatchSize: 1}
	sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
		ConsumerGroup:  cfg.ConsumerGroup,
		PollInterval:   cfg.PollInterval,
		ResendInterval: cfg.InitialBackoff,
		RetryInterval:  cfg.InitialBackoff,
		SchemaAdapter:  schema,
		OffsetsAdapter: wsql.DefaultPostgreSQLOffsetsAdapter{},
		// Every topic's tables are created below, once, under the caller's
		// lock; creating them again on Subscribe would run DDL outside it.
		InitializeSchema: false,
	}, wl)
	if err != nil {
		return nil, fmt.Errorf("bus: postgres subscriber: %w", err)
	}
	for _, topic := range AllTopics() {
		if err := sub.SubscribeInitialize(topic); err != nil {
			_ = sub.Close()
			return nil, fmt.Errorf("bus: initialize topic %s: %w", topic, err)
		}
	}
	pub, err := wsql.NewPublisher(db, wsql.PublisherConfig{SchemaAdapter: schema}, wl)
	if err != nil {
		_ = sub.Close()
		return nil, fmt.Errorf("bus: postgres publisher: %w", err)
	}
	return &Postgres{db: db, schema: schema, pub: pub, sub: sub, logger: wl}, nil
}

// PublishTx publishes inside tx.
func (b *Postgres) PublishTx(tx wsql.ContextExecutor, topic string, msgs ...*message.Message) error {
	pub, err := wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: b.schema}, b.logger)
	if err != nil {
		return fmt.Errorf("bus: outbox publisher: %w", err)
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		return fmt.Errorf("bus: publish to %s: %w", topic, err)
	}
	return nil
}

// Publisher publishes outside transactions.
func (b *Postgres) Publisher() message.Publisher { return b.pub }

// Subscriber is watermill-sql's PostgreSQL subscriber.
func (b *Postgres) Subscriber() message.Subscriber { return b.sub }

// Committed does nothing: replicas poll.
func (b *Postgres) Committed() {}

// Close stops the subscriber.
func (b *Postgres) Close() error { return errors.Join(b.sub.Close(), b.pub.Close()) }
