// Package deliver carries the hub's two journeys over the bus: review
// changes to the helpdesk, staff replies to the store, and reply outcomes
// back to the ticket. Every external effect is idempotent by key, so
// at-least-once delivery gives an exactly-once effect.
package deliver

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Plugins resolves plugins by name.
type Plugins interface {
	Store(name string) (sdk.StorePlugin, sdk.Info, error)
	Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error)
}

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
	// ReplyAttempts is how many times one answer is tried when it fails
	// transiently before it is failed (default DefaultReplyAttempts);
	// ReplyRetryMin is the first wait between them, doubling (default
	// DefaultReplyRetryMin).
	ReplyAttempts int
	ReplyRetryMin time.Duration
	// Translator translates reviews for the helpdesk, AnswerTranslator
	// answers for the store (nil: none).
	Translator       ReviewTranslator
	AnswerTranslator AnswerTranslator

	gates gates
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
		r.AddConsumerHandler("reviews-to-helpdesk"+suffix, bus.PartitionTopic(bus.TopicReviews, n), sub, bus.Handle(d.handleReview))
		r.AddConsumerHandler("replies-to-store"+suffix, bus.PartitionTopic(bus.TopicReplies, n), sub, bus.Handle(d.handleReply))
		r.AddConsumerHandler("results-to-helpdesk"+suffix, bus.PartitionTopic(bus.TopicReplyResults, n), sub, bus.Handle(d.handleResult))
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
