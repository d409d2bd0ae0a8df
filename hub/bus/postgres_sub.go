package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/state"
)

// leasesTable holds which hub delivers each subscription (topic and
// consumer group) of the PostgreSQL bus, and until when: one kind of the
// state's lease (state.LeaseTable), by the server's clock, a row per
// lease, without a fence (a holder that lost its lease only records acks,
// which never move the position back).
const leasesTable = `"watermill_subscription_leases"`

var subscriptionLeases = state.LeaseTable{Table: leasesTable, Key: []string{"topic", "consumer_group"},
	OwnerColumn: "owner", UntilColumn: "until", Timestamp: true, OwnRows: true}

const createLeasesTable = `CREATE TABLE IF NOT EXISTS ` + leasesTable + ` (
	topic TEXT NOT NULL,
	consumer_group TEXT NOT NULL,
	owner TEXT NOT NULL,
	until TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (topic, consumer_group)
)`

// membersTable lists the processes delivering each consumer group of the
// PostgreSQL bus, each until its membership runs out unless renewed: how
// many hubs share the subscriptions (fair share, see pgSource.hold).
const membersTable = `"watermill_subscription_members"`

const createMembersTable = `CREATE TABLE IF NOT EXISTS ` + membersTable + ` (
	consumer_group TEXT NOT NULL,
	owner TEXT NOT NULL,
	until TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (consumer_group, owner)
)`

// pgSource reads a topic's messages from watermill-sql's PostgreSQL tables
// (so messages queued by earlier versions are delivered) in their order:
// by transaction id, then offset, and only below the oldest transaction
// still running, as watermill-sql's own subscriber does, because offsets
// of concurrent transactions commit out of order. One hub at a time
// delivers a subscription: the one holding its lease (hold).
type pgSource struct {
	env     *subEnv
	schema  wsql.DefaultPostgreSQLSchema
	offsets wsql.DefaultPostgreSQLOffsetsAdapter
	// owner names this process in the leases: SubscriberConfig.Owner (the
	// same across restarts) and an id of its own, so that two processes
	// given the same Owner never both hold a lease (state.Owner).
	owner  state.Owner
	leases *state.Leases

	// Fair share: with N live hubs, this one holds at most
	// ceil(subscriptions/N) leases of each work topic (its partitions
	// together: a share of the reviews' partitions, not only of their
	// number); it takes no lease beyond that and hands over what it holds
	// above it (at a renewal, after the messages in flight), so the
	// partitions spread over the hubs without a coordinator, within a few
	// renewals of a hub joining or leaving.
	join   sync.Once
	shares sync.Mutex
	subs   map[string]int64 // subscriptions of this process (hold loops), by work topic
	held   map[string]int64 // leases held, or being taken, by work topic
	peers  atomic.Int64     // live hubs of the consumer group, this one included

	// rowRead, when set (tests only), runs after each message row a read
	// scanned, with how many it scanned so far: a test cancels the read
	// there, halfway through its rows.
	rowRead func(n int)
	// readFilter, when set (tests only), may change what a read returns:
	// a test makes a read skip messages, which no read must ever do, to
	// hold the ack's own check (see ack).
	readFilter func(rows []row) []row
}

// NewPostgresSubscriber returns a subscriber on watermill-sql's PostgreSQL
// tables of db (created by NewPostgres).
func NewPostgresSubscriber(db *sql.DB, cfg SubscriberConfig, logger watermill.LoggerAdapter) *WindowSubscriber {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPostgresPollInterval
	}
	env := newSubEnv(db, cfg, logger)
	owner := state.NewOwner(env.cfg.Owner)
	src := &pgSource{env: env, owner: owner, leases: state.NewLeases(db, state.Postgres, subscriptionLeases, owner),
		subs: map[string]int64{}, held: map[string]int64{}}
	return newWindowSubscriber(env, src)
}

// init creates nothing: NewPostgres creates every topic's tables once,
// under the state's schema lock.
func (*pgSource) init(context.Context, string) error { return nil }

func (q *pgSource) acked(ctx context.Context, topic string) (position, error) {
	st, err := q.env.stmt(ctx, `SELECT offset_acked, last_processed_transaction_id::text FROM `+
		q.offsets.MessagesOffsetsTable(topic)+` WHERE consumer_group = $1`)
	if err != nil {
		return position{}, fmt.Errorf("acknowledged position of %s: %w", topic, err)
	}
	var off sql.NullInt64
	var tx string
	err = st.QueryRowContext(ctx, q.env.cfg.ConsumerGroup).Scan(&off, &tx)
	if errors.Is(err, sql.ErrNoRows) {
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("acknowledged position of %s: %w", topic, err)
	}
	id, err := strconv.ParseInt(tx, 10, 64)
	if err != nil {
		return position{}, fmt.Errorf("acknowledged position of %s: transaction id %q: %w", topic, tx, err)
	}
	return position{tx: id, offset: off.Int64}, nil
}

