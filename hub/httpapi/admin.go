package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Admin is the admin REST API: integrations (create, read, update, delete,
// list) with partial save, their status, and the installed plugins.
// Credentials are write-only: answers list which secret settings are set,
// never their values.
type Admin struct {
	DB    *state.DB
	Token string
	// Info returns what an installed plugin says about itself.
	Info setup.InfoFunc
	// Plugins lists installed plugin names.
	Plugins func() []string
	// Changed is called after integrations change (the poller reloads).
	Changed func()
	// PublicURL is how the helpdesk reaches the hub (webhook URLs).
	PublicURL string
	// Connectors calls the plugins for POST /integrations/{id}/check.
	Connectors check.Plugins
	// ReplyReserve is the share of store quotas polling leaves for replies
	// (status view; 0: quota.DefaultReplyReserve).
	ReplyReserve float64
	// Scheduler reports this hub's poll figures (GET /schedule); nil: none.
	Scheduler func() poll.Stats
	// Health computes the health of an integration's apps; nil: not shown.
	Health func(ctx context.Context, integrationID string) ([]health.App, error)
	// DeadLetters: GET /deadletters, retry and drop; nil: 503.
	DeadLetters DeadLetterOps
	// Replies: POST /integrations/{id}/replies/{message}/retry; nil: 503.
	Replies ReplyOps
}

// Register mounts the API on r (a /api subrouter).
func (a *Admin) Register(r *mux.Router) {
	r.Use(a.auth)
	r.HandleFunc("/plugins", a.listPlugins).Methods(http.MethodGet)
	r.HandleFunc("/schedule", a.schedule).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.list).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.create).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}", a.get).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}", a.put).Methods(http.MethodPut)
	r.HandleFunc("/integrations/{id}", a.delete).Methods(http.MethodDelete)
	r.HandleFunc("/integrations/{id}/status", a.status).Methods(http.MethodGet)
	a.registerTruth(r)
	a.registerHealth(r)
	a.registerDeadLetters(r)
	a.registerReplies(r)
}

func (a *Admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" {
			WriteError(w, http.StatusForbidden, "the admin API is off: set admin_token in the config or HUB_ADMIN_TOKEN")
			return
		}
		// The scheme name is case-insensitive (RFC 9110, section 11.1).
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="reviewhub"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

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

// fieldErrors answers 422 with the list of fields and reasons.
func fieldErrors(w http.ResponseWriter, errs []*config.FieldError) {
	list := make([]map[string]string, len(errs))
	msgs := make([]string, len(errs))
	for i, e := range errs {
		list[i] = map[string]string{"field": e.Field, "reason": e.Reason}
		msgs[i] = e.Error()
	}
	WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": strings.Join(msgs, "; "), "fields": list})
}

// decodeIntegration reads an IntegrationJSON, rejecting unknown fields.
func decodeIntegration(w http.ResponseWriter, r *http.Request) (IntegrationJSON, bool) {
	return decodeBody[IntegrationJSON](w, r)
}

// decodeBody reads one JSON value of at most 1 MiB, rejecting unknown
// fields; on bad input it answers 400 or 413 itself.
func decodeBody[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var in T
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
			return in, false
		}
		WriteError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return in, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		WriteError(w, http.StatusBadRequest, "malformed JSON body: more than one JSON value")
		return in, false
	}
	return in, true
}

