package bus

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/internal/retry"
	"github.com/reviewhub/reviewhub/hub/internal/stmtcache"
)

// WindowSubscriber delivers a topic's messages to one consumer group: in
// order per order key, up to SubscriberConfig.InFlight at once per group
// (see consume). Unlike watermill-sql's subscriber it holds no
// transaction while a handler runs (SQLite has a single writer, and a
// handler calls plugins over the network): it reads a window of messages,
// hands each out, and records the group's position after the acks in short
// writes. A crash between a handler's effect and the ack redelivers the
// message, so handlers are idempotent (at-least-once delivery,
// exactly-once effect). A nacked message is redelivered after a capped
// exponential backoff with jitter; nothing is skipped. Where the messages
// live is its source: the SQLite tables (one hub), or watermill-sql's
// PostgreSQL tables with a lease per subscription so that one hub at a
// time delivers a partition (several hubs).
type WindowSubscriber struct {
	*subEnv
	src source

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wakes   map[string]chan struct{} // by topic: closed and replaced by Wake and WakeTopic
}

// subEnv is what a subscriber shares with its source: the database with
// the statement cache of the select and ack run for every message, the
// configuration, the logger, and the goroutines Close waits for. The
// source holds this, not the subscriber: it never calls back into it.
type subEnv struct {
	db     *sql.DB
	cfg    SubscriberConfig
	logger watermill.LoggerAdapter
	wg     sync.WaitGroup
	stmts  stmtcache.Cache
	// refused counts acks refused because they would pass a message never
	// read (errPassesUnread): zero unless a read skipped one.
	refused atomic.Int64
}

// newSubEnv returns the environment of a subscriber on db (cfg with its
// defaults).
func newSubEnv(db *sql.DB, cfg SubscriberConfig, logger watermill.LoggerAdapter) *subEnv {
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &subEnv{db: db, cfg: cfg, logger: logger}
}

// position is a place in a topic's order of delivery: the messages after
// it are not yet acknowledged. tx is PostgreSQL's transaction id (0 on
// SQLite, where the offset alone orders the messages).
type position struct{ tx, offset int64 }

// compare orders positions: by transaction id, then offset.
func (p position) compare(o position) int {
	if c := cmp.Compare(p.tx, o.tx); c != 0 {
		return c
	}
	return cmp.Compare(p.offset, o.offset)
}

// row is a message read from a topic, with its place in the topic's order
// of delivery.
type row struct {
	msg *message.Message
	pos position
}

// source is where a WindowSubscriber's messages live.
type source interface {
	// init creates a topic's tables if the backend does so on subscribe.
	init(ctx context.Context, topic string) error
	// acked is the group's acknowledged position.
	acked(ctx context.Context, topic string) (position, error)
	// after reads up to n messages after p, in order of delivery (none
	// when it fails). pending tells that later messages are committed but
	// may not be read yet (PostgreSQL: an earlier transaction still runs):
	// worth looking again in a moment.
	after(ctx context.Context, topic string, p position, n int) (rows []row, pending bool, err error)
	// ack records the group's acknowledged position a.to. A source that
	// can (PostgreSQL) refuses, with an error wrapping errPassesUnread, to
	// move it past a message the subscription never read: more than a.n
	// messages after a.from up to a.to.
	ack(ctx context.Context, topic string, a ackSpan) error
}

// ackSpan is what one ack covers: the messages after from (the position
// the subscription recorded last, or started from) up to to, n of them,
// each read by the subscription, handed out and acknowledged.
type ackSpan struct {
	from, to position
	n        int
}

// errPassesUnread: an ack would move the position past a message the
// subscription never read (so never handed out). Every read's rules
// (docs/performance.md, round 8) say it cannot happen; were it to, the
// ack is refused, the error logged, and the subscription starts again
// from its recorded position, reading the message.
var errPassesUnread = errors.New("the position would pass messages this subscription never read")

// leaser is a source on which several hubs share the work: a subscription
// delivers only while it holds the topic's lease (see Postgres).
type leaser interface {
	// hold runs deliver with a context that ends when the lease is lost,
	// after waiting for the lease; it returns when ctx ends or the
	// subscriber closes.
	hold(ctx context.Context, topic string, closing <-chan struct{}, deliver func(context.Context))
}

func (e *subEnv) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return e.stmts.Prepare(ctx, e.db, q)
}

