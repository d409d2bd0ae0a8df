package translate

import (
	"context"
	"log/slog"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// DefaultReviewTimeout bounds the translation of one review on its way to
// the helpdesk: a translator that hangs delays the delivery this long at
// most, then the review goes untranslated with a note.
const DefaultReviewTimeout = 15 * time.Second

// Reviews translates reviews on their way to the helpdesk (the
// deliverer's ReviewTranslator).
type Reviews struct {
	Service *Service
	// Integration returns an integration's translation settings and its
	// engine; ok is false when it does not translate.
	Integration func(ctx context.Context, integrationID string) (cfg Config, engine Engine, ok bool)
	// Timeout bounds one review's translation (default DefaultReviewTimeout).
	Timeout time.Duration
	Logger  *slog.Logger
}

// TranslateReview returns ch with the review's text as the ticket shows
// it: the original and its machine translation, or the original and a note
// why there is none. It never fails.
func (r Reviews) TranslateReview(ctx context.Context, integrationID string, ch sdk.ReviewChange) sdk.ReviewChange {
	if r.Integration == nil || r.Service == nil {
		return ch
	}
	cfg, engine, ok := r.Integration(ctx, integrationID)
	if !ok || !cfg.On {
		return ch
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReviewTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := r.Service.Review(tctx, cfg, engine, ch.Review.Text, ch.Review.Language, nil)
	switch {
	case res.Translated != "":
		ch.Review.Text = Compose(ch.Review.Text, res)
	case res.Note != "":
		if r.Logger != nil {
			r.Logger.Warn("review delivered untranslated", "integration", integrationID, "review", ch.Review.ID,
				"engine", res.Engine, "later", res.Later, "reason", res.Note)
		}
		ch.Review.Text += "\n\n— " + res.Note + " —"
	}
	return ch
}