// after reads up to n messages after p that may be delivered: those of
// transactions below the oldest one still running (later ones may yet be
// preceded by a message of a transaction that has not committed). pending
// tells that messages after them are committed but not yet below that
// horizon: they may be read in a moment, not at the next idle poll. One
// statement: the messages, and at most one row of NULLs when some are
// pending.
func (q *pgSource) after(ctx context.Context, topic string, p position, n int) ([]row, bool, error) {
	t := q.schema.MessagesTable(topic)
	st, err := q.env.stmt(ctx, `(SELECT "offset", transaction_id::text, uuid, payload, metadata FROM `+t+`
		WHERE (transaction_id, "offset") > ($1::text::xid8, $2)
		AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id, "offset" LIMIT $3)
		UNION ALL
		(SELECT NULL, NULL, NULL, NULL, NULL FROM `+t+`
		WHERE (transaction_id, "offset") > ($1::text::xid8, $2)
		AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot()) LIMIT 1)`)
	if err != nil {
		return nil, false, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	rs, err := st.QueryContext(ctx, strconv.FormatInt(p.tx, 10), p.offset, n)
	if err != nil {
		return nil, false, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	defer rs.Close()
	var rows []row
	pending := false
	for rs.Next() {
		var off sql.NullInt64
		var tx, uuid sql.NullString
		var payload, meta []byte
		if err := rs.Scan(&off, &tx, &uuid, &payload, &meta); err != nil {
			return nil, false, fmt.Errorf("read a message of %s: %w", topic, err)
		}
		if !off.Valid {
			pending = true
			continue
		}
		id, err := strconv.ParseInt(tx.String, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("read message %s of %s: transaction id %q: %w", uuid.String, topic, tx.String, err)
		}
		r := row{msg: message.NewMessage(uuid.String, payload), pos: position{tx: id, offset: off.Int64}}
		if len(meta) > 0 {
			if err := json.Unmarshal(meta, &r.msg.Metadata); err != nil {
				return nil, false, fmt.Errorf("decode metadata of message %s of %s: %w", uuid.String, topic, err)
			}
		}
		rows = append(rows, r)
		if q.rowRead != nil {
			q.rowRead(len(rows))
		}
	}
	if err := rs.Err(); err != nil {
		// Never the rows scanned before the failure: a read delivers
		// all it selected or nothing (a prefix would also be safe, being
		// in order, but nothing is simpler to reason about).
		return nil, false, fmt.Errorf("query messages of %s: %w", topic, err)
	}
	// The branches of a UNION ALL come in order; should a plan ever mix
	// them, the messages are put in order again.
	slices.SortFunc(rows, func(a, b row) int { return a.pos.compare(b.pos) })
	if q.readFilter != nil {
		rows = q.readFilter(rows)
	}
	return rows, pending, nil
}

// ack moves the group's position forward only: a hub that lost its lease
// while a handler ran may still record an ack, and must not move the
// position back over what the new holder acknowledged. It commits without
// waiting for the WAL flush (synchronous_commit off for its own
// transaction, as state.AsyncCommit): an ack lost in a crash of the server
// only delivers its messages again, and handlers are idempotent.
//
// The same statement counts the messages after a.from up to a.to and
// moves the position only when there are no more than the a.n the
// subscription read and saw acknowledged: a position never passes a
// message no handler of this subscription was given (fewer is fine: an
// old holder's range may have been pruned after a newer holder passed
// it). More means a read skipped a message — which the read's rules
// exclude (docs/performance.md, round 8) — and the ack is refused
// (errPassesUnread) instead of losing it.
func (q *pgSource) ack(ctx context.Context, topic string, a ackSpan) error {
	st, err := q.env.stmt(ctx, `WITH seen AS (
			SELECT count(*) AS n FROM `+q.schema.MessagesTable(topic)+`
			WHERE (transaction_id, "offset") > ($4::text::xid8, $5) AND (transaction_id, "offset") <= ($3::text::xid8, $2)
		), moved AS (
			INSERT INTO `+q.offsets.MessagesOffsetsTable(topic)+` AS o
			(consumer_group, offset_acked, last_processed_transaction_id)
			SELECT $1, $2, $3::text::xid8 FROM seen, (SELECT set_config('synchronous_commit', 'off', true)) async
			WHERE seen.n <= $6
			ON CONFLICT (consumer_group) DO UPDATE
			SET offset_acked = excluded.offset_acked, last_processed_transaction_id = excluded.last_processed_transaction_id
			WHERE (o.last_processed_transaction_id, o.offset_acked) < (excluded.last_processed_transaction_id, excluded.offset_acked)
		)
		SELECT n FROM seen`)
	if err != nil {
		return fmt.Errorf("record ack of %s: %w", topic, err)
	}
	var n int64
	if err := st.QueryRowContext(ctx, q.env.cfg.ConsumerGroup, a.to.offset, strconv.FormatInt(a.to.tx, 10),
		strconv.FormatInt(a.from.tx, 10), a.from.offset, a.n).Scan(&n); err != nil {
		return fmt.Errorf("record ack of %s: %w", topic, err)
	}
	if n > int64(a.n) {
		return fmt.Errorf("record ack of %s at offset %d, transaction %d: %d messages after offset %d, transaction %d, %d of them read: %w",
			topic, a.to.offset, a.to.tx, n, a.from.offset, a.from.tx, a.n, errPassesUnread)
	}
	return nil
}

// hold delivers topic while this hub holds its lease: it waits for the
// lease, renews it every third of SubscriberConfig.Lease while deliver
// runs, ends deliver's context when a renewal fails (another hub may take
// the subscription once the lease has run out), and releases the lease
// when deliver ends, so another hub takes over at once after a clean stop.
func (q *pgSource) hold(ctx context.Context, topic string, closing <-chan struct{}, deliver func(context.Context)) {
	cfg := q.env.cfg
	logger := q.env.logger.With(watermill.LogFields{"topic": topic, "consumer_group": cfg.ConsumerGroup, "owner": q.owner.String()})
	idle := max(cfg.PollInterval, cfg.Lease/15)
	// A lease held under this hub's Owner by another process is its
	// predecessor's (killed before it could release it): taken back at
	// once, not when it runs out. (Were it a second live process given the
	// same Owner, that one's next renewal fails and it stops delivering.)
	if err := q.releasePredecessor(ctx, topic); err != nil && ctx.Err() == nil {
		logger.Error("Releasing a predecessor's subscription lease failed; it is taken when it runs out", err, nil)
	}
	work := BaseTopic(topic)
	q.count(q.subs, work, 1)
	defer q.count(q.subs, work, -1)
	q.join.Do(func() { q.startMembership(closing) })
	for {
		if q.reserve(work) {
			held, err := q.takeWithin(ctx, topic, cfg.Lease/3)
			if err != nil && ctx.Err() == nil {
				logger.Error("Taking the subscription lease failed; retrying", err, nil)
			}
			if held {
				logger.Debug("Subscription lease taken", nil)
				q.deliverHolding(ctx, topic, closing, deliver, logger)
			} else {
				q.count(q.held, work, -1)
			}
		}
		t := time.NewTimer(idle)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-closing:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (q *pgSource) deliverHolding(ctx context.Context, topic string, closing <-chan struct{}, deliver func(context.Context), logger watermill.LoggerAdapter) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		deliver(lctx)
	}()
	lease := q.env.cfg.Lease
	renew := time.NewTicker(lease / 3)
	defer renew.Stop()
	renewed := time.Now() // the lease was just taken
	handed := false       // given up to even out the hubs' shares
	lost := false         // not renewed in time: another hub may hold it
	work := BaseTopic(topic)
	defer func() {
		if !handed {
			q.count(q.held, work, -1)
		}
	}()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-renew.C:
			if held, ok := q.shed(work); ok {
				handed = true
				logger.Info("Handing the subscription over to even out the hubs' shares", watermill.LogFields{
					"hubs": q.peers.Load(), "held": held})
				break loop
			}
			held, err := q.takeWithin(lctx, topic, lease/3)
			switch {
			case held:
				renewed = time.Now()
				continue
			case lctx.Err() != nil:
				break loop
			case err != nil && time.Since(renewed) < lease*2/3:
				// The database did not answer: the lease still runs
				// until renewed+lease, so delivery goes on while a
				// renewal may still come in time.
				logger.Error("Renewing the subscription lease failed; trying again", err, nil)
				continue
			}
			logger.Error("Subscription lease lost; another hub may deliver it now", err, nil)
			lost = true
			cancel()
		}
	}
	cancel()
	// deliver returns once every message it handed out was acknowledged
	// or refused (their contexts are cancelled): only then may this hub
	// take the lease again and read the window anew, so no message is
	// out twice in this hub. A lease still held (handed over, or a stop)
	// is renewed meanwhile, so that no other hub takes it while a handler
	// here finishes.
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-renew.C:
			if !lost {
				if held, _ := q.takeWithin(context.WithoutCancel(ctx), topic, lease/3); !held {
					lost = true
				}
			}
		}
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := q.release(rctx, topic); err != nil {
		logger.Error("Releasing the subscription lease failed; another hub takes it when it runs out", err, nil)
	}
}

