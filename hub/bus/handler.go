package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Handle adapts a handler of messages whose payload is a JSON T to a
// Watermill handler: the payload is decoded once, here, and a payload that
// does not decode is a permanent error (the message goes to the dead
// letters with the reason) instead of being retried. The handler still gets
// the message for its metadata (the correlation id).
func Handle[T any](h func(ctx context.Context, m T, msg *message.Message) error) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		var m T
		if err := json.Unmarshal(msg.Payload, &m); err != nil {
			return Permanent(fmt.Errorf("malformed %T message %s: %w", m, msg.UUID, err))
		}
		return h(msg.Context(), m, msg)
	}
}
