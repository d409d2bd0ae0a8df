package console

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// formInput is what the integration form holds, whether read from the API
// or from a post. Settings are kept per plugin, so switching a plugin in
// the form loses nothing typed for another.
type formInput struct {
	ID, Name string
	Tags     bool
	Version  int
	Helpdesk string
	// HSettings: plugin → key → value.
	HSettings map[string]map[string]string
	Apps      []appInput
	// TypedSecrets: the post carried secret values.
	TypedSecrets bool
	// Posted: the values were typed into this form (a post), not read
	// from the state. Only then are secret values shown again (kept in
	// the re-rendered form): the API never answers a stored secret.
	Posted bool
}

type appInput struct {
	ID, Name, Store, StoreAppID, PollInterval string
	Settings                                  map[string]map[string]string
	Which, Backfill, Length                   string
	Ratings                                   []int
	Countries, Languages                      string
}

func (a appInput) blank() bool {
	if a.ID != "" || a.Name != "" || a.Store != "" || a.StoreAppID != "" || a.PollInterval != "" || a.Backfill != "" ||
		len(a.Ratings) > 0 || a.Countries != "" || a.Languages != "" {
		return false
	}
	for _, s := range a.Settings {
		for _, v := range s {
			if v != "" {
				return false
			}
		}
	}
	return true
}

// inputFromAPI turns a stored integration into the form's values.
func inputFromAPI(j httpapi.IntegrationJSON) formInput {
	in := formInput{ID: j.ID, Name: j.Name, Tags: j.Tags == nil || *j.Tags, Version: j.Version, HSettings: map[string]map[string]string{}}
	if j.Helpdesk != nil {
		in.Helpdesk = j.Helpdesk.Plugin
		in.HSettings[j.Helpdesk.Plugin] = copyMap(j.Helpdesk.Settings)
	}
	for _, a := range j.Apps {
		ai := appInput{ID: a.ID, Name: a.Name, Store: a.Store, StoreAppID: a.StoreAppID, PollInterval: a.PollInterval,
			Settings: map[string]map[string]string{a.Store: copyMap(a.Settings)},
			Which:    a.Filters.Which, Length: a.Filters.Length, Ratings: a.Filters.Ratings,
			Countries: strings.Join(a.Filters.Countries, ", "), Languages: strings.Join(a.Filters.Languages, ", ")}
		if a.Filters.Backfill != nil {
			ai.Backfill = strconv.Itoa(*a.Filters.Backfill)
		}
		in.Apps = append(in.Apps, ai)
	}
	return in
}

func copyMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Input names: "h.PLUGIN.KEY" for helpdesk settings, "apps[I].FIELD" for
// app fields, "apps[I].s.PLUGIN.KEY" for store settings.
func appField(i int, f string) string { return fmt.Sprintf("apps[%d].%s", i, f) }

