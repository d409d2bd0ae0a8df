package bus

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// RouterConfig tunes the router's middleware.
type RouterConfig struct {
	// Retries in the handler before the message is nacked (and redelivered
	// later with the subscriber's backoff). Default 3.
	Retries       int
	RetryInitial  time.Duration // default 200ms
	RetryMax      time.Duration // default 5s
	MaxRetryAfter time.Duration // longest "retry after" honoured in a handler (default 2m)
	CloseTimeout  time.Duration // default 30s
}

// NewRouter returns a router with the hub's middleware: correlation ids,
// panic recovery, a log line per failure, dead letters for permanent errors, in-handler retries with
// backoff for transient ones, and waiting out a plugin's "retry after".
func NewRouter(b Bus, logger *slog.Logger, cfg RouterConfig) (*message.Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wl := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wl)
	if err != nil {
		return nil, fmt.Errorf("bus: router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(b.Publisher(), TopicDeadLetters, IsPermanent)
	if err != nil {
		return nil, fmt.Errorf("bus: poison queue: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:          cfg.Retries,
		InitialInterval:     cfg.RetryInitial,
		MaxInterval:         cfg.RetryMax,
		Multiplier:          2,
		RandomizationFactor: 0.2,
		Logger:              wl,
		ShouldRetry:         func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
	}
	// logFailures (and the handling's span) inside the poison queue: it
	// sees the permanent errors that the poison queue turns into dead
	// letters (and swallows).
	r.AddMiddleware(
		middleware.CorrelationID,
		poison,
		traceHandling,
		logFailures(logger),
		middleware.Recoverer,
		retry.Middleware,
		waitRetryAfter(cfg.MaxRetryAfter),
	)
	return r, nil
}
