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

// logFailures logs every failed handling once: a warning for a transient
// error (after the in-handler retries; it is redelivered), an error for a
// permanent one (it goes to the dead letters: one line per dead letter),
// with the handler, topic, message, correlation id and the integration,
// app and review the message is about (SetKeys, SetSubject). It runs
// inside the poison queue, which swallows the permanent errors.
func logFailures(logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil {
				level, what := slog.LevelWarn, "message handling failed; it is retried"
				if IsPermanent(err) {
					level, what = slog.LevelError, "message failed for good: it is in the dead letters"
				}
				logger.Log(msg.Context(), level, what,
					"integration", msg.Metadata.Get(MetadataGroup),
					"app", msg.Metadata.Get(MetadataApp),
					"review", msg.Metadata.Get(MetadataReview),
					"reason", err,
					"handler", message.HandlerNameFromCtx(msg.Context()),
					"topic", message.SubscribeTopicFromCtx(msg.Context()),
					"message_uuid", msg.UUID,
					"correlation_id", middleware.MessageCorrelationID(msg),
					"permanent", IsPermanent(err))
			}
			return out, err
		}
	}
}