// fromJSON validates the input and merges it with the stored integration:
// secret settings left out keep their stored value ("" clears one).
func (a *Admin) fromJSON(j IntegrationJSON, old *state.Integration) (state.Integration, []*config.FieldError) {
	var errs []*config.FieldError
	add := func(f, r string) { errs = append(errs, &config.FieldError{Field: f, Reason: r}) }
	in := state.Integration{ID: j.ID, Name: j.Name, Tags: j.Tags == nil || *j.Tags, Source: "api"}
	if !config.ValidID(j.ID) {
		add("id", fmt.Sprintf("%q %s", clip(j.ID, 64), config.IDRule))
	}
	if j.Helpdesk != nil {
		in.HelpdeskPlugin = j.Helpdesk.Plugin
		var prev sdk.Settings
		if old != nil && old.HelpdeskPlugin == j.Helpdesk.Plugin {
			prev = old.HelpdeskSettings
		}
		in.HelpdeskSettings = a.mergeSettings("helpdesk", j.Helpdesk.Plugin, sdk.KindHelpdesk, j.Helpdesk.Settings, prev, add)
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
		app.StoreSettings = a.mergeSettings(p, aj.Store, sdk.KindStore, aj.Settings, prev, add)
		in.Apps = append(in.Apps, app)
	}
	switch {
	case j.Automation != nil:
		in.Automation = *j.Automation
	case old != nil:
		// Kept, and checked again: the rules may name an app removed now.
		in.Automation = old.Automation.Clone()
	}
	for _, fe := range in.Automation.Normalize(appsAndStores(in.Apps)) {
		add("automation."+fe.Field, fe.Reason)
	}
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
	if kind == sdk.KindStore {
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
	for k, v := range given {
		if _, ok := known[k]; !ok {
			add(prefix+".settings."+clip(k, 64), fmt.Sprintf("plugin %q has no such setting", plugin))
			continue
		}
		out[k] = v
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

func (a *Admin) listPlugins(w http.ResponseWriter, _ *http.Request) {
	out := []sdk.Info{}
	for _, name := range a.Plugins() {
		if info, ok := a.Info(name); ok {
			info.Name = name
			out = append(out, info)
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.DB.Integrations(r.Context())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]IntegrationJSON, 0, len(all))
	for _, in := range all {
		out = append(out, a.toJSON(in))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) load(w http.ResponseWriter, r *http.Request) (state.Integration, bool) {
	id := mux.Vars(r)["id"]
	in, err := a.DB.Integration(r.Context(), id)
	if errors.Is(err, state.ErrNotFound) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no integration %q", clip(id, 64)))
		return in, false
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return in, false
	}
	return in, true
}

func (a *Admin) get(w http.ResponseWriter, r *http.Request) {
	if in, ok := a.load(w, r); ok {
		setETag(w, in.Version)
		WriteJSON(w, http.StatusOK, a.toJSON(in))
	}
}

func setETag(w http.ResponseWriter, version int) {
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
}

// ifMatch returns the version an If-Match header asks for (0: none, or "*").
func ifMatch(r *http.Request) (int, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, true
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

func preconditionFailed(w http.ResponseWriter, id string, want, have int) {
	WriteError(w, http.StatusPreconditionFailed, fmt.Sprintf("integration %q is at version %d, not %d: read it again and retry", id, have, want))
}

// saved answers with the stored integration after a write.
func (a *Admin) saved(w http.ResponseWriter, r *http.Request, id string, status int) {
	if a.Changed != nil {
		a.Changed()
	}
	saved, err := a.DB.Integration(r.Context(), id)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	setETag(w, saved.Version)
	WriteJSON(w, status, a.toJSON(saved))
}

func (a *Admin) create(w http.ResponseWriter, r *http.Request) {
	j, ok := decodeIntegration(w, r)
	if !ok {
		return
	}
	in, errs := a.fromJSON(j, nil)
	if len(errs) > 0 {
		fieldErrors(w, errs)
		return
	}
	// The insert decides, in the transaction: of concurrent creates of one
	// id exactly one succeeds.
	err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.CreateIntegration(r.Context(), in) })
	if errors.Is(err, state.ErrExists) {
		WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q exists; update it with PUT /api/integrations/%s", in.ID, in.ID))
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "saving the integration failed: "+err.Error())
		return
	}
	a.saved(w, r, in.ID, http.StatusCreated)
}

// putAttempts bounds how often a PUT without a precondition merges again
// with an integration that changed under it.
const putAttempts = 3

// put replaces an integration. The stored secrets it keeps are merged with
// the version it updates, in one conditional write: a racing PUT is merged
// again (or answered 412 when the client named a version with If-Match or
// "version"), and a racing DELETE wins (404), never undone.
func (a *Admin) put(w http.ResponseWriter, r *http.Request) {
	old, want, ok := a.loadWritable(w, r, "edit the file")
	if !ok {
		return
	}
	j, ok := decodeIntegration(w, r)
	if !ok {
		return
	}
	if j.ID == "" {
		j.ID = old.ID
	}
	if j.ID != old.ID {
		fieldErrors(w, []*config.FieldError{{Field: "id", Reason: fmt.Sprintf("%q does not match the URL's %q", clip(j.ID, 64), old.ID)}})
		return
	}
	if want == 0 {
		want = j.Version
	}
	for attempt := 1; ; attempt++ {
		if want != 0 && want != old.Version {
			preconditionFailed(w, old.ID, want, old.Version)
			return
		}
		in, errs := a.fromJSON(j, &old)
		if len(errs) > 0 {
			fieldErrors(w, errs)
			return
		}
		in.Version = old.Version
		err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.UpdateIntegration(r.Context(), in) })
		switch {
		case err == nil:
			a.saved(w, r, in.ID, http.StatusOK)
			return
		case errors.Is(err, state.ErrNotFound):
			WriteError(w, http.StatusNotFound, fmt.Sprintf("integration %q was deleted (or declared in the config file) meanwhile", old.ID))
			return
		case !errors.Is(err, state.ErrVersion):
			WriteError(w, http.StatusInternalServerError, "saving the integration failed: "+err.Error())
			return
		case attempt == putAttempts:
			WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q keeps changing under this update; retry", old.ID))
			return
		}
		// Changed under us: merge with what is stored now.
		if old, ok = a.load(w, r); !ok {
			return
		}
		if old.Source == "config" {
			WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q is declared in the config file, which wins; edit the file", old.ID))
			return
		}
	}
}

