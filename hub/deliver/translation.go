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

// AnswerTranslator translates an answer written in the team's language
// into the review's language before it is published (issue 28;
// hub/translate.Answers). publish is the text to post and note, when the
// answer was translated, what the outcome note adds (both texts). A
// permanent error (a translation longer than the store takes) refuses the
// answer with its reason; any other is retried like a failed publish.
type AnswerTranslator interface {
	TranslateAnswer(ctx context.Context, integrationID, appID, reviewID, text string, maxLen int) (publish, note string, err error)
}

// ticketChange is the change the helpdesk receives: m's, translated when
// the integration translates.
func (d *Deliverer) ticketChange(ctx context.Context, integrationID string, ch sdk.ReviewChange) sdk.ReviewChange {
	if d.Translator == nil {
		return ch
	}
	return d.Translator.TranslateReview(ctx, integrationID, ch)
}
