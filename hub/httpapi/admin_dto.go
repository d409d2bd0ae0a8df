package httpapi

import (
	"sort"
	"strings"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// AccountJSON is a plugin account in the API.
type AccountJSON struct {
	Plugin   string            `json:"plugin"`
	Settings map[string]string `json:"settings,omitempty"`
	// SecretsSet lists secret settings that have a value (answers only).
	SecretsSet []string `json:"secrets_set,omitempty"`
}

// AppJSON is an app in the API.
type AppJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name,omitempty"`
	Store        string            `json:"store"`
	StoreAppID   string            `json:"store_app_id"`
	Settings     map[string]string `json:"settings,omitempty"`
	SecretsSet   []string          `json:"secrets_set,omitempty"`
	PollInterval string            `json:"poll_interval,omitempty"`
	Filters      filter.Filters    `json:"filters"`
	// Missing lists what the app lacks before it runs (answers only).
	Missing  []string `json:"missing,omitempty"`
	Running  bool     `json:"running"`
	CanReply bool     `json:"can_reply"`
}

// IntegrationJSON is an integration in the API.
type IntegrationJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name,omitempty"`
	Tags       *bool        `json:"tags,omitempty"`
	Helpdesk   *AccountJSON `json:"helpdesk,omitempty"`
	Apps       []AppJSON    `json:"apps"`
	Source     string       `json:"source,omitempty"`
	WebhookURL string       `json:"webhook_url,omitempty"`
	Missing    []string     `json:"missing,omitempty"`
	Complete   bool         `json:"complete"`
	// Version grows with every write. Answers carry it (and the ETag); a
	// PUT that gives it, or If-Match, applies only to that version (412).
	Version int `json:"version,omitempty"`
	// Automation: auto-reply rules, templates and guardrails. A PUT
	// without it keeps the stored one; {} removes it.
	Automation *rules.Automation `json:"automation,omitempty"`
	// AutomationStopped is the kill switch (answers only; POST
	// /integrations/{id}/automation/stop and /start).
	AutomationStopped bool `json:"automation_stopped,omitempty"`
}

// secretKeys returns the settings of a plugin that are secret. For an
// unknown plugin every key is treated as secret.
func (a *Admin) secretKeys(plugin string, s sdk.Settings) map[string]bool {
	out := map[string]bool{}
	info, ok := a.Info(plugin)
	for k := range s {
		out[k] = !ok
	}
	if ok {
		for _, f := range info.Settings {
			if f.Secret {
				out[f.Key] = true
			}
		}
	}
	return out
}

// redact splits settings into shown values and the names of set secrets.
func (a *Admin) redact(plugin string, s sdk.Settings) (map[string]string, []string) {
	secret := a.secretKeys(plugin, s)
	shown := map[string]string{}
	var set []string
	for k, v := range s {
		if secret[k] {
			if v != "" {
				set = append(set, k)
			}
			continue
		}
		shown[k] = v
	}
	sort.Strings(set)
	return shown, set
}

func (a *Admin) toJSON(in state.Integration) IntegrationJSON {
	tags := in.Tags
	out := IntegrationJSON{ID: in.ID, Name: in.Name, Tags: &tags, Source: in.Source, Apps: []AppJSON{}, Version: in.Version,
		WebhookURL: strings.TrimRight(a.PublicURL, "/") + "/hooks/" + in.HelpdeskPlugin + "/" + in.ID}
	if in.HelpdeskPlugin != "" || len(in.HelpdeskSettings) > 0 {
		shown, set := a.redact(in.HelpdeskPlugin, in.HelpdeskSettings)
		out.Helpdesk = &AccountJSON{Plugin: in.HelpdeskPlugin, Settings: shown, SecretsSet: set}
	}
	if in.HelpdeskPlugin == "" {
		out.WebhookURL = ""
	}
	out.Missing = setup.HelpdeskMissing(in, a.Info)
	helpdeskOK := len(out.Missing) == 0
	complete := helpdeskOK && len(in.Apps) > 0
	if len(in.Apps) == 0 {
		out.Missing = append(out.Missing, "apps")
	}
	for _, app := range in.Apps {
		shown, set := a.redact(app.StorePlugin, app.StoreSettings)
		aj := AppJSON{ID: app.ID, Name: app.Name, Store: app.StorePlugin, StoreAppID: app.StoreAppID,
			Settings: shown, SecretsSet: set, Filters: app.Filters, Missing: setup.AppMissing(app, a.Info)}
		if app.PollInterval > 0 {
			aj.PollInterval = app.PollInterval.String()
		}
		aj.Running = helpdeskOK && len(aj.Missing) == 0
		if info, ok := a.Info(app.StorePlugin); ok && info.Store != nil {
			aj.CanReply = info.Store.CanReply && setup.HasStoreAccount(app, info)
		}
		complete = complete && aj.Running
		out.Apps = append(out.Apps, aj)
	}
	out.Complete = complete
	if !isZeroAutomation(in.Automation) {
		auto := in.Automation
		out.Automation = &auto
	}
	out.AutomationStopped = in.AutomationStopped
	return out
}

func isZeroAutomation(a rules.Automation) bool {
	return a.Enabled == nil && a.DailyCap == 0 && a.Delay.IsZero() && a.Cooldown.IsZero() && len(a.Exceptions) == 0 &&
		len(a.Templates) == 0 && len(a.Rules) == 0
}
