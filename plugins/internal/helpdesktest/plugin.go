package helpdesktest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// Fake is a vendor's fake API that knows working plugin settings for
// itself served at baseURL.
type Fake interface {
	http.Handler
	Settings(baseURL, webhookSecret string) sdk.Settings
}

// Plugin is the helpdesk plugin of the package under test, built and
// launched as its own process, with its vendor's fake served.
type Plugin struct {
	API      *httptest.Server
	Desk     sdk.HelpdeskPlugin
	Settings sdk.Settings // working settings for the fake at API
}

// Launch serves fake, builds the plugin of the current directory (its
// command cmd/hub-plugin-NAME, NAME the directory's name), launches it, and returns both with settings for the fake (webhookSecret as the
// webhook's secret). Both stop when the test ends.
func Launch(t *testing.T, fake Fake, webhookSecret string) Plugin {
	t.Helper()
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	desk := sdktest.LaunchHelpdesk(t, sdktest.Build(t, "./cmd/hub-plugin-"+filepath.Base(wd)))
	return Plugin{API: api, Desk: desk, Settings: fake.Settings(api.URL, webhookSecret)}
}

// Change is the review change the helpdesk tests deliver: Kenji's
// Japanese Google Play review gp-1 of the app ACME, answerable in 350
// characters.
func Change(kind string, rating int, text string, history ...sdk.ReviewVersion) sdk.ReviewChange {
	return sdk.ReviewChange{Store: "googleplay", StoreName: "Google Play", AppName: "ACME", Kind: kind, History: history, CanReply: true, ReplyMaxLength: 350,
		Review: sdk.Review{ID: "gp-1", Author: "Kenji", Rating: rating, Text: text, Language: "ja", AppVersion: "3.2",
			UpdatedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}}
}

// Alerter is desk's PostAlert side; the test stops when the SDK's client
// has none.
func Alerter(t *testing.T, desk sdk.HelpdeskPlugin) sdk.AlertPoster {
	t.Helper()
	a, ok := desk.(sdk.AlertPoster)
	if !ok {
		t.Fatal("the SDK's helpdesk client has no PostAlert")
	}
	return a
}

// ExpectMarks checks the plugin's settings schema: exactly the keys in
// endpoint are marked Endpoint (a change asks for the secrets again) and,
// when secret is not nil, exactly those in secret are marked Secret.
func ExpectMarks(t *testing.T, desk sdk.HelpdeskPlugin, endpoint, secret []string) {
	t.Helper()
	info, err := desk.Info(sdktest.Context(t), sdk.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range info.Settings {
		if want := slices.Contains(endpoint, f.Key); f.Endpoint != want {
			t.Errorf("setting %s: Endpoint %v, want %v", f.Key, f.Endpoint, want)
		}
		if want := slices.Contains(secret, f.Key); secret != nil && f.Secret != want {
			t.Errorf("setting %s: Secret %v, want %v", f.Key, f.Secret, want)
		}
	}
}