// loadWritable reads the If-Match precondition (0: none) and the
// integration a write changes; one declared in the config file is refused
// (409) with what to do instead.
func (a *Admin) loadWritable(w http.ResponseWriter, r *http.Request, instead string) (state.Integration, int, bool) {
	want, ok := ifMatch(r)
	if !ok {
		WriteError(w, http.StatusBadRequest, `If-Match must be a version from an ETag, e.g. "3"`)
		return state.Integration{}, 0, false
	}
	old, ok := a.load(w, r)
	if !ok {
		return old, 0, false
	}
	if old.Source == "config" {
		WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q is declared in the config file, which wins; %s", old.ID, instead))
		return old, 0, false
	}
	return old, want, true
}

func (a *Admin) delete(w http.ResponseWriter, r *http.Request) {
	old, want, ok := a.loadWritable(w, r, "remove it there")
	if !ok {
		return
	}
	err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.DeleteIntegrationAt(r.Context(), old.ID, want) })
	switch {
	case errors.Is(err, state.ErrVersion):
		cur, _ := a.DB.Integration(r.Context(), old.ID)
		preconditionFailed(w, old.ID, want, cur.Version)
		return
	case errors.Is(err, state.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no integration %q", old.ID))
		return
	case err != nil:
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if a.Changed != nil {
		a.Changed()
	}
	w.WriteHeader(http.StatusNoContent)
}

// ScheduleView is the poll schedule seen from this hub.
type ScheduleView struct {
	// Apps in the schedule (all hubs); Due: due and held by no hub;
	// Leased: being polled by some hub.
	Apps, Due, Leased int
	// Polls this hub started since it started.
	Polls int64 `json:"polls"`
	// LagP50Ms and LagP99Ms: how late this hub's recent polls started
	// after their due time, in milliseconds.
	LagP50Ms float64 `json:"lag_p50_ms"`
	LagP99Ms float64 `json:"lag_p99_ms"`
}

func (a *Admin) schedule(w http.ResponseWriter, r *http.Request) {
	var v ScheduleView
	var err error
	if v.Apps, v.Due, v.Leased, err = a.DB.ScheduleCounts(r.Context(), time.Now()); err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if a.Scheduler != nil {
		st := a.Scheduler()
		v.Polls = st.Polls
		v.LagP50Ms, v.LagP99Ms = float64(st.LagP50.Microseconds())/1000, float64(st.LagP99.Microseconds())/1000
	}
	WriteJSON(w, http.StatusOK, map[string]any{"apps": v.Apps, "due": v.Due, "leased": v.Leased, "polls": v.Polls,
		"lag_p50_ms": v.LagP50Ms, "lag_p99_ms": v.LagP99Ms})
}

// AppStatus is one app in the status view.
type AppStatus struct {
	ID         string         `json:"id"`
	Running    bool           `json:"running"`
	Missing    []string       `json:"missing,omitempty"`
	LastPollAt *time.Time     `json:"last_poll_at,omitempty"`
	LastError  string         `json:"last_error,omitempty"`
	Connected  bool           `json:"connected"`
	Counters   map[string]int `json:"counters"`
	// Skipped counts what each filter skipped.
	Skipped map[string]int `json:"skipped"`
	// Schedule is the app's place in the poll schedule.
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
	// Quotas are the store quotas the app's polling spends from.
	Quotas []QuotaStatus `json:"quotas,omitempty"`
	// Health is the app's health, computed by the hub from the state.
	Health *HealthStatus `json:"health,omitempty"`
	// ReplyStatuses counts the app's reviews by reply status (pending,
	// draft, published, refused, failed, outdated, deleted).
	ReplyStatuses map[string]int `json:"reply_statuses"`
	// AutoRepliesToday counts automatic replies of the UTC day (daily cap).
	AutoRepliesToday int `json:"auto_replies_today"`
}

// ScheduleStatus is an app's row in the poll schedule.
type ScheduleStatus struct {
	NextPollAt time.Time `json:"next_poll_at"`
	// Interval the last poll scheduled with (after quota budgets).
	Interval string `json:"interval,omitempty"`
	// Note says why the next poll is later than the app's interval.
	Note         string  `json:"note,omitempty"`
	Failures     int     `json:"failures,omitempty"`
	CallsPerPoll float64 `json:"calls_per_poll,omitempty"`
	// PolledBy is the hub holding the app's lease right now, if any.
	PolledBy string `json:"polled_by,omitempty"`
}

// QuotaStatus is one store quota bucket of one credential.
type QuotaStatus struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Limit   int    `json:"limit"`
	Window  string `json:"window"`
	// Used is what was spent in the window ending now (all hubs, all apps).
	Used int `json:"used"`
	// Budget is what polling may spend per window (the rest is kept for replies).
	Budget int `json:"budget"`
	// Apps polling through it, and the requests per hour they would ask
	// for at their own intervals.
	Apps         int     `json:"apps"`
	AskedPerHour float64 `json:"asked_per_hour"`
}

