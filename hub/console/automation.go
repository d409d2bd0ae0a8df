package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/sdk"
)

// The automation editor (issue 25): an integration's rules listed,
// created, edited, reordered, switched on and off and deleted with form
// fields, a rule tried on the newest reviews, and the kill switch. Every
// change is the admin API's SetAutomation (rules.Compile validates it:
// one set of checks, its field paths shown beside the field that is
// wrong); the preview is its PreviewRule (the hub's own engine).

// AutomationAdmin is what the automation editor calls (*httpapi.Admin).
type AutomationAdmin interface {
	Automation(ctx context.Context, id string) (httpapi.AutomationJSON, error)
	SetAutomation(ctx context.Context, id string, want int, auto rules.Automation) (httpapi.AutomationJSON, error)
	SwitchAutomation(ctx context.Context, id string, stop bool, reason string) (httpapi.AutomationJSON, error)
	PreviewRule(ctx context.Context, id string, rule rules.Rule, limit int) (httpapi.PreviewJSON, error)
}

var _ AutomationAdmin = (*httpapi.Admin)(nil)

func (c *Console) automationRoutes(s *mux.Router) {
	s.HandleFunc("/integrations/{id}/automation", c.handle(c.automation)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/automation/stop", c.handle(c.switchAutomation(true))).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/start", c.handle(c.switchAutomation(false))).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/new", c.handle(c.ruleForm)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/automation/new", c.handle(c.saveRule)).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}", c.handle(c.ruleForm)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}", c.handle(c.saveRule)).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}/move", c.handle(c.changeRule(moveRule))).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}/toggle", c.handle(c.changeRule(toggleRule))).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}/delete", c.handle(c.confirmDelete)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/automation/rules/{rule}/delete", c.handle(c.changeRule(deleteRule))).Methods(http.MethodPost)
}

func (c *Console) automationAdmin() (AutomationAdmin, error) {
	aa, ok := c.admin.(AutomationAdmin)
	if !ok {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this hub has no automation editor"}
	}
	return aa, nil
}

func automationPath(id string) string {
	return "/console/integrations/" + url.PathEscape(id) + "/automation"
}

// ruleRow is a rule in the list.
type ruleRow struct {
	rules.Rule
	Index   int
	On      bool
	Summary []string
	First   bool
	Last    bool
	Base    string
}

// automationView is the automation page.
type automationView struct {
	Integration httpapi.IntegrationJSON
	Auto        httpapi.AutomationJSON
	Rules       []ruleRow
	Base        string
	// ReadOnly: declared in the config file (only the kill switch works).
	ReadOnly bool
	// Confirm is the rule whose deletion is asked about.
	Confirm *ruleRow
}

func (c *Console) automationData(r *http.Request) (AutomationAdmin, httpapi.IntegrationJSON, httpapi.AutomationJSON, error) {
	aa, err := c.automationAdmin()
	if err != nil {
		return nil, httpapi.IntegrationJSON{}, httpapi.AutomationJSON{}, err
	}
	id := mux.Vars(r)["id"]
	in, err := c.admin.Integration(r.Context(), id)
	if err != nil {
		return nil, in, httpapi.AutomationJSON{}, err
	}
	auto, err := aa.Automation(r.Context(), id)
	return aa, in, auto, err
}

func (c *Console) automation(w http.ResponseWriter, r *http.Request) error {
	_, in, auto, err := c.automationData(r)
	if err != nil {
		return err
	}
	v := c.automationView(r, in, auto)
	t := c.lang(r).T
	p := navPage(t["auto_title"]+" · "+in.ID, "integrations", v)
	if done := r.URL.Query().Get("done"); done != "" {
		p.Notice = t["auto_done_"+done]
	}
	c.render(w, r, http.StatusOK, "automation", p)
	return nil
}

func (c *Console) automationView(r *http.Request, in httpapi.IntegrationJSON, auto httpapi.AutomationJSON) automationView {
	t := c.lang(r).T
	v := automationView{Integration: in, Auto: auto, Base: automationPath(in.ID), ReadOnly: in.Source == "config"}
	for i, rl := range auto.Rules {
		v.Rules = append(v.Rules, ruleRow{Rule: rl, Index: i + 1, On: rl.Enabled == nil || *rl.Enabled, Summary: summary(t, rl.When),
			First: i == 0, Last: i == len(auto.Rules)-1, Base: v.Base + "/rules/" + url.PathEscape(rl.ID)})
	}
	return v
}

