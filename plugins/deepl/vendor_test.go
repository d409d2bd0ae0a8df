package deepl_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/reviewhub/reviewhub/plugins/deepl/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

var clientPlayers = map[string]func(t *testing.T, url string){
	"translate": func(t *testing.T, url string) {
		res, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"auth_key": "KEY", "base_url": url}, Texts: []string{"Hello, World!"}, From: "en", To: "de"})
		if err != nil || len(res.Translations) != 1 || res.Translations[0].Text != "Hallo, Welt!" || res.Translations[0].DetectedLanguage != "en" {
			t.Errorf("%+v %v", res, err)
		}
	},
	"translate-detect": func(t *testing.T, url string) {
		res, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"auth_key": "KEY", "base_url": url}, Texts: []string{"Hello, World!", "アプリが起動しません。"}, To: "de"})
		if err != nil || len(res.Translations) != 2 || res.Translations[1].DetectedLanguage != "ja" || res.Translations[1].Text != "Die App startet nicht." {
			t.Errorf("%+v %v", res, err)
		}
	},
	"quota-exceeded": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"auth_key": "KEY", "base_url": url}, Texts: []string{"Hello, World!"}, To: "de"})
		if !sdk.IsQuotaExceeded(err) {
			t.Errorf("%v", err)
		}
	},
	"forbidden": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"auth_key": "wrong-key:fx", "base_url": url}, Texts: []string{"Hello, World!"}, To: "de"})
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
			t.Errorf("%v", err)
		}
	},
	"too-many-requests": func(t *testing.T, url string) {
		_, err := checked(t).Translate(ctx(t), sdk.TranslateRequest{Settings: sdk.Settings{"auth_key": "KEY", "base_url": url}, Texts: []string{"Hello, World!"}, To: "de"})
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.IsQuotaExceeded(err) {
			t.Errorf("%v", err)
		}
	},
}

var fakeSetups = map[string]func(f *fake.Server){
	"quota-exceeded":    func(f *fake.Server) { f.Exhaust(true) },
	"too-many-requests": func(f *fake.Server) { f.RateLimit(1, 0) },
}

func TestTranslationDeepLVendorEvidence(t *testing.T) {
	examples := evidence.Load(t, "testdata/vendor")
	if len(examples) < 7 {
		t.Fatalf("%d examples", len(examples))
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if play, ok := clientPlayers[ex.Name]; ok {
				play(t, evidence.Serve(t, ex).URL)
			}
			f := fake.New("KEY")
			if setup, ok := fakeSetups[ex.Name]; ok {
				setup(f)
			}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			evidence.Replay(t, srv.Client(), srv.URL, ex, func(*http.Request) {})
		})
	}
}
