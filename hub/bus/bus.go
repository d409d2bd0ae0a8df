// Package bus is the hub's durable message path on Watermill: topics, the
// outbox (publishing inside a state transaction), the subscriber and the
// router with retry, poison-queue (dead letters) and correlation middleware.
// Handlers are plain Watermill handler functions and never know the backend.
package bus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reviewhub/reviewhub/sdk"
)

// Topics.
const (
	TopicReviews      = "reviews"
	TopicReplies      = "replies"
	TopicReplyResults = "reply_results"
	TopicDeadLetters  = "dead_letters"
)

// Partitions of each work topic. Messages of one key (an integration) go to
// one partition, in order; partitions are consumed concurrently, so an
// integration whose helpdesk or store is slow or rate-limiting holds back
// only the integrations that share its partition. Fixed: changing it would
// strand messages queued in the old partitions.
const Partitions = 8

// Partition is the topic of key's partition of topic (partition 0 is the
// topic itself).
func Partition(topic, key string) string {
	return PartitionTopic(topic, PartitionOf(key))
}

// PartitionOf is key's partition number.
func PartitionOf(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % Partitions)
}

// PartitionTopic is the topic of partition n of topic.
func PartitionTopic(topic string, n int) string {
	if n == 0 {
		return topic
	}
	return fmt.Sprintf("%s_p%d", topic, n)
}

// AllTopics are every topic and partition the bus keeps.
func AllTopics() []string {
	var out []string
	for _, t := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
		for n := range Partitions {
			out = append(out, PartitionTopic(t, n))
		}
	}
	return append(out, TopicDeadLetters)
}

// Bus is a Watermill backend with an outbox.
type Bus interface {
	// PublishTx publishes messages inside tx (a *sql.Tx or anything that
	// executes in one, such as state.Tx with its statement cache): they are
	// delivered only if tx commits.
	PublishTx(tx wsql.ContextExecutor, topic string, msgs ...*message.Message) error
	// Publisher publishes outside any transaction (dead letters, replays).
	Publisher() message.Publisher
	// Subscriber delivers messages to the router.
	Subscriber() message.Subscriber
	// Committed tells the bus that a transaction with messages committed
	// (lets an embedded backend deliver them without waiting for a poll).
	// PublishTx arranges it by itself when tx has an OnCommit hook (as the
	// state's transactions do); a caller with a bare *sql.Tx calls it.
	Committed()
	Close() error
}

// SQLite is the embedded backend: messages live in the state database.
type SQLite struct {
	db     *sql.DB
	schema SQLiteSchema
	pub    *wsql.Publisher
	sub    *SQLiteSubscriber
	logger watermill.LoggerAdapter
}

