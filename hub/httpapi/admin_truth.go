package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/state"
)

// checkTimeout bounds a whole POST /api/integrations/{id}/check.
const checkTimeout = 2 * time.Minute

// registerTruth mounts what the hub keeps of vendor input its plugins could
// not read, and the live check of an integration.
func (a *Admin) registerTruth(r *mux.Router) {
	r.HandleFunc("/integrations/{id}/webhooks/ignored", a.handle(a.ignoredWebhooks)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/reviews/unreadable", a.handle(a.unreadableReviews)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/check", a.handle(a.check)).Methods(http.MethodPost)
}

// UnreadableList is the answer of the two lists: the kept items, newest
// first (at most state.KeepUnreadable per integration, or per app for
// reviews), and Total, how many there were in all (older ones pruned).
type UnreadableList struct {
	Integration string             `json:"integration"`
	Total       int                `json:"total"`
	Kept        int                `json:"kept"`
	Items       []state.Unreadable `json:"items"`
}

func (a *Admin) ignoredWebhooks(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	return a.listUnreadable(w, r, in, state.UnreadableWebhook, "", state.CountWebhooksIgnored)
}

func (a *Admin) unreadableReviews(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	app := r.URL.Query().Get("app")
	if app != "" {
		found := false
		for _, ap := range in.Apps {
			found = found || ap.ID == app
		}
		if !found {
			return errorf(http.StatusNotFound, "integration %q has no app %q", in.ID, clip(app, 64))
		}
	}
	return a.listUnreadable(w, r, in, state.UnreadableReview, app, state.CountReviewsUnreadable)
}

func (a *Admin) listUnreadable(w http.ResponseWriter, r *http.Request, in state.Integration, kind, app, counter string) error {
	items, err := a.DB.UnreadableItems(r.Context(), in.ID, kind, app)
	if err != nil {
		return fmt.Errorf("listing the unreadable %ss of %q: %w", kind, in.ID, err)
	}
	counters, err := a.DB.Counters(r.Context(), in.ID)
	if err != nil {
		return fmt.Errorf("reading the counters of %q: %w", in.ID, err)
	}
	total := 0
	for appID, byName := range counters {
		if app == "" || appID == app {
			total += byName[counter]
		}
	}
	WriteJSON(w, http.StatusOK, UnreadableList{Integration: in.ID, Total: total, Kept: len(items), Items: items})
	return nil
}

// Check runs the live check of integration id (hub/check) and returns its
// report, also when lines fail: the report says what failed.
func (a *Admin) Check(ctx context.Context, id string) (check.Report, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return check.Report{}, err
	}
	if a.Connectors == nil {
		return check.Report{}, errorf(http.StatusServiceUnavailable, "this hub cannot reach its plugins for a check")
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return a.runCheck(ctx, in), nil
}

func (a *Admin) check(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.Check(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, rep)
	return nil
}

// runCheck runs the live check of in and records its outcome for the
// apps' health (a failure or a warning shows until a later check passes).
func (a *Admin) runCheck(ctx context.Context, in state.Integration) check.Report {
	others, err := a.DB.Integrations(ctx)
	if err != nil {
		a.logger().Warn("check: listing the other integrations failed; duplicates are not looked for", "integration", in.ID, "error", err)
	}
	rep := check.Run(ctx, in, a.Connectors, check.Options{PublicURL: a.PublicURL, Others: others})
	if ctx.Err() != nil {
		return rep // cut short (the hub stops, the deadline passed): its lines say so, the health keeps the last
	}
	if cur, err := a.DB.Integration(ctx, in.ID); err != nil || cur.Version != in.Version {
		return rep // changed meanwhile (or removed): the check of the newer version records
	}
	if err := a.DB.RecordCheck(ctx, in.ID, rep.ByApp(), rep.CheckedAt); err != nil {
		a.logger().Error("recording a check for the apps' health failed", "integration", in.ID, "error", err)
	}
	return rep
}

// checkSaved runs the check of a saved integration in the background
// (Background set); its outcome shows in the apps' health.
func (a *Admin) checkSaved(id string) {
	if a.Background == nil || a.Connectors == nil || a.Background.Err() != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(a.Background, checkTimeout)
		defer cancel()
		in, err := a.DB.Integration(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				a.logger().Warn("check after save: reading the integration failed", "integration", id, "error", err)
			}
			return
		}
		rep := a.runCheck(ctx, in)
		a.logger().Info("integration checked after save", "integration", id, "status", rep.Status,
			"fail", rep.Counts[check.Fail], "warn", rep.Counts[check.Warn])
	}()
}

func (a *Admin) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