// inputFromPost reads the form, applying its action: "add_app" appends a
// blank app, "remove_app:I" removes one. Blank apps are left out.
func inputFromPost(form url.Values, plugins []sdk.Info) (formInput, string) {
	in := formInput{ID: strings.TrimSpace(form.Get("id")), Name: strings.TrimSpace(form.Get("name")),
		Tags: form.Get("tags") == "on", Helpdesk: form.Get("helpdesk.plugin"), HSettings: map[string]map[string]string{}, Posted: true}
	in.Version, _ = strconv.Atoi(form.Get("version"))
	action := form.Get("action")
	for _, p := range plugins {
		m := map[string]string{}
		for _, f := range p.Settings {
			name := "h." + p.Name + "." + f.Key
			if p.Kind != sdk.PluginKindHelpdesk {
				continue
			}
			if v, ok := form[name]; ok {
				m[f.Key] = settingValue(f, v[0])
				in.TypedSecrets = in.TypedSecrets || (f.Secret && m[f.Key] != "")
			}
		}
		if len(m) > 0 {
			in.HSettings[p.Name] = m
		}
	}
	n, _ := strconv.Atoi(form.Get("apps_n"))
	n = min(max(n, 0), 500)
	removed := -1
	if s, ok := strings.CutPrefix(action, "remove_app:"); ok {
		removed, _ = strconv.Atoi(s)
	}
	for i := range n {
		if i == removed {
			continue
		}
		a := appInput{ID: strings.TrimSpace(form.Get(appField(i, "id"))), Name: strings.TrimSpace(form.Get(appField(i, "name"))),
			Store: form.Get(appField(i, "store")), StoreAppID: strings.TrimSpace(form.Get(appField(i, "store_app_id"))),
			PollInterval: strings.TrimSpace(form.Get(appField(i, "poll_interval"))),
			Which:        form.Get(appField(i, "filters.which")), Backfill: strings.TrimSpace(form.Get(appField(i, "filters.backfill"))),
			Length:    form.Get(appField(i, "filters.length")),
			Countries: strings.TrimSpace(form.Get(appField(i, "filters.countries"))), Languages: strings.TrimSpace(form.Get(appField(i, "filters.languages"))),
			Settings: map[string]map[string]string{}}
		for _, r := range form[appField(i, "filters.ratings")] {
			if v, err := strconv.Atoi(r); err == nil && v >= 1 && v <= 5 {
				a.Ratings = append(a.Ratings, v)
			}
		}
		for _, p := range plugins {
			if p.Kind != sdk.PluginKindStore {
				continue
			}
			m := map[string]string{}
			for _, f := range p.Settings {
				if v, ok := form[appField(i, "s."+p.Name+"."+f.Key)]; ok {
					m[f.Key] = settingValue(f, v[0])
					in.TypedSecrets = in.TypedSecrets || (f.Secret && m[f.Key] != "" && p.Name == a.Store)
				}
			}
			if len(m) > 0 {
				a.Settings[p.Name] = m
			}
		}
		if a.blank() && action != "add_app" {
			continue
		}
		in.Apps = append(in.Apps, a)
	}
	if action == "add_app" {
		in.Apps = append(in.Apps, appInput{Settings: map[string]map[string]string{}})
	}
	return in, action
}

// settingValue trims a one-line setting; multiline values (keys, JSON) keep
// their inner layout, with line ends as the browser sent them normalised.
func settingValue(f sdk.SettingField, v string) string {
	if f.Multiline {
		return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	}
	return strings.TrimSpace(v)
}

var listSep = regexp.MustCompile(`[\s,;]+`)

