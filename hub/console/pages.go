package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// page is what every template gets.
type page struct {
	Lang  lang
	T     map[string]string
	Title string
	// Nav names the current section (integrations, deadletters).
	Nav string
	// CSRF is the token every form carries.
	CSRF     string
	SignedIn bool
	// User and Role are the signed-in principal's name and role.
	User string
	Role string
	// Path of this page, for the language switch to come back to.
	Path   string
	Error  string
	Notice string
	Next   string
	Data   any
	// Drafts is how many drafts wait for approval (the navigation's badge).
	Drafts int
	// Badges are the navigation's counts (signed in only).
	Badges navCounts
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

var funcs = template.FuncMap{
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"add":     func(a, b int) int { return a + b },
	"whstate": stateOf,
	"ts": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return fmt.Sprint(t)
	},
	"tf": func(t map[string]string, key string, args ...any) string { return fmt.Sprintf(t[key], args...) },
	"counter": func(t map[string]string, name string) string {
		if l, ok := t["c_"+name]; ok {
			return l
		}
		return name
	},
	// replyclass is a reply status's badge: fine, under way, or a person must look.
	"replyclass": func(status string) string {
		switch status {
		case "published", "approved":
			return "ok"
		case "pending", "draft", "superseded":
			return "incomplete"
		}
		return "fail"
	},
	"skipname": func(t map[string]string, name string) string {
		if l, ok := t["s_"+name]; ok {
			return l
		}
		return name
	},
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// render writes a page; the template runs into a buffer first, so a
// template error is a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	l := c.lang(r)
	p.Lang, p.T = l, l.T
	p.Path = r.URL.RequestURI()
	if s := sessionFrom(r.Context()); s != nil {
		p.SignedIn = true
		p.CSRF = s.csrf
		p.User, p.Role = s.principal.Name, s.principal.Role.String()
		if name != "error" {
			p.Drafts = c.waitingDrafts(r)
		}
		p.Badges = c.navBadges(r.Context())
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.opts.Logger.Error("console: rendering failed", "page", name, "error", err)
		http.Error(w, "the console could not render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Code)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", page{Title: c.lang(r).T["error_title"], Error: msg})
}

// Integrations list.

type listRow struct {
	ID, Name, Helpdesk string
	Apps, Running      int
	// Health: ok, incomplete, failing, waiting; Detail says why.
	Health, Detail string
	ReadOnly       bool
}

func (c *Console) integrations(w http.ResponseWriter, r *http.Request) error {
	list, err := c.admin.Integrations(r.Context())
	if err != nil {
		return err
	}
	t := c.lang(r).T
	rows := make([]listRow, 0, len(list))
	for _, in := range list {
		row := listRow{ID: in.ID, Name: in.Name, Apps: len(in.Apps), ReadOnly: in.Source == state.SourceConfig}
		if in.Helpdesk != nil {
			row.Helpdesk = in.Helpdesk.Plugin
		}
		for _, a := range in.Apps {
			if a.Running {
				row.Running++
			}
		}
		row.Health, row.Detail = "ok", t["health_ok"]
		if !in.Complete {
			row.Health, row.Detail = "incomplete", t["health_incomplete"]
		}
		st, err := c.admin.Status(r.Context(), in.ID)
		if err != nil {
			// The list still shows; the integration's own status page
			// shows the failure.
			c.opts.Logger.Warn("console: reading an integration's status for the list failed", "integration", in.ID, "error", err)
			rows = append(rows, row)
			continue
		}
		polled := false
		for _, a := range st.Apps {
			if h := a.Health; h != nil && h.State != sdk.HealthOK {
				row.Health, row.Detail = "failing", a.ID+": "+strings.TrimSpace(h.State+" "+h.Reason)
				break
			}
			if a.LastError != "" {
				row.Health, row.Detail = "failing", a.ID+": "+a.LastError
				break
			}
			polled = polled || a.LastPollAt != nil
		}
		if row.Health == "ok" && !polled && len(st.Apps) > 0 {
			row.Health, row.Detail = "waiting", t["health_waiting"]
		}
		rows = append(rows, row)
	}
	c.render(w, r, http.StatusOK, "integrations", page{Title: t["integrations"], Nav: "integrations", Data: rows})
	return nil
}

// The integration form.

func (c *Console) newIntegration(w http.ResponseWriter, r *http.Request) error {
	in := formInput{Tags: true, HSettings: map[string]map[string]string{}}
	c.renderForm(w, r, http.StatusOK, buildForm(c.lang(r).T, in, nil, c.admin.InstalledPlugins(), nil))
	return nil
}

func (c *Console) editIntegration(w http.ResponseWriter, r *http.Request) error {
	stored, err := c.admin.Integration(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	v := buildForm(c.lang(r).T, inputFromAPI(stored), &stored, c.admin.InstalledPlugins(), nil)
	v.Saved = r.URL.Query().Get("saved") == "1"
	c.renderForm(w, r, http.StatusOK, v)
	return nil
}

func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, status int, v formView) {
	t := c.lang(r).T
	title := t["form_new_title"]
	if !v.New {
		title = t["form_edit_title"] + " " + v.ID.Value
	}
	c.render(w, r, status, "form", page{Title: title, Nav: "integrations", Data: v})
}

// saveIntegration saves the form through the admin API's functions
// (create or update), or applies "add an app" / "remove this app" to the
// form unsaved.
func (c *Console) saveIntegration(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := c.lang(r).T
	plugins := c.admin.InstalledPlugins()
	id, editing := mux.Vars(r)["id"]
	var stored *httpapi.IntegrationJSON
	if editing {
		s, err := c.admin.Integration(ctx, id)
		if err != nil {
			return err
		}
		stored = &s
	}
	in, action := inputFromPost(r.PostForm, plugins)
	if editing {
		in.ID = id
	}
	if action == "add_app" || strings.HasPrefix(action, "remove_app:") {
		v := buildForm(t, in, stored, plugins, nil)
		v.Notice = t["added_unsaved"]
		if action != "add_app" {
			v.Notice = t["removed_unsaved"]
		}
		v.TypedSecretsKept = in.TypedSecrets
		c.renderForm(w, r, http.StatusOK, v)
		return nil
	}
	j, local := in.toAPI(plugins)
	failed := func(status int, errs map[string]string) error {
		v := buildForm(t, in, stored, plugins, errs)
		v.TypedSecretsKept = in.TypedSecrets
		c.renderForm(w, r, status, v)
		return nil
	}
	if len(local) > 0 {
		return failed(http.StatusUnprocessableEntity, local)
	}
	var saved httpapi.IntegrationJSON
	var err error
	if editing {
		saved, err = c.admin.Update(ctx, id, 0, j)
	} else {
		saved, err = c.admin.Create(ctx, j)
	}
	var e *httpapi.Error
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/integrations/"+url.PathEscape(saved.ID)+"?saved=1", http.StatusSeeOther)
		return nil
	case errors.As(err, &e) && e.Status == http.StatusUnprocessableEntity && len(e.Fields) > 0:
		errs := map[string]string{}
		for _, f := range e.Fields {
			if errs[f.Field] != "" {
				errs[f.Field] += "; "
			}
			errs[f.Field] += f.Reason
		}
		return failed(e.Status, errs)
	case errors.As(err, &e) && e.Status == http.StatusConflict && !editing:
		return failed(e.Status, map[string]string{"id": e.Detail})
	case errors.As(err, &e) && e.Status < 500:
		return failed(e.Status, map[string]string{"integration": e.Detail})
	}
	return err
}

