package libretranslate_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/plugins/libretranslate/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// clientPlayers play each documented example against the plugin: it must
// send the documented request and read the documented answer.
var clientPlayers = map[string]func(t *testing.T, url string){
	"translate-batch-auto": func(t *testing.T, url string) {
		res, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"Hello there", "Good morning"}, To: "es"})
		if err != nil || len(res.Translations) != 2 || res.Translations[1].Text != "Buenos días" || res.Translations[0].DetectedLanguage != "en" {
			t.Errorf("%+v %v", res, err)
		}
	},
	"translate-batch": func(t *testing.T, url string) {
		res, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"Hello", "World"}, From: "en", To: "es"})
		if err != nil || len(res.Translations) != 2 || res.Translations[0].Text != "Hola" || res.Translations[1].DetectedLanguage != "en" {
			t.Errorf("%+v %v", res, err)
		}
	},
	"translate-unsupported": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"Hello"}, From: "en", To: "zz"})
		if !sdk.IsUnsupportedLanguage(err) {
			t.Errorf("%v", err)
		}
	},
	"translate-char-limit": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"This text is too long"}, From: "en", To: "es"})
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "exceeds text limit") {
			t.Errorf("%v", err)
		}
	},
	"translate-invalid-key": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url, "api_key": "bogus-key"}, Texts: []string{"Hello"}, From: "en", To: "es"})
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
			t.Errorf("%v", err)
		}
	},
	"translate-key-required": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"Hello"}, From: "en", To: "es"})
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
			t.Errorf("%v", err)
		}
	},
	"translate-slowdown": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"base_url": url}, Texts: []string{"Hello"}, From: "en", To: "es"})
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != sdk.DefaultRetryAfter {
			t.Errorf("%v", err)
		}
	},
}

// fakeSetups prepare the fake for an example.
var fakeSetups = map[string]func(f *fake.Server){
	"translate-char-limit":   func(f *fake.Server) { f.SetCharLimit(5) },
	"translate-invalid-key":  func(f *fake.Server) { f.RequireKey("valid-key") },
	"translate-key-required": func(f *fake.Server) { f.RequireKey("valid-key") },
	"translate-slowdown":     func(f *fake.Server) { f.RateLimit(1, 0) },
}

func TestTranslationLibreTranslateVendorEvidence(t *testing.T) {
	examples := evidence.Load(t, "testdata/vendor")
	if len(examples) < 10 {
		t.Fatalf("%d examples", len(examples))
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if play, ok := clientPlayers[ex.Name]; ok {
				play(t, evidence.Serve(t, ex).URL)
			}
			f := fake.New()
			if setup, ok := fakeSetups[ex.Name]; ok {
				setup(f)
			}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			evidence.Replay(t, srv.Client(), srv.URL, ex, func(*http.Request) {})
		})
	}
}