func splitList(s string) []string {
	var out []string
	for _, p := range listSep.Split(s, -1) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// toAPI makes the admin API's input. Secrets left empty are left out (the
// API keeps the stored value). Errors it finds itself (a backfill that is
// not a number) are returned by field, as the API names fields.
func (in formInput) toAPI(plugins []sdk.Info) (httpapi.IntegrationJSON, map[string]string) {
	errs := map[string]string{}
	tags := in.Tags
	j := httpapi.IntegrationJSON{ID: in.ID, Name: in.Name, Tags: &tags, Version: in.Version, Apps: []httpapi.AppJSON{}}
	if in.Helpdesk != "" {
		j.Helpdesk = &httpapi.AccountJSON{Plugin: in.Helpdesk, Settings: apiSettings(pluginInfo(plugins, in.Helpdesk), in.HSettings[in.Helpdesk])}
	}
	for i, a := range in.Apps {
		aj := httpapi.AppJSON{ID: a.ID, Name: a.Name, Store: a.Store, StoreAppID: a.StoreAppID, PollInterval: a.PollInterval,
			Filters: filter.Filters{Which: a.Which, Length: a.Length, Ratings: a.Ratings}}
		if a.Store != "" {
			aj.Settings = apiSettings(pluginInfo(plugins, a.Store), a.Settings[a.Store])
		}
		if a.Backfill != "" {
			b, err := strconv.Atoi(a.Backfill)
			if err != nil {
				errs[appField(i, "filters.backfill")] = fmt.Sprintf("%q is not a whole number", a.Backfill)
			} else {
				aj.Filters.Backfill = &b
			}
		}
		aj.Filters.Countries = splitList(a.Countries)
		aj.Filters.Languages = splitList(a.Languages)
		j.Apps = append(j.Apps, aj)
	}
	return j, errs
}

func pluginInfo(plugins []sdk.Info, name string) sdk.Info {
	for _, p := range plugins {
		if p.Name == name {
			return p
		}
	}
	return sdk.Info{Name: name}
}

func apiSettings(info sdk.Info, given map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range info.Settings {
		v, ok := given[f.Key]
		if f.Secret && v == "" {
			continue // keep the stored secret
		}
		if ok || !f.Secret {
			out[f.Key] = v
		}
	}
	return out
}

// Views for the template.

type fieldView struct {
	Name, ID, Label, Description, Example, Value, Error string
	Required, Secret, Multiline, Stored, Needed         bool
	// Kept: a secret typed into this form, kept in it (not saved yet).
	Kept bool
}

type groupView struct {
	Plugin, Label, Description string
	Selected                   bool
	LocaleKind                 string
	Fields                     []fieldView
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type appView struct {
	Index                                      int
	ID, Name, StoreAppID, PollInterval         fieldView
	Store                                      string
	StoreError                                 string
	StoreNeeded                                bool
	Stores                                     []groupView
	Which, Length                              []optionView
	Backfill, Countries, Languages, RatingsErr fieldView
	Ratings                                    []ratingView
	LocaleKind                                 string
	Stored, Running, CanReply                  bool
	Missing                                    []string
}

type ratingView struct {
	Value   int
	Checked bool
}

type formView struct {
	New, ReadOnly, Complete, Saved, TypedSecretsKept bool
	Notice                                           string
	ID, Name                                         fieldView
	Tags                                             bool
	Version                                          int
	Helpdesk                                         string
	HelpdeskError                                    string
	HelpdeskNeeded                                   bool
	Helpdesks                                        []groupView
	Apps                                             []appView
	Missing                                          []string
	Errors                                           []errorView
	WebhookURL                                       string
	AppsN                                            int
}

type errorView struct {
	Anchor, Label, Reason string
}

// errKey turns an API field name into the form's: list items name their
// list ("apps[0].filters.countries[2]" → "apps[0].filters.countries").
var listItem = regexp.MustCompile(`\[\d+\]$`)

func errKey(field string) string { return listItem.ReplaceAllString(field, "") }

// htmlID makes an element id from an input name.
func htmlID(name string) string {
	return "f-" + strings.NewReplacer("[", "-", "]", "", ".", "-").Replace(name)
}

// buildForm lays out the form: the values of in, what stored says is set
// or missing, and errs (API field name → reason) next to their fields.
func buildForm(t map[string]string, in formInput, stored *httpapi.IntegrationJSON, plugins []sdk.Info, errs map[string]string) formView {
	b := newFormBuilder(t, in, stored, plugins, errs)
	v := b.integration()
	for i, a := range in.Apps {
		v.Apps = append(v.Apps, b.app(i, a))
	}
	v.Errors = b.errorSummary()
	return v
}

// formBuilder holds what the parts of the form share while it is laid out:
// the errors by form key, which of them a field showed, and each field's
// label for the error summary.
type formBuilder struct {
	t       map[string]string
	in      formInput
	stored  *httpapi.IntegrationJSON
	plugins []sdk.Info
	errs    map[string]string // form key (errKey) → reasons
	used    map[string]bool   // errors shown next to a field
	labels  map[string]string // form key → label in the summary
}

func newFormBuilder(t map[string]string, in formInput, stored *httpapi.IntegrationJSON, plugins []sdk.Info, errs map[string]string) *formBuilder {
	b := &formBuilder{t: t, in: in, stored: stored, plugins: plugins, errs: map[string]string{},
		used: map[string]bool{}, labels: map[string]string{}}
	for k, v := range errs {
		k = errKey(k)
		if b.errs[k] != "" {
			v = b.errs[k] + "; " + v
		}
		b.errs[k] = v
	}
	return b
}

// errAt is the error of a field (none: ""), marked as shown.
func (b *formBuilder) errAt(key string) string {
	if e, ok := b.errs[key]; ok {
		b.used[key] = true
		return e
	}
	return ""
}

// integration lays out the integration's own fields and the helpdesks.
func (b *formBuilder) integration() formView {
	t, in, stored := b.t, b.in, b.stored
	var storedMissing []string
	storedSecrets := map[string]bool{}
	if stored != nil {
		storedMissing = stored.Missing
		if stored.Helpdesk != nil && stored.Helpdesk.Plugin == in.Helpdesk {
			for _, k := range stored.Helpdesk.SecretsSet {
				storedSecrets[k] = true
			}
		}
	}
	v := formView{New: stored == nil, Tags: in.Tags, Version: in.Version, Helpdesk: in.Helpdesk, AppsN: len(in.Apps)}
	b.labels["id"], b.labels["helpdesk.plugin"] = t["int_id"], t["helpdesk_plugin"]
	v.ID = fieldView{Name: "id", ID: htmlID("id"), Label: t["int_id"], Description: t["int_id_help"], Value: in.ID, Required: true, Error: b.errAt("id")}
	v.Name = fieldView{Name: "name", ID: htmlID("name"), Label: t["int_name"], Value: in.Name, Error: b.errAt("name")}
	v.HelpdeskError = b.errAt("helpdesk.plugin")
	v.HelpdeskNeeded = slices.Contains(storedMissing, "helpdesk.plugin")
	if stored != nil {
		v.ReadOnly = stored.Source == state.SourceConfig
		v.Complete = stored.Complete
		v.WebhookURL = stored.WebhookURL
		v.Missing = neededLabels(t, stored, b.plugins)
	}
	v.Helpdesks = b.helpdesks(storedSecrets, storedMissing)
	return v
}

// helpdesks lays out each helpdesk plugin's settings; the selected one's
// show what is stored, needed and wrong.
func (b *formBuilder) helpdesks(storedSecrets map[string]bool, storedMissing []string) []groupView {
	var out []groupView
	for _, p := range b.plugins {
		if p.Kind != sdk.PluginKindHelpdesk {
			continue
		}
		g := groupView{Plugin: p.Name, Label: p.Name, Description: p.Description, Selected: p.Name == b.in.Helpdesk}
		for _, f := range p.Settings {
			name := "h." + p.Name + "." + f.Key
			fv := settingView(f, name, b.in.HSettings[p.Name][f.Key], b.in.Posted)
			if g.Selected {
				fv.Stored = storedSecrets[f.Key]
				fv.Needed = slices.Contains(storedMissing, "helpdesk.settings."+f.Key) && fv.Value == ""
				fv.Error = b.errAt("helpdesk.settings." + f.Key)
				b.labels["helpdesk.settings."+f.Key] = b.t["helpdesk"] + ": " + fv.Label
			}
			g.Fields = append(g.Fields, fv)
		}
		out = append(out, g)
	}
	return out
}

// appForm is one app being laid out: its index and input, the label
// prefix of its fields in the error summary, and what the stored app says
// (secrets set, fields missing).
type appForm struct {
	*formBuilder
	i       int
	a       appInput
	label   string
	secrets map[string]bool
	missing []string
}

// field lays out the app's field f.
func (af *appForm) field(f, label, help, val string) fieldView {
	name := appField(af.i, f)
	af.labels[name] = af.label + label
	return fieldView{Name: name, ID: htmlID(name), Label: label, Description: help, Value: val,
		Error: af.errAt(name), Needed: slices.Contains(af.missing, f)}
}

// storedApp is the stored app with a's id (none: nil).
func (b *formBuilder) storedApp(a appInput) *httpapi.AppJSON {
	var sa *httpapi.AppJSON
	if b.stored != nil {
		for k := range b.stored.Apps {
			if b.stored.Apps[k].ID == a.ID && a.ID != "" {
				sa = &b.stored.Apps[k]
			}
		}
	}
	return sa
}

// app lays out the app at index i.
func (b *formBuilder) app(i int, a appInput) appView {
	t := b.t
	av := appView{Index: i, Store: a.Store}
	af := &appForm{formBuilder: b, i: i, a: a, secrets: map[string]bool{}}
	if sa := b.storedApp(a); sa != nil {
		av.Stored, av.Running, av.CanReply = true, sa.Running, sa.CanReply
		af.missing = sa.Missing
		if sa.Store == a.Store {
			for _, k := range sa.SecretsSet {
				af.secrets[k] = true
			}
		}
		for _, m := range sa.Missing {
			av.Missing = append(av.Missing, missingLabel(t, m, pluginInfo(b.plugins, sa.Store), "settings."))
		}
	}
	appName := a.ID
	if appName == "" {
		appName = strconv.Itoa(i + 1)
	}
	af.label = t["app"] + " " + appName + ": "
	b.labels[appField(i, "store")] = af.label + t["store"]
	b.labels[appField(i, "filters.which")] = af.label + t["which"]
	b.labels[appField(i, "filters.length")] = af.label + t["length"]
	av.ID = af.field("id", t["app_id"], "", a.ID)
	av.ID.Required = true
	av.Name = af.field("name", t["app_name_field"], "", a.Name)
	av.StoreAppID = af.field("store_app_id", t["store_app_id"], t["store_app_id_help"], a.StoreAppID)
	av.StoreAppID.Required = true
	av.PollInterval = af.field("poll_interval", t["poll_interval"], t["poll_interval_help"], a.PollInterval)
	av.StoreError = b.errAt(appField(i, "store"))
	av.StoreNeeded = slices.Contains(af.missing, "store")
	av.Stores, av.LocaleKind = af.stores()
	av.Which, av.Length = filterOptions(t, a)
	av.Backfill = af.field("filters.backfill", t["backfill"], t["backfill_help"], a.Backfill)
	av.Countries = af.field("filters.countries", t["countries"], t["countries_help"], a.Countries)
	av.Languages = af.field("filters.languages", t["languages"], t["languages_help"], a.Languages)
	av.RatingsErr = af.field("filters.ratings", t["ratings"], t["ratings_help"], "")
	for r := 1; r <= 5; r++ {
		av.Ratings = append(av.Ratings, ratingView{Value: r, Checked: slices.Contains(a.Ratings, r)})
	}
	// Errors of fields shown together.
	for _, f := range []string{"filters.which", "filters.length"} {
		if e := b.errAt(appField(i, f)); e != "" {
			av.RatingsErr.Error = strings.TrimPrefix(av.RatingsErr.Error+"; "+e, "; ")
		}
	}
	return av
}

// stores lays out each store plugin's settings for the app; the selected
// one's show what is stored, needed and wrong, and give the app its
// locale kind.
func (af *appForm) stores() (groups []groupView, localeKind string) {
	for _, p := range af.plugins {
		if p.Kind != sdk.PluginKindStore {
			continue
		}
		g := groupView{Plugin: p.Name, Label: p.Name, Description: p.Description, Selected: p.Name == af.a.Store}
		if p.Store != nil {
			g.LocaleKind = p.Store.LocaleKind
		}
		if g.Selected {
			localeKind = g.LocaleKind
		}
		for _, f := range p.Settings {
			fv := settingView(f, appField(af.i, "s."+p.Name+"."+f.Key), af.a.Settings[p.Name][f.Key], af.in.Posted)
			if g.Selected {
				fv.Stored = af.secrets[f.Key]
				fv.Needed = slices.Contains(af.missing, "settings."+f.Key) && fv.Value == ""
				fv.Error = af.errAt(appField(af.i, "settings."+f.Key))
				af.labels[appField(af.i, "settings."+f.Key)] = af.label + fv.Label
			}
			g.Fields = append(g.Fields, fv)
		}
		groups = append(groups, g)
	}
	return groups, localeKind
}

// filterOptions are the choices of the app's "which" and "length" filters,
// the app's own (or the default) selected.
func filterOptions(t map[string]string, a appInput) (which, length []optionView) {
	w := a.Which
	if w == "" {
		w = filter.WhichAll
	}
	for _, o := range []string{filter.WhichAll, filter.WhichBetter, filter.WhichWorse, filter.WhichUpdated} {
		which = append(which, optionView{Value: o, Label: t["which_"+o], Selected: o == w})
	}
	l := a.Length
	if l == "" {
		l = filter.LengthAll
	}
	for _, o := range []string{filter.LengthAll, filter.LengthShort, filter.LengthLong} {
		length = append(length, optionView{Value: o, Label: t["length_"+o], Selected: o == l})
	}
	return which, length
}

// errorSummary lists every error, linked to its field; errors the form
// has no field for are listed without a link.
func (b *formBuilder) errorSummary() []errorView {
	var out []errorView
	keys := make([]string, 0, len(b.errs))
	for k := range b.errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ev := errorView{Label: k, Reason: b.errs[k]}
		if l, ok := b.labels[k]; ok {
			ev.Label = l
		}
		if b.used[k] {
			ev.Anchor = b.anchor(k)
		}
		out = append(out, ev)
	}
	return out
}

// anchor is the link to the field showing the error at form key k.
func (b *formBuilder) anchor(k string) string {
	a := "#" + htmlID(k)
	if strings.HasPrefix(k, "helpdesk.settings.") {
		a = "#" + htmlID("h."+b.in.Helpdesk+"."+strings.TrimPrefix(k, "helpdesk.settings."))
	}
	if m := appSettingErr.FindStringSubmatch(k); m != nil {
		idx, _ := strconv.Atoi(m[1])
		if idx < len(b.in.Apps) {
			a = "#" + htmlID(appField(idx, "s."+b.in.Apps[idx].Store+"."+m[2]))
		}
	}
	if k == "helpdesk.plugin" {
		a = "#" + htmlID("helpdesk.plugin")
	}
	return a
}

var appSettingErr = regexp.MustCompile(`^apps\[(\d+)\]\.settings\.(.+)$`)

// settingView is a plugin setting's field. A secret's value is shown only
// when typed gives it back: typed into the form that is shown again (a
// failed save, "add an app"), never read from the state.
func settingView(f sdk.SettingField, name, value string, typed bool) fieldView {
	label := f.Label
	if label == "" {
		label = f.Key
	}
	fv := fieldView{Name: name, ID: htmlID(name), Label: label, Description: f.Description, Example: f.Example,
		Required: f.Required, Secret: f.Secret, Multiline: f.Multiline}
	if !f.Secret || typed {
		fv.Value = value
	}
	fv.Kept = f.Secret && typed && value != ""
	return fv
}

// neededLabels names what an integration still needs, in words.
func neededLabels(t map[string]string, j *httpapi.IntegrationJSON, plugins []sdk.Info) []string {
	var out []string
	hd := sdk.Info{}
	if j.Helpdesk != nil {
		hd = pluginInfo(plugins, j.Helpdesk.Plugin)
	}
	for _, m := range j.Missing {
		switch m {
		case "apps":
			out = append(out, t["apps"])
		default:
			out = append(out, t["helpdesk"]+": "+missingLabel(t, m, hd, "helpdesk.settings."))
		}
	}
	for _, a := range j.Apps {
		for _, m := range a.Missing {
			name := a.ID
			if a.Name != "" {
				name = a.Name
			}
			out = append(out, name+": "+missingLabel(t, m, pluginInfo(plugins, a.Store), "settings."))
		}
	}
	return out
}

func missingLabel(t map[string]string, m string, info sdk.Info, prefix string) string {
	switch m {
	case "helpdesk.plugin":
		return t["helpdesk_plugin"]
	case "store":
		return t["store"]
	case "store_app_id":
		return t["store_app_id"]
	}
	if key, ok := strings.CutPrefix(m, prefix); ok {
		for _, f := range info.Settings {
			if f.Key == key && f.Label != "" {
				return f.Label
			}
		}
		return key
	}
	return m
}