// newWindowSubscriber returns a subscriber in env reading from src.
func newWindowSubscriber(env *subEnv, src source) *WindowSubscriber {
	return &WindowSubscriber{subEnv: env, src: src, closing: make(chan struct{}), wakes: map[string]chan struct{}{}}
}

// Wake makes every idle subscription look for new messages now.
func (s *WindowSubscriber) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, c := range s.wakes {
		close(c)
		delete(s.wakes, topic)
	}
}

// WakeTopic makes the idle subscriptions of topic look for new messages
// now; the others sleep on.
func (s *WindowSubscriber) WakeTopic(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.wakes[topic]; ok {
		close(c)
		delete(s.wakes, topic)
	}
}

// wakeOf is the channel that the next wake of topic closes.
func (s *WindowSubscriber) wakeOf(topic string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.wakes[topic]
	if !ok {
		c = make(chan struct{})
		s.wakes[topic] = c
	}
	return c
}

// SubscribeInitialize creates the topic's tables.
func (s *WindowSubscriber) SubscribeInitialize(topic string) error {
	return s.src.init(context.Background(), topic)
}

// Subscribe starts delivering the topic's messages.
func (s *WindowSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("subscribe %s: subscriber closed", topic)
	}
	if err := s.src.init(ctx, topic); err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		if l, ok := s.src.(leaser); ok {
			l.hold(ctx, topic, s.closing, func(ctx context.Context) { s.consume(ctx, topic, out) })
			return
		}
		s.consume(ctx, topic, out)
	}()
	return out, nil
}

// entry is a message read from a topic and not yet covered by the
// acknowledged offset.
type entry struct {
	row     row
	group   string
	key     string // "" for a message ordered with every other
	started bool
	done    bool        // acknowledged, as the consume loop knows it
	acked   atomic.Bool // acknowledged, set by the goroutine handing it out
}

// consume keeps a window of up to BatchSize messages after the group's
// acknowledged offset. It hands out every message it may: one whose order
// key has no earlier message pending, whose group has fewer than InFlight
// messages out, and that no earlier message without an order key holds
// back (such a message waits for every earlier one and holds back every
// later one). The acknowledged offset moves over the acked prefix of the
// window, in one write however many messages that covers.
func (s *WindowSubscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	c := &consumer{s: s, topic: topic, out: out, more: true, lastAck: time.Now(),
		logger:   s.logger.With(watermill.LogFields{"topic": topic, "consumer_group": s.cfg.ConsumerGroup}),
		done:     make(chan *entry, s.cfg.BatchSize),
		inFlight: map[string]int{}}
	defer c.ackAtStop(ctx)
	last, ok := c.ackedPosition(ctx)
	if !ok {
		return
	}
	c.last, c.recorded = last, last
	for {
		wake := s.wakeOf(topic) // taken before the read: a commit during it wakes the wait
		c.refill(ctx)
		c.handOutReady(ctx)
		if !c.wait(ctx, wake) || !c.recordAcks(ctx) {
			return
		}
	}
}

// consumer is the state of one consume loop.
type consumer struct {
	s      *WindowSubscriber
	topic  string
	out    chan<- *message.Message
	logger watermill.LoggerAdapter

	wg       sync.WaitGroup // the hand-outs running
	window   []*entry
	last     position       // of the window's last message read
	recorded position       // the position this subscription recorded last (or started from)
	more     bool           // more messages may be waiting to be read
	lastRead time.Time      // when the messages after the window were last read
	failures int            // reads failed in a row
	empty    int            // reads in a row that found nothing
	pending  int            // reads in a row that found messages not readable yet
	done     chan *entry    // messages acked by their hand-out
	inFlight map[string]int // messages handed out and not acked, per group
	lastAck  time.Time      // when the acked position was last recorded
}

// ackAtStop records the acknowledged prefix at a stop, once every hand-out
// has ended, so a clean restart redelivers nothing acknowledged.
func (c *consumer) ackAtStop(ctx context.Context) {
	c.wg.Wait()
	n := 0
	for n < len(c.window) && (c.window[n].done || c.window[n].acked.Load()) {
		n++
	}
	if n == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.s.src.ack(fctx, c.topic, c.span(n)); err != nil {
		c.logger.Error("Recording the last acks at stop failed; those messages will be delivered again", err, nil)
	}
}

