// Package busmsg holds the schemas of the messages on the hub's work topics
// (a review change for the helpdesk, a reply for the store, a reply's
// outcome for the ticket) and Publish, which queues one inside a state
// transaction. The poller and the deliverer both speak them; neither
// imports the other.
package busmsg

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Review is a review change on its way to the helpdesk (topic "reviews").
type Review struct {
	IntegrationID string           `json:"integration_id"`
	AppID         string           `json:"app_id"`
	Version       int              `json:"version"`
	Change        sdk.ReviewChange `json:"change"`
	Tags          []string         `json:"tags,omitempty"`
	// Reply is a rule's answer, recorded once the ticket is linked.
	Reply *RuleReply `json:"reply,omitempty"`
	// Notes are the hub's own notes for the ticket (an outdated answer, an
	// automatic reply held back, the outcome of a ticketless one), written
	// once each (by MessageID) after the ticket is linked.
	Notes []sdk.ReplyResult `json:"notes,omitempty"`
}

// DeliveryKey is unique per review version.
func (m Review) DeliveryKey() string {
	return m.IntegrationID + "/" + m.AppID + "/" + m.Change.Review.ID + "/" + strconv.Itoa(m.Version)
}

// OrderKey is what orders review messages: the changes of one review are
// delivered one after the other, in order; different reviews of one
// integration are delivered in parallel (bus.SubscriberConfig.InFlight).
func (m Review) OrderKey() string {
	return m.IntegrationID + "/" + m.AppID + "/" + m.Change.Review.ID
}

// Subject is the app and review the message is about.
func (m Review) Subject() (app, review string) { return m.AppID, m.Change.Review.ID }

// Reply asks for a stored reply to be published (topic "replies").
type Reply struct {
	IntegrationID string `json:"integration_id"`
	MessageID     string `json:"message_id"`
}

// Result carries a reply's outcome to the ticket (topic "reply_results").
type Result struct {
	IntegrationID string          `json:"integration_id"`
	Result        sdk.ReplyResult `json:"result"`
}

// Subject is the review the outcome is about (its app is not carried).
func (m Result) Subject() (app, review string) { return "", m.Result.ReviewID }

// Publish encodes v and publishes it in tx, on the partition of topic that
// integration's messages use (see Encode).
func Publish(ctx context.Context, b bus.Bus, tx *state.Tx, topic, integration, correlationID string, v any) error {
	msg, err := Encode(ctx, topic, integration, correlationID, v)
	if err != nil {
		return err
	}
	return b.PublishTx(tx, bus.TopicFor(topic, integration), msg)
}

// Encode makes the message of v for topic: the integration is its group
// (its in-flight bound) and, when v has an OrderKey, that is its key
// (messages without one are delivered strictly in order). It goes on
// bus.TopicFor(topic, integration); several messages of one integration
// can be published there in one PublishTx (one insert). The message carries
// ctx's trace context (bus.InjectTrace), so its handling continues the trace.
func Encode(ctx context.Context, topic, integration, correlationID string, v any) (*message.Message, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s message: %w", topic, err)
	}
	msg := bus.NewMessage(correlationID, payload)
	key := ""
	if k, ok := v.(interface{ OrderKey() string }); ok {
		key = k.OrderKey()
	}
	bus.SetKeys(msg, integration, key)
	bus.InjectTrace(ctx, msg)
	if sub, ok := v.(interface{ Subject() (app, review string) }); ok {
		app, review := sub.Subject()
		bus.SetSubject(msg, app, review)
	}
	return msg, nil
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
