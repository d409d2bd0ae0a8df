package setup

import (
	"fmt"
	"sort"
	"strings"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/sdk"
)

// SettingProblem is one setting that does not fit its plugin's schema.
type SettingProblem struct {
	Key    string
	Reason string
}

// CheckSettings checks settings against what the plugin declares: every
// key is a setting of the plugin, a typed setting's value is of its Type
// and within its Min..Max (sdk.SettingField.CheckValue), and settings
// marked Endpoint (where the plugin sends the account's credentials) given
// as URLs are absolute http(s) URLs (a bare name such as a subdomain is
// the plugin's to check). It
// does not check required settings (see HelpdeskMissing, AppMissing).
// Problems are sorted by key; no reason repeats a value.
func CheckSettings(plugin string, info sdk.Info, settings map[string]string) []SettingProblem {
	known := map[string]sdk.SettingField{}
	for _, f := range info.Settings {
		known[f.Key] = f
	}
	var out []SettingProblem
	for k, v := range settings {
		f, ok := known[k]
		switch {
		case !ok:
			out = append(out, SettingProblem{k, fmt.Sprintf("plugin %q has no such setting (it takes: %s)", plugin, keys(info))})
		case f.Type != sdk.SettingText:
			// A typed setting (a duration, a number, a URL) of the wrong
			// form or out of range is refused now, not at the first call.
			if err := f.CheckValue(v); err != nil {
				out = append(out, SettingProblem{k, sdk.MessageOf(err)})
			}
		case f.Endpoint && strings.Contains(v, ":"):
			// An endpoint given as a URL must be an absolute http(s) one;
			// one given as a bare name (Omnidesk's subdomain) is the
			// plugin's to check.
			if err := config.HTTPURL(v); err != nil {
				out = append(out, SettingProblem{k, err.Error()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// MissingSettings lists the required settings of info that settings lack.
func MissingSettings(info sdk.Info, settings map[string]string) []string {
	return missingSettings(info, settings)
}

func keys(info sdk.Info) string {
	s := ""
	for i, f := range info.Settings {
		if i > 0 {
			s += ", "
		}
		s += f.Key
	}
	if s == "" {
		return "none"
	}
	return s
}
