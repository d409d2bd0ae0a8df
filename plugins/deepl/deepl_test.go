package deepl_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/deepl"
	"github.com/reviewhub/reviewhub/plugins/deepl/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const key = "279a2e9d-83b3-c416-7e2d-f721593e42a0:fx" // the form of DeepL's documented API Free key

func start(t *testing.T) (*fake.Server, string) {
	t.Helper()
	f := fake.New(key)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func checked(t *testing.T) sdk.TranslatorPlugin {
	t.Helper()
	tr, err := sdk.CheckedTranslator(deepl.New())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTranslationDeepLConformance(t *testing.T) {
	f, url := start(t)
	tr := sdktest.LaunchTranslator(t, sdktest.Build(t, "./cmd/hub-plugin-deepl"))
	sdktest.RunTranslator(t, tr, sdktest.TranslatorSuite{Settings: f.Settings(url), Vendor: f})
}

// API Free keys end in ":fx" and go to api-free.deepl.com, others to
// api.deepl.com (developers.deepl.com, "Authentication").
func TestTranslationDeepLHostByKey(t *testing.T) {
	if got := deepl.BaseFor(key); got != "https://api-free.deepl.com" {
		t.Errorf("free key: %s", got)
	}
	if got := deepl.BaseFor("279a2e9d-83b3-c416-7e2d-f721593e42a0"); got != "https://api.deepl.com" {
		t.Errorf("pro key: %s", got)
	}
}

func TestTranslationDeepLLanguageCodes(t *testing.T) {
	for tag, want := range map[string]string{"en": "EN-US", "en-GB": "EN-GB", "pt": "PT-BR", "pt-PT": "PT-PT", "ja": "JA", "zh-TW": "ZH-HANT", "de-AT": "DE"} {
		if got := deepl.TargetCode(tag); got != want {
			t.Errorf("target %s: %s, want %s", tag, got, want)
		}
	}
	if got := deepl.SourceCode("en-GB"); got != "EN" {
		t.Errorf("source en-GB: %s", got)
	}
}

func TestTranslationDeepLTranslates(t *testing.T) {
	f, url := start(t)
	res, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: f.Settings(url), Texts: []string{"アプリが起動しません。"}, To: "en"})
	if err != nil || len(res.Translations) != 1 || res.Translations[0].Text != "The app does not start." || res.Translations[0].DetectedLanguage != "ja" {
		t.Fatalf("ja → en: %+v %v", res, err)
	}
	got := f.Received()
	if len(got) != 1 || got[0].To != "EN-US" || got[0].From != "" {
		t.Errorf("DeepL received %+v", got)
	}
	if f.Characters() != 11 {
		t.Errorf("%d characters billed, want 11", f.Characters())
	}
}

func TestTranslationDeepLErrors(t *testing.T) {
	f, url := start(t)
	tr := checked(t)
	translate := func(s sdk.Settings) error {
		_, err := tr.Translate(ctx(t), sdk.TranslateRequest{Settings: s, Texts: []string{"Hello, World!"}, To: "de"})
		return err
	}
	f.Exhaust(true)
	if err := translate(f.Settings(url)); !sdk.IsQuotaExceeded(err) || sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) <= 0 {
		t.Errorf("456: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	f.Exhaust(false)
	f.SetLimit(5)
	if err := translate(f.Settings(url)); !sdk.IsQuotaExceeded(err) {
		t.Errorf("over the character limit: %v", err)
	}
	f.SetLimit(500000)
	bad := sdk.Settings{"auth_key": "wrong:fx", "base_url": url}
	if err := translate(bad); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), ":fx") || strings.Contains(err.Error(), "wrong:fx") {
		t.Errorf("wrong key: %v (%v)", err, sdk.KindOf(err))
	}
	f.RateLimit(1, 20*time.Second)
	if err := translate(f.Settings(url)); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.IsQuotaExceeded(err) || sdk.RetryAfterOf(err) != 20*time.Second {
		t.Errorf("429: %v", err)
	}
	f.Fail(1, 529)
	if err := translate(f.Settings(url)); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("529: %v", err)
	}
	// A target DeepL lacks is refused before any call.
	calls := f.Calls()
	if _, err := tr.Translate(ctx(t), sdk.TranslateRequest{Settings: f.Settings(url), Texts: []string{"x y"}, To: "tlh"}); !sdk.IsUnsupportedLanguage(err) || f.Calls() != calls {
		t.Errorf("Klingon: %v, %d calls", err, f.Calls()-calls)
	}
}

func TestTranslationDeepLCheckCredentials(t *testing.T) {
	f, url := start(t)
	rep, err := checked(t).CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: f.Settings(url)})
	if err != nil || len(rep.Checks) != 2 || rep.Checks[0].Status != sdk.CheckOK || !strings.Contains(rep.Checks[0].Detail, "API Free") {
		t.Fatalf("check: %+v %v", rep, err)
	}
	f.SetLimit(10)
	if _, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: f.Settings(url), Texts: []string{"0123456789"}, From: "en", To: "de"}); err != nil {
		t.Fatal(err)
	}
	rep, err = checked(t).CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: f.Settings(url)})
	if err != nil || rep.Checks[0].Status != sdk.CheckFail || !strings.Contains(rep.Checks[0].Detail, "spent") {
		t.Errorf("spent quota: %+v %v", rep, err)
	}
}
