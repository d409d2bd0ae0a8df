package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/state"
)

// HistoryOps runs history imports in the hub (issue 27); the hub's
// implementation runs each in the background through the poller.
type HistoryOps interface {
	// StartHistory starts (or resumes) the import of [from, to) of an app
	// and returns at once; ErrHistoryRunning when it runs already.
	StartHistory(ctx context.Context, in state.Integration, app state.App, from, to time.Time) error
}

// ErrHistoryRunning: that import runs already.
var ErrHistoryRunning = errors.New("this import runs already")

// HistoryRunningError says the import runs already under Holder's lease:
// another hub of the database, or `hub import-history` on a host. It is
// an ErrHistoryRunning.
type HistoryRunningError struct {
	Holder string
}

func (e *HistoryRunningError) Error() string { return "this import runs already on " + e.Holder }

// Unwrap makes it an ErrHistoryRunning.
func (e *HistoryRunningError) Unwrap() error { return ErrHistoryRunning }

// registerHistory mounts the history import routes.
func (a *Admin) registerHistory(r *mux.Router) {
	r.HandleFunc("/integrations/{id}/apps/{app}/history", a.handle(a.listHistory)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/apps/{app}/history", a.handle(a.startHistory)).Methods(http.MethodPost)
}

// HistoryImportJSON is an import and its progress in the API.
type HistoryImportJSON struct {
	From          string     `json:"from"`
	To            string     `json:"to"`
	Running       bool       `json:"running"`
	Pages         int64      `json:"pages"`
	Done          int64      `json:"done"`
	Total         int64      `json:"total,omitempty"`
	Percent       float64    `json:"percent,omitempty"`
	Reviews       int64      `json:"reviews"`
	Queued        int64      `json:"queued"`
	RatingOnly    int64      `json:"rating_only"`
	Unreadable    int64      `json:"unreadable"`
	ReviewsPerSec float64    `json:"reviews_per_second,omitempty"`
	CompleteUntil *time.Time `json:"complete_until,omitempty"`
	Started       time.Time  `json:"started"`
	Updated       time.Time  `json:"updated"`
	Finished      *time.Time `json:"finished,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

func historyJSON(h state.HistoryImport) HistoryImportJSON {
	out := HistoryImportJSON{From: h.From.Format(time.RFC3339), To: h.To.Format(time.RFC3339), Running: h.Running(), Pages: h.Pages,
		Done: h.Done, Total: h.Total, Reviews: h.Reviews, Queued: h.Queued, RatingOnly: h.RatingOnly, Unreadable: h.Unreadable,
		Started: h.Started, Updated: h.Updated, LastError: h.LastError}
	if h.Total > 0 {
		out.Percent = float64(min(h.Done, h.Total)) * 100 / float64(h.Total)
	}
	if d := h.Updated.Sub(h.Started).Seconds(); d > 0 {
		out.ReviewsPerSec = float64(h.Reviews) / d
	}
	if !h.CompleteUntil.IsZero() {
		out.CompleteUntil = &h.CompleteUntil
	}
	if !h.Finished.IsZero() {
		out.Finished = &h.Finished
	}
	return out
}

// appByID is integration id's app appID.
func (a *Admin) appByID(ctx context.Context, integrationID, appID string) (state.Integration, state.App, error) {
	in, err := a.load(ctx, integrationID)
	if err != nil {
		return in, state.App{}, err
	}
	for _, app := range in.Apps {
		if app.ID == appID {
			return in, app, nil
		}
	}
	return in, state.App{}, errorf(http.StatusNotFound, "integration %q has no app %q", in.ID, clip(appID, 64))
}

// HistoryImports lists an app's history imports, newest first, with
// their progress (GET …/history; the console's history page).
func (a *Admin) HistoryImports(ctx context.Context, integrationID, appID string) ([]HistoryImportJSON, error) {
	in, app, err := a.appByID(ctx, integrationID, appID)
	if err != nil {
		return nil, err
	}
	list, err := a.DB.HistoryImports(ctx, in.ID, app.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the history imports of %s/%s: %w", in.ID, app.ID, err)
	}
	out := make([]HistoryImportJSON, 0, len(list))
	for _, h := range list {
		out = append(out, historyJSON(h))
	}
	return out, nil
}

func (a *Admin) listHistory(w http.ResponseWriter, r *http.Request) error {
	out, err := a.HistoryImports(r.Context(), mux.Vars(r)["id"], mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// HistoryRequestJSON is the body of POST …/history: UTC days, to
// exclusive (empty: up to now).
type HistoryRequestJSON struct {
	From string `json:"from"`
	To   string `json:"to,omitempty"`
}

func (a *Admin) startHistory(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody[HistoryRequestJSON](w, r)
	if err != nil {
		return err
	}
	h, err := a.StartHistoryImport(r.Context(), mux.Vars(r)["id"], mux.Vars(r)["app"], body)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/integrations/"+mux.Vars(r)["id"]+"/apps/"+mux.Vars(r)["app"]+"/history")
	WriteJSON(w, http.StatusAccepted, h)
	return nil
}

// StartHistoryImport starts (or resumes) an app's history import of the
// body's range in the background (POST …/history; the console's import
// button): 409 while it runs (naming the hub that runs it) or when the
// app's store has no history.
func (a *Admin) StartHistoryImport(ctx context.Context, integrationID, appID string, body HistoryRequestJSON) (HistoryImportJSON, error) {
	if a.History == nil {
		return HistoryImportJSON{}, errorf(http.StatusServiceUnavailable, "history imports are not available in this hub")
	}
	in, app, err := a.appByID(ctx, integrationID, appID)
	if err != nil {
		return HistoryImportJSON{}, err
	}
	from, err := time.Parse(time.DateOnly, body.From)
	if err != nil {
		return HistoryImportJSON{}, errorf(http.StatusBadRequest, "from %q is not a day (YYYY-MM-DD)", clip(body.From, 32))
	}
	to := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if body.To != "" {
		if to, err = time.Parse(time.DateOnly, body.To); err != nil {
			return HistoryImportJSON{}, errorf(http.StatusBadRequest, "to %q is not a day (YYYY-MM-DD)", clip(body.To, 32))
		}
	}
	if !from.Before(to) {
		return HistoryImportJSON{}, errorf(http.StatusBadRequest, "from %s is not before to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if info, ok := a.Info(app.StorePlugin); ok && (info.Store == nil || info.Store.History == nil) {
		return HistoryImportJSON{}, errorf(http.StatusConflict, "the store plugin %s of app %s cannot list reviews beyond its live listing", app.StorePlugin, app.ID)
	}
	err = a.History.StartHistory(ctx, in, app, from, to)
	var elsewhere *HistoryRunningError
	switch {
	case errors.As(err, &elsewhere):
		p := errorf(http.StatusConflict, "the import of %s/%s [%s, %s) runs already on %s; its progress is at GET %s",
			in.ID, app.ID, from.Format(time.DateOnly), to.Format(time.DateOnly), clip(elsewhere.Holder, 200), "/api/integrations/"+in.ID+"/apps/"+app.ID+"/history")
		p.RunningOn = elsewhere.Holder
		return HistoryImportJSON{}, p
	case errors.Is(err, ErrHistoryRunning):
		return HistoryImportJSON{}, errorf(http.StatusConflict, "the import of %s/%s [%s, %s) runs already", in.ID, app.ID, from.Format(time.DateOnly), to.Format(time.DateOnly))
	case err != nil:
		return HistoryImportJSON{}, err
	}
	a.record(ctx, HistoryStartEntry(in.ID, app.ID, from, to))
	h, _, err := a.DB.HistoryImport(ctx, in.ID, app.ID, from, to)
	if err != nil {
		return HistoryImportJSON{}, err
	}
	if h.Started.IsZero() { // not begun yet in the background
		h.Started, h.Updated = time.Now().UTC(), time.Now().UTC()
	}
	return historyJSON(h), nil
}
