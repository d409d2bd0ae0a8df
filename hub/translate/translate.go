// Package translate is the hub's side of machine translation (issue 28):
// reviews into the team's language, answers into the reviewer's. It knows
// no vendor: an Engine is whatever translator plugin an integration names
// (PluginEngine adapts one), and every translation goes through a Cache
// keyed by (engine, target language, text hash), so no text is paid for
// twice. Failures never block: Review and Answer report them as a note
// for the ticket and leave the text untranslated, for the caller to
// deliver at once and translate later.
package translate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Text is one translated text.
type Text struct {
	Text string
	// From is the language the engine translated from (detected or named).
	From string
}

// Engine translates texts. The hub holds one per integration with
// translation on; it knows the engine by its Name only.
type Engine interface {
	// Name is the engine's name for people ("DeepL"), written into every
	// machine translation the hub shows.
	Name() string
	// Translate translates every text into to (from empty: detect), in
	// order.
	Translate(ctx context.Context, texts []string, from, to string) ([]Text, error)
}

// Config is one integration's translation settings.
type Config struct {
	// On turns translation on.
	On bool
	// Languages are the team's languages (BCP 47 tags), the first the one
	// reviews are translated into; a review in any of them is not
	// translated, nor an answer already in the review's language.
	Languages []string
}

// Target is the language reviews are translated into.
func (c Config) Target() string {
	if len(c.Languages) == 0 {
		return ""
	}
	return c.Languages[0]
}

// Speaks reports whether lang is one of the team's languages.
func (c Config) Speaks(lang string) bool {
	for _, l := range c.Languages {
		if sdk.SameLanguage(l, lang) {
			return true
		}
	}
	return false
}

// Cache keeps translations by (engine, target language, text hash).
type Cache interface {
	Get(ctx context.Context, key Key) (Text, bool, error)
	Put(ctx context.Context, key Key, t Text) error
}

// Key is a cached translation's key: the text itself is not kept, only
// its SHA-256.
type Key struct {
	Engine, To, TextHash string
}

// KeyOf is the cache key of text translated by engine into to.
func KeyOf(engine, to, text string) Key {
	sum := sha256.Sum256([]byte(text))
	return Key{Engine: engine, To: strings.ToLower(to), TextHash: hex.EncodeToString(sum[:])}
}

// Metrics counts what translation does (characters sent per engine, cache
// hits, failures by reason).
type Metrics interface {
	Characters(engine string, n int)
	CacheHit(engine string)
	Failure(engine, reason string)
}

// Service translates through an engine and its cache.
type Service struct {
	Cache   Cache
	Metrics Metrics // nil: none
}

