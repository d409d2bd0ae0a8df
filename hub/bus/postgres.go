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

// Postgres is the distributed backend: watermill-sql's PostgreSQL schema
// and offsets on the state database, so several hub replicas share the
// work and the outbox still commits with the state change. Each
// subscription (a partition of a topic) is delivered by one replica at a
// time, the one holding its lease, with up to SubscriberConfig.InFlight
// messages of an integration in flight (WindowSubscriber); a replica that
// stops hands its subscriptions over (at once when it stops cleanly, when
// the lease runs out when it is killed).
type Postgres struct {
	db     *sql.DB
	schema wsql.DefaultPostgreSQLSchema
	pub    *wsql.Publisher
	sub    *WindowSubscriber
	logger watermill.LoggerAdapter
}

// NewPostgres returns the PostgreSQL bus on db and creates the tables of
// every topic (AllTopics) and the subscription leases now. Hubs starting
// together race on that creation (PostgreSQL's CREATE TABLE IF NOT EXISTS
// fails on pg_type's unique index when two sessions create the same
// table), so callers run it under the schema lock of the state database
// (state.DB.WithSchemaLock, as app.OpenBus does). Subscribing creates
// nothing more.
func NewPostgres(ctx context.Context, db *sql.DB, logger *slog.Logger, cfg SubscriberConfig) (*Postgres, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPostgresPollInterval // per subscription; only this hub's commits wake it
	}
	if cfg.IdlePollMax <= 0 {
		cfg.IdlePollMax = DefaultPostgresIdlePoll
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wl := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	schema := wsql.DefaultPostgreSQLSchema{}
	offsets := wsql.DefaultPostgreSQLOffsetsAdapter{}
	queries := []string{createLeasesTable, createMembersTable}
	for _, topic := range AllTopics() {
		for _, q := range append(schema.SchemaInitializingQueries(topic), offsets.SchemaInitializingQueries(topic)...) {
			queries = append(queries, q.Query)
		}
	}
	for _, q := range queries {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("bus: create the PostgreSQL bus tables: %w", err)
		}
	}
	pub, err := wsql.NewPublisher(db, wsql.PublisherConfig{SchemaAdapter: schema}, wl)
	if err != nil {
		return nil, fmt.Errorf("bus: postgres publisher: %w", err)
	}
	return &Postgres{db: db, schema: schema, pub: pub, sub: NewPostgresSubscriber(db, cfg, wl), logger: wl}, nil
}

// PublishTx publishes inside tx.
func (b *Postgres) PublishTx(tx wsql.ContextExecutor, topic string, msgs ...*message.Message) error {
	afterCommit(b.sub, tx, topic)
	pub, err := wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: b.schema}, b.logger)
	if err != nil {
		return fmt.Errorf("bus: outbox publisher: %w", err)
	}
	for _, part := range insertChunks(msgs) {
		if err := pub.Publish(topic, part...); err != nil {
			return fmt.Errorf("bus: publish to %s: %w", topic, err)
		}
	}
	return nil
}

// Publisher publishes outside transactions.
func (b *Postgres) Publisher() message.Publisher { return b.pub }

// Subscriber is the windowed subscriber on the PostgreSQL tables.
func (b *Postgres) Subscriber() message.Subscriber { return b.sub }

// RefusedAcks counts the acks refused since the bus was opened because
// they would have passed a message never read (WindowSubscriber.RefusedAcks).
func (b *Postgres) RefusedAcks() int64 { return b.sub.RefusedAcks() }

// Committed wakes this hub's idle subscriptions; other replicas find the
// messages when they poll.
func (b *Postgres) Committed() { b.sub.Wake() }

// Close stops the subscriber.
func (b *Postgres) Close() error { return errors.Join(b.sub.Close(), b.pub.Close()) }
