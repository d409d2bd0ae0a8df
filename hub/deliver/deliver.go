// Package deliver carries the hub's two journeys over the bus: review
// changes to the helpdesk, staff replies to the store, and reply outcomes
// back to the ticket. Every external effect is idempotent by key, so
// at-least-once delivery gives an exactly-once effect.
package deliver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Plugins resolves plugins by name.
type Plugins interface {
	Store(name string) (sdk.Store, sdk.Info, error)
	Helpdesk(name string) (sdk.Helpdesk, sdk.Info, error)
}

// ReviewMsg is a review change on its way to the helpdesk.
type ReviewMsg struct {
	IntegrationID string           `json:"integration_id"`
	AppID         string           `json:"app_id"`
	Version       int              `json:"version"`
	Change        sdk.ReviewChange `json:"change"`
	Tags          []string         `json:"tags,omitempty"`
}

// DeliveryKey is unique per review version.
func (m ReviewMsg) DeliveryKey() string {
	return m.IntegrationID + "/" + m.AppID + "/" + m.Change.Review.ID + "/" + strconv.Itoa(m.Version)
}

// ReplyMsg asks for a stored reply to be published.
type ReplyMsg struct {
	IntegrationID string `json:"integration_id"`
	MessageID     string `json:"message_id"`
}

// ResultMsg carries a reply's outcome to the ticket.
type ResultMsg struct {
	IntegrationID string          `json:"integration_id"`
	Result        sdk.ReplyResult `json:"result"`
}

// Counter names (per app) shown in the status view.
const (
	CountQueued    = "reviews_queued"
	CountDelivered = "reviews_delivered"
	CountPublished = "replies_published"
	CountRefused   = "replies_refused"
	CountSkipped   = "skipped_" // + filter name
)

// Deliverer owns the handlers.
type Deliverer struct {
	DB      *state.DB
	Bus     bus.Bus
	Plugins Plugins
	Logger  *slog.Logger
	// UnknownTicketGrace is how long an answer in a ticket the hub cannot
	// link to a review yet is retried before it is refused (default 2m).
	// The gap exists after a crash between the helpdesk creating a ticket
	// and the hub recording it: the review's redelivery closes it.
	UnknownTicketGrace time.Duration
	// ParkedRecheck is how often an answer parked for its ticket's link is
	// looked at again by the timer (default 10s). A recorded link releases
	// it at once; the timer finds links made any other way and ends the
	// grace period.
	ParkedRecheck time.Duration
	// Metrics counts deliveries and replies (nil: not counted).
	Metrics *metrics.Metrics

	cacheMu sync.Mutex
	cache   map[string]cachedIntegration
	gates   gates
}

// DefaultUnknownTicketGrace is the default Deliverer.UnknownTicketGrace.
const DefaultUnknownTicketGrace = 2 * time.Minute

// DefaultParkedRecheck is the default Deliverer.ParkedRecheck.
const DefaultParkedRecheck = 10 * time.Second

// Register adds the handlers to the router: one per partition of each topic.
func (d *Deliverer) Register(r *message.Router) {
	sub := d.Bus.Subscriber()
	for n := range bus.Partitions {
		suffix := fmt.Sprintf("-%d", n)
		r.AddConsumerHandler("reviews-to-helpdesk"+suffix, bus.PartitionTopic(bus.TopicReviews, n), sub, d.handleReview)
		r.AddConsumerHandler("replies-to-store"+suffix, bus.PartitionTopic(bus.TopicReplies, n), sub, d.handleReply)
		r.AddConsumerHandler("results-to-helpdesk"+suffix, bus.PartitionTopic(bus.TopicReplyResults, n), sub, d.handleResult)
	}
	r.AddConsumerHandler("parked-answers", "tick", newTicker(d.tickEvery()), d.handleTick)
}

// tickEvery is how often the timer looks for parked answers that are due:
// ParkedRecheck, or more often with a short grace so that the refusal at
// its end is not late by a whole recheck.
func (d *Deliverer) tickEvery() time.Duration {
	return min(d.recheckEvery(), max(d.grace()/4, 100*time.Millisecond))
}