// summary says a rule's conditions in words.
func summary(t map[string]string, w rules.Conditions) []string {
	var out []string
	add := func(key string, vals []string) {
		if len(vals) > 0 {
			out = append(out, t[key]+": "+strings.Join(vals, ", "))
		}
	}
	add("auto_apps", w.Apps)
	add("auto_stores", w.Stores)
	var ratings []string
	for _, n := range w.Ratings {
		ratings = append(ratings, strconv.Itoa(n)+"★")
	}
	add("rating", ratings)
	add("auto_languages", w.Languages)
	add("auto_countries", w.Countries)
	if w.MinWords != nil {
		out = append(out, t["auto_min_words"]+": "+strconv.Itoa(*w.MinWords))
	}
	if w.MaxWords != nil {
		out = append(out, t["auto_max_words"]+": "+strconv.Itoa(*w.MaxWords))
	}
	if w.Text != "" && w.Text != rules.TextAny {
		out = append(out, t["auto_text_"+w.Text])
	}
	add("auto_keywords", w.Keywords)
	add("auto_exclude", w.ExcludeKeywords)
	var changes []string
	for _, ch := range w.Changes {
		changes = append(changes, t["auto_change_"+ch])
	}
	add("auto_changes", changes)
	if len(out) == 0 {
		out = append(out, t["auto_every_review"])
	}
	return out
}

func (c *Console) switchAutomation(stop bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		aa, err := c.automationAdmin()
		if err != nil {
			return err
		}
		id := mux.Vars(r)["id"]
		if _, err := aa.SwitchAutomation(r.Context(), id, stop, r.PostForm.Get("reason")); err != nil {
			return err
		}
		done := map[bool]string{true: "stopped", false: "started"}[stop]
		http.Redirect(w, r, automationPath(id)+"?done="+done, http.StatusSeeOther)
		return nil
	}
}

// ruleChange changes the rules list at rule i; done names it for the notice.
type ruleChange func(list []rules.Rule, i int, form url.Values) ([]rules.Rule, string)

func moveRule(list []rules.Rule, i int, form url.Values) ([]rules.Rule, string) {
	j := i - 1
	if form.Get("dir") == "down" {
		j = i + 1
	}
	if j < 0 || j >= len(list) {
		return list, "moved"
	}
	list[i], list[j] = list[j], list[i]
	return list, "moved"
}

func toggleRule(list []rules.Rule, i int, _ url.Values) ([]rules.Rule, string) {
	if list[i].Enabled == nil || *list[i].Enabled {
		off := false
		list[i].Enabled = &off
		return list, "disabled"
	}
	list[i].Enabled = nil
	return list, "enabled"
}

func deleteRule(list []rules.Rule, i int, _ url.Values) ([]rules.Rule, string) {
	return slices.Delete(list, i, i+1), "deleted"
}

// changeRule applies ch to the rule the path names, on the version the
// page showed (a page that went stale is refused, not overwritten).
func (c *Console) changeRule(ch ruleChange) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		aa, _, auto, err := c.automationData(r)
		if err != nil {
			return err
		}
		id, ruleID := mux.Vars(r)["id"], mux.Vars(r)["rule"]
		i := slices.IndexFunc(auto.Rules, func(rl rules.Rule) bool { return rl.ID == ruleID })
		if i < 0 {
			return &httpapi.Error{Status: http.StatusNotFound, Detail: c.lang(r).T["auto_no_rule"] + " " + strconv.Quote(ruleID)}
		}
		want, _ := strconv.Atoi(r.PostForm.Get("version"))
		var done string
		auto.Rules, done = ch(auto.Rules, i, r.PostForm)
		if _, err := aa.SetAutomation(r.Context(), id, want, auto.Automation); err != nil {
			return err
		}
		http.Redirect(w, r, automationPath(id)+"?done="+done, http.StatusSeeOther)
		return nil
	}
}