// count adds d to the work topic's count in m.
func (q *pgSource) count(m map[string]int64, work string, d int64) {
	q.shares.Lock()
	defer q.shares.Unlock()
	m[work] += d
}

// fairShare is how many leases of a work topic this process should hold
// at most: its subscriptions of the topic divided by the live hubs,
// rounded up (so that every subscription has a hub). Called with shares
// locked.
func (q *pgSource) fairShare(work string) int64 {
	n := max(q.peers.Load(), 1)
	return (q.subs[work] + n - 1) / n
}

// reserve counts a lease of a work topic about to be taken, if this
// process holds fewer than its fair share of the topic.
func (q *pgSource) reserve(work string) bool {
	q.shares.Lock()
	defer q.shares.Unlock()
	if q.held[work] >= q.fairShare(work) {
		return false
	}
	q.held[work]++
	return true
}

// shed uncounts a held lease of a work topic to hand over, if this process
// holds more than its fair share of the topic; it returns how many it
// holds then.
func (q *pgSource) shed(work string) (int64, bool) {
	q.shares.Lock()
	defer q.shares.Unlock()
	if q.held[work] <= q.fairShare(work) {
		return q.held[work], false
	}
	q.held[work]--
	return q.held[work], true
}

// startMembership records this process as a live hub of the consumer group
// and counts the live hubs now, then every third of the lease until the
// subscriber closes, when the membership is removed (the others take their
// larger share at once).
func (q *pgSource) startMembership(closing <-chan struct{}) {
	cfg := q.env.cfg
	beat := func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Lease/3)
		defer cancel()
		if n, err := q.renewMembership(ctx); err != nil {
			q.env.logger.Error("Renewing the bus membership failed; sharing by the last count", err, nil)
		} else {
			q.peers.Store(n)
		}
	}
	beat()
	q.env.wg.Add(1)
	go func() {
		defer q.env.wg.Done()
		t := time.NewTicker(cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-closing:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, err := q.env.db.ExecContext(ctx, `DELETE FROM `+membersTable+` WHERE consumer_group = $1 AND owner = $2`,
					cfg.ConsumerGroup, q.owner.String()); err != nil {
					q.env.logger.Error("Leaving the bus membership failed; it runs out", err, nil)
				}
				return
			case <-t.C:
				beat()
			}
		}
	}()
}

