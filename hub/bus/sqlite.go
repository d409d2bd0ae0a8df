package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// SQLiteSchema is a watermill-sql SchemaAdapter for SQLite: one table of
// messages per topic and one of acknowledged offsets per topic and consumer
// group. Messages are inserted with watermill-sql's Publisher, inside the
// caller's transaction when it has one (outbox); they are read and
// acknowledged by the WindowSubscriber's sqliteSource, not by
// watermill-sql's subscriber.
type SQLiteSchema struct{}

var _ wsql.SchemaAdapter = SQLiteSchema{}

func tableName(prefix, topic string) string {
	return `"` + prefix + strings.ReplaceAll(topic, `"`, ``) + `"`
}

// MessagesTable is the table holding a topic's messages.
func (SQLiteSchema) MessagesTable(topic string) string { return tableName("watermill_", topic) }

// OffsetsTable is the table holding a topic's acknowledged offsets.
func (SQLiteSchema) OffsetsTable(topic string) string { return tableName("watermill_offsets_", topic) }

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

// SelectQuery reads the next messages after the group's acknowledged
// offset. Unused: watermill-sql's subscriber, its only caller, is not run
// (the WindowSubscriber reads through sqliteSource); SchemaAdapter requires
// it.
func (s SQLiteSchema) SelectQuery(topic, group string, _ wsql.OffsetsAdapter) wsql.Query {
	return wsql.Query{
		Query: `SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(topic) + `
			WHERE "offset" > COALESCE((SELECT offset_acked FROM ` + s.OffsetsTable(topic) + ` WHERE consumer_group = ?), 0)
			ORDER BY "offset" LIMIT ` + fmt.Sprint(DefaultBatchSize),
		Args: []any{group},
	}
}

// UnmarshalMessage turns a row of a topic's messages table (offset, uuid,
// payload, metadata) into a message.
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

// SubscribeIsolationLevel is the default (SQLite transactions are
// serializable). Unused, as SelectQuery.
func (SQLiteSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelDefault }

// sqliteSource reads a topic's messages from the SQLite tables.
type sqliteSource struct {
	env    *subEnv
	schema SQLiteSchema
}

// NewSQLiteSubscriber returns a subscriber on the SQLite tables of db.
func NewSQLiteSubscriber(db *sql.DB, schema SQLiteSchema, cfg SubscriberConfig, logger watermill.LoggerAdapter) *WindowSubscriber {
	env := newSubEnv(db, cfg, logger)
	return newWindowSubscriber(env, &sqliteSource{env: env, schema: schema})
}

func (q *sqliteSource) init(ctx context.Context, topic string) error {
	return initSchema(ctx, q.env.db, q.schema, topic)
}

func initSchema(ctx context.Context, db *sql.DB, schema SQLiteSchema, topic string) error {
	for _, q := range schema.SchemaInitializingQueries(topic) {
		if _, err := db.ExecContext(ctx, q.Query, q.Args...); err != nil {
			return fmt.Errorf("initialize tables of topic %s: %w", topic, err)
		}
	}
	return nil
}

func (q *sqliteSource) acked(ctx context.Context, topic string) (position, error) {
	st, err := q.env.stmt(ctx, `SELECT COALESCE((SELECT offset_acked FROM `+q.schema.OffsetsTable(topic)+` WHERE consumer_group = ?), 0)`)
	if err != nil {
		return position{}, fmt.Errorf("acknowledged offset of %s: %w", topic, err)
	}
	var off int64
	if err := st.QueryRowContext(ctx, q.env.cfg.ConsumerGroup).Scan(&off); err != nil {
		return position{}, fmt.Errorf("acknowledged offset of %s: %w", topic, err)
	}
	return position{offset: off}, nil
}

// after reads the next messages; on SQLite every committed message may be
// read at once (one writer: offsets commit in order), so none is pending.
func (q *sqliteSource) after(ctx context.Context, topic string, p position, n int) ([]row, bool, error) {
	st, err := q.env.stmt(ctx, `SELECT "offset", uuid, payload, metadata FROM `+q.schema.MessagesTable(topic)+`
		WHERE "offset" > ? ORDER BY "offset" LIMIT ?`)
	if err != nil {
		return nil, false, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	rs, err := st.QueryContext(ctx, p.offset, n)
	if err != nil {
		return nil, false, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		r, err := q.schema.UnmarshalMessage(rs)
		if err != nil {
			return rows, false, err
		}
		rows = append(rows, row{msg: r.Msg, pos: position{offset: r.Offset}})
	}
	return rows, false, rs.Err()
}

// ack moves the group's offset to a.to, forward only. (One hub, one
// writer, offsets in the order of their commits: a read cannot pass a
// message, so the span is not checked.)
func (q *sqliteSource) ack(ctx context.Context, topic string, a ackSpan) error {
	st, err := q.env.stmt(ctx, `INSERT INTO `+q.schema.OffsetsTable(topic)+` (consumer_group, offset_acked) VALUES (?, ?)
		ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = MAX(offset_acked, excluded.offset_acked)`)
	if err != nil {
		return fmt.Errorf("record ack of %s: %w", topic, err)
	}
	if gate := q.env.cfg.WriteGate; gate != nil {
		defer gate(ctx)()
	}
	if _, err := st.ExecContext(ctx, q.env.cfg.ConsumerGroup, a.to.offset); err != nil {
		return fmt.Errorf("record ack of %s: %w", topic, err)
	}
	return nil
}