// refill reads messages after the window into it. The window is refilled
// in chunks (half a batch at least), or when everything in it has been
// handed out: one read for many messages rather than one per acknowledged
// message.
func (c *consumer) refill(ctx context.Context) {
	batch := c.s.cfg.BatchSize
	room := batch - len(c.window)
	if time.Since(c.lastRead) >= c.nextLook() {
		// Messages committed elsewhere (another hub) wake nobody here:
		// look at least every PollInterval, also while acks keep the loop
		// busy (its timer never fires then).
		c.more = true
	}
	if room <= 0 || !c.more || (room < (batch+1)/2 && !allStarted(c.window)) {
		return
	}
	c.lastRead = time.Now()
	rows, pending, err := c.s.src.after(ctx, c.topic, c.last, room)
	if err != nil {
		c.logger.Error("Reading messages failed; retrying", err, nil)
		c.failures++
	} else {
		c.failures = 0
	}
	c.more = err == nil && len(rows) == room
	if err == nil && len(rows) == 0 && !pending {
		c.empty++
	} else {
		c.empty = 0
	}
	if err == nil && pending {
		c.pending++
	} else {
		c.pending = 0
	}
	for _, r := range rows {
		c.window = append(c.window, &entry{row: r, group: r.msg.Metadata.Get(MetadataGroup), key: r.msg.Metadata.Get(MetadataOrderKey)})
		c.last = r.pos
	}
}

// handOutReady hands out, each in its own goroutine, the messages of the
// window that may go now (start); an acked one comes back on done.
func (c *consumer) handOutReady(ctx context.Context) {
	c.start(func(e *entry) {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if c.handOut(ctx, e) {
				select {
				case c.done <- e:
				case <-ctx.Done():
				case <-c.s.closing:
				}
			}
		}()
	})
}

// wait waits for acks (taking all that came), a wake of the topic, or
// nextLook (a backoff after failed reads); false means stop.
func (c *consumer) wait(ctx context.Context, wake <-chan struct{}) bool {
	d := c.nextLook()
	if c.failures > 0 {
		d = backoff(c.s.cfg.InitialBackoff, c.s.cfg.MaxBackoff, c.failures)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case e := <-c.done:
		c.finish(e)
	drain:
		for {
			select {
			case e := <-c.done:
				c.finish(e)
			default:
				break drain
			}
		}
		// A wake that came with the acks is not lost: the next turn
		// waits on a new channel.
		select {
		case <-wake:
			c.more = true
		default:
		}
	case <-wake:
		c.more = true
	case <-t.C:
		c.more = true
	case <-ctx.Done():
		return false
	case <-c.s.closing:
		return false
	}
	return true
}

// nextLook is how long the subscription waits before it looks for new
// messages again: soon when the last read found messages it could not read
// yet (pendingPoll, doubling up to PollInterval: the transaction holding
// them back is about to end), otherwise idlePoll.
func (c *consumer) nextLook() time.Duration {
	if c.pending > 0 {
		d := pendingPoll
		for i := 1; i < c.pending && d < c.s.cfg.PollInterval; i++ {
			d *= 2
		}
		return min(d, c.s.cfg.PollInterval)
	}
	return c.idlePoll()
}

// pendingPoll is the first wait before messages found pending are looked
// for again.
const pendingPoll = 2 * time.Millisecond

// idlePoll is how long the subscription waits before it looks for new
// messages: PollInterval, doubling with each read in a row that found
// nothing, up to IdlePollMax.
func (c *consumer) idlePoll() time.Duration {
	d, maxD := c.s.cfg.PollInterval, c.s.cfg.IdlePollMax
	for i := 1; i < c.empty && d < maxD; i++ {
		d *= 2
	}
	return min(d, maxD)
}

// recordAcks records the position after the window's acked prefix and
// drops it from the window; false means stop. Acks are recorded for many
// messages at once: when a quarter batch is done, when the whole window
// is, or every ackEvery. A crash redelivers at most those not yet recorded
// (handlers are idempotent); a clean stop records them (ackAtStop).
func (c *consumer) recordAcks(ctx context.Context) bool {
	batch := c.s.cfg.BatchSize
	n := donePrefix(c.window)
	if n == 0 || (n < (batch+3)/4 && n < len(c.window) && time.Since(c.lastAck) < ackEvery) {
		return true
	}
	if !c.ackTo(ctx, c.span(n)) {
		return false
	}
	c.lastAck, c.recorded = time.Now(), c.window[n-1].row.pos
	c.window = c.window[n:]
	return true
}

// span is the ack of the window's first n messages.
func (c *consumer) span(n int) ackSpan {
	return ackSpan{from: c.recorded, to: c.window[n-1].row.pos, n: n}
}

