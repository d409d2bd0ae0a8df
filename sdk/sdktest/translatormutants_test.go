package sdktest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// memEngine is an in-memory translation engine with its vendor view: it
// "translates" by tagging a text with the target language, detects
// Japanese by its script, German and Spanish by a word, and takes at most
// 500 characters per request.
type memEngine struct {
	faults.Faults
	mu       sync.Mutex
	received []VendorTranslateRequest
	spent    bool
}

const memEngineLimit = 500

func (e *memEngine) Received() []VendorTranslateRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.received)
}

func (e *memEngine) Expect(text, to string) (string, string) {
	return "[" + strings.ToLower(to) + "] " + text, memDetect(text)
}

func (e *memEngine) CharacterLimit() int { return memEngineLimit }

func (e *memEngine) Exhaust(spent bool) {
	e.mu.Lock()
	e.spent = spent
	e.mu.Unlock()
}

func memDetect(text string) string {
	for _, r := range text {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana) {
			return "ja"
		}
	}
	switch {
	case strings.Contains(text, "Die "):
		return "de"
	case strings.Contains(text, "La "):
		return "es"
	}
	return "en"
}

type engineError struct {
	status int
	msg    string
}

func (e *engineError) Error() string { return e.msg }

// translate is the engine's API: its answers or its HTTP-like errors.
func (e *memEngine) translate(texts []string, from, to string) ([]sdk.Translation, error) {
	if f, ok := e.Next(); ok {
		if f.RateLimited {
			return nil, &engineError{429, "slow down"}
		}
		return nil, &engineError{f.Status, "injected"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.received = append(e.received, VendorTranslateRequest{Texts: slices.Clone(texts), From: from, To: to})
	if e.spent {
		return nil, &engineError{456, "quota exceeded"}
	}
	if to == "zz" || from == "zz" {
		return nil, &engineError{400, "zz is not supported"}
	}
	if sdk.TranslateCharacters(texts) > memEngineLimit {
		return nil, &engineError{413, "request too large"}
	}
	out := make([]sdk.Translation, len(texts))
	for i, t := range texts {
		out[i].Text, out[i].DetectedLanguage = e.Expect(t, to)
		if from != "" {
			out[i].DetectedLanguage = from
		}
	}
	return out, nil
}

// memTranslator is a translator plugin over a memEngine; bug names the
// mistake it makes ("" for none).
type memTranslator struct {
	e   *memEngine
	bug string
}

func (m memTranslator) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	info := sdk.Info{Kind: sdk.PluginKindTranslator, Name: "memtranslate", Version: "1.0.0",
		Settings:   []sdk.SettingField{{Key: "api_key", Label: "API key", Secret: m.bug != "key not Secret"}},
		Translator: &sdk.TranslatorCapabilities{DetectsLanguage: true, MaxCharactersPerCall: memEngineLimit, MaxTextsPerCall: 50}}
	switch m.bug {
	case "no TranslatorCapabilities":
		info.Translator = nil
	case "characters per call over the engine's":
		info.Translator.MaxCharactersPerCall = 2 * memEngineLimit
	}
	return info, nil
}

func (m memTranslator) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{Detail: "ok"}, nil
}

func (m memTranslator) Translate(ctx context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	info, _ := m.Info(ctx, sdk.InfoRequest{})
	if m.bug != "over-limit call sent" && m.bug != "no TranslatorCapabilities" {
		if err := sdk.CheckTranslateRequest(info, req); err != nil {
			return sdk.TranslateResponse{}, err
		}
	}
	texts, from := req.Texts, req.From
	switch m.bug {
	case "From ignored":
		from = ""
	case "texts dropped":
		if len(texts) > 1 {
			texts = texts[:len(texts)-1]
		}
	}
	out, err := m.e.translate(texts, from, req.To)
	if err != nil {
		var ee *engineError
		if !asEngineError(err, &ee) {
			return sdk.TranslateResponse{}, err
		}
		switch {
		case ee.status == 456 && m.bug != "quota unclassified":
			return sdk.TranslateResponse{}, sdk.QuotaExceededError(time.Hour, "quota spent")
		case ee.status == 400 && strings.Contains(ee.msg, "not supported") && m.bug != "unsupported language unclassified":
			return sdk.TranslateResponse{}, sdk.UnsupportedLanguageError("%s", ee.msg)
		case m.bug == "unclassified errors":
			return sdk.TranslateResponse{}, fmt.Errorf("engine: %s", ee.msg)
		}
		return sdk.TranslateResponse{}, sdk.HTTPError(ee.status, nil, "engine: %s", ee.msg)
	}
	switch m.bug {
	case "texts reordered":
		slices.Reverse(out)
	case "texts dropped":
		out = append(out, sdk.Translation{Text: req.Texts[len(req.Texts)-1], DetectedLanguage: "en"})
	}
	return sdk.TranslateResponse{Translations: out}, nil
}

func asEngineError(err error, target **engineError) bool {
	e, ok := err.(*engineError)
	if ok {
		*target = e
	}
	return ok
}

func runTranslatorSuite(t *testing.T, bug string, withVendor bool) []string {
	e := &memEngine{}
	suite := TranslatorSuite{Settings: sdk.Settings{"api_key": "k"}}
	if withVendor {
		suite.Vendor = e
	}
	rec := newRecorder(t)
	runTranslator(rec, memTranslator{e: e, bug: bug}, suite)
	return *rec.findings
}

func TestTranslationKitCorrectPluginPasses(t *testing.T) {
	for _, withVendor := range []bool{true, false} {
		if f := runTranslatorSuite(t, "", withVendor); len(f) > 0 {
			t.Errorf("translator (vendor view %v): %q", withVendor, f)
		}
	}
}

func TestTranslationKitCatchesMutants(t *testing.T) {
	for _, tc := range []struct{ bug, subtest string }{
		{"From ignored", "the source language is passed on"},
		{"texts dropped", "each text is translated in order"},
		{"texts reordered", "each text is translated in order"},
		{"characters per call over the engine's", "info"},
		{"characters per call over the engine's", "characters per call"},
		{"over-limit call sent", "characters per call"},
		{"no TranslatorCapabilities", "info"},
		{"key not Secret", "info"},
		{"quota unclassified", "spent quota is QuotaExceeded"},
		{"unsupported language unclassified", "unsupported language is classified"},
		{"unclassified errors", "engine errors are classified"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			findings := runTranslatorSuite(t, tc.bug, true)
			caught := false
			for _, f := range findings {
				if strings.HasPrefix(f, tc.subtest) {
					caught = true
				}
			}
			if !caught {
				t.Errorf("mutant %q not reported by %q; findings: %q", tc.bug, tc.subtest, findings)
			}
		})
	}
}