func (d *Deliverer) grace() time.Duration {
	return cmp.Or(d.UnknownTicketGrace, DefaultUnknownTicketGrace)
}

func (d *Deliverer) recheckEvery() time.Duration {
	return cmp.Or(d.ParkedRecheck, DefaultParkedRecheck)
}

// OrderKey is what orders review messages: the changes of one review are
// delivered one after the other, in order; different reviews of one
// integration are delivered in parallel (bus.SubscriberConfig.InFlight).
func (m ReviewMsg) OrderKey() string {
	return m.IntegrationID + "/" + m.AppID + "/" + m.Change.Review.ID
}

// Publish encodes v and publishes it in tx, on the partition of topic that
// integration's messages use, with the integration as the message's group
// (its in-flight bound) and, when v has an OrderKey, that key (messages
// without one are delivered strictly in order).
func Publish(b bus.Bus, tx *state.Tx, topic, integration, correlationID string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", topic, err)
	}
	msg := bus.NewMessage(correlationID, payload)
	key := ""
	if k, ok := v.(interface{ OrderKey() string }); ok {
		key = k.OrderKey()
	}
	bus.SetKeys(msg, integration, key)
	return b.PublishTx(tx, bus.Partition(topic, integration), msg)
}

func decode(msg *message.Message, v any) error {
	if err := json.Unmarshal(msg.Payload, v); err != nil {
		return bus.Permanent(fmt.Errorf("malformed message %s: %w", msg.UUID, err))
	}
	return nil
}

// integrationTTL is how long a loaded integration (settings decrypted) is
// reused by the handlers: loading it for every message was a tenth of the
// hub's CPU in the benchmark. Forget drops it at once when it changes.
const integrationTTL = 2 * time.Second

type cachedIntegration struct {
	in state.Integration
	at time.Time
}

func (d *Deliverer) integration(ctx context.Context, id string) (state.Integration, error) {
	d.cacheMu.Lock()
	c, ok := d.cache[id]
	d.cacheMu.Unlock()
	if ok && time.Since(c.at) < integrationTTL {
		return c.in, nil
	}
	in, err := d.DB.Integration(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return in, bus.Permanent(fmt.Errorf("integration %q no longer exists", id))
	}
	if err != nil {
		return in, err
	}
	d.cacheMu.Lock()
	if d.cache == nil {
		d.cache = map[string]cachedIntegration{}
	}
	d.cache[id] = cachedIntegration{in, time.Now()}
	d.cacheMu.Unlock()
	return in, nil
}

// Forget drops cached integrations (their settings changed).
func (d *Deliverer) Forget() {
	d.cacheMu.Lock()
	d.cache = nil
	d.cacheMu.Unlock()
}

