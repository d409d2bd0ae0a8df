package setup

import (
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
