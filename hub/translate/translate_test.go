package translate

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// engine is a translator plugin in the test's process: it translates by
// tagging ("[en] text", a few phrases for real), detects Japanese by its
// script, counts its calls and fails when told to.
type engine struct {
	mu    sync.Mutex
	calls [][]string
	fail  error
}

func (e *engine) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{Kind: sdk.PluginKindTranslator, Name: "testengine", DisplayName: "Test Engine", Version: "1",
		Translator: &sdk.TranslatorCapabilities{DetectsLanguage: true, MaxCharactersPerCall: 40, MaxTextsPerCall: 2}}, nil
}

func (e *engine) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}

var phrases = map[string]string{
	"アプリが起動しません。":              "The app does not start.",
	"Thank you, fixed in 2.1.": "ありがとうございます。2.1で修正しました。",
}

func (e *engine) Translate(_ context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, req.Texts)
	if e.fail != nil {
		return sdk.TranslateResponse{}, e.fail
	}
	var res sdk.TranslateResponse
	for _, t := range req.Texts {
		from := "en"
		for _, r := range t {
			if unicode.In(r, unicode.Hiragana, unicode.Katakana) {
				from = "ja"
			}
		}
		out := "[" + req.To + "] " + t
		if sdk.SameLanguage(from, req.To) {
			out = t
		} else if p, ok := phrases[t]; ok {
			out = p
		}
		res.Translations = append(res.Translations, sdk.Translation{Text: out, DetectedLanguage: from})
	}
	return res, nil
}

func (e *engine) callCount() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.calls) }

func newEngine(t *testing.T) (*engine, PluginEngine) {
	t.Helper()
	e := &engine{}
	checked, err := sdk.CheckedTranslator(e)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.Info(t.Context(), sdk.InfoRequest{})
	return e, PluginEngine{Plugin: checked, Info: info}
}

type countingMetrics struct {
	mu          sync.Mutex
	chars, hits int
	failures    []string
}

func (m *countingMetrics) Characters(_ string, n int) { m.mu.Lock(); m.chars += n; m.mu.Unlock() }
func (m *countingMetrics) CacheHit(string)            { m.mu.Lock(); m.hits++; m.mu.Unlock() }
func (m *countingMetrics) Failure(_, reason string) {
	m.mu.Lock()
	m.failures = append(m.failures, reason)
	m.mu.Unlock()
}

var team = Config{On: true, Languages: []string{"en", "ru"}}

// A Japanese review reaches the team with its English translation, marked
// as machine-translated with the engine's name; the same text again (an
// unchanged redelivery) costs no call.
func TestTranslationReviewInAnotherLanguage(t *testing.T) {
	e, eng := newEngine(t)
	m := &countingMetrics{}
	s := &Service{Cache: &MemoryCache{}, Metrics: m}
	r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	if r.Translated != "The app does not start." || r.From != "ja" || r.To != "en" || r.Engine != "Test Engine" || r.Note != "" || r.Later {
		t.Fatalf("result %+v", r)
	}
	text := Compose("アプリが起動しません。", r)
	if !strings.HasPrefix(text, "アプリが起動しません。") || !strings.Contains(text, "Machine translation (ja → en, Test Engine)") ||
		!strings.HasSuffix(text, "The app does not start.") {
		t.Errorf("ticket text %q", text)
	}
	again := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	if again.Translated != r.Translated || e.callCount() != 1 || m.hits != 1 || m.chars != len([]rune("アプリが起動しません。")) {
		t.Errorf("again: %+v; %d engine calls, %d cache hits, %d characters; want 1 call, 1 hit", again, e.callCount(), m.hits, m.chars)
	}
	// An edit is a new text: translated again.
	if edited := s.Review(t.Context(), team, eng, "アプリが起動しませんでした。", "ja", nil); edited.Translated == "" || e.callCount() != 2 {
		t.Errorf("edit: %+v, %d calls", edited, e.callCount())
	}
	// The cache is per engine and target language.
	if KeyOf("DeepL", "en", "x") == KeyOf("LibreTranslate", "en", "x") || KeyOf("DeepL", "en", "x") == KeyOf("DeepL", "de", "x") {
		t.Error("cache keys collide across engines or languages")
	}
}

func TestTranslationReviewInTheTeamsLanguageIsLeftAlone(t *testing.T) {
	e, eng := newEngine(t)
	s := &Service{Cache: &MemoryCache{}}
	for _, lang := range []string{"en-GB", "ru"} {
		if r := s.Review(t.Context(), team, eng, "Works fine", lang, nil); r != (ReviewResult{}) {
			t.Errorf("%s: %+v", lang, r)
		}
	}
	if r := s.Review(t.Context(), Config{Languages: team.Languages}, eng, "アプリが起動しません。", "ja", nil); r != (ReviewResult{}) {
		t.Errorf("translation off: %+v", r)
	}
	// No language given and the engine detects a team language: nothing shown.
	if r := s.Review(t.Context(), team, eng, "Works fine", "", nil); r != (ReviewResult{}) {
		t.Errorf("detected English: %+v", r)
	}
	if e.callCount() != 1 {
		t.Errorf("%d engine calls, want 1 (the detection)", e.callCount())
	}
}

// Google Play's own translation (translationLanguage) is used: no call.
func TestTranslationStoreTranslationSpendsNoCall(t *testing.T) {
	e, eng := newEngine(t)
	s := &Service{Cache: &MemoryCache{}}
	r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", &StoreTranslation{Text: "The app won't launch.", Language: "en"})
	if r.Translated != "The app won't launch." || r.Engine != "the store" || e.callCount() != 0 {
		t.Errorf("%+v, %d calls", r, e.callCount())
	}
}