func (c *Console) confirmDelete(w http.ResponseWriter, r *http.Request) error {
	_, in, auto, err := c.automationData(r)
	if err != nil {
		return err
	}
	v := c.automationView(r, in, auto)
	ruleID := mux.Vars(r)["rule"]
	for i := range v.Rules {
		if v.Rules[i].ID == ruleID {
			v.Confirm = &v.Rules[i]
		}
	}
	t := c.lang(r).T
	if v.Confirm == nil {
		return &httpapi.Error{Status: http.StatusNotFound, Detail: t["auto_no_rule"] + " " + strconv.Quote(ruleID)}
	}
	c.render(w, r, http.StatusOK, "automation", navPage(t["auto_delete_title"]+" "+ruleID, "integrations", v))
	return nil
}

// ruleForm is the rule editor's form: what was typed, kept as typed, and
// each field's error.
type ruleForm struct {
	Orig                       string
	ID                         string
	Enabled                    bool
	Apps, Stores, Changes      []string
	Ratings                    []int
	Languages, Countries, Tags string
	MinWords, MaxWords         string
	Text                       string
	Keywords, Exclude          string
	Reply, Mode                string
	Ticket                     bool
	Version                    int
}

// ruleView is the rule editor's page.
type ruleView struct {
	Integration httpapi.IntegrationJSON
	Base        string
	Action      string
	New         bool
	F           ruleForm
	// Errs are the fields' errors by field name (id, apps, ratings…);
	// Other the errors no field shows.
	Errs  map[string]string
	Other []string
	// Choices.
	AppChoices, StoreChoices, ChangeChoices, TextChoices, ReplyChoices, ModeChoices []option
	RatingChoices                                                                   []ratingChoice
	Preview                                                                         *previewView
}

type previewView struct {
	httpapi.PreviewJSON
	Rows []previewRow
}

type previewRow struct {
	httpapi.PreviewMatchJSON
	Stars, Link string
}

func formOf(rl rules.Rule, version int) ruleForm {
	f := ruleForm{Orig: rl.ID, ID: rl.ID, Enabled: rl.Enabled == nil || *rl.Enabled, Apps: rl.When.Apps, Stores: rl.When.Stores,
		Changes: rl.When.Changes, Ratings: rl.When.Ratings, Languages: strings.Join(rl.When.Languages, ", "),
		Countries: strings.Join(rl.When.Countries, ", "), Tags: strings.Join(rl.Tags, ", "), Text: rl.When.Text,
		Keywords: strings.Join(rl.When.Keywords, "\n"), Exclude: strings.Join(rl.When.ExcludeKeywords, "\n"),
		Reply: rl.Reply, Mode: rl.Mode, Ticket: rl.Ticket == nil || *rl.Ticket, Version: version}
	if rl.When.MinWords != nil {
		f.MinWords = strconv.Itoa(*rl.When.MinWords)
	}
	if rl.When.MaxWords != nil {
		f.MaxWords = strconv.Itoa(*rl.When.MaxWords)
	}
	return f
}

// splitRuleList reads a comma- (or line-) separated list.
func splitRuleList(s string, lines bool) []string {
	sep := func(r rune) bool { return r == '\n' || r == '\r' || !lines && r == ',' }
	var out []string
	for _, p := range strings.FieldsFunc(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readRuleForm reads the posted form; a length that is not a whole
// number is the form's own error (the rule cannot hold it).
func readRuleForm(v url.Values, t map[string]string) (ruleForm, rules.Rule, map[string]string) {
	f := ruleForm{Orig: v.Get("orig"), ID: strings.TrimSpace(v.Get("id")), Enabled: v.Get("enabled") == "on",
		Apps: v["apps"], Stores: v["stores"], Changes: v["changes"], Languages: v.Get("languages"), Countries: v.Get("countries"),
		Tags: v.Get("tags"), MinWords: strings.TrimSpace(v.Get("min_words")), MaxWords: strings.TrimSpace(v.Get("max_words")),
		Text: v.Get("text"), Keywords: v.Get("keywords"), Exclude: v.Get("exclude_keywords"), Reply: v.Get("reply"),
		Mode: v.Get("mode"), Ticket: v.Get("ticket") == "on"}
	f.Version, _ = strconv.Atoi(v.Get("version"))
	errs := map[string]string{}
	for _, s := range v["ratings"] {
		n, err := strconv.Atoi(s)
		if err != nil {
			errs["ratings"] = strconv.Quote(s) + ": " + t["auto_not_number"]
			continue
		}
		f.Ratings = append(f.Ratings, n)
	}
	rl := rules.Rule{ID: f.ID, Reply: f.Reply, Tags: splitRuleList(f.Tags, false),
		When: rules.Conditions{Apps: f.Apps, Stores: f.Stores, Ratings: f.Ratings, Languages: splitRuleList(f.Languages, false),
			Countries: splitRuleList(f.Countries, false), Text: f.Text, Keywords: splitRuleList(f.Keywords, true),
			ExcludeKeywords: splitRuleList(f.Exclude, true), Changes: f.Changes}}
	if !f.Enabled {
		off := false
		rl.Enabled = &off
	}
	if f.Reply != "" {
		rl.Mode = f.Mode
		if f.Mode == rules.ModeAuto && !f.Ticket {
			no := false
			rl.Ticket = &no
		}
	}
	for field, s := range map[string]string{"min_words": f.MinWords, "max_words": f.MaxWords} {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs[field] = strconv.Quote(s) + ": " + t["auto_not_number"]
			continue
		}
		if field == "min_words" {
			rl.When.MinWords = &n
		} else {
			rl.When.MaxWords = &n
		}
	}
	return f, rl, errs
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// fieldOf is the form field of an error path inside a rule ("when.ratings[1]"
// → "ratings"; "" the rule itself → "reply", where its action is chosen).
func fieldOf(path string) string {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "."), "when.")
	path = indexSuffix.ReplaceAllString(path, "")
	if path == "" {
		return "reply"
	}
	return path
}

