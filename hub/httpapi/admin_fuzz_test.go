package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// FuzzIntegrationInput: any JSON body gives either field errors or a valid
// integration, never a panic, and never keeps settings for unknown keys.
func FuzzIntegrationInput(f *testing.F) {
	for _, s := range []string{
		`{"id":"a"}`,
		`{"id":"a","helpdesk":{"plugin":"desk","settings":{"key":"v","token":"s"}},"apps":[{"id":"x","store":"st","store_app_id":"1","filters":{"ratings":[1,5],"countries":["rus"]}}]}`,
		`{"id":"a","apps":[{"id":"x","store":"desk","poll_interval":"1ms"}]}`,
		`{"apps":[{},{}]}`,
	} {
		f.Add([]byte(s))
	}
	a := &Admin{
		Info: func(name string) (sdk.Info, bool) {
			switch name {
			case "desk":
				return sdk.Info{Kind: sdk.PluginKindHelpdesk, Settings: []sdk.SettingField{{Key: "key", Label: "k", Required: true}, {Key: "token", Label: "t", Secret: true}}}, true
			case "st":
				return sdk.Info{Kind: sdk.PluginKindStore, Store: &sdk.StoreCapabilities{}}, true
			}
			return sdk.Info{}, false
		},
		Plugins: func() []string { return []string{"desk", "st"} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var j IntegrationJSON
		if json.Unmarshal(body, &j) != nil {
			return
		}
		in, errs := a.fromJSON(j, nil)
		if len(errs) > 0 {
			return
		}
		for k := range in.HelpdeskSettings {
			if k != "key" && k != "token" {
				t.Fatalf("unknown setting %q kept", k)
			}
		}
		_ = a.toJSON(in)
	})
}
