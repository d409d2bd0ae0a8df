// Package check runs a live check of an integration before it is trusted:
// read-only calls with the real credentials through the plugins. The
// helpdesk checks its credentials and says where it sends webhooks (compared
// with this hub's webhook URL); every app's store checks its credentials
// (rights, quotas, clock) and lists one page of reviews. Nothing is written
// at a vendor and nothing in the hub's state: no cursor is stored, nothing
// is delivered. `hub check` and POST /api/integrations/{id}/check use it.
package check

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/reviewhub/reviewhub/hub/redact"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Statuses of a line and of a report.
const (
	OK   = sdk.CheckOK
	Warn = sdk.CheckWarn
	Fail = sdk.CheckFail
)

// Webhook comparison outcomes.
const (
	WebhookMatch    = "match"
	WebhookMismatch = "mismatch"
	WebhookUnknown  = "unknown"
)

// Names of the lines the hub itself writes (a plugin's own checks keep
// their names).
const (
	LineSettings    = "settings"
	LinePlugin      = "plugin"
	LineCredentials = "credentials"
	LineReplies     = "replies"
	LineWebhookURL  = "webhook URL"
	LineListing     = "listing"
)

// Plugins resolves plugins by name (app.Resolver).
type Plugins interface {
	Info(name string) (sdk.Info, bool)
	Store(name string) (sdk.StorePlugin, sdk.Info, error)
	Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error)
}

// Line is one finding.
type Line struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail,omitempty"`
}

// Webhook compares where the helpdesk sends webhooks with where this hub
// serves them. Secrets are redacted from both.
type Webhook struct {
	Status   string `json:"status"` // match, mismatch or unknown
	Hub      string `json:"hub"`
	Helpdesk string `json:"helpdesk,omitempty"`
}

// Helpdesk is the helpdesk part of a report.
type Helpdesk struct {
	Plugin  string  `json:"plugin"`
	Lines   []Line  `json:"lines"`
	Webhook Webhook `json:"webhook"`
}

// Listing is what one page of ListReviews showed.
type Listing struct {
	Reviews    int  `json:"reviews"`
	Unreadable int  `json:"unreadable"`
	MorePages  bool `json:"more_pages"`
}

// App is one app's part of a report.
type App struct {
	ID         string `json:"id"`
	Store      string `json:"store"`
	StoreAppID string `json:"store_app_id"`
	// CanReply is what the store's credentials check said (absent when it failed).
	CanReply *bool    `json:"can_reply,omitempty"`
	Listing  *Listing `json:"listing,omitempty"`
	Lines    []Line   `json:"lines"`
}

// Report is the outcome of a check; it is the admin API's answer and what
// `hub check --json` prints.
type Report struct {
	Integration string `json:"integration"`
	// Status is the worst status of all lines; OK is true when no line failed.
	Status    string         `json:"status"`
	OK        bool           `json:"ok"`
	Counts    map[string]int `json:"counts"`
	Helpdesk  Helpdesk       `json:"helpdesk"`
	Apps      []App          `json:"apps"`
	CheckedAt time.Time      `json:"checked_at"`
}

// Options of a check.
type Options struct {
	// PublicURL is how the helpdesk reaches this hub (config public_url).
	PublicURL string
	// Timeout bounds each plugin call (default 30s).
	Timeout time.Duration
	// Parallel is how many apps are checked at once (default 4).
	Parallel int
	// PluginProblem, when set, explains why a plugin is not available (a
	// failed start); "" when there is nothing to say.
	PluginProblem func(name string) string
	// Others are the hub's other integrations: an app whose store app
	// another integration feeding the same helpdesk plugin also polls is
	// warned (every review would become two tickets).
	Others []state.Integration
}

// LineDuplicate names the warning of a store app in two integrations.
const LineDuplicate = "duplicate"

