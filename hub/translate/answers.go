package translate

import "context"

// Answers translates answers on their way to the store (the deliverer's
// AnswerTranslator).
type Answers struct {
	Service *Service
	// Integration returns an integration's translation settings and its
	// engine; ok is false when it does not translate.
	Integration func(ctx context.Context, integrationID string) (cfg Config, engine Engine, ok bool)
	// ReviewLanguage is the language of the review an answer is for ("":
	// unknown, the answer is published as written).
	ReviewLanguage func(ctx context.Context, integrationID, appID, reviewID string) (string, error)
}

// TranslateAnswer returns the text to publish and the note for the
// outcome (both texts when translated). The translation is cached, so a
// retried publish sends the same text (the store plugins' idempotency
// compares it).
func (a Answers) TranslateAnswer(ctx context.Context, integrationID, appID, reviewID, text string, maxLen int) (string, string, error) {
	if a.Integration == nil || a.Service == nil || a.ReviewLanguage == nil {
		return text, "", nil
	}
	cfg, engine, ok := a.Integration(ctx, integrationID)
	if !ok || !cfg.On {
		return text, "", nil
	}
	lang, err := a.ReviewLanguage(ctx, integrationID, appID, reviewID)
	if err != nil {
		return "", "", err
	}
	res, err := a.Service.Answer(ctx, cfg, engine, text, lang, maxLen)
	if err != nil {
		return "", "", err
	}
	return res.Publish, res.Note, nil
}