// fieldErrors places an *httpapi.Error's fields: those of the rule at
// prefix beside their field, the others in other.
func fieldErrors(e *httpapi.Error, prefix string, errs map[string]string) (other []string) {
	for _, fe := range e.Fields {
		rest, ok := strings.CutPrefix(fe.Field, prefix)
		if !ok || rest != "" && rest[0] != '.' {
			other = append(other, fe.Field+": "+fe.Reason)
			continue
		}
		f := fieldOf(rest)
		if errs[f] != "" {
			errs[f] += "; " + fe.Reason
		} else {
			errs[f] = fe.Reason
		}
	}
	if len(e.Fields) == 0 {
		other = append(other, e.Error())
	}
	return other
}

func (c *Console) ruleForm(w http.ResponseWriter, r *http.Request) error {
	_, in, auto, err := c.automationData(r)
	if err != nil {
		return err
	}
	ruleID, isNew := mux.Vars(r)["rule"], mux.Vars(r)["rule"] == ""
	f := ruleForm{Enabled: true, Text: rules.TextAny, Mode: rules.ModeApproval, Ticket: true, Version: auto.Version}
	if !isNew {
		i := slices.IndexFunc(auto.Rules, func(rl rules.Rule) bool { return rl.ID == ruleID })
		if i < 0 {
			return &httpapi.Error{Status: http.StatusNotFound, Detail: c.lang(r).T["auto_no_rule"] + " " + strconv.Quote(ruleID)}
		}
		f = formOf(auto.Rules[i], auto.Version)
	}
	c.renderRule(w, r, http.StatusOK, in, auto, f, map[string]string{}, nil, nil)
	return nil
}

