package setup

import (
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func TestHasStoreAccount(t *testing.T) {
	withSecrets := sdk.Info{Settings: []sdk.SettingField{{Key: "private_key", Secret: true}, {Key: "countries"}}}
	plain := sdk.Info{Settings: []sdk.SettingField{{Key: "url"}}}
	for _, tc := range []struct {
		info     sdk.Info
		settings sdk.Settings
		want     bool
	}{
		{withSecrets, sdk.Settings{"countries": "us,jp"}, false}, // a public-feed app: no account
		{withSecrets, sdk.Settings{"private_key": "  "}, false},
		{withSecrets, sdk.Settings{"private_key": "-----BEGIN"}, true},
		{plain, sdk.Settings{}, false},
		{plain, sdk.Settings{"url": "http://x"}, true},
	} {
		if got := HasStoreAccount(state.App{StoreSettings: tc.settings}, tc.info); got != tc.want {
			t.Errorf("HasStoreAccount(%v) = %v, want %v", tc.settings, got, tc.want)
		}
	}
}

func TestCheckSettingsEndpoints(t *testing.T) {
	info := sdk.Info{Settings: []sdk.SettingField{
		{Key: "subdomain", Endpoint: true}, {Key: "base_url", Endpoint: true}, {Key: "api_key", Secret: true},
	}}
	cases := map[string]int{"acme": 0, "https://acme.example/api": 0, "javascript:alert(1)": 1, "ftp://x.example": 1, "127.0.0.1:80": 1}
	for v, want := range cases {
		got := CheckSettings("p", info, map[string]string{"subdomain": v})
		if len(got) != want {
			t.Errorf("subdomain %q: %d problems (%v), want %d", v, len(got), got, want)
		}
	}
	if got := CheckSettings("p", info, map[string]string{"apikey": "TYPO"}); len(got) != 1 || strings.Contains(got[0].Reason, "TYPO") {
		t.Errorf("unknown key: %v", got)
	}
}

// A typed setting of the wrong form or out of range is refused when the
// account is saved, named by key, its value not repeated.
func TestCheckSettingsTyped(t *testing.T) {
	info := sdk.Info{Settings: []sdk.SettingField{
		{Key: "webhook_tolerance", Type: sdk.SettingDuration, Min: "10s", Max: "24h"},
		{Key: "base_url", Type: sdk.SettingURL, Endpoint: true},
		{Key: "tint", Type: "colour"},
	}}
	for _, tc := range []struct {
		key, value, want string
	}{
		{"webhook_tolerance", "10m", ""},
		{"webhook_tolerance", "soon", "not a duration such as 90s or 2h"},
		{"webhook_tolerance", "1s", "below the least allowed, 10s"},
		{"base_url", "https://api.example", ""},
		{"base_url", "http://vendor.example", "not an https URL (plain http only for a loopback address)"},
		// A type a later SDK added: text to this hub, so the account of a
		// plugin built with that SDK can be saved.
		{"tint", "#ff0000", ""},
	} {
		got := CheckSettings("p", info, map[string]string{tc.key: tc.value})
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s=%q: %v, want no problem", tc.key, tc.value, got)
		case tc.want != "" && (len(got) != 1 || got[0].Key != tc.key || got[0].Reason != tc.want):
			t.Errorf("%s=%q: %v, want %q", tc.key, tc.value, got, tc.want)
		}
	}
}
