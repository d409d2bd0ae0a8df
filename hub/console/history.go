package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// The history page of an app (issue 27): its store's past imported on
// demand (the admin API's POST …/history), and each import's progress,
// updating while it runs; an import that stopped (an error, the hub
// restarted) is resumed with its button.

// HistoryAdmin is the admin API's history imports (an *httpapi.Admin);
// a console whose Admin lacks them answers the page 503.
type HistoryAdmin interface {
	HistoryImports(ctx context.Context, integrationID, appID string) ([]httpapi.HistoryImportJSON, error)
	StartHistoryImport(ctx context.Context, integrationID, appID string, body httpapi.HistoryRequestJSON) (httpapi.HistoryImportJSON, error)
}

var _ HistoryAdmin = (*httpapi.Admin)(nil)

func (c *Console) historyRoutes(s *mux.Router) {
	s.HandleFunc("/integrations/{id}/apps/{app}/history", c.handle(c.historyPage)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/apps/{app}/history", c.handle(c.startHistory)).Methods(http.MethodPost)
}

// historyStale: an unfinished import not updated for this long is not
// running (its importer stopped: the hub restarted, the command was
// killed); its lease has run out, so it can be resumed.
const historyStale = 5 * time.Minute

// historyView is one import as the page shows it.
type historyView struct {
	From, To string // days, To exclusive
	// State: running, finished, stopped (an error), interrupted.
	State     string
	Percent   string // "" when the plugin gives no total
	Reviews   int64
	Queued    int64
	Skipped   int64 // seen but not queued: unchanged, filtered, older than the stored version
	Bad       int64
	Rating    int64
	Covered   string // days covered so far
	Days      int
	Updated   string
	LastError string
	Resumable bool
}

// historyPageData is the page's data.
type historyPageData struct {
	ID, App, AppName string
	From, To         string // the form's defaults
	Imports          []historyView
	Running          bool // some import runs: the page refreshes
	Auto             bool
}

func (c *Console) historyAdmin() (HistoryAdmin, error) {
	h, ok := c.admin.(HistoryAdmin)
	if !ok {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "history imports are not available in this hub"}
	}
	return h, nil
}

func (c *Console) historyPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderHistory(w, r, http.StatusOK, "", "")
}

func (c *Console) renderHistory(w http.ResponseWriter, r *http.Request, status int, problem, notice string) error {
	ha, err := c.historyAdmin()
	if err != nil {
		return err
	}
	id, appID := mux.Vars(r)["id"], mux.Vars(r)["app"]
	in, err := c.admin.Integration(r.Context(), id)
	if err != nil {
		return err
	}
	list, err := ha.HistoryImports(r.Context(), id, appID)
	if err != nil {
		return err
	}
	t := c.lang(r).T
	now := c.opts.Now()
	today := now.UTC().Truncate(24 * time.Hour)
	d := historyPageData{ID: id, App: appID, From: today.AddDate(0, 0, -90).Format(time.DateOnly), To: today.AddDate(0, 0, 1).Format(time.DateOnly),
		Auto: r.URL.Query().Get("auto") == "1"}
	for _, a := range in.Apps {
		if a.ID == appID {
			d.AppName = a.Name
		}
	}
	for _, h := range list {
		v := c.viewHistory(t, h, now)
		d.Running = d.Running || v.State == "running"
		d.Imports = append(d.Imports, v)
	}
	title := fmt.Sprintf(t["history_title"], appID)
	if d.AppName != "" {
		title = fmt.Sprintf(t["history_title"], d.AppName)
	}
	q := r.URL.Query()
	if notice == "" && q.Get("started") != "" {
		notice = fmt.Sprintf(t["history_started"], q.Get("started"), q.Get("to"))
	}
	c.render(w, r, status, "history", page{Title: title, Nav: "integrations", Data: d, Error: problem, Notice: notice})
	return nil
}

func (c *Console) viewHistory(t map[string]string, h httpapi.HistoryImportJSON, now time.Time) historyView {
	from, _ := time.Parse(time.RFC3339, h.From)
	to, _ := time.Parse(time.RFC3339, h.To)
	v := historyView{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Reviews: h.Reviews, Queued: h.Queued,
		Skipped: max(h.Reviews-h.Queued, 0), Bad: h.Unreadable, Rating: h.RatingOnly, LastError: h.LastError,
		Updated: h.Updated.UTC().Format("2006-01-02 15:04 UTC") + " · " + ago(t, now.Sub(h.Updated))}
	if h.Total > 0 {
		v.Percent = fmt.Sprintf("%.0f %%", h.Percent)
	}
	switch {
	case h.Finished != nil:
		v.State = "finished"
	case h.LastError != "":
		v.State, v.Resumable = "stopped", true
	case now.Sub(h.Updated) > historyStale:
		v.State, v.Resumable = "interrupted", true
	default:
		v.State = "running"
	}
	// Days covered: the whole range once finished, up to where the
	// store's history is complete (its lag).
	end := from
	if h.Finished != nil {
		end = to
		if h.CompleteUntil != nil && h.CompleteUntil.Before(to) {
			end = *h.CompleteUntil
		}
	}
	if days := int(end.Sub(from).Hours() / 24); days > 0 {
		v.Days = days
		v.Covered = fmt.Sprintf(t["history_covered"], from.Format(time.DateOnly), end.Format(time.DateOnly), days)
	}
	return v
}

func (c *Console) startHistory(w http.ResponseWriter, r *http.Request) error {
	ha, err := c.historyAdmin()
	if err != nil {
		return err
	}
	id, appID := mux.Vars(r)["id"], mux.Vars(r)["app"]
	body := httpapi.HistoryRequestJSON{From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	if _, err := ha.StartHistoryImport(r.Context(), id, appID, body); err != nil {
		var e *httpapi.Error
		if errors.As(err, &e) && e.Status != http.StatusServiceUnavailable && e.Status != http.StatusNotFound {
			// A wrong range, a store without history, an import running
			// (elsewhere): said on the page, the form kept.
			return c.renderHistory(w, r, e.Status, e.Error(), "")
		}
		return err
	}
	http.Redirect(w, r, "/console/integrations/"+url.PathEscape(id)+"/apps/"+url.PathEscape(appID)+"/history?auto=1&started="+
		url.QueryEscape(body.From)+"&to="+url.QueryEscape(body.To), http.StatusSeeOther)
	return nil
}
