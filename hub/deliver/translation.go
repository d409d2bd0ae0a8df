package deliver

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
)

// ReviewTranslator is the hub's machine translation of reviews on their
// way to the helpdesk (issue 28; hub/translate.Reviews). It returns the
// change as the ticket should show it: the review's text with its
// translation, or with a note why there is none. It never fails and
// never blocks a delivery for long.
type ReviewTranslator interface {
	TranslateReview(ctx context.Context, integrationID string, ch sdk.ReviewChange) sdk.ReviewChange
}

// ticketChange is the change the helpdesk receives: m's, translated when
// the integration translates.
func (d *Deliverer) ticketChange(ctx context.Context, integrationID string, ch sdk.ReviewChange) sdk.ReviewChange {
	if d.Translator == nil {
		return ch
	}
	return d.Translator.TranslateReview(ctx, integrationID, ch)
}
