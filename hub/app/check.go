package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/redact"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Check finds, without serving, what would stop the hub from starting
// with cfg (beyond config.Validate): a data_dir that is not a directory, a
// plugin named by an integration that is not installed or does not start,
// and integration settings that do not fit their plugin (unknown keys,
// required ones missing, endpoints that are not http(s) URLs). It launches
// the plugins the integrations name briefly to read what they declare, as
// `hub plugins` does. Every problem is reported, each naming its field.
func Check(ctx context.Context, cfg *config.Config, log *slog.Logger) config.Errors {
	var errs config.Errors
	if usesDataDir(cfg) {
		if err := checkDataDir(cfg.DataDir); err != nil {
			errs = append(errs, err)
		}
	}
	paths, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		return append(errs, &config.FieldError{Field: "plugins.dir", Reason: err.Error()})
	}
	installed := installedLookup(cfg, paths)
	launch := map[string]string{}
	for name := range namedPlugins(cfg) {
		if _, err := installed(name); errors.Is(err, errUnchecked) {
			launch[name] = paths[name]
		}
	}
	host, err := pluginhost.Start(ctx, launch, HostOptions(cfg, pluginhost.Options{Logger: log}))
	if err != nil {
		return append(errs, &config.FieldError{Field: "plugins", Reason: err.Error()})
	}
	defer host.Close()
	return append(errs, checkIntegrations(cfg, func(name string) (sdk.Info, error) {
		if _, err := installed(name); !errors.Is(err, errUnchecked) {
			return sdk.Info{}, err
		}
		p, _ := host.Plugin(name)
		st := p.Status()
		if st.Info.Kind == "" {
			return sdk.Info{}, fmt.Errorf("plugin %q (%s) did not start: %s", name, st.Path, oneLine(st.LastErr, 300))
		}
		return st.Info, nil
	})...)
}

// oneLine joins a multi-line message (go-plugin's launch errors explain
// themselves over a dozen lines) into one of at most max bytes.
func oneLine(s string, max int) string {
	return redact.Cut(strings.Join(strings.Fields(s), " "), max)
}

// errUnchecked: the plugin's schema is not known (yet); its settings are
// not checked.
var errUnchecked = errors.New("not checked")

// lookupFunc returns what a plugin declares, or why it cannot be used.
type lookupFunc func(name string) (sdk.Info, error)

// installedLookup reports plugins that are not installed: no binary in
// plugins.dir, or a plugins.paths entry whose file is missing. For an
// installed plugin it returns errUnchecked (its Info needs a launch).
func installedLookup(cfg *config.Config, paths map[string]string) lookupFunc {
	return func(name string) (sdk.Info, error) {
		path, ok := paths[name]
		if !ok {
			names := make([]string, 0, len(paths))
			for n := range paths {
				names = append(names, n)
			}
			sort.Strings(names)
			list := strings.Join(names, ", ")
			if list == "" {
				list = "none"
			}
			return sdk.Info{}, fmt.Errorf("no plugin %q is installed (no %s%s in %s, no plugins.paths entry; installed: %s)",
				name, pluginhost.BinaryPrefix, name, cfg.Plugins.Dir, list)
		}
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return sdk.Info{}, fmt.Errorf("plugin %q: binary %s does not exist", name, path)
		case err != nil:
			return sdk.Info{}, fmt.Errorf("plugin %q: %w", name, err)
		case fi.IsDir():
			return sdk.Info{}, fmt.Errorf("plugin %q: %s is a directory, not a binary", name, path)
		case fi.Mode().Perm()&0o111 == 0:
			return sdk.Info{}, fmt.Errorf("plugin %q: %s is not executable", name, path)
		}
		return sdk.Info{}, errUnchecked
	}
}

// hostLookup returns what the running plugins declare; a plugin that has
// not started (it is being retried) is unchecked, and logged.
func hostLookup(host *pluginhost.Host, log *slog.Logger) lookupFunc {
	warned := map[string]bool{}
	return func(name string) (sdk.Info, error) {
		p, ok := host.Plugin(name)
		if !ok {
			return sdk.Info{}, fmt.Errorf("no plugin %q is installed", name)
		}
		st := p.Status()
		if st.Info.Kind == "" {
			if !warned[name] {
				warned[name] = true
				log.Warn("plugin has not started: the settings of the integrations using it are not checked", "plugin", name, "error", st.LastErr)
			}
			return sdk.Info{}, errUnchecked
		}
		return st.Info, nil
	}
}