// NewSQLite returns the embedded bus on the state database db.
func NewSQLite(ctx context.Context, db *sql.DB, logger *slog.Logger, cfg SubscriberConfig) (*SQLite, error) {
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

// committer is a transaction that runs hooks after it commits.
type committer interface{ OnCommit(func()) }

// afterCommit makes tx call b.Committed once it commits, when it can.
func afterCommit(b Bus, tx wsql.ContextExecutor) {
	if c, ok := tx.(committer); ok {
		c.OnCommit(b.Committed)
	}
}

// PublishTx publishes inside tx: the schema's insert, run on tx directly
// (a watermill-sql Publisher made for each call cost a tenth of the poll's
// CPU in the benchmark and added nothing: the tables exist, the topics are
// the hub's own).
func (b *SQLite) PublishTx(tx wsql.ContextExecutor, topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	afterCommit(b, tx)
	q, err := b.schema.InsertQuery(topic, msgs)
	if err != nil {
		return fmt.Errorf("bus: publish to %s: %w", topic, err)
	}
	if _, err := tx.ExecContext(context.Background(), q.Query, q.Args...); err != nil {
		return fmt.Errorf("bus: publish to %s: %w", topic, err)
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

// RouterConfig tunes the router's middleware.
type RouterConfig struct {
	// Retries in the handler before the message is nacked (and redelivered
	// later with the subscriber's backoff). Default 3.
	Retries       int
	RetryInitial  time.Duration // default 200ms
	RetryMax      time.Duration // default 5s
	MaxRetryAfter time.Duration // longest "retry after" honoured in a handler (default 2m)
	CloseTimeout  time.Duration // default 30s
}

// NewRouter returns a router with the hub's middleware: correlation ids,
// panic recovery, dead letters for permanent errors, in-handler retries with
// backoff for transient ones, and waiting out a plugin's "retry after".
func NewRouter(b Bus, logger *slog.Logger, cfg RouterConfig) (*message.Router, error) {
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.RetryInitial == 0 {
		cfg.RetryInitial = 200 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Second
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 2 * time.Minute
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	wl := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wl)
	if err != nil {
		return nil, fmt.Errorf("bus: router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(b.Publisher(), TopicDeadLetters, IsPermanent)
	if err != nil {
		return nil, fmt.Errorf("bus: poison queue: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:          cfg.Retries,
		InitialInterval:     cfg.RetryInitial,
		MaxInterval:         cfg.RetryMax,
		Multiplier:          2,
		RandomizationFactor: 0.2,
		Logger:              wl,
		ShouldRetry:         func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
	}
	r.AddMiddleware(
		middleware.CorrelationID,
		logFailures(logger),
		middleware.Recoverer,
		poison,
		retry.Middleware,
		waitRetryAfter(cfg.MaxRetryAfter),
	)
	return r, nil
}

// IsPermanent reports whether an error can never succeed on retry: such
// messages go to the dead letters with the reason. It is the hub's one
// decision: a plugin's error is permanent by its kind (sdk.ErrorKind's
// Permanent), the hub's own (a malformed message, a vanished integration)
// when wrapped with Permanent.
func IsPermanent(err error) bool {
	var perm *PermanentError
	if errors.As(err, &perm) {
		return true
	}
	return sdk.KindOf(err).Permanent()
}

// PermanentError marks a handler error that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }

// waitRetryAfter sleeps for a plugin's "retry after" before the error goes
// on to the retry middleware, so a rate-limited vendor is not hammered.
func waitRetryAfter(maxWait time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if d := sdk.RetryAfterOf(err); d > 0 {
				d = min(d, maxWait)
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
				case <-msg.Context().Done():
				}
			}
			return out, err
		}
	}
}

func logFailures(logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil {
				level := slog.LevelWarn
				if IsPermanent(err) {
					level = slog.LevelError
				}
				logger.Log(msg.Context(), level, "message handling failed",
					"handler", message.HandlerNameFromCtx(msg.Context()),
					"topic", message.SubscribeTopicFromCtx(msg.Context()),
					"message_uuid", msg.UUID,
					"correlation_id", middleware.MessageCorrelationID(msg),
					"permanent", IsPermanent(err),
					"error", err)
			}
			return out, err
		}
	}
}

// Metadata naming a message's group and order key (SetKeys).
const (
	MetadataGroup    = "rh_group"
	MetadataOrderKey = "rh_order_key"
)

// SetKeys names msg's group (whose messages in flight at once are bounded
// by SubscriberConfig.InFlight: an integration) and its order key (messages
// of one key are handled one after the other, in order: a review). A
// message without an order key is handled strictly in order with every
// message of its partition, as all messages were before keys existed (and
// as messages queued then still are).
func SetKeys(msg *message.Message, group, orderKey string) {
	if group != "" {
		msg.Metadata.Set(MetadataGroup, group)
	}
	if orderKey != "" {
		msg.Metadata.Set(MetadataOrderKey, orderKey)
	}
}

// NewMessage returns a message with a fresh uuid and the correlation id.
func NewMessage(correlationID string, payload []byte) *message.Message {
	msg := message.NewMessage(watermill.NewUUID(), payload)
	if correlationID == "" {
		// A UUID, not watermill's short UUID: its base-57 encoding (big
		// integer division) was a few percent of the hub's CPU when
		// queueing reviews.
		correlationID = watermill.NewUUID()
	}
	middleware.SetCorrelationID(correlationID, msg)
	return msg
}

// CorrelationID of a message.
func CorrelationID(msg *message.Message) string { return middleware.MessageCorrelationID(msg) }