// Failures never block: the review goes untranslated with a note, and is
// translated later when the failure can pass (down, out of quota).
func TestTranslationFailuresNeverBlock(t *testing.T) {
	e, eng := newEngine(t)
	m := &countingMetrics{}
	s := &Service{Cache: &MemoryCache{}, Metrics: m}
	e.fail = sdk.QuotaExceededError(time.Hour, "characters spent")
	r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	if r.Translated != "" || !r.Later || r.Wait != time.Hour || !strings.Contains(r.Note, "characters spent") ||
		!strings.Contains(r.Note, "delivered untranslated") || !strings.Contains(r.Note, "translated later") {
		t.Errorf("quota: %+v", r)
	}
	if Compose("アプリが起動しません。", r) != "アプリが起動しません。" {
		t.Error("an untranslated review's text changed")
	}
	e.fail = sdk.Errorf(sdk.ErrorKindUnavailable, "engine down")
	if r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil); !r.Later || r.Note == "" {
		t.Errorf("down: %+v", r)
	}
	e.fail = sdk.UnsupportedLanguageError("no Klingon")
	if r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil); r.Later || !strings.Contains(r.Note, "no Klingon") {
		t.Errorf("unsupported: %+v (not retried)", r)
	}
	if strings.Join(m.failures, ",") != "quota,unavailable,unsupported_language" {
		t.Errorf("failure metrics %q", m.failures)
	}
	// Back up: translated now (the follow-up), nothing cached from the failures.
	e.fail = nil
	if r := s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil); r.Translated != "The app does not start." {
		t.Errorf("after recovery: %+v", r)
	}
}

// An English answer to a Japanese review is published in Japanese, both
// texts in the outcome note; one already in Japanese is published as is;
// a translation over the store's limit is refused with the reason.
func TestTranslationAnswerIntoTheReviewersLanguage(t *testing.T) {
	_, eng := newEngine(t)
	s := &Service{Cache: &MemoryCache{}}
	a, err := s.Answer(t.Context(), team, eng, "Thank you, fixed in 2.1.", "ja", 350)
	if err != nil || !a.Translated || a.Publish != "ありがとうございます。2.1で修正しました。" ||
		!strings.Contains(a.Note, "Thank you, fixed in 2.1.") || !strings.Contains(a.Note, a.Publish) || !strings.Contains(a.Note, "Test Engine") {
		t.Fatalf("answer %+v %v", a, err)
	}
	if a, err := s.Answer(t.Context(), team, eng, "ありがとうございます。", "ja", 350); err != nil || a.Translated || a.Publish != "ありがとうございます。" {
		t.Errorf("already Japanese: %+v %v", a, err)
	}
	if a, err := s.Answer(t.Context(), team, eng, "Thanks!", "en-US", 350); err != nil || a.Translated || a.Publish != "Thanks!" {
		t.Errorf("English review: %+v %v", a, err)
	}
	_, err = s.Answer(t.Context(), team, eng, "Thank you, fixed in 2.1.", "ja", 10)
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "at most 10") {
		t.Errorf("too long: %v", err)
	}
}

func TestTranslationBatchesFollowThePluginsLimits(t *testing.T) {
	got := Batches([]string{"aaaa", "bbbb", "cc", "dddddddddd", "e"}, 8, 2)
	want := [][]string{{"aaaa", "bbbb"}, {"cc"}, {"dddddddddd"}, {"e"}}
	if len(got) != len(want) {
		t.Fatalf("%q", got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("batch %d: %q, want %q", i, got[i], want[i])
		}
	}
	e, eng := newEngine(t) // 40 characters, 2 texts per call
	out, err := (&Service{}).Translate(t.Context(), eng, []string{"one", "two", "three"}, "", "ja")
	if err != nil || len(out) != 3 || out[2].Text != "[ja] three" || e.callCount() != 2 {
		t.Errorf("%+v %v, %d calls", out, err, e.callCount())
	}
}

func TestTranslationRulesMatchTheTranslation(t *testing.T) {
	r := ReviewResult{Translated: "The app does not start."}
	if !strings.Contains(Matchable("アプリが起動しません。", r), "does not start") || Matchable("x", ReviewResult{}) != "x" {
		t.Error("Matchable")
	}
}

func TestTranslationMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewPromMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, eng := newEngine(t)
	s := &Service{Cache: &MemoryCache{}, Metrics: m}
	s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	s.Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			got[f.GetName()] += mt.GetCounter().GetValue()
		}
	}
	if got["reviewhub_translation_characters_total"] != 11 || got["reviewhub_translation_cache_hits_total"] != 1 {
		t.Errorf("metrics %v; want 11 characters and 1 cache hit", got)
	}
}

// The cache in the state: a second Service (another hub, or the same
// after a restart) finds the translation without calling the engine.
func TestTranslationCacheInTheState(t *testing.T) {
	key, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "hub.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, eng := newEngine(t)
	first := (&Service{Cache: StateCache{DB: db}}).Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	second := (&Service{Cache: StateCache{DB: db}}).Review(t.Context(), team, eng, "アプリが起動しません。", "ja", nil)
	if first.Translated != "The app does not start." || second != first || e.callCount() != 1 {
		t.Errorf("first %+v, second %+v, %d engine calls; want one call", first, second, e.callCount())
	}
}
