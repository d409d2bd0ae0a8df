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