// The live check.

func (c *Console) check(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	rep, err := c.admin.Check(r.Context(), id)
	if err != nil {
		return err
	}
	t := c.lang(r).T
	c.render(w, r, http.StatusOK, "check", page{Title: t["check_title"] + " " + id, Nav: "integrations", Data: checkView{ID: id, Report: rep}})
	return nil
}

type checkView struct {
	ID     string
	Report check.Report
}

// The status view.

type statusPage struct {
	ID                              string
	Complete                        bool
	Missing                         []string
	Apps                            []appStatusView
	AnswersWaiting, WebhooksIgnored int
	Auto                            bool
	RecentReviews                   []state.RecentReview
	RecentReplies                   []httpapi.RecentReply
	AppNames                        map[string]string
	AutomationOn, AutomationStopped bool
	AutomationRules                 int
}

type appStatusView struct {
	httpapi.AppStatus
	Name                 string
	Health, HealthReason string // "" when the hub computes no health
	Counters, Skipped    []countView
	ReplyCounts          []countView
}

type countView struct {
	Name  string
	Value int
}

func sortedCounts(m map[string]int) []countView {
	out := make([]countView, 0, len(m))
	for k, v := range m {
		out = append(out, countView{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Console) status(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	st, err := c.admin.Status(r.Context(), id)
	if err != nil {
		return err
	}
	in, err := c.admin.Integration(r.Context(), id)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, a := range in.Apps {
		names[a.ID] = a.Name
	}
	p := statusPage{ID: st.ID, Complete: st.Complete, Missing: st.Missing, AnswersWaiting: st.AnswersWaiting,
		WebhooksIgnored: st.WebhooksIgnored, Auto: r.URL.Query().Get("auto") == "1",
		RecentReviews: st.RecentReviews, RecentReplies: st.RecentReplies, AppNames: names,
		AutomationOn: st.Automation.On, AutomationStopped: st.Automation.Stopped, AutomationRules: st.Automation.Rules}
	for _, a := range st.Apps {
		v := appStatusView{AppStatus: a, Name: names[a.ID], Counters: sortedCounts(a.Counters), Skipped: sortedCounts(a.Skipped),
			ReplyCounts: sortedCounts(a.ReplyStatuses)}
		if a.Health != nil {
			v.Health, v.HealthReason = a.Health.State, a.Health.Reason
		}
		p.Apps = append(p.Apps, v)
	}
	t := c.lang(r).T
	pg := page{Title: t["status_title"] + " " + id, Nav: "integrations", Data: p}
	if msg := r.URL.Query().Get("retried"); msg != "" {
		pg.Notice = fmt.Sprintf(t["answer_retried"], msg)
	}
	c.render(w, r, http.StatusOK, "status", pg)
	return nil
}

// retryReply publishes a failed or refused answer again (the admin API's
// retry).
func (c *Console) retryReply(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if _, err := c.admin.RetryReply(r.Context(), v["id"], v["message"]); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/integrations/"+url.PathEscape(v["id"])+"/status?retried="+url.QueryEscape(v["message"]), http.StatusSeeOther)
	return nil
}

// summarize shows the identifying fields of a message's payload, never
// more than a line (payloads are the hub's own messages: ids, not secrets).
func summarize(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return clip(string(raw), 160)
	}
	var parts []string
	for _, k := range []string{"integration_id", "app_id", "review_id", "ticket_id", "message_id"} {
		if v, ok := m[k]; ok && fmt.Sprint(v) != "" {
			parts = append(parts, k+"="+clip(fmt.Sprint(v), 60))
		}
	}
	if len(parts) == 0 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return clip(strings.Join(keys, ", "), 160)
	}
	return strings.Join(parts, " ")
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
