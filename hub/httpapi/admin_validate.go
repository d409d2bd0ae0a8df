package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// decodeBody reads one JSON value of at most 1 MiB, rejecting unknown
// fields; bad input is a 400 (or 413).
func decodeBody[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var in T
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return in, errorf(http.StatusRequestEntityTooLarge, "body larger than %d bytes", tooBig.Limit)
		}
		return in, errorf(http.StatusBadRequest, "malformed JSON body: %s", clip(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return in, errorf(http.StatusBadRequest, "malformed JSON body: more than one JSON value")
	}
	return in, nil
}

// fromJSON validates the input and merges it with the stored integration:
// secret settings left out keep their stored value ("" clears one).
func (a *Admin) fromJSON(j IntegrationJSON, old *state.Integration) (state.Integration, []*config.FieldError) {
	var errs []*config.FieldError
	add := func(f, r string) { errs = append(errs, &config.FieldError{Field: f, Reason: r}) }
	in := state.Integration{ID: j.ID, Name: j.Name, Tags: j.Tags == nil || *j.Tags, Source: state.SourceAPI}
	if !config.ValidID(j.ID) {
		add("id", fmt.Sprintf("%q %s", clip(j.ID, 64), config.IDRule))
	}
	if j.Helpdesk != nil {
		in.HelpdeskPlugin = j.Helpdesk.Plugin
		var prev sdk.Settings
		if old != nil && old.HelpdeskPlugin == j.Helpdesk.Plugin {
			prev = old.HelpdeskSettings
		}
		in.HelpdeskSettings = a.mergeSettings("helpdesk", j.Helpdesk.Plugin, sdk.PluginKindHelpdesk, j.Helpdesk.Settings, prev, add)
	}
	seen := map[string]bool{}
	for i, aj := range j.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		if !config.ValidID(aj.ID) {
			add(p+".id", fmt.Sprintf("%q %s", clip(aj.ID, 64), config.IDRule))
		} else if seen[aj.ID] {
			add(p+".id", fmt.Sprintf("%q is used twice", aj.ID))
		}
		seen[aj.ID] = true
		app := state.App{ID: aj.ID, Name: aj.Name, StorePlugin: aj.Store, StoreAppID: strings.TrimSpace(aj.StoreAppID), Filters: aj.Filters}
		if aj.PollInterval != "" {
			d, err := time.ParseDuration(aj.PollInterval)
			if err != nil || d < time.Second {
				add(p+".poll_interval", fmt.Sprintf("%q is not a duration of at least 1s (e.g. \"10m\")", clip(aj.PollInterval, 64)))
			}
			app.PollInterval = d
		}
		if err := app.Filters.Normalize(); err != nil {
			var fe *filter.FieldError
			if errors.As(err, &fe) {
				add(p+".filters."+fe.Field, fe.Reason)
			} else {
				add(p+".filters", err.Error())
			}
		}
		var prev sdk.Settings
		if old != nil {
			for _, oa := range old.Apps {
				if oa.ID == aj.ID && oa.StorePlugin == aj.Store {
					prev = oa.StoreSettings
				}
			}
		}
		app.StoreSettings = a.mergeSettings(p, aj.Store, sdk.PluginKindStore, aj.Settings, prev, add)
		in.Apps = append(in.Apps, app)
	}
	switch {
	case j.Automation != nil:
		in.Automation = *j.Automation
	case old != nil:
		// Kept, and checked again: the rules may name an app removed now.
		in.Automation = old.Automation
	}
	apps, stores := appsAndStores(in.Apps)
	eng, autoErrs := rules.Compile(in.Automation, apps, stores)
	for _, fe := range autoErrs {
		add("automation."+fe.Field, fe.Reason)
	}
	in.Automation = eng.Automation() // canonical (the zero value when invalid: nothing is stored then)
	return in, errs
}

// appsAndStores are the app ids and store plugins rules may name.
func appsAndStores(apps []state.App) (ids, stores []string) {
	ids, stores = []string{}, []string{}
	for _, a := range apps {
		ids = append(ids, a.ID)
		if !slices.Contains(stores, a.StorePlugin) {
			stores = append(stores, a.StorePlugin)
		}
	}
	return ids, stores
}

func (a *Admin) mergeSettings(prefix, plugin, kind string, given map[string]string, prev sdk.Settings, add func(f, r string)) sdk.Settings {
	pluginField := prefix + ".plugin"
	if kind == sdk.PluginKindStore {
		pluginField = prefix + ".store"
	}
	out := sdk.Settings{}
	if plugin == "" {
		if len(given) > 0 {
			add(pluginField, "settings were given without naming the plugin")
		}
		return out
	}
	info, ok := a.Info(plugin)
	if !ok {
		add(pluginField, fmt.Sprintf("no plugin %q is installed (installed: %s)", clip(plugin, 64), strings.Join(a.Plugins(), ", ")))
		return out
	}
	if info.Kind != kind {
		add(pluginField, fmt.Sprintf("%q is a %s plugin, not a %s", plugin, info.Kind, kind))
		return out
	}
	known := map[string]sdk.SettingField{}
	for _, f := range info.Settings {
		known[f.Key] = f
	}
	// The checks hub check makes of a configuration file's settings:
	// unknown keys, typed values, endpoints given as URLs.
	refused := map[string]bool{}
	for _, p := range setup.CheckSettings(plugin, info, given) {
		add(prefix+".settings."+clip(p.Key, 64), p.Reason)
		refused[p.Key] = true
	}
	for k, v := range given {
		if !refused[k] {
			out[k] = v
		}
	}
	for k, v := range prev {
		if _, given := given[k]; !given && known[k].Secret {
			out[k] = v // secrets are write-only: keep what was stored
		}
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	// Stored secrets never follow a changed endpoint unasked: whoever
	// changes where the credentials go gives them again.
	if prev != nil {
		var moved []string
		for _, f := range info.Settings {
			if f.Endpoint && out[f.Key] != prev[f.Key] {
				moved = append(moved, f.Key)
			}
		}
		if len(moved) > 0 {
			var keep []string
			for k, v := range prev {
				if _, given := given[k]; !given && known[k].Secret && v != "" {
					keep = append(keep, k)
				}
			}
			sort.Strings(keep)
			for _, k := range keep {
				add(prefix+".settings."+k, fmt.Sprintf("%s changed, so the stored secret is not sent there: give %s again (or \"\" to clear it)",
					strings.Join(moved, ", "), k))
			}
		}
	}
	return out
}
