package sdktest

import (
	"slices"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// TranslatorVendor is a translation engine as the test sees it (the
// author's fake of the vendor's API). TranslatorSuite.Vendor takes one; it
// may also implement FaultInjector, QuotaExhauster and CharacterLimiter.
type TranslatorVendor interface {
	// Received is every translation request the engine's API received so
	// far, oldest first, as the engine read it.
	Received() []VendorTranslateRequest
	// Expect is what the engine answers for text translated into to: the
	// translation and the language it detects in text. The suite compares
	// the plugin's answers with it, text by text.
	Expect(text, to string) (translation, detected string)
	// Calls is the number of requests the engine's API has received so far
	// (faults.Faults counts them).
	Calls() int
}

// VendorTranslateRequest is one translation request as the engine read it.
type VendorTranslateRequest struct {
	Texts []string
	// From is the source language the request named ("" when the engine
	// was asked to detect it: LibreTranslate's "auto", DeepL's missing
	// source_lang), To the target; both as BCP 47 tags in any case.
	From, To string
}

// QuotaExhauster is an optional side of a TranslatorVendor: Exhaust makes
// the engine answer every translation as its account's quota being spent
// (DeepL's 456), until called with false.
type QuotaExhauster interface {
	Exhaust(spent bool)
}

// CharacterLimiter is an optional side of a TranslatorVendor: the most
// characters one request may carry at the engine. With it the suite checks
// that MaxCharactersPerCall stays within it.
type CharacterLimiter interface {
	CharacterLimit() int
}

// TranslatorSuite configures RunTranslator.
type TranslatorSuite struct {
	Settings sdk.Settings
	// NotSecret lists settings whose keys look like credentials but are
	// none.
	NotSecret []string
	// Texts are the texts to translate, in different languages the engine
	// translates from, at least two (default: German, Japanese and Spanish
	// sentences).
	Texts []string
	// From is a language of the engine's that the first text is in
	// (default "de"), To the language to translate into (default "en").
	From, To string
	// Vendor is the test's view of the engine behind the plugin (its fake).
	// Nil skips every check of what the plugin sent and of the answers'
	// text, and the engine's errors.
	Vendor TranslatorVendor
}

// defaultTexts are TranslatorSuite.Texts by default; the first is German.
var defaultTexts = []string{
	"Die App stürzt beim Start ab.",
	"アプリが起動しません。",
	"La aplicación es muy lenta.",
}

// LaunchTranslator starts a translator plugin binary.
func LaunchTranslator(t testing.TB, bin string, env ...string) sdk.TranslatorPlugin {
	t.Helper()
	tr, err := Launch(t, bin, env...).Translator()
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return tr
}

// RunTranslator checks that a translator plugin honours the protocol's
// contract: each text translated, in order, none dropped nor sent twice;
// the source language passed on when named and the detected one answered;
// MaxCharactersPerCall honoured and within the engine's limit; a language
// the engine lacks, a spent quota and the engine's errors classified.
// tr is a launched plugin (LaunchTranslator) or one in the test's process
// (then wrap it with sdk.CheckedTranslator, as ServeTranslator does).
func RunTranslator(t *testing.T, tr sdk.TranslatorPlugin, suite TranslatorSuite) {
	runTranslator(goTest{t}, tr, suite)
}

type translatorRun struct {
	tr    sdk.TranslatorPlugin
	suite TranslatorSuite
	caps  sdk.TranslatorCapabilities
	name  string
}

func runTranslator(t tester, impl any, suite TranslatorSuite) {
	tr, err := sdk.AsTranslatorPlugin(impl)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if len(suite.Texts) == 0 {
		suite.Texts = defaultTexts
		if suite.From == "" {
			suite.From = "de"
		}
	}
	if suite.To == "" {
		suite.To = "en"
	}
	r := &translatorRun{tr: tr, suite: suite}
	t.Run("info", func(t tester) {
		info, err := tr.Info(ctx(t), sdk.InfoRequest{})
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		r.name = info.Name
		if info.Kind != sdk.PluginKindTranslator || info.Name == "" || info.Version == "" {
			t.Errorf("Info: kind %q, name %q, version %q: want %s with a name and version", info.Kind, info.Name, info.Version, sdk.PluginKindTranslator)
		}
		checkSettingsSchema(t, info.Settings, suite.NotSecret)
		switch {
		case info.Translator == nil:
			t.Fatalf("Info: no TranslatorCapabilities (Info.Translator): the hub needs the languages and the characters per call")
		case info.Store != nil || info.Helpdesk != nil:
			t.Errorf("Info: a translator declares the capabilities of another kind (Store %v, Helpdesk %v)", info.Store != nil, info.Helpdesk != nil)
		}
		r.caps = *info.Translator
		if r.caps.MaxCharactersPerCall < 0 || r.caps.MaxTextsPerCall < 0 {
			t.Errorf("Info: negative limits (MaxCharactersPerCall %d, MaxTextsPerCall %d)", r.caps.MaxCharactersPerCall, r.caps.MaxTextsPerCall)
		}
		if l, ok := suite.Vendor.(CharacterLimiter); ok && (r.caps.MaxCharactersPerCall == 0 || r.caps.MaxCharactersPerCall > l.CharacterLimit()) {
			t.Errorf("Info: MaxCharactersPerCall %d, but the engine takes at most %d characters per request: the hub would send calls the engine refuses",
				r.caps.MaxCharactersPerCall, l.CharacterLimit())
		}
	})
	t.Run("check credentials", func(t tester) {
		if _, err := tr.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: suite.Settings}); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("each text is translated in order", r.inOrder)
	t.Run("the source language is passed on", r.sourceLanguage)
	t.Run("characters per call", r.charactersPerCall)
	t.Run("unsupported language is classified", func(t tester) {
		_, err := tr.Translate(ctx(t), sdk.TranslateRequest{Settings: suite.Settings, Texts: suite.Texts[:1], From: suite.From, To: "zz"})
		if !sdk.IsUnsupportedLanguage(err) || sdk.KindOf(err) != sdk.ErrorKindInvalid {
			t.Errorf("Translate into %q (no language): %v (kind %v, reason %q); want sdk.UnsupportedLanguageError", "zz", err, sdk.KindOf(err), sdk.ReasonOf(err))
		}
	})
	t.Run("spent quota is QuotaExceeded", func(t tester) {
		q, ok := suite.Vendor.(QuotaExhauster)
		if !ok {
			t.Skip("the vendor view has no Exhaust (QuotaExhauster): a spent quota is not checked")
		}
		q.Exhaust(true)
		defer q.Exhaust(false)
		_, err := tr.Translate(ctx(t), r.request(suite.Texts[:1], suite.From))
		if !sdk.IsQuotaExceeded(err) || sdk.KindOf(err) != sdk.ErrorKindRateLimited {
			t.Errorf("the engine's quota is spent: %v (kind %v, reason %q); want sdk.QuotaExceededError", err, sdk.KindOf(err), sdk.ReasonOf(err))
		}
	})
	t.Run("engine errors are classified", func(t tester) {
		checkFaults(t, suite.Vendor, func() error {
			_, err := tr.Translate(ctx(t), r.request(suite.Texts[:1], suite.From))
			return err
		})
	})
}

func (r *translatorRun) request(texts []string, from string) sdk.TranslateRequest {
	return sdk.TranslateRequest{Settings: r.suite.Settings, Texts: texts, From: from, To: r.suite.To}
}

// received is what the engine received since n earlier requests.
func (r *translatorRun) received(n int) []VendorTranslateRequest {
	all := r.suite.Vendor.Received()
	if n > len(all) {
		return nil
	}
	return all[n:]
}

func (r *translatorRun) inOrder(t tester) {
	from := ""
	if !r.caps.DetectsLanguage {
		t.Skip("the engine does not detect languages: texts of several languages cannot go in one call")
	}
	before := 0
	if r.suite.Vendor != nil {
		before = len(r.suite.Vendor.Received())
	}
	res, err := r.tr.Translate(ctx(t), r.request(r.suite.Texts, from))
	if err != nil {
		t.Fatalf("Translate %d texts: %v", len(r.suite.Texts), err)
	}
	if len(res.Translations) != len(r.suite.Texts) {
		t.Fatalf("Translate %d texts: %d translations; want one per text, in order", len(r.suite.Texts), len(res.Translations))
	}
	if r.suite.Vendor == nil {
		return
	}
	for i, text := range r.suite.Texts {
		want, detected := r.suite.Vendor.Expect(text, r.suite.To)
		got := res.Translations[i]
		if got.Text != want {
			t.Errorf("translation %d is %q; the engine translates %q as %q (dropped, reordered or changed?)", i+1, got.Text, text, want)
		}
		if !sdk.SameLanguage(got.DetectedLanguage, detected) {
			t.Errorf("translation %d: detected language %q; the engine detected %q", i+1, got.DetectedLanguage, detected)
		}
	}
	var sent []string
	for _, req := range r.received(before) {
		sent = append(sent, req.Texts...)
		if req.From != "" {
			t.Errorf("the engine was asked to translate from %q; the request named no language (detect)", req.From)
		}
		if !sdk.SameLanguage(req.To, r.suite.To) {
			t.Errorf("the engine was asked to translate into %q, want %q", req.To, r.suite.To)
		}
	}
	want := slices.Clone(r.suite.Texts)
	slices.Sort(want)
	slices.Sort(sent)
	if !slices.Equal(sent, want) {
		t.Errorf("the engine received the texts %q; want each of %q once", sent, want)
	}
}

func (r *translatorRun) sourceLanguage(t tester) {
	if r.suite.From == "" {
		t.Skip("the suite names no source language (TranslatorSuite.From) for its first text")
	}
	before := 0
	if r.suite.Vendor != nil {
		before = len(r.suite.Vendor.Received())
	}
	res, err := r.tr.Translate(ctx(t), r.request(r.suite.Texts[:1], r.suite.From))
	if err != nil {
		t.Fatalf("Translate from %q: %v", r.suite.From, err)
	}
	if len(res.Translations) != 1 {
		t.Fatalf("Translate one text: %d translations", len(res.Translations))
	}
	if !sdk.SameLanguage(res.Translations[0].DetectedLanguage, r.suite.From) {
		t.Errorf("Translate from %q: the answer's language is %q; want the request's", r.suite.From, res.Translations[0].DetectedLanguage)
	}
	if r.suite.Vendor == nil {
		return
	}
	got := r.received(before)
	if len(got) != 1 {
		t.Fatalf("the engine received %d requests for one text, want 1", len(got))
	}
	if !sdk.SameLanguage(got[0].From, r.suite.From) {
		t.Errorf("the engine was asked to translate from %q; the request named %q", got[0].From, r.suite.From)
	}
}

func (r *translatorRun) charactersPerCall(t tester) {
	limit := r.caps.MaxCharactersPerCall
	if limit == 0 {
		t.Skip("no MaxCharactersPerCall declared")
	}
	texts := fill(r.suite.Texts[0], limit, r.caps.MaxTextsPerCall)
	calls, before := 0, 0
	if r.suite.Vendor != nil {
		calls, before = r.suite.Vendor.Calls(), len(r.suite.Vendor.Received())
	}
	res, err := r.tr.Translate(ctx(t), r.request(texts, r.suite.From))
	if err != nil {
		t.Fatalf("Translate exactly MaxCharactersPerCall (%d) characters in %d texts: %v", limit, len(texts), err)
	}
	if len(res.Translations) != len(texts) {
		t.Errorf("Translate %d texts: %d translations", len(texts), len(res.Translations))
	}
	if r.suite.Vendor != nil {
		if l, ok := r.suite.Vendor.(CharacterLimiter); ok {
			for _, req := range r.received(before) {
				if n := sdk.TranslateCharacters(req.Texts); n > l.CharacterLimit() {
					t.Errorf("the engine received a request of %d characters; it takes at most %d", n, l.CharacterLimit())
				}
			}
		}
		calls = r.suite.Vendor.Calls()
	}
	over := append(slices.Clone(texts[:len(texts)-1]), texts[len(texts)-1]+"x")
	_, err = r.tr.Translate(ctx(t), r.request(over, r.suite.From))
	if sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("Translate MaxCharactersPerCall+1 (%d) characters: %v; want ErrorKindInvalid before any call (the hub splits its batches)", limit+1, err)
	}
	if r.suite.Vendor != nil && r.suite.Vendor.Calls() != calls {
		t.Errorf("a call over MaxCharactersPerCall reached the engine (%d requests)", r.suite.Vendor.Calls()-calls)
	}
}

// fill makes texts of exactly limit characters together, from repeats of
// sample, in at most maxTexts texts (0: no limit) of at most 1000
// characters where maxTexts allows.
func fill(sample string, limit, maxTexts int) []string {
	rs := []rune(strings.Repeat(sample+" ", limit/len([]rune(sample+" "))+1))[:limit]
	size := 1000
	if maxTexts > 0 && (limit+size-1)/size > maxTexts {
		size = (limit + maxTexts - 1) / maxTexts
	}
	var out []string
	for len(rs) > 0 {
		n := min(size, len(rs))
		chunk := rs[:n]
		// a chunk of spaces only would be an empty text
		if strings.TrimSpace(string(chunk)) == "" && len(out) > 0 {
			out[len(out)-1] += string(chunk)
		} else {
			out = append(out, string(chunk))
		}
		rs = rs[n:]
	}
	return out
}