func (c *Console) renderRule(w http.ResponseWriter, r *http.Request, status int, in httpapi.IntegrationJSON, auto httpapi.AutomationJSON,
	f ruleForm, errs map[string]string, other []string, pv *previewView) {
	t := c.lang(r).T
	base := automationPath(in.ID)
	v := ruleView{Integration: in, Base: base, New: f.Orig == "", F: f, Errs: errs, Other: other, Preview: pv}
	v.Action = base + "/new"
	if f.Orig != "" {
		v.Action = base + "/rules/" + url.PathEscape(f.Orig)
	}
	stores := []string{}
	for _, a := range in.Apps {
		label := a.Name
		if label == "" {
			label = a.ID
		}
		v.AppChoices = append(v.AppChoices, option{Value: a.ID, Label: label, Selected: slices.Contains(f.Apps, a.ID)})
		if !slices.Contains(stores, a.Store) {
			stores = append(stores, a.Store)
		}
	}
	for _, s := range stores {
		v.StoreChoices = append(v.StoreChoices, option{Value: s, Label: s, Selected: slices.Contains(f.Stores, s)})
	}
	for n := 1; n <= 5; n++ {
		v.RatingChoices = append(v.RatingChoices, ratingChoice{Value: n, Checked: slices.Contains(f.Ratings, n)})
	}
	for _, ch := range []string{sdk.ChangeKindNew, rules.ChangeEdited, sdk.ChangeKindUpdated, sdk.ChangeKindBetter, sdk.ChangeKindWorse} {
		v.ChangeChoices = append(v.ChangeChoices, option{Value: ch, Label: t["auto_change_"+ch], Selected: slices.Contains(f.Changes, ch)})
	}
	for _, tx := range []string{rules.TextAny, rules.TextWith, rules.TextWithout} {
		v.TextChoices = append(v.TextChoices, option{Value: tx, Label: t["auto_text_"+tx], Selected: f.Text == tx || f.Text == "" && tx == rules.TextAny})
	}
	v.ReplyChoices = append(v.ReplyChoices, option{Value: "", Label: t["auto_no_reply"], Selected: f.Reply == ""})
	for _, tp := range auto.Templates {
		v.ReplyChoices = append(v.ReplyChoices, option{Value: tp.ID, Label: tp.ID, Selected: f.Reply == tp.ID})
	}
	if f.Reply != "" && !slices.ContainsFunc(auto.Templates, func(tp rules.Template) bool { return tp.ID == f.Reply }) {
		v.ReplyChoices = append(v.ReplyChoices, option{Value: f.Reply, Label: f.Reply, Selected: true}) // kept as typed; the error names it
	}
	for _, m := range []string{rules.ModeApproval, rules.ModeAuto} {
		v.ModeChoices = append(v.ModeChoices, option{Value: m, Label: t["auto_mode_"+m], Selected: f.Mode == m || f.Mode == "" && m == rules.ModeApproval})
	}
	title := t["auto_new_rule"]
	if f.Orig != "" {
		title = t["auto_edit_rule"] + " " + f.Orig
	}
	p := navPage(title, "integrations", v)
	if len(errs) > 0 || len(other) > 0 {
		p.Error = t["auto_not_saved"]
	}
	c.render(w, r, status, "rule", p)
}

func (c *Console) saveRule(w http.ResponseWriter, r *http.Request) error {
	aa, in, auto, err := c.automationData(r)
	if err != nil {
		return err
	}
	t := c.lang(r).T
	f, rl, errs := readRuleForm(r.PostForm, t)
	f.Orig = mux.Vars(r)["rule"]
	if r.PostForm.Get("action") == "preview" {
		if len(errs) > 0 {
			c.renderRule(w, r, http.StatusUnprocessableEntity, in, auto, f, errs, nil, nil)
			return nil
		}
		p, err := aa.PreviewRule(r.Context(), in.ID, rl, httpapi.DefaultPreviewReviews)
		var e *httpapi.Error
		if errors.As(err, &e) && e.Status == http.StatusUnprocessableEntity {
			other := fieldErrors(e, "rule", errs)
			c.renderRule(w, r, http.StatusUnprocessableEntity, in, auto, f, errs, other, nil)
			return nil
		}
		if err != nil {
			return err
		}
		pv := &previewView{PreviewJSON: p}
		for _, m := range p.Matched {
			pv.Rows = append(pv.Rows, previewRow{PreviewMatchJSON: m, Stars: stars(m.Rating), Link: reviewLink(m.IntegrationID, m.AppID, m.ReviewID)})
		}
		c.renderRule(w, r, http.StatusOK, in, auto, f, errs, nil, pv)
		return nil
	}
	i := len(auto.Rules)
	if f.Orig != "" {
		if i = slices.IndexFunc(auto.Rules, func(x rules.Rule) bool { return x.ID == f.Orig }); i < 0 {
			return &httpapi.Error{Status: http.StatusNotFound, Detail: t["auto_no_rule"] + " " + strconv.Quote(f.Orig)}
		}
		auto.Rules[i] = rl
	} else {
		auto.Rules = append(auto.Rules, rl)
	}
	if len(errs) > 0 {
		c.renderRule(w, r, http.StatusUnprocessableEntity, in, auto, f, errs, nil, nil)
		return nil
	}
	_, err = aa.SetAutomation(r.Context(), in.ID, f.Version, auto.Automation)
	var e *httpapi.Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusNotFound {
		other := fieldErrors(e, "rules["+strconv.Itoa(i)+"]", errs)
		c.renderRule(w, r, e.Status, in, auto, f, errs, other, nil)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, automationPath(in.ID)+"?done=saved", http.StatusSeeOther)
	return nil
}

func init() { funcs["list"] = func(s ...string) []string { return s } }