// duplicates warns of in's apps whose store app an integration of others
// with the same helpdesk plugin also has.
func duplicates(in state.Integration, others []state.Integration) map[string]Line {
	out := map[string]Line{}
	for _, o := range others {
		if o.ID == in.ID || o.HelpdeskPlugin != in.HelpdeskPlugin {
			continue
		}
		for _, oa := range o.Apps {
			for _, a := range in.Apps {
				if a.StorePlugin == oa.StorePlugin && a.StoreAppID == oa.StoreAppID && a.StoreAppID != "" {
					out[a.ID] = Line{Name: LineDuplicate, Status: Warn, Detail: fmt.Sprintf(
						"store app %s (%s) is also app %q of integration %q, on the same helpdesk (%s): each review becomes two tickets, and answers in one of them are refused",
						a.StoreAppID, a.StorePlugin, oa.ID, o.ID, in.HelpdeskPlugin)}
				}
			}
		}
	}
	return out
}

// ByApp is the report's outcome for each app, as the app's health records
// it: the worst of the app's lines and the helpdesk's (which every app
// needs), with what failed (or, when nothing failed, warned).
func (r Report) ByApp() map[string]state.CheckFacts {
	out := map[string]state.CheckFacts{}
	for _, a := range r.Apps {
		lines := append(append([]Line{}, r.Helpdesk.Lines...), a.Lines...)
		c := state.CheckFacts{Status: OK}
		for _, want := range []string{Fail, Warn} {
			var parts []string
			for _, l := range lines {
				if l.Status == want {
					parts = append(parts, l.Name+": "+l.Detail)
				}
			}
			if len(parts) > 0 {
				c = state.CheckFacts{Status: want, Problem: strings.Join(parts, "; ")}
				break
			}
		}
		out[a.ID] = c
	}
	return out
}

// HookURL is the URL this hub serves an integration's helpdesk webhooks at
// (see httpapi: /hooks/{plugin}/{integration}), without the secret the
// helpdesk adds.
func HookURL(publicURL, plugin, integration string) string {
	return strings.TrimRight(publicURL, "/") + "/hooks/" + url.PathEscape(plugin) + "/" + url.PathEscape(integration)
}

// Run checks an integration. It never fails: every problem is a line.
func Run(ctx context.Context, in state.Integration, plugins Plugins, opts Options) Report {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	rep := Report{Integration: in.ID, Apps: make([]App, len(in.Apps)), CheckedAt: time.Now().UTC()}
	// The helpdesk and the apps are checked at once, at most Parallel apps
	// at a time, so an integration with many apps stays within the
	// caller's deadline; the report keeps the apps' order.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep.Helpdesk = checkHelpdesk(ctx, in, plugins, opts)
	}()
	sem := make(chan struct{}, opts.Parallel)
	for i, app := range in.Apps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Apps[i] = checkApp(ctx, in, app, plugins, opts)
		}()
	}
	wg.Wait()
	dups := duplicates(in, opts.Others)
	for i := range rep.Apps {
		if l, ok := dups[rep.Apps[i].ID]; ok {
			rep.Apps[i].Lines = append(rep.Apps[i].Lines, l)
		}
	}
	rep.Counts = map[string]int{OK: 0, Warn: 0, Fail: 0}
	count := func(lines []Line) {
		for _, l := range lines {
			rep.Counts[l.Status]++
		}
	}
	count(rep.Helpdesk.Lines)
	for _, a := range rep.Apps {
		count(a.Lines)
	}
	switch {
	case rep.Counts[Fail] > 0:
		rep.Status = Fail
	case rep.Counts[Warn] > 0:
		rep.Status = Warn
	default:
		rep.Status = OK
	}
	rep.OK = rep.Counts[Fail] == 0
	return rep
}

// pluginLines explains a plugin that is not available; nil when it is.
func pluginLines(name string, plugins Plugins, opts Options) []Line {
	if _, ok := plugins.Info(name); ok {
		return nil
	}
	if opts.PluginProblem != nil {
		if p := opts.PluginProblem(name); p != "" {
			return []Line{{Name: LinePlugin, Status: Fail, Detail: fmt.Sprintf("plugin %q is not running: %s", name, p)}}
		}
	}
	return nil // setup's "missing" says it is not installed
}

