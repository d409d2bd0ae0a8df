package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/internal/retry"
	"github.com/reviewhub/reviewhub/hub/internal/stmtcache"
)

// SQLiteSchema is a watermill-sql SchemaAdapter and OffsetsAdapter for
// SQLite: one table of messages per topic and one of acknowledged offsets
// per topic and consumer group. Messages are inserted with watermill-sql's
// Publisher, inside the caller's transaction when it has one (outbox).
type SQLiteSchema struct {
	// BatchSize is how many messages a subscriber reads at once (default 100).
	BatchSize int
}

var (
	_ wsql.SchemaAdapter  = SQLiteSchema{}
	_ wsql.OffsetsAdapter = SQLiteSchema{}
)

func tableName(prefix, topic string) string {
	return `"` + prefix + strings.ReplaceAll(topic, `"`, ``) + `"`
}

// MessagesTable is the table holding a topic's messages.
func (SQLiteSchema) MessagesTable(topic string) string { return tableName("watermill_", topic) }

// OffsetsTable is the table holding a topic's acknowledged offsets.
func (SQLiteSchema) OffsetsTable(topic string) string { return tableName("watermill_offsets_", topic) }

func (s SQLiteSchema) batch() int {
	if s.BatchSize <= 0 {
		return 100
	}
	return s.BatchSize
}

// SchemaInitializingQueries creates the topic's tables.
func (s SQLiteSchema) SchemaInitializingQueries(topic string) []wsql.Query {
	return []wsql.Query{
		{Query: `CREATE TABLE IF NOT EXISTS ` + s.MessagesTable(topic) + ` (
			"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
			uuid TEXT NOT NULL,
			created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
			payload BLOB,
			metadata TEXT
		)`},
		{Query: `CREATE TABLE IF NOT EXISTS ` + s.OffsetsTable(topic) + ` (
			consumer_group TEXT PRIMARY KEY,
			offset_acked INTEGER NOT NULL
		)`},
	}
}

// InsertQuery inserts messages.
func (s SQLiteSchema) InsertQuery(topic string, msgs message.Messages) (wsql.Query, error) {
	marks := make([]string, 0, len(msgs))
	args := make([]any, 0, 3*len(msgs))
	for _, m := range msgs {
		md, err := json.Marshal(m.Metadata)
		if err != nil {
			return wsql.Query{}, fmt.Errorf("encode metadata of message %s: %w", m.UUID, err)
		}
		marks = append(marks, "(?, ?, ?)")
		args = append(args, m.UUID, []byte(m.Payload), string(md))
	}
	return wsql.Query{
		Query: `INSERT INTO ` + s.MessagesTable(topic) + ` (uuid, payload, metadata) VALUES ` + strings.Join(marks, ", "),
		Args:  args,
	}, nil
}