// Translate translates texts into to with engine, each text from the
// cache when it was translated before; only the others reach the engine.
func (s *Service) Translate(ctx context.Context, engine Engine, texts []string, from, to string) ([]Text, error) {
	out := make([]Text, len(texts))
	var missing []int
	for i, t := range texts {
		if s.Cache != nil {
			c, ok, err := s.Cache.Get(ctx, KeyOf(engine.Name(), to, t))
			if err != nil {
				return nil, fmt.Errorf("translation cache: %w", err)
			}
			if ok {
				out[i] = c
				if s.Metrics != nil {
					s.Metrics.CacheHit(engine.Name())
				}
				continue
			}
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	ask := make([]string, len(missing))
	for j, i := range missing {
		ask[j] = texts[i]
	}
	got, err := engine.Translate(ctx, ask, from, to)
	if err != nil {
		if s.Metrics != nil {
			s.Metrics.Failure(engine.Name(), FailureReason(err))
		}
		return nil, err
	}
	if len(got) != len(ask) {
		return nil, fmt.Errorf("%s answered %d translations for %d texts", engine.Name(), len(got), len(ask))
	}
	if s.Metrics != nil {
		s.Metrics.Characters(engine.Name(), sdk.TranslateCharacters(ask))
	}
	for j, i := range missing {
		out[i] = got[j]
		if s.Cache != nil {
			if err := s.Cache.Put(ctx, KeyOf(engine.Name(), to, texts[i]), got[j]); err != nil {
				return nil, fmt.Errorf("translation cache: %w", err)
			}
		}
	}
	return out, nil
}

// FailureReason is a failure's metrics label: "quota", "rate_limited",
// "unsupported_language", "unavailable" or "failed".
func FailureReason(err error) string {
	switch {
	case sdk.IsQuotaExceeded(err):
		return "quota"
	case sdk.IsUnsupportedLanguage(err):
		return "unsupported_language"
	case sdk.KindOf(err) == sdk.ErrorKindRateLimited:
		return "rate_limited"
	case sdk.KindOf(err) == sdk.ErrorKindUnavailable, sdk.KindOf(err) == sdk.ErrorKindUnknown, errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	}
	return "failed"
}

// Retryable reports whether a failed translation should be tried again
// later (the engine down, rate limited or out of quota), and after how
// long at the least (0: the caller's own backoff).
func Retryable(err error) (bool, time.Duration) {
	if sdk.IsUnsupportedLanguage(err) || sdk.KindOf(err).Permanent() {
		return false, 0
	}
	return true, sdk.RetryAfterOf(err)
}

// StoreTranslation is a translation the store made itself (Google Play's
// translationLanguage): used instead of the engine, no call spent.
type StoreTranslation struct {
	Text, Language string
}

// ReviewResult is what Review decided for a review's text.
type ReviewResult struct {
	// Translated is the translation; empty when none is shown (the review
	// is in a team language, translation is off, or it failed).
	Translated string
	// From is the review's language as detected.
	From, To string
	// Engine names who translated: the engine, or the store.
	Engine string
	// Note is for the ticket, set when translation failed ("delivered
	// untranslated: …; translated later") and when a later translation
	// follows up an untranslated delivery.
	Note string
	// Later: the review is delivered untranslated now and must be
	// translated again later (after Wait at the least).
	Later bool
	Wait  time.Duration
}

// Review translates a review's text for the team when it is in another
// language: with the store's own translation when there is one, else with
// engine (through the cache). It never fails: a failure is a note, and
// Later says whether to try again.
func (s *Service) Review(ctx context.Context, cfg Config, engine Engine, text, lang string, store *StoreTranslation) ReviewResult {
	to := cfg.Target()
	if !cfg.On || to == "" || strings.TrimSpace(text) == "" || (lang != "" && cfg.Speaks(lang)) {
		return ReviewResult{}
	}
	if store != nil && store.Text != "" && sdk.SameLanguage(store.Language, to) && store.Text != text {
		return ReviewResult{Translated: store.Text, From: lang, To: to, Engine: "the store"}
	}
	if engine == nil {
		return ReviewResult{}
	}
	got, err := s.Translate(ctx, engine, []string{text}, "", to)
	if err != nil {
		later, wait := Retryable(err)
		r := ReviewResult{From: lang, To: to, Engine: engine.Name(), Later: later, Wait: wait}
		r.Note = fmt.Sprintf("Machine translation by %s failed: %s. The review is delivered untranslated", engine.Name(), sdk.MessageOf(err))
		if later {
			r.Note += "; it will be translated later and the translation added to this ticket"
		}
		return r
	}
	if cfg.Speaks(got[0].From) { // the store's language tag was wrong or missing
		return ReviewResult{}
	}
	return ReviewResult{Translated: got[0].Text, From: got[0].From, To: to, Engine: engine.Name()}
}

// Compose is a review's text with its machine translation, as the ticket
// shows it: the original first, then the translation marked as machine
// translated with the engine's name.
func Compose(original string, r ReviewResult) string {
	if r.Translated == "" {
		return original
	}
	return fmt.Sprintf("%s\n\n— Machine translation (%s → %s, %s) —\n%s", original, r.From, r.To, r.Engine, r.Translated)
}

// AnswerResult is an answer made ready for the store.
type AnswerResult struct {
	// Publish is the text to publish: the translation, or the answer as
	// written.
	Publish string
	// Translated: Publish is a machine translation of the answer.
	Translated bool
	// Note is for the outcome note: both texts when translated.
	Note string
}

// Answer translates an answer written in a team language into the
// review's language before it is published, unless it is already in that
// language. A failure is returned (the reply waits and is retried like
// any other failed publish): an answer is never published in a language
// the reviewer may not read without the team knowing.
//
// maxLen is the store's reply limit in code points (0: none): a
// translation longer than it is refused (ErrorKindRefused) with the reason,
// as the store would refuse it, and written nowhere.
func (s *Service) Answer(ctx context.Context, cfg Config, engine Engine, answer, reviewLang string, maxLen int) (AnswerResult, error) {
	if !cfg.On || engine == nil || reviewLang == "" || cfg.Speaks(reviewLang) {
		return AnswerResult{Publish: answer}, nil
	}
	got, err := s.Translate(ctx, engine, []string{answer}, "", reviewLang)
	if err != nil {
		return AnswerResult{}, fmt.Errorf("translating the answer into %s with %s: %w", reviewLang, engine.Name(), err)
	}
	if sdk.SameLanguage(got[0].From, reviewLang) { // written in the review's language already
		return AnswerResult{Publish: answer}, nil
	}
	if n := len([]rune(got[0].Text)); maxLen > 0 && n > maxLen {
		return AnswerResult{}, sdk.Errorf(sdk.ErrorKindRefused,
			"the answer machine-translated into %s by %s has %d characters; the store takes at most %d: shorten the answer and send it again",
			reviewLang, engine.Name(), n, maxLen)
	}
	return AnswerResult{Publish: got[0].Text, Translated: true,
		Note: fmt.Sprintf("Published in %s, machine-translated by %s from the answer in %s.\n\nAs written:\n%s\n\nAs published:\n%s",
			reviewLang, engine.Name(), got[0].From, answer, got[0].Text)}, nil
}

// Matchable is the text rules match keywords against: the review's text
// and, when there is one, its translation.
func Matchable(text string, r ReviewResult) string {
	if r.Translated == "" {
		return text
	}
	return text + "\n" + r.Translated
}