// fromPlugin turns a plugin's checks into lines; an unknown status is a warning.
func fromPlugin(checks []sdk.Check) []Line {
	var out []Line
	for _, c := range checks {
		l := Line{Name: c.Name, Status: c.Status, Detail: c.Detail}
		if l.Name == "" {
			l.Name = "check"
		}
		if l.Status != OK && l.Status != Warn && l.Status != Fail {
			l.Detail = strings.TrimSpace(fmt.Sprintf("%s (the plugin gave the unknown status %q)", l.Detail, c.Status))
			l.Status = Warn
		}
		out = append(out, l)
	}
	return out
}

func checkHelpdesk(ctx context.Context, in state.Integration, plugins Plugins, opts Options) Helpdesk {
	h := Helpdesk{Plugin: in.HelpdeskPlugin, Lines: []Line{}}
	hub := HookURL(opts.PublicURL, in.HelpdeskPlugin, in.ID)
	h.Webhook = Webhook{Status: WebhookUnknown, Hub: hub}
	unknown := func(why string) {
		h.Lines = append(h.Lines, Line{Name: LineWebhookURL, Status: Warn,
			Detail: fmt.Sprintf("unknown (%s): the helpdesk must send webhooks to %s with the secret", why, hub)})
	}
	h.Lines = append(h.Lines, pluginLines(in.HelpdeskPlugin, plugins, opts)...)
	if missing := setup.HelpdeskMissing(in, plugins.Info); len(missing) > 0 {
		h.Lines = append(h.Lines, Line{Name: LineSettings, Status: Fail, Detail: "missing: " + strings.Join(missing, ", ")})
		unknown("the helpdesk is not set up")
		return h
	}
	hd, _, err := plugins.Helpdesk(in.HelpdeskPlugin)
	if err != nil {
		h.Lines = append(h.Lines, Line{Name: LinePlugin, Status: Fail, Detail: err.Error()})
		unknown("no plugin to ask")
		return h
	}
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	cr, err := hd.CheckCredentials(cctx, sdk.CheckCredentialsRequest{Settings: in.HelpdeskSettings})
	cancel()
	if err != nil {
		h.Lines = append(h.Lines, Line{Name: LineCredentials, Status: Fail, Detail: err.Error()})
		unknown("the credentials check failed")
		return h
	}
	h.Lines = append(h.Lines, Line{Name: LineCredentials, Status: OK, Detail: orDefault(cr.Detail, "accepted")})
	h.Lines = append(h.Lines, fromPlugin(cr.Checks)...)
	if cr.WebhookURL == "" {
		unknown("the helpdesk plugin does not say where the helpdesk sends them")
		return h
	}
	h.Webhook.Helpdesk = redact.URL(cr.WebhookURL)
	if SameEndpoint(cr.WebhookURL, hub) {
		h.Webhook.Status = WebhookMatch
		h.Lines = append(h.Lines, Line{Name: LineWebhookURL, Status: OK, Detail: "match: the helpdesk sends webhooks to " + hub})
		return h
	}
	h.Webhook.Status = WebhookMismatch
	h.Lines = append(h.Lines, Line{Name: LineWebhookURL, Status: Fail,
		Detail: fmt.Sprintf("mismatch: the helpdesk sends webhooks to %s, this hub serves them at %s (answers will not arrive)", h.Webhook.Helpdesk, hub)})
	return h
}