// SelectQuery reads the next messages after the group's acknowledged offset.
func (s SQLiteSchema) SelectQuery(topic, group string, _ wsql.OffsetsAdapter) wsql.Query {
	return wsql.Query{
		Query: `SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(topic) + `
			WHERE "offset" > COALESCE((SELECT offset_acked FROM ` + s.OffsetsTable(topic) + ` WHERE consumer_group = ?), 0)
			ORDER BY "offset" LIMIT ` + fmt.Sprint(s.batch()),
		Args: []any{group},
	}
}

// UnmarshalMessage turns a row of SelectQuery into a message.
func (SQLiteSchema) UnmarshalMessage(row wsql.Scanner) (wsql.Row, error) {
	var r wsql.Row
	var uuid, md string
	if err := row.Scan(&r.Offset, &uuid, &r.Payload, &md); err != nil {
		return wsql.Row{}, fmt.Errorf("scan message row: %w", err)
	}
	r.UUID = []byte(uuid)
	meta := message.Metadata{}
	if md != "" {
		if err := json.Unmarshal([]byte(md), &meta); err != nil {
			return wsql.Row{}, fmt.Errorf("decode metadata of message %s: %w", uuid, err)
		}
	}
	r.Msg = message.NewMessage(uuid, r.Payload)
	r.Msg.Metadata = meta
	return r, nil
}

// SubscribeIsolationLevel is the default (SQLite transactions are serializable).
func (SQLiteSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelDefault }

// AckMessageQuery moves the group's offset to the row.
func (s SQLiteSchema) AckMessageQuery(topic string, row wsql.Row, group string) wsql.Query {
	return wsql.Query{
		Query: `INSERT INTO ` + s.OffsetsTable(topic) + ` (consumer_group, offset_acked) VALUES (?, ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = MAX(offset_acked, excluded.offset_acked)`,
		Args: []any{group, row.Offset},
	}
}

// ConsumedMessageQuery is not needed.
func (SQLiteSchema) ConsumedMessageQuery(string, wsql.Row, string, []byte) wsql.Query {
	return wsql.Query{}
}

// NextOffsetQuery returns the group's acknowledged offset.
func (s SQLiteSchema) NextOffsetQuery(topic, group string) wsql.Query {
	return wsql.Query{
		Query: `SELECT COALESCE((SELECT offset_acked FROM ` + s.OffsetsTable(topic) + ` WHERE consumer_group = ?), 0)`,
		Args:  []any{group},
	}
}

// BeforeSubscribingQueries is not needed.
func (SQLiteSchema) BeforeSubscribingQueries(string, string) []wsql.Query { return nil }

// SQLiteSubscriber delivers a topic's messages to one consumer group: in
// order per order key, up to SubscriberConfig.InFlight at once per group
// (see consume). Unlike watermill-sql's subscriber it holds no
// transaction while a handler runs (SQLite has a single writer, and a
// handler calls plugins over the network): it reads a batch, hands each
// message out, and records the offset in a short write after the ack. A
// crash between a handler's effect and the ack redelivers the message, so
// handlers are idempotent (at-least-once delivery, exactly-once effect).
// A nacked message is redelivered after a capped exponential backoff with
// jitter; nothing is skipped.
type SQLiteSubscriber struct {
	db     *sql.DB
	schema SQLiteSchema
	cfg    SubscriberConfig
	logger watermill.LoggerAdapter

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
	wake    chan struct{}   // closed and replaced by Wake
	stmts   stmtcache.Cache // the select and ack run for every message
}

func (s *SQLiteSubscriber) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return s.stmts.Prepare(ctx, s.db, q)
}

// SubscriberConfig tunes SQLiteSubscriber.
type SubscriberConfig struct {
	ConsumerGroup string
	// PollInterval when idle (default 500ms; commits in this process wake
	// the subscriptions at once, polling only finds other processes' work).
	PollInterval time.Duration
	// Redelivery backoff after a nack: InitialBackoff doubling up to MaxBackoff.
	InitialBackoff time.Duration // default 500ms
	MaxBackoff     time.Duration // default 1m
	// InFlight bounds the messages of one group (an integration, see
	// SetKeys) handed out at once per subscription (default 1). Messages of
	// one order key are still handed out one after the other, in order.
	InFlight int
	// WriteGate, when set, admits the acks' writes one at a time with the
	// other writers of the process on the same SQLite database
	// (state.DB.WriteGate), so they never wait in SQLite's busy handler.
	WriteGate func(context.Context) (release func())
}

// NewSQLiteSubscriber returns a subscriber on db.
func NewSQLiteSubscriber(db *sql.DB, schema SQLiteSchema, cfg SubscriberConfig, logger watermill.LoggerAdapter) *SQLiteSubscriber {
	if cfg.ConsumerGroup == "" {
		cfg.ConsumerGroup = "hub"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &SQLiteSubscriber{db: db, schema: schema, cfg: cfg, logger: logger, closing: make(chan struct{}), wake: make(chan struct{})}
}

// Wake makes idle subscriptions look for new messages now.
func (s *SQLiteSubscriber) Wake() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// SubscribeInitialize creates the topic's tables.
func (s *SQLiteSubscriber) SubscribeInitialize(topic string) error {
	return initSchema(context.Background(), s.db, s.schema, topic)
}

func initSchema(ctx context.Context, db *sql.DB, schema SQLiteSchema, topic string) error {
	for _, q := range schema.SchemaInitializingQueries(topic) {
		if _, err := db.ExecContext(ctx, q.Query, q.Args...); err != nil {
			return fmt.Errorf("initialize tables of topic %s: %w", topic, err)
		}
	}
	return nil
}

// Subscribe starts delivering the topic's messages.
func (s *SQLiteSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("subscribe %s: subscriber closed", topic)
	}
	if err := initSchema(ctx, s.db, s.schema, topic); err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		s.consume(ctx, topic, out)
	}()
	return out, nil
}

// entry is a message read from a topic and not yet covered by the
// acknowledged offset.
type entry struct {
	row     wsql.Row
	group   string
	key     string // "" for a message ordered with every other
	started bool
	done    bool
}

// consume keeps a window of up to BatchSize messages after the group's
// acknowledged offset. It hands out every message it may: one whose order
// key has no earlier message pending, whose group has fewer than InFlight
// messages out, and that no earlier message without an order key holds
// back (such a message waits for every earlier one and holds back every
// later one). The acknowledged offset moves over the acked prefix of the
// window, in one write however many messages that covers.
func (s *SQLiteSubscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	logger := s.logger.With(watermill.LogFields{"topic": topic, "consumer_group": s.cfg.ConsumerGroup})
	var wg sync.WaitGroup
	defer wg.Wait()
	last, ok := s.ackedOffset(ctx, topic, logger)
	if !ok {
		return
	}
	batch := s.schema.batch()
	done := make(chan *entry, batch)
	var window []*entry
	inFlight := map[string]int{}
	more, failures := true, 0
	for {
		s.mu.Lock()
		wake := s.wake
		s.mu.Unlock()
		if room := batch - len(window); room > 0 && more {
			rows, err := s.after(ctx, topic, last, room)
			if err != nil {
				logger.Error("Reading messages failed; retrying", err, nil)
				failures++
			} else {
				failures = 0
			}
			more = err == nil && len(rows) == room
			for _, r := range rows {
				window = append(window, &entry{row: r, group: r.Msg.Metadata.Get(MetadataGroup), key: r.Msg.Metadata.Get(MetadataOrderKey)})
				last = r.Offset
			}
		}
		s.start(ctx, window, inFlight, func(e *entry) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.handOut(ctx, e.row, out, logger) {
					select {
					case done <- e:
					case <-ctx.Done():
					case <-s.closing:
					}
				}
			}()
		})
		wait := s.cfg.PollInterval
		if failures > 0 {
			wait = backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, failures)
		}
		t := time.NewTimer(wait)
		select {
		case e := <-done:
			s.finish(e, inFlight)
		drain:
			for {
				select {
				case e := <-done:
					s.finish(e, inFlight)
				default:
					break drain
				}
			}
		case <-wake:
			more = true
		case <-t.C:
			more = true
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
			return
		}
		t.Stop()
		n := 0
		for n < len(window) && window[n].done {
			n++
		}
		if n == 0 {
			continue
		}
		if !s.ackTo(ctx, topic, window[n-1].row, logger) {
			return
		}
		window = window[n:]
	}
}

func (s *SQLiteSubscriber) finish(e *entry, inFlight map[string]int) {
	e.done = true
	inFlight[e.group]--
}

// start hands out the messages of window that may go now (see consume).
func (s *SQLiteSubscriber) start(_ context.Context, window []*entry, inFlight map[string]int, run func(*entry)) {
	limit := max(1, s.cfg.InFlight)
	blocked := map[string]bool{}
	earlierPending := false
	for _, e := range window {
		if e.done {
			continue
		}
		if e.key == "" {
			if !e.started && !earlierPending {
				e.started = true
				inFlight[e.group]++
				run(e)
			}
			return
		}
		earlierPending = true
		k := e.group + "\x00" + e.key // keys are a group's own
		if e.started || blocked[k] {
			blocked[k] = true
			continue
		}
		blocked[k] = true
		if inFlight[e.group] >= limit {
			continue
		}
		e.started = true
		inFlight[e.group]++
		run(e)
	}
}

// ackedOffset reads the group's acknowledged offset, retrying until it
// succeeds; false means stop.
func (s *SQLiteSubscriber) ackedOffset(ctx context.Context, topic string, logger watermill.LoggerAdapter) (int64, bool) {
	q := s.schema.NextOffsetQuery(topic, s.cfg.ConsumerGroup)
	for try := 1; ; try++ {
		var off int64
		st, err := s.stmt(ctx, q.Query)
		if err == nil {
			err = st.QueryRowContext(ctx, q.Args...).Scan(&off)
		}
		if err == nil {
			return off, true
		}
		logger.Error("Reading the acknowledged offset failed; retrying", err, nil)
		if !s.sleep(ctx, backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, try), false) {
			return 0, false
		}
	}
}

// after reads up to n messages after offset.
func (s *SQLiteSubscriber) after(ctx context.Context, topic string, offset int64, n int) ([]wsql.Row, error) {
	st, err := s.stmt(ctx, `SELECT "offset", uuid, payload, metadata FROM `+s.schema.MessagesTable(topic)+`
		WHERE "offset" > ? ORDER BY "offset" LIMIT ?`)
	if err != nil {
		return nil, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	rs, err := st.QueryContext(ctx, offset, n)
	if err != nil {
		return nil, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	defer rs.Close()
	var rows []wsql.Row
	for rs.Next() {
		r, err := s.schema.UnmarshalMessage(rs)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, rs.Err()
}

// handOut hands one message out until it is acked (true); a nacked message
// is handed out again after a backoff. False means stop.
func (s *SQLiteSubscriber) handOut(ctx context.Context, row wsql.Row, out chan<- *message.Message, logger watermill.LoggerAdapter) bool {
	for attempt := 1; ; attempt++ {
		msg := row.Msg.Copy()
		msgCtx, cancel := context.WithCancel(ctx)
		msg.SetContext(msgCtx)
		select {
		case out <- msg:
		case <-ctx.Done():
			cancel()
			return false
		case <-s.closing:
			cancel()
			return false
		}
		select {
		case <-msg.Acked():
			cancel()
			return true
		case <-msg.Nacked():
			cancel()
			wait := backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, attempt)
			logger.Info("Message nacked; redelivering later", watermill.LogFields{"uuid": msg.UUID, "attempt": attempt, "wait": wait.String()})
			if !s.sleep(ctx, wait, false) {
				return false
			}
		case <-ctx.Done():
			cancel()
			return false
		case <-s.closing:
			cancel()
			return false
		}
	}
}

// ackTo records the group's offset at row, retrying until it succeeds;
// false means stop.
func (s *SQLiteSubscriber) ackTo(ctx context.Context, topic string, row wsql.Row, logger watermill.LoggerAdapter) bool {
	for try := 1; ; try++ {
		err := s.ack(ctx, topic, row)
		if err == nil {
			return true
		}
		logger.Error("Recording ack failed; retrying", err, watermill.LogFields{"offset": row.Offset})
		if !s.sleep(ctx, backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, try), false) {
			return false
		}
	}
}

func (s *SQLiteSubscriber) ack(ctx context.Context, topic string, row wsql.Row) error {
	q := s.schema.AckMessageQuery(topic, row, s.cfg.ConsumerGroup)
	st, err := s.stmt(ctx, q.Query)
	if err != nil {
		return err
	}
	if s.cfg.WriteGate != nil {
		defer s.cfg.WriteGate(ctx)()
	}
	_, err = st.ExecContext(ctx, q.Args...)
	return err
}

func (s *SQLiteSubscriber) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake chan struct{}
	if wakeable {
		s.mu.Lock()
		wake = s.wake
		s.mu.Unlock()
	}
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// Close stops all subscriptions and waits for them.
func (s *SQLiteSubscriber) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.stmts.Close()
	return nil
}

// backoff is min(initial*2^(n-1), max) with ±20% jitter.
func backoff(initial, maxD time.Duration, n int) time.Duration {
	return retry.Jitter(retry.Backoff(initial, maxD, n), 0.2)
}
