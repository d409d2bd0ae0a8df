// Package setup says which parts of an integration are still missing, so a
// half-finished integration can be saved and the hub runs what is complete.
package setup

import (
	"fmt"
	"strings"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// InfoFunc returns what a plugin said about itself; ok is false for an
// unknown plugin.
type InfoFunc func(name string) (info sdk.Info, ok bool)

// missingSettings lists required settings of info that s lacks.
func missingSettings(info sdk.Info, s sdk.Settings) []string {
	var out []string
	for _, f := range info.Settings {
		if f.Required && strings.TrimSpace(s[f.Key]) == "" {
			out = append(out, f.Key)
		}
	}
	return out
}

// HelpdeskMissing lists what the integration's helpdesk part lacks.
func HelpdeskMissing(in state.Integration, plugins InfoFunc) []string {
	if in.HelpdeskPlugin == "" {
		return []string{"helpdesk.plugin"}
	}
	info, ok := plugins(in.HelpdeskPlugin)
	if !ok {
		return []string{fmt.Sprintf("helpdesk.plugin: no helpdesk plugin %q is installed", in.HelpdeskPlugin)}
	}
	if info.Kind != sdk.PluginKindHelpdesk {
		return []string{fmt.Sprintf("helpdesk.plugin: %q is a %s plugin", in.HelpdeskPlugin, info.Kind)}
	}
	var out []string
	for _, k := range missingSettings(info, in.HelpdeskSettings) {
		out = append(out, "helpdesk.settings."+k)
	}
	return out
}

// AppMissing lists what an app lacks before it can be polled. Store
// credentials are only required where the store has no public listing;
// without them replying is refused.
func AppMissing(app state.App, plugins InfoFunc) []string {
	var out []string
	if app.StorePlugin == "" {
		return []string{"store"}
	}
	info, ok := plugins(app.StorePlugin)
	if !ok {
		return []string{fmt.Sprintf("store: no store plugin %q is installed", app.StorePlugin)}
	}
	if info.Kind != sdk.PluginKindStore {
		return []string{fmt.Sprintf("store: %q is a %s plugin", app.StorePlugin, info.Kind)}
	}
	if strings.TrimSpace(app.StoreAppID) == "" {
		out = append(out, "store_app_id")
	}
	public := info.Store != nil && info.Store.PublicListing
	if HasStoreAccount(app, info) || !public {
		for _, k := range missingSettings(info, app.StoreSettings) {
			out = append(out, "settings."+k)
		}
	}
	return out
}

// HasStoreAccount reports whether the app has store credentials: one of
// the store plugin's secret settings (for plugins without secret settings,
// any setting) has a value. Settings such as a base URL or a list of feed
// countries are not an account.
func HasStoreAccount(app state.App, info sdk.Info) bool {
	secrets := false
	for _, f := range info.Settings {
		if !f.Secret {
			continue
		}
		secrets = true
		if strings.TrimSpace(app.StoreSettings[f.Key]) != "" {
			return true
		}
	}
	if secrets {
		return false
	}
	for _, v := range app.StoreSettings {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// Runnable reports whether an app of an integration can run: the helpdesk
// part and the app are complete.
func Runnable(in state.Integration, app state.App, plugins InfoFunc) bool {
	return len(HelpdeskMissing(in, plugins)) == 0 && len(AppMissing(app, plugins)) == 0
}
