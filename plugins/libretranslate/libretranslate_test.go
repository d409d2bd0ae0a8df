package libretranslate_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/libretranslate"
	"github.com/reviewhub/reviewhub/plugins/libretranslate/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

func start(t *testing.T) (*fake.Server, string) {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

// The plugin process passes the conformance kit against the fake, without
// and with an API key.
func TestTranslationLibreTranslateConformance(t *testing.T) {
	bin := sdktest.Build(t, "./cmd/hub-plugin-libretranslate")
	for _, key := range []string{"", "secret-key"} {
		t.Run("key "+key, func(t *testing.T) {
			f, url := start(t)
			f.RequireKey(key)
			sdktest.RunTranslator(t, sdktest.LaunchTranslator(t, bin), sdktest.TranslatorSuite{Settings: f.Settings(url), Vendor: f})
		})
	}
}

func checked(t *testing.T) sdk.TranslatorPlugin {
	t.Helper()
	tr, err := sdk.CheckedTranslator(libretranslate.New())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTranslationLibreTranslateTranslatesAndDetects(t *testing.T) {
	f, url := start(t)
	tr := checked(t)
	res, err := tr.Translate(ctx(t), sdk.TranslateRequest{Settings: f.Settings(url), Texts: []string{"アプリが起動しません。", "Die App stürzt beim Start ab."}, To: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Translations) != 2 || res.Translations[0].Text != "The app does not start." || res.Translations[0].DetectedLanguage != "ja" ||
		res.Translations[1].Text != "The app crashes on start." || res.Translations[1].DetectedLanguage != "de" {
		t.Errorf("translations %+v", res.Translations)
	}
	got := f.Received()
	if len(got) != 1 || got[0].From != "" || got[0].To != "en" || len(got[0].Texts) != 2 {
		t.Errorf("LibreTranslate received %+v; want one request, source auto, both texts", got)
	}
	// A named source language is sent as such and answered as the detected one.
	res, err = tr.Translate(ctx(t), sdk.TranslateRequest{Settings: f.Settings(url), Texts: []string{"Thank you! We fixed the crash in version 2.1."}, From: "en", To: "ja"})
	if err != nil || res.Translations[0].Text != "ありがとうございます！バージョン2.1でクラッシュを修正しました。" || res.Translations[0].DetectedLanguage != "en" {
		t.Errorf("en → ja: %+v %v", res, err)
	}
}

func TestTranslationLibreTranslateErrors(t *testing.T) {
	f, url := start(t)
	tr := checked(t)
	translate := func(s sdk.Settings, to string) error {
		_, err := tr.Translate(ctx(t), sdk.TranslateRequest{Settings: s, Texts: []string{"Hello there"}, To: to})
		return err
	}
	if err := translate(f.Settings(url), "xx"); !sdk.IsUnsupportedLanguage(err) || !strings.Contains(err.Error(), "xx is not supported") {
		t.Errorf("unknown target: %v", err)
	}
	f.RequireKey("right")
	if err := translate(sdk.Settings{"base_url": url}, "es"); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "API key") {
		t.Errorf("no key: %v (%v)", err, sdk.KindOf(err))
	}
	if err := translate(sdk.Settings{"base_url": url, "api_key": "wrong"}, "es"); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong key: %v (%v)", err, sdk.KindOf(err))
	}
	f.RequireKey("")
	f.SetCharLimit(5)
	if err := translate(f.Settings(url), "es"); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "--char-limit") {
		t.Errorf("over the server's char limit: %v (%v)", err, sdk.KindOf(err))
	}
	f.SetCharLimit(5000)
	f.RateLimit(1, 30*time.Second)
	if err := translate(f.Settings(url), "es"); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("slowdown: %v", err)
	}
	f.Fail(1, 503)
	if err := translate(f.Settings(url), "es"); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v", err)
	}
}

func TestTranslationLibreTranslateCheckCredentials(t *testing.T) {
	f, url := start(t)
	f.RequireKey("k")
	rep, err := checked(t).CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: f.Settings(url)})
	if err != nil || len(rep.Checks) != 2 || !strings.Contains(rep.Checks[0].Detail, "ja") {
		t.Fatalf("check: %+v %v", rep, err)
	}
	if len(f.Received()) != 0 {
		t.Errorf("the check translated %d times", len(f.Received()))
	}
	if _, err := checked(t).CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: sdk.Settings{"base_url": url, "api_key": "bad"}}); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
		t.Errorf("a wrong key: %v", err)
	}
}
