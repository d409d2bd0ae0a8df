package bus

import (
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reviewhub/reviewhub/sdk"
)

// waitRetryAfter sleeps for a plugin's "retry after" before the error goes
// on to the retry middleware, so a rate-limited vendor is not hammered.
func waitRetryAfter(maxWait time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if d := sdk.RetryAfterOf(err); d > 0 {
				d = min(d, maxWait)
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
				case <-msg.Context().Done():
				}
			}
			return out, err
		}
	}
}

// logFailures logs every failed handling once per attempt: a warning for
// a transient error (it is retried), an error for a permanent one (it goes
// to the dead letters), with the handler, topic, message and correlation id.
func logFailures(logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil {
				level := slog.LevelWarn
				if IsPermanent(err) {
					level = slog.LevelError
				}
				logger.Log(msg.Context(), level, "message handling failed",
					"handler", message.HandlerNameFromCtx(msg.Context()),
					"topic", message.SubscribeTopicFromCtx(msg.Context()),
					"message_uuid", msg.UUID,
					"correlation_id", middleware.MessageCorrelationID(msg),
					"permanent", IsPermanent(err),
					"error", err)
			}
			return out, err
		}
	}
}
