//go:build unix

package pluginhost

import (
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const translatorPkg = "github.com/reviewhub/reviewhub/hub/e2e/testplugins/translator"

// The hub starts a translator plugin like any other, reads its
// capabilities and calls it through the restart-following proxy; a typed
// error (a spent quota) crosses the process boundary with its reason and
// wait.
func TestTranslationPluginHostCallsATranslator(t *testing.T) {
	h := start(t, map[string]string{"testtranslator": sdktest.Build(t, translatorPkg)}, Options{})
	p, ok := h.Plugin("testtranslator")
	if !ok {
		t.Fatal("no plugin")
	}
	info := p.Info()
	if info.Kind != sdk.PluginKindTranslator || info.Translator == nil || info.Translator.MaxCharactersPerCall != 2000 ||
		!info.Translator.DetectsLanguage || len(info.Translator.Quotas) != 1 {
		t.Fatalf("info %+v (translator %+v)", info, info.Translator)
	}
	tr := p.Translator()
	res, err := tr.Translate(t.Context(), sdk.TranslateRequest{Texts: []string{"アプリが起動しません。", "fine"}, To: "en"})
	if err != nil || len(res.Translations) != 2 || res.Translations[0].Text != "The app does not start." ||
		res.Translations[0].DetectedLanguage != "ja" || res.Translations[1].Text != "fine" {
		t.Fatalf("translate: %+v %v", res, err)
	}
	_, err = tr.Translate(t.Context(), sdk.TranslateRequest{Settings: sdk.Settings{"fail": "quota"}, Texts: []string{"x"}, To: "en"})
	if !sdk.IsQuotaExceeded(err) || sdk.RetryAfterOf(err) <= 0 {
		t.Errorf("a spent quota: %v (reason %q)", err, sdk.ReasonOf(err))
	}
	// The SDK refuses a call over MaxCharactersPerCall in the plugin.
	long := make([]rune, 2001)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := tr.Translate(t.Context(), sdk.TranslateRequest{Texts: []string{string(long)}, To: "en"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("2001 characters: %v", err)
	}
	// A translator is not a store.
	if _, err := p.Store().ListReviews(t.Context(), sdk.ListReviewsRequest{AppID: "x"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("a translator called as a store: %v", err)
	}
}