// namedPlugins are the plugins the config's integrations use.
func namedPlugins(cfg *config.Config) map[string]bool {
	out := map[string]bool{}
	for _, in := range cfg.Integrations {
		if in.Helpdesk.Plugin != "" {
			out[in.Helpdesk.Plugin] = true
		}
		for _, a := range in.Apps {
			if a.Store != "" {
				out[a.Store] = true
			}
		}
	}
	return out
}

// checkIntegrations checks the integrations of the config file against
// their plugins. They are read-only in the admin API, so they must be
// complete and exact here: a misspelled secret would otherwise be stored
// as an unknown, unredacted setting.
func checkIntegrations(cfg *config.Config, lookup lookupFunc) config.Errors {
	var errs config.Errors
	add := func(field, reason string) { errs = append(errs, &config.FieldError{Field: field, Reason: reason}) }
	// plugin checks one plugin reference; ok says its settings can be checked.
	plugin := func(field, name, kind string) (sdk.Info, bool) {
		if name == "" {
			add(field, "is required")
			return sdk.Info{}, false
		}
		info, err := lookup(name)
		switch {
		case errors.Is(err, errUnchecked):
			return sdk.Info{}, false
		case err != nil:
			add(field, err.Error())
			return sdk.Info{}, false
		case info.Kind != kind:
			add(field, fmt.Sprintf("%q is a %s plugin, not a %s plugin", name, info.Kind, kind))
			return sdk.Info{}, false
		}
		return info, true
	}
	settings := func(prefix, name string, info sdk.Info, s map[string]string, required bool) {
		for _, p := range setup.CheckSettings(name, info, s) {
			add(prefix+"."+p.Key, p.Reason)
		}
		if required {
			for _, k := range setup.MissingSettings(info, s) {
				add(prefix+"."+k, fmt.Sprintf("is required by plugin %q", name))
			}
		}
	}
	for i, in := range cfg.Integrations {
		p := fmt.Sprintf("integrations[%d]", i)
		if info, ok := plugin(p+".helpdesk.plugin", in.Helpdesk.Plugin, sdk.PluginKindHelpdesk); ok {
			settings(p+".helpdesk.settings", in.Helpdesk.Plugin, info, in.Helpdesk.Settings, true)
		}
		for j, a := range in.Apps {
			ap := fmt.Sprintf("%s.apps[%d]", p, j)
			if strings.TrimSpace(a.StoreAppID) == "" {
				add(ap+".store_app_id", "is required")
			}
			info, ok := plugin(ap+".store", a.Store, sdk.PluginKindStore)
			if !ok {
				continue
			}
			// As setup.AppMissing: without an account, a store with a
			// public listing needs no settings.
			public := info.Store != nil && info.Store.PublicListing
			account := setup.HasStoreAccount(state.App{StoreSettings: a.Settings}, info)
			settings(ap+".settings", a.Store, info, a.Settings, account || !public)
		}
	}
	return errs
}

// usesDataDir: the data dir holds the SQLite database (by default) or the
// generated secret key.
func usesDataDir(cfg *config.Config) bool {
	return cfg.SecretKey == "" || cfg.State.Driver == state.SQLite
}

func checkDataDir(dir string) *config.FieldError {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &config.FieldError{Field: "data_dir", Reason: err.Error()}
	case !fi.IsDir():
		return &config.FieldError{Field: "data_dir", Reason: dir + " is not a directory"}
	}
	return nil
}

// prepareDataDir creates the data dir, or makes an existing one private
// (0700): it holds the state database and the secret key.
func prepareDataDir(dir string, log *slog.Logger) error {
	if err := checkDataDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &config.FieldError{Field: "data_dir", Reason: err.Error()}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return &config.FieldError{Field: "data_dir", Reason: err.Error()}
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return &config.FieldError{Field: "data_dir", Reason: "make it private (0700): " + err.Error()}
		}
		log.Info("data_dir made private (0700)", "dir", dir, "was", fi.Mode().Perm().String())
	}
	return nil
}