// quotaStatus reads the use of the quota buckets an app's polling spends from.
func (a *Admin) quotaStatus(ctx context.Context, app state.App) ([]QuotaStatus, error) {
	info, ok := a.Info(app.StorePlugin)
	if !ok {
		return nil, nil
	}
	reserve := a.ReplyReserve
	if reserve <= 0 {
		reserve = quota.DefaultReplyReserve
	}
	var out []QuotaStatus
	for _, b := range quota.Buckets(info, app, sdk.OpList) {
		use, err := quota.Read(ctx, a.DB, b, time.Now(), reserve)
		if err != nil {
			return nil, err
		}
		apps, asked, err := a.DB.QuotaDemand(ctx, b.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, QuotaStatus{Name: b.Name, Account: b.Account, Limit: b.Limit, Window: b.Window.String(),
			Used: use.Used, Budget: use.Budget, Apps: apps, AskedPerHour: asked})
	}
	return out, nil
}

func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	counters, err := a.DB.Counters(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	view := a.toJSON(in)
	sched, err := a.DB.ScheduleOf(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	healths, err := a.healthOf(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	replyStatuses, err := a.DB.ReplyStatusCounts(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	autoToday, err := a.DB.AutoRepliesToday(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	apps := []AppStatus{}
	for i, app := range in.Apps {
		cur, err := a.DB.Cursor(r.Context(), in.ID, app.ID)
		if err != nil {
			WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		st := AppStatus{ID: app.ID, Running: view.Apps[i].Running, Missing: view.Apps[i].Missing,
			LastError: cur.LastError, Connected: cur.Connected, Counters: map[string]int{}, Skipped: map[string]int{},
			Health: healths[app.ID], ReplyStatuses: map[string]int{}, AutoRepliesToday: autoToday[app.ID]}
		for k, v := range replyStatuses[app.ID] {
			st.ReplyStatuses[k] = v
		}
		if !cur.LastPollAt.IsZero() {
			t := cur.LastPollAt
			st.LastPollAt = &t
		}
		if sl, ok := sched[app.ID]; ok {
			st.Schedule = &ScheduleStatus{NextPollAt: sl.NextAt, Note: sl.Note, Failures: sl.Failures,
				CallsPerPoll: sl.CallsPerPoll, PolledBy: sl.LeaseOwner}
			if sl.Interval > 0 {
				st.Schedule.Interval = sl.Interval.String()
			}
		}
		if st.Quotas, err = a.quotaStatus(r.Context(), app); err != nil {
			WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		for name, v := range counters[app.ID] {
			if why, ok := strings.CutPrefix(name, state.CountSkipped); ok {
				st.Skipped[why] = v
			} else {
				st.Counters[name] = v
			}
		}
		apps = append(apps, st)
	}
	parked, err := a.DB.ParkedReplies(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	waiting, delayed, retrying := 0, 0, 0
	for _, p := range parked {
		switch p.Reason {
		case state.ReasonDelayed:
			delayed++
		case state.ReasonRetrying:
			retrying++
		default:
			waiting++
		}
	}
	reviews, err := a.DB.RecentReviews(r.Context(), in.ID, recentLimit)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	stored, err := a.DB.RecentReplies(r.Context(), in.ID, recentLimit)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	replies := make([]RecentReply, 0, len(stored))
	for _, rp := range stored {
		rr := RecentReply{MessageID: rp.MessageID, AppID: rp.AppID, ReviewID: rp.ReviewID, TicketID: rp.TicketID,
			Staff: rp.Staff, Rule: rp.Rule, Status: rp.Status, Detail: rp.Detail, Attempts: rp.Attempts, UpdatedAt: rp.UpdatedAt}
		if rp.Status == state.ReplyFailed || rp.Status == state.ReplyRefused {
			rr.Retry = replyJSON(rp).Retry
		}
		replies = append(replies, rr)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": in.ID, "complete": view.Complete, "missing": view.Missing, "apps": apps,
		"answers_waiting_for_ticket": waiting, "auto_replies_waiting_for_delay": delayed,
		"answers_retrying": retrying,
		"webhooks_ignored": counters[""][state.CountWebhooksIgnored],
		"recent_reviews":   reviews, "recent_replies": replies,
		"automation": AutomationStatus{On: in.Automation.On() && !in.AutomationStopped, Stopped: in.AutomationStopped,
			Rules: len(in.Automation.Rules)}})
}

// AutomationStatus is the automation's part of the status view.
type AutomationStatus struct {
	// On: rules run (declared on, not stopped, at least one rule).
	On      bool `json:"on"`
	Stopped bool `json:"stopped"`
	Rules   int  `json:"rules"`
}

// recentLimit is how many recent reviews and replies the status view lists.
const recentLimit = 20

// RecentReply is a staff answer and its outcome in the status view (the
// answer's text stays out: it is in the ticket).
type RecentReply struct {
	MessageID string    `json:"message_id"`
	AppID     string    `json:"app_id,omitempty"`
	ReviewID  string    `json:"review_id,omitempty"`
	TicketID  string    `json:"ticket_id,omitempty"`
	Staff     string    `json:"staff,omitempty"`
	Rule      string    `json:"rule,omitempty"`
	Status    string    `json:"status"`
	Detail    string    `json:"detail,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Retry is where to POST to publish a failed or refused answer again.
	Retry string `json:"retry,omitempty"`
}
