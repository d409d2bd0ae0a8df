// Package bus is the hub's durable message path on Watermill: topics and
// partitions (topics.go), the outbox (publishing inside a state
// transaction), the backends (SQLite: sqlite_bus.go with its schema and
// subscriber in sqlite.go; PostgreSQL: postgres.go), the router and its
// middleware (router.go, middleware.go: retry, poison queue to the dead
// letters, correlation ids), the one decision whether an error is
// permanent (errors.go), typed handlers (handler.go) and the dead letters.
// Handlers are plain Watermill handler functions and never know the backend.
package bus

import (
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

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
	// (lets this process deliver them without waiting for a poll); it
	// wakes every subscription. PublishTx arranges a wake of the topic's
	// subscriptions alone by itself when tx has an OnCommit hook (as the
	// state's transactions do); a caller with a bare *sql.Tx calls it.
	Committed()
	Close() error
}

// committer is a transaction that runs hooks after it commits.
type committer interface{ OnCommit(func()) }

// afterCommit makes tx wake the subscriptions of topic once it commits,
// when it can: only those (a commit that publishes a review must not make
// every idle partition of every topic read its table).
func afterCommit(s *WindowSubscriber, tx wsql.ContextExecutor, topic string) {
	if c, ok := tx.(committer); ok {
		c.OnCommit(func() { s.WakeTopic(topic) })
	}
}