// ackEvery bounds how long the offset of an acknowledged message waits to
// be recorded while others of its window are still in flight (the loop
// runs at least every PollInterval).
const ackEvery = 50 * time.Millisecond

// donePrefix is how many messages at the window's start are acknowledged.
func donePrefix(window []*entry) int {
	n := 0
	for n < len(window) && window[n].done {
		n++
	}
	return n
}

// allStarted tells whether every message of the window has been handed out.
func allStarted(window []*entry) bool {
	for _, e := range window {
		if !e.started && !e.done {
			return false
		}
	}
	return true
}

// finish counts e, acked by its hand-out, as done.
func (c *consumer) finish(e *entry) {
	e.done = true
	c.inFlight[e.group]--
}

// start hands out the messages of the window that may go now (see
// consume), each by run.
func (c *consumer) start(run func(*entry)) {
	inFlight := c.inFlight
	limit := max(1, c.s.cfg.InFlight)
	blocked := map[string]bool{}
	earlierPending := false
	for _, e := range c.window {
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

// ackedPosition reads the group's acknowledged position, retrying until
// it succeeds; false means stop.
func (c *consumer) ackedPosition(ctx context.Context) (position, bool) {
	s := c.s
	for try := 1; ; try++ {
		p, err := s.src.acked(ctx, c.topic)
		if err == nil {
			return p, true
		}
		c.logger.Error("Reading the acknowledged position failed; retrying", err, nil)
		if !s.sleep(ctx, backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, try)) {
			return position{}, false
		}
	}
}

// handOut hands one message out until it is acked (true); a nacked message
// is handed out again after a backoff. False means stop.
func (c *consumer) handOut(ctx context.Context, e *entry) bool {
	s, out, logger := c.s, c.out, c.logger
	for attempt := 1; ; attempt++ {
		msg := e.row.msg.Copy()
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
			e.acked.Store(true)
			return true
		case <-msg.Nacked():
			cancel()
			wait := backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, attempt)
			logger.Info("Message nacked; redelivering later", watermill.LogFields{"uuid": msg.UUID, "attempt": attempt, "wait": wait.String()})
			if !s.sleep(ctx, wait) {
				return false
			}
		case <-ctx.Done():
			// The message's handler is told to stop (its context ends),
			// and waited for: until it acknowledges or refuses the
			// message, the message is still out, and a subscription
			// started again (a lease taken back) must not hand it out a
			// second time. Close does not wait.
			cancel()
			select {
			case <-msg.Acked():
			case <-msg.Nacked():
			case <-s.closing:
			}
			markIfAcked(e, msg)
			return false
		case <-s.closing:
			cancel()
			markIfAcked(e, msg)
			return false
		}
	}
}

// markIfAcked records an ack that came as the subscription stopped.
func markIfAcked(e *entry, msg *message.Message) {
	select {
	case <-msg.Acked():
		e.acked.Store(true)
	default:
	}
}

// ackTo records the group's position a.to, retrying until it succeeds;
// false means stop. An ack refused because it would pass a message never
// read stops the subscription (it is started again from its recorded
// position, and reads that message).
func (c *consumer) ackTo(ctx context.Context, a ackSpan) bool {
	s := c.s
	for try := 1; ; try++ {
		err := s.src.ack(ctx, c.topic, a)
		if err == nil {
			return true
		}
		if errors.Is(err, errPassesUnread) {
			s.refused.Add(1)
			c.logger.Error("Acknowledged position refused: it would pass messages never handed out; reading again from the recorded position",
				err, watermill.LogFields{"offset": a.to.offset, "transaction_id": a.to.tx})
			return false
		}
		c.logger.Error("Recording ack failed; retrying", err, watermill.LogFields{"offset": a.to.offset, "transaction_id": a.to.tx})
		if !s.sleep(ctx, backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, try)) {
			return false
		}
	}
}

func (s *WindowSubscriber) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// RefusedAcks counts the acks this subscriber's source refused since it
// started because they would have moved a position past a message never
// read (errPassesUnread): 0 unless a read skipped one. Each refusal is also
// logged as an error; the hub exports the count as
// reviewhub_bus_acks_refused_total, so a subscription that keeps starting
// over is seen, not only logged.
func (s *WindowSubscriber) RefusedAcks() int64 { return s.refused.Load() }

// Close stops all subscriptions and waits for them.
func (s *WindowSubscriber) Close() error {
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
