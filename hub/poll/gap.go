package poll

import (
	"context"
	"errors"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// gapMargin: an app whose last successful poll is older than its store's
// listing window less this has a gap the listing can no longer fill.
const gapMargin = 24 * time.Hour

// recoverGap fills, before a listing, what the listing can no longer reach
// (issue 27): when the app's last successful poll is older than its
// store's listing window (the hub was down, or the app failed for a
// week), the store plugin's History is imported from that poll on, through
// the same pipeline (nothing delivered twice). An import left unfinished
// (a crash, an error) is resumed first; one that finished before the
// store's history was complete (its lag: Google Play's reports come 1–7
// days late) is followed, a day later, by one from where it was complete.
// Its outcome is in the state (history_imports) and the log; a failure is
// logged and leaves the listing to go on: the unfinished import is resumed
// at the next poll.
func (p *Poller) recoverGap(ctx context.Context, in state.Integration, app state.App, caps sdk.StoreCapabilities, cur state.Cursor) {
	if caps.History == nil || caps.ListingWindow <= 0 || !cur.Connected {
		return
	}
	now := p.clock().UTC()
	to := now.Truncate(24 * time.Hour).Add(24 * time.Hour) // stable for a day: the import resumes under the same key
	var from time.Time
	imports, err := p.DB.HistoryImports(ctx, in.ID, app.ID)
	if err != nil {
		p.Logger.Warn("gap recovery: history imports unreadable", "integration", in.ID, "app", app.ID, "error", err)
		return
	}
	var newest state.HistoryImport
	if len(imports) > 0 {
		newest = imports[0]
	}
	switch {
	case newest.Running():
		from, to = newest.From, newest.To
	case !cur.LastSuccessAt.IsZero() && now.Sub(cur.LastSuccessAt) > caps.ListingWindow-gapMargin:
		// The last SUCCESSFUL listing: failed polls move LastPollAt too.
		from = cur.LastSuccessAt.Add(-time.Hour)
	case !newest.Finished.IsZero() && !newest.CompleteUntil.IsZero() && newest.LastError == "":
		from = newest.CompleteUntil.Add(-time.Hour)
	default:
		return
	}
	p.Logger.Info("gap recovery: importing what the store no longer lists", "integration", in.ID, "app", app.ID,
		"from", from, "to", to, "last_successful_poll", cur.LastSuccessAt)
	h, err := p.ImportHistory(ctx, in, app, from, to, nil)
	switch {
	case errors.Is(err, ErrHistoryImportBusy), errors.Is(err, state.ErrLeaseLost):
		// Another hub (or the admin API, `hub import-history`) runs it.
		p.Logger.Info("gap recovery: the import runs elsewhere; left to it", "integration", in.ID, "app", app.ID, "from", from, "to", to)
	case errors.Is(err, ErrHistoryUnsupported):
		// Nothing to resume: finished with the reason (no reports bucket…).
		h.Finished = p.clock()
		if serr := p.DB.SaveHistoryImport(context.WithoutCancel(ctx), h); serr != nil {
			p.Logger.Warn("gap recovery: not recorded", "integration", in.ID, "app", app.ID, "error", serr)
		}
		p.Logger.Warn("gap recovery impossible: the store plugin cannot list this app's past; reviews of the gap are lost",
			"integration", in.ID, "app", app.ID, "from", from, "to", to, "reason", err)
	case err != nil:
		p.Logger.Warn("gap recovery failed; resumed at the next poll", "integration", in.ID, "app", app.ID, "error", err)
	case !h.CompleteUntil.IsZero():
		p.Logger.Warn("gap recovered in part: the store's history is complete only up to a day; the rest is imported when it is there",
			"integration", in.ID, "app", app.ID, "recovered_from", from, "complete_until", h.CompleteUntil, "missing_until", now.Add(-caps.ListingWindow),
			"reviews", h.Reviews, "queued", h.Queued)
	default:
		p.Logger.Info("gap recovered", "integration", in.ID, "app", app.ID, "from", from, "to", to, "reviews", h.Reviews, "queued", h.Queued)
	}
}