func checkApp(ctx context.Context, in state.Integration, app state.App, plugins Plugins, opts Options) App {
	a := App{ID: app.ID, Store: app.StorePlugin, StoreAppID: app.StoreAppID, Lines: []Line{}}
	a.Lines = append(a.Lines, pluginLines(app.StorePlugin, plugins, opts)...)
	if missing := setup.AppMissing(app, plugins.Info); len(missing) > 0 {
		a.Lines = append(a.Lines, Line{Name: LineSettings, Status: Fail, Detail: "missing: " + strings.Join(missing, ", ")})
		return a
	}
	st, info, err := plugins.Store(app.StorePlugin)
	if err != nil {
		a.Lines = append(a.Lines, Line{Name: LinePlugin, Status: Fail, Detail: err.Error()})
		return a
	}
	caps := sdk.StoreCapabilities{}
	if info.Store != nil {
		caps = *info.Store
	}

	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	cr, err := st.CheckCredentials(cctx, sdk.CheckCredentialsRequest{Settings: app.StoreSettings, AppID: app.StoreAppID})
	cancel()
	if err != nil {
		a.Lines = append(a.Lines, Line{Name: LineCredentials, Status: Fail, Detail: err.Error()})
	} else {
		a.CanReply = &cr.CanReply
		a.Lines = append(a.Lines, Line{Name: LineCredentials, Status: OK, Detail: orDefault(cr.Detail, "accepted")})
		switch {
		case !caps.CanReply:
			a.Lines = append(a.Lines, Line{Name: LineReplies, Status: Warn, Detail: "the store plugin cannot publish replies"})
		case cr.CanReply && setup.HasStoreAccount(app, info):
			a.Lines = append(a.Lines, Line{Name: LineReplies, Status: OK, Detail: "replies can be published"})
		default:
			a.Lines = append(a.Lines, Line{Name: LineReplies, Status: Warn,
				Detail: "read-only: replies to this app's reviews will be refused"})
		}
		a.Lines = append(a.Lines, fromPlugin(cr.Checks)...)
	}

	// One page, from the start, as the poller would ask; the page's
	// cursor is thrown away and nothing is delivered.
	req := sdk.ListReviewsRequest{Settings: app.StoreSettings, AppID: app.StoreAppID, PageSize: 100}
	if slices.Contains(caps.SourceFilters, sdk.FilterCountry) {
		req.Countries = app.Filters.Countries
	}
	if slices.Contains(caps.SourceFilters, sdk.FilterLanguage) {
		req.Languages = app.Filters.Languages
	}
	lctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	page, err := st.ListReviews(lctx, req)
	cancel()
	if err != nil {
		a.Lines = append(a.Lines, Line{Name: LineListing, Status: Fail, Detail: err.Error()})
		return a
	}
	a.Listing = &Listing{Reviews: len(page.Reviews), Unreadable: len(page.Unreadable), MorePages: page.NextPageToken != ""}
	detail := fmt.Sprintf("%d reviews on the first page", len(page.Reviews))
	if a.Listing.MorePages {
		detail += " (more pages follow)"
	}
	line := Line{Name: LineListing, Status: OK, Detail: detail}
	if n := len(page.Unreadable); n > 0 {
		line.Status = Warn
		line.Detail += fmt.Sprintf("; %d could not be read (first: %s)", n, page.Unreadable[0].Reason)
	}
	a.Lines = append(a.Lines, line)
	return a
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// SameEndpoint reports whether two URLs name the same endpoint: scheme,
// host and port (default ports implied) and path (a trailing slash
// ignored), whatever their query, fragment or user info.
func SameEndpoint(a, b string) bool {
	ua, err := url.Parse(strings.TrimSpace(a))
	if err != nil {
		return false
	}
	ub, err := url.Parse(strings.TrimSpace(b))
	if err != nil {
		return false
	}
	norm := func(u *url.URL) string {
		scheme := strings.ToLower(u.Scheme)
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			port = ""
		}
		return scheme + "://" + host + ":" + port + strings.TrimRight(u.EscapedPath(), "/")
	}
	return ua.Host != "" && norm(ua) == norm(ub)
}

// Print writes the report for people: one line per finding, grouped by
// helpdesk and app, and a summary.
func Print(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "helpdesk %s\n", r.Helpdesk.Plugin)
	for _, l := range r.Helpdesk.Lines {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Status, l.Name, l.Detail)
	}
	for _, a := range r.Apps {
		fmt.Fprintf(tw, "app %s (%s %s)\n", a.ID, a.Store, a.StoreAppID)
		for _, l := range a.Lines {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Status, l.Name, l.Detail)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "integration %s: %s (%d ok, %d warn, %d fail)\n", r.Integration, r.Status, r.Counts[OK], r.Counts[Warn], r.Counts[Fail])
}