func (d *Deliverer) handleReview(msg *message.Message) error {
	ctx := msg.Context()
	var m ReviewMsg
	if err := decode(msg, &m); err != nil {
		return err
	}
	in, err := d.integration(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	hd, _, err := d.Plugins.Helpdesk(in.HelpdeskPlugin)
	if err != nil {
		return err
	}
	if err := d.gates.wait(ctx, in.ID); err != nil {
		return err
	}
	// Recorded before the call: a first attempt lets the plugin create the
	// ticket without looking it up; any later one (a retry, a redelivery
	// after a crash) makes it look first, so no ticket is made twice.
	ticket, first, err := d.DB.StartDelivery(ctx, m.IntegrationID, m.AppID, m.Change.Review.ID)
	if err != nil {
		return err
	}
	ref, err := hd.UpsertTicket(ctx, sdk.TicketRequest{
		Settings: in.HelpdeskSettings, IntegrationID: in.ID, TicketID: ticket,
		Change: m.Change, Tags: m.Tags, DeliveryKey: m.DeliveryKey(), FirstAttempt: first,
	})
	if err != nil {
		d.Metrics.Delivery(in.ID, in.HelpdeskPlugin, deliveryFailure(err))
		if sdk.RetryAfterOf(err) > 0 {
			d.Metrics.RateLimitWait(in.ID, "delivery")
		}
		d.gates.hold(in.ID, sdk.RetryAfterOf(err))
		if first && sdk.KindOf(err) == sdk.ErrorKindRateLimited {
			// Refused before anything was done (the SDK's contract for a
			// rate-limited UpsertTicket): the next attempt is still a first.
			if uerr := d.DB.RefusedDelivery(ctx, m.IntegrationID, m.AppID, m.Change.Review.ID); uerr != nil {
				d.Logger.Warn("undoing a refused delivery attempt failed; the next attempt looks the ticket up",
					"integration", in.ID, "review", m.Change.Review.ID, "error", uerr)
			}
		}
		return fmt.Errorf("review %s to %s: %w", m.Change.Review.ID, in.HelpdeskPlugin, err)
	}
	if ref.ID == "" {
		return bus.Permanent(fmt.Errorf("review %s: helpdesk %s returned no ticket id", m.Change.Review.ID, in.HelpdeskPlugin))
	}
	var released []string
	// Grouped: the links of deliveries finishing together share one
	// transaction (SQLite); each returns once its own link committed.
	err = d.DB.InTxGrouped(ctx, func(tx *state.Tx) error {
		if err := tx.LinkTicket(ctx, m.IntegrationID, m.AppID, m.Change.Review.ID, ref.ID); err != nil {
			return err
		}
		// Answers that arrived before this link wait no longer.
		if released, err = tx.ReleaseParkedFor(ctx, m.IntegrationID, ref.ID, m.Change.Review.ID); err != nil {
			return err
		}
		for _, id := range released {
			if err := Publish(d.Bus, tx, bus.TopicReplies, m.IntegrationID, bus.CorrelationID(msg), ReplyMsg{IntegrationID: m.IntegrationID, MessageID: id}); err != nil {
				return err
			}
		}
		return tx.Count(ctx, m.IntegrationID, m.AppID, CountDelivered, 1)
	})
	if err != nil {
		return err
	}
	delivered := "updated"
	if ref.Created {
		delivered = "created"
	}
	d.Metrics.Delivery(in.ID, in.HelpdeskPlugin, delivered)
	if len(released) > 0 {
		d.Logger.Info("answers released by their ticket's link", "integration", in.ID, "ticket", ref.ID, "answers", len(released),
			"correlation_id", bus.CorrelationID(msg))
	}
	d.Logger.Debug("review delivered", "integration", in.ID, "app", m.AppID, "review", m.Change.Review.ID,
		"kind", m.Change.Kind, "ticket", ref.ID, "created", ref.Created, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// deliveryFailure is the metrics outcome of a failed delivery: "retry"
// (the bus tries again) or "failed" (dead letter).
func deliveryFailure(err error) string {
	if bus.IsPermanent(err) {
		return "failed"
	}
	return "retry"
}

// replyStore is the store plugin of an integration's app (a bounded label).
func replyStore(in state.Integration, appID string) string {
	if a, ok := findApp(in, appID); ok {
		return a.StorePlugin
	}
	return ""
}

// Refusal reasons the hub itself gives.
const (
	ReasonNoStoreAccount = "connect the store account to reply"
	ReasonUnknownTicket  = "this ticket is not linked to any review the hub knows"
	ReasonAppGone        = "the app of this review is no longer part of the integration"
	ReasonCannotReply    = "this store does not accept developer replies"
	ReasonEmptyReply     = "the answer is empty"
	ReasonOtherTicket    = "the review this answer names is linked to another ticket"
)

func findApp(in state.Integration, appID string) (state.App, bool) {
	for _, a := range in.Apps {
		if a.ID == appID {
			return a, true
		}
	}
	return state.App{}, false
}

func (d *Deliverer) handleReply(msg *message.Message) error {
	ctx := msg.Context()
	var m ReplyMsg
	if err := decode(msg, &m); err != nil {
		return err
	}
	r, err := d.DB.Reply(ctx, m.IntegrationID, m.MessageID)
	if errors.Is(err, state.ErrNotFound) {
		return bus.Permanent(fmt.Errorf("reply %s not found", m.MessageID))
	}
	if err != nil {
		return err
	}
	if r.Status != state.ReplyPending {
		return nil // already handled (redelivery)
	}
	in, err := d.integration(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	var outcome, detail string
	var posted *sdk.DeveloperReply
	linked := r.AppID != ""
	if !linked {
		appID, reviewID, err := d.DB.ReviewOfTicket(ctx, in.ID, r.TicketID, r.ReviewID)
		switch {
		case err == nil:
			r.AppID, r.ReviewID, linked = appID, reviewID, true
		case errors.Is(err, state.ErrLinkedElsewhere):
			outcome, detail = sdk.OutcomeRefused, ReasonOtherTicket
		case !errors.Is(err, state.ErrNotFound):
			return err
		case time.Since(r.CreatedAt) < d.grace():
			// Not a failure: park it in the state until its ticket is
			// linked (or the grace ends), so it holds up no other answer.
			return d.park(ctx, msg, r)
		default:
			outcome, detail = sdk.OutcomeRefused, ReasonUnknownTicket
		}
	}
	if linked {
		if outcome, detail, posted, err = d.publishReply(ctx, in, r); err != nil {
			return err
		}
	}
	result := sdk.ReplyResult{TicketID: r.TicketID, MessageID: r.MessageID, ReviewID: r.ReviewID,
		Outcome: outcome, Detail: detail, Reply: posted}
	err = d.DB.InTx(ctx, func(tx *state.Tx) error {
		if err := tx.SetReplyStatus(ctx, r.IntegrationID, r.MessageID, outcome, detail); err != nil {
			return err
		}
		if err := tx.SetReplyTarget(ctx, r.IntegrationID, r.MessageID, r.AppID, r.ReviewID); err != nil {
			return err
		}
		counter := CountRefused
		if outcome == sdk.OutcomePublished {
			counter = CountPublished
		}
		if err := tx.Count(ctx, r.IntegrationID, r.AppID, counter, 1); err != nil {
			return err
		}
		return Publish(d.Bus, tx, bus.TopicReplyResults, in.ID, bus.CorrelationID(msg), ResultMsg{IntegrationID: in.ID, Result: result})
	})
	if err != nil {
		return err
	}
	d.Metrics.Reply(in.ID, replyStore(in, r.AppID), outcome)
	d.Logger.Info("reply handled", "integration", in.ID, "app", r.AppID, "review", r.ReviewID, "message", r.MessageID,
		"outcome", outcome, "detail", detail, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// publishReply posts the reply; a refusal is an outcome, not an error.
// Transient errors are returned so the message is retried.
func (d *Deliverer) publishReply(ctx context.Context, in state.Integration, r state.Reply) (outcome, detail string, posted *sdk.DeveloperReply, err error) {
	app, ok := findApp(in, r.AppID)
	if !ok {
		return sdk.OutcomeRefused, ReasonAppGone, nil, nil
	}
	if strings.TrimSpace(r.Text) == "" {
		return sdk.OutcomeRefused, ReasonEmptyReply, nil, nil
	}
	st, info, err := d.Plugins.Store(app.StorePlugin)
	if err != nil {
		return "", "", nil, err
	}
	if !setup.HasStoreAccount(app, info) {
		return sdk.OutcomeRefused, ReasonNoStoreAccount, nil, nil
	}
	if info.Store != nil && !info.Store.CanReply {
		return sdk.OutcomeRefused, ReasonCannotReply, nil, nil
	}
	cctx, calls := sdk.CountCalls(ctx)
	rep, err := st.PostReply(cctx, sdk.PostReplyRequest{
		Settings: app.StoreSettings, AppID: app.StoreAppID, ReviewID: r.ReviewID, Text: r.Text,
	})
	// Replies spend from the store's quotas too; polling keeps room for them.
	if serr := quota.Spend(ctx, d.DB, quota.Buckets(info, app, sdk.OpReply), time.Now(), max(calls.Count(), 1)); serr != nil {
		d.Logger.Error("recording quota use failed", "integration", in.ID, "app", app.ID, "error", serr)
	}
	if err != nil {
		if bus.IsPermanent(err) {
			return sdk.OutcomeRefused, sdk.MessageOf(err), nil, nil
		}
		return "", "", nil, fmt.Errorf("reply %s to %s: %w", r.MessageID, app.StorePlugin, err)
	}
	return sdk.OutcomePublished, "", &rep, nil
}

// errRelinked makes park give up: the link appeared meanwhile, so the
// message is handled again at once instead.
var errRelinked = errors.New("the ticket was linked meanwhile")

// park records an answer as waiting for its ticket's link and acks its
// message: a recorded link or the timer publishes it again.
func (d *Deliverer) park(ctx context.Context, msg *message.Message, r state.Reply) error {
	now := time.Now()
	until := r.CreatedAt.Add(d.grace())
	next := now.Add(d.recheckEvery())
	if next.After(until) {
		next = until
	}
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		// Looked at again inside the transaction: a link recorded since the
		// first look (SQLite serializes the two) is not missed.
		switch _, _, err := tx.ReviewOfTicket(ctx, r.IntegrationID, r.TicketID, r.ReviewID); {
		case err == nil, errors.Is(err, state.ErrLinkedElsewhere):
			return errRelinked
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
		return tx.ParkReply(ctx, state.ParkedReply{IntegrationID: r.IntegrationID, MessageID: r.MessageID,
			TicketID: r.TicketID, ReviewID: r.ReviewID, Reason: ReasonUnknownTicket, NextAt: next, Until: until})
	})
	if errors.Is(err, errRelinked) {
		return d.handleReply(msg)
	}
	if err != nil {
		return err
	}
	d.Logger.Debug("answer parked until its ticket is linked", "integration", r.IntegrationID, "ticket", r.TicketID,
		"message", r.MessageID, "until", until, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// parkedBatch bounds the answers one tick looks at.
const parkedBatch = 200

// handleTick looks at the parked answers whose time has come: those whose
// ticket is linked now and those whose grace is over are published again
// (handleReply publishes or refuses them); the others wait until the next
// look. Errors are logged; the next tick tries again.
func (d *Deliverer) handleTick(msg *message.Message) error {
	ctx := msg.Context()
	due, err := d.DB.DueParked(ctx, parkedBatch)
	if err != nil {
		d.Logger.Error("reading parked answers failed", "error", err)
		return nil
	}
	released := 0
	for _, p := range due {
		now := time.Now()
		if now.Before(p.Until) {
			_, _, err := d.DB.ReviewOfTicket(ctx, p.IntegrationID, p.TicketID, p.ReviewID)
			if errors.Is(err, state.ErrNotFound) {
				next := now.Add(d.recheckEvery())
				if next.After(p.Until) {
					next = p.Until
				}
				if err := d.DB.RecheckParkedAt(ctx, p.IntegrationID, p.MessageID, next); err != nil {
					d.Logger.Error("parked answer: recording the next look failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
					return nil
				}
				continue
			}
			if err != nil && !errors.Is(err, state.ErrLinkedElsewhere) {
				d.Logger.Error("parked answer: looking up its ticket failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
				return nil
			}
		}
		err := d.DB.InTx(ctx, func(tx *state.Tx) error {
			ok, err := tx.ReleaseParked(ctx, p.IntegrationID, p.MessageID)
			if err != nil || !ok {
				return err
			}
			released++
			return Publish(d.Bus, tx, bus.TopicReplies, p.IntegrationID, bus.CorrelationID(msg), ReplyMsg{IntegrationID: p.IntegrationID, MessageID: p.MessageID})
		})
		if err != nil {
			d.Logger.Error("releasing a parked answer failed", "integration", p.IntegrationID, "message", p.MessageID, "error", err)
			return nil
		}
	}
	if released > 0 {
		d.Logger.Debug("parked answers released", "answers", released)
	}
	return nil
}

func (d *Deliverer) handleResult(msg *message.Message) error {
	ctx := msg.Context()
	var m ResultMsg
	if err := decode(msg, &m); err != nil {
		return err
	}
	in, err := d.integration(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	hd, _, err := d.Plugins.Helpdesk(in.HelpdeskPlugin)
	if err != nil {
		return err
	}
	if err := d.gates.wait(ctx, in.ID); err != nil {
		return err
	}
	if err := hd.WriteReplyResult(ctx, sdk.ReplyResultRequest{Settings: in.HelpdeskSettings, IntegrationID: in.ID, Result: m.Result}); err != nil {
		d.gates.hold(in.ID, sdk.RetryAfterOf(err))
		return fmt.Errorf("reply result %s to %s: %w", m.Result.MessageID, in.HelpdeskPlugin, err)
	}
	return nil
}

// AcceptReplies records the reply requests a webhook carried, each once by
// message id, and queues them, all in one transaction. A replayed webhook
// queues nothing. It returns how many were new.
func (d *Deliverer) AcceptReplies(ctx context.Context, in state.Integration, reqs []sdk.ReplyRequest, correlationID string) (int, error) {
	type item struct {
		r       state.Reply
		pending bool
	}
	items := make([]item, 0, len(reqs))
	for _, rr := range reqs {
		if rr.MessageID == "" {
			return 0, fmt.Errorf("reply request for ticket %s has no message id", rr.TicketID)
		}
		r := state.Reply{IntegrationID: in.ID, MessageID: rr.MessageID, TicketID: rr.TicketID, Text: rr.Text,
			Staff: rr.Staff, Status: state.ReplyPending}
		appID, reviewID, err := d.DB.ReviewOfTicket(ctx, in.ID, rr.TicketID, rr.ReviewID)
		switch {
		case errors.Is(err, state.ErrLinkedElsewhere):
			// Refused at once: a review id never moves an answer to a
			// review that lives in another ticket.
			r.ReviewID, r.Status, r.Detail = rr.ReviewID, state.ReplyRefused, ReasonOtherTicket
		case errors.Is(err, state.ErrNotFound):
			// Queued anyway: the handler links it once the ticket is
			// recorded, or refuses it after UnknownTicketGrace.
			r.ReviewID = rr.ReviewID
		case err != nil:
			return 0, err
		default:
			r.AppID, r.ReviewID = appID, reviewID
		}
		items = append(items, item{r: r, pending: r.Status == state.ReplyPending})
	}
	added := 0
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		added = 0
		for _, it := range items {
			inserted, err := tx.AddReply(ctx, it.r)
			if err != nil {
				return err
			}
			if !inserted {
				continue
			}
			added++
			if it.r.Status == state.ReplyRefused {
				if err := tx.Count(ctx, in.ID, it.r.AppID, CountRefused, 1); err != nil {
					return err
				}
			}
			if it.pending {
				err = Publish(d.Bus, tx, bus.TopicReplies, in.ID, correlationID, ReplyMsg{IntegrationID: in.ID, MessageID: it.r.MessageID})
			} else {
				err = Publish(d.Bus, tx, bus.TopicReplyResults, in.ID, correlationID, ResultMsg{IntegrationID: in.ID, Result: sdk.ReplyResult{
					TicketID: it.r.TicketID, MessageID: it.r.MessageID, ReviewID: it.r.ReviewID,
					Outcome: it.r.Status, Detail: it.r.Detail,
				}})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// Tags for a review change: store, app, rating, country or language, change
// kind and app version.
func Tags(storeName string, app state.App, c sdk.ReviewChange) []string {
	tags := []string{storeName, "app:" + app.Name, fmt.Sprintf("rating:%d", c.Review.Rating), "change:" + c.Kind}
	if app.Name == "" {
		tags[1] = "app:" + app.ID
	}
	if c.Review.Country != "" {
		if cc, err := filter.NormalizeCountry(c.Review.Country); err == nil {
			tags = append(tags, "country:"+cc)
		}
	}
	if c.Review.Language != "" {
		if l, err := filter.NormalizeLanguage(c.Review.Language); err == nil {
			tags = append(tags, "language:"+l)
		}
	}
	if c.Review.AppVersion != "" {
		tags = append(tags, "version:"+c.Review.AppVersion)
	}
	return tags
}
