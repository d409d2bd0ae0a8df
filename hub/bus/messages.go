package bus

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Metadata naming a message's group and order key (SetKeys), and the app
// and review it is about (SetSubject: for the log line and the app's
// health when it becomes a dead letter).
const (
	MetadataGroup    = "rh_group"
	MetadataOrderKey = "rh_order_key"
	MetadataApp      = "rh_app"
	MetadataReview   = "rh_review"
)

// SetSubject names the app and review msg is about ("" leaves one out).
func SetSubject(msg *message.Message, app, review string) {
	if app != "" {
		msg.Metadata.Set(MetadataApp, app)
	}
	if review != "" {
		msg.Metadata.Set(MetadataReview, review)
	}
}

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

// insertSizes are the row counts of the inserts PublishTx makes: many
// messages go in a few multi-row inserts, and the transaction's statement
// cache (one prepared statement per query text) holds at most these four
// per topic, whatever the number of messages.
var insertSizes = []int{64, 16, 4, 1}

// insertChunks cuts msgs into parts of insertSizes, largest first.
func insertChunks(msgs []*message.Message) [][]*message.Message {
	var out [][]*message.Message
	for _, size := range insertSizes {
		for len(msgs) >= size {
			out = append(out, msgs[:size])
			msgs = msgs[size:]
		}
	}
	return out
}