// renewMembership renews this process's membership (ending a killed
// predecessor's, and dropping long-expired ones) and counts the live hubs.
func (q *pgSource) renewMembership(ctx context.Context) (int64, error) {
	cfg := q.env.cfg
	tx, err := q.env.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("bus membership: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+membersTable+` WHERE consumer_group = $1 AND owner <> $2
		AND (left(owner, length($3)) = $3 OR until < now() - $4 * interval '1 millisecond')`,
		cfg.ConsumerGroup, q.owner.String(), q.owner.Name+"#", cfg.Lease.Milliseconds()); err != nil {
		return 0, fmt.Errorf("bus membership: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+membersTable+` (consumer_group, owner, until)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (consumer_group, owner) DO UPDATE SET until = excluded.until`,
		cfg.ConsumerGroup, q.owner.String(), cfg.Lease.Milliseconds()); err != nil {
		return 0, fmt.Errorf("bus membership: %w", err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+membersTable+` WHERE consumer_group = $1 AND until > now()`,
		cfg.ConsumerGroup).Scan(&n); err != nil {
		return 0, fmt.Errorf("bus membership: %w", err)
	}
	return n, tx.Commit()
}

// takeWithin is take bounded by d: a database that does not answer must
// not hold a renewal past the lease's end.
func (q *pgSource) takeWithin(ctx context.Context, topic string, d time.Duration) (bool, error) {
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return q.take(tctx, topic)
}

// take takes or renews the lease: true when this hub holds it now.
func (q *pgSource) take(ctx context.Context, topic string) (bool, error) {
	_, held, err := q.leases.Take(ctx, time.Now(), q.env.cfg.Lease, topic, q.env.cfg.ConsumerGroup)
	if err != nil {
		return false, fmt.Errorf("lease of %s: %w", topic, err)
	}
	return held, nil
}

func (q *pgSource) release(ctx context.Context, topic string) error {
	if _, err := q.leases.Release(ctx, state.Lease{Owner: q.owner}, topic, q.env.cfg.ConsumerGroup); err != nil {
		return fmt.Errorf("release lease of %s: %w", topic, err)
	}
	return nil
}

// releasePredecessor ends the lease of topic held under this hub's Owner by
// another process.
func (q *pgSource) releasePredecessor(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, q.env.cfg.Lease/3)
	defer cancel()
	if _, err := q.leases.ReleasePredecessors(ctx, topic, q.env.cfg.ConsumerGroup); err != nil {
		return fmt.Errorf("release the predecessor's lease of %s: %w", topic, err)
	}
	return nil
}
