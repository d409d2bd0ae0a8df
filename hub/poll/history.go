package poll

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// historyPageSize is the page size the hub asks History for.
const historyPageSize = 500

// ErrHistoryUnsupported: the app's store plugin cannot list its past (or
// the account lacks what it needs); the error says why.
var ErrHistoryUnsupported = errors.New("history unsupported")

// ErrHistoryImportBusy: the import runs elsewhere (another hub, the
// command line, another request): its lease is held.
var ErrHistoryImportBusy = errors.New("history import runs elsewhere")

// historyLease is how long an importer holds an import without renewing
// (renewed every third of it while it runs): a crashed importer's import
// is resumed after it.
const historyLease = 2 * time.Minute

// ImportBusyError says an import runs elsewhere: Holder names the hub
// (or `hub import-history` host) whose lease it is under; zero when it is
// another run in this process. It is an ErrHistoryImportBusy.
type ImportBusyError struct {
	Holder   state.Owner
	App      string
	From, To time.Time
}

func (e *ImportBusyError) Error() string {
	where := "in this process"
	if !e.Holder.IsZero() {
		where = "on " + e.Holder.Name
	}
	return fmt.Sprintf("%v: history of %s from %s to %s runs %s", ErrHistoryImportBusy, e.App,
		e.From.Format(time.DateOnly), e.To.Format(time.DateOnly), where)
}

// Unwrap makes it an ErrHistoryImportBusy.
func (e *ImportBusyError) Unwrap() error { return ErrHistoryImportBusy }

// ImportHistory imports an app's reviews changed in [from, to) through its
// store plugin's History (issue 27), page by page through the listing's
// own pipeline: each review compared with its stored version (nothing
// unchanged is delivered again), the app's filters and rules, the changes
// queued for the helpdesk; each page's changes and the import's progress
// (the plugin's cursor) commit in one transaction. Asked again for the
// same range it resumes from the last page applied (after a crash), or,
// when that import finished, returns it as it was: it is idempotent.
// progress, when set, is called after every page.
func (p *Poller) ImportHistory(ctx context.Context, in state.Integration, app state.App, from, to time.Time,
	progress func(state.HistoryImport)) (state.HistoryImport, error) {
	run, err := p.BeginHistoryImport(ctx, in, app, from, to)
	if err != nil || run.finished {
		return run.Import(), err
	}
	return run.Run(ctx, progress)
}

// HistoryImportRun is an import begun (its lease taken) and not yet run:
// Run runs it to its end, or Abandon lets it go. Exactly one of them must
// be called.
type HistoryImportRun struct {
	p        *Poller
	in       state.Integration
	app      state.App
	st       sdk.StorePlugin
	info     sdk.Info
	h        state.HistoryImport
	finished bool // finished before: nothing to run
	leases   *state.Leases
	lease    state.Lease
	key      []any
	running  string
}

// Import is the import as it stood when begun.
func (r *HistoryImportRun) Import() state.HistoryImport {
	if r == nil {
		return state.HistoryImport{}
	}
	return r.h
}

// Finished reports whether the import had finished before: Run returns
// it as it is.
func (r *HistoryImportRun) Finished() bool { return r.finished }

// BeginHistoryImport takes the import of [from, to) of an app for this
// process, so the caller can tell at once whether it runs here: an
// *ImportBusyError (an ErrHistoryImportBusy) naming the hub that holds it
// when it runs elsewhere. The run that is returned holds the import's
// lease until its Run or Abandon.
func (p *Poller) BeginHistoryImport(ctx context.Context, in state.Integration, app state.App, from, to time.Time) (*HistoryImportRun, error) {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return nil, fmt.Errorf("history of %s: from %s is not before to %s", app.ID, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	st, info, err := p.Plugins.Store(app.StorePlugin)
	if err != nil {
		return nil, err
	}
	h, found, err := p.DB.HistoryImport(ctx, in.ID, app.ID, from, to)
	if err != nil {
		return nil, err
	}
	r := &HistoryImportRun{p: p, in: in, app: app, st: st, info: info, h: h}
	if found && !h.Finished.IsZero() {
		r.finished = true
		return r, nil
	}
	// One place at a time: in this process, and on any hub of the
	// database by the lease of the import's row (fenced), held under this
	// process's owner; a killed predecessor of the same name (a hub
	// restarted, `hub import-history` run again) is taken over at once,
	// its writes refused by the fence.
	r.running = fmt.Sprint(in.ID, "\x00", app.ID, "\x00", ms(from), "\x00", ms(to))
	if _, busy := p.importing.LoadOrStore(r.running, true); busy {
		return nil, &ImportBusyError{App: app.ID, From: from, To: to}
	}
	ok := false
	defer func() {
		if !ok {
			p.importing.Delete(r.running)
		}
	}()
	if err := p.DB.CreateHistoryImport(ctx, h); err != nil {
		return nil, err
	}
	r.leases = p.DB.HistoryImportLeases(p.importLeaseOwner())
	r.key = state.HistoryImportKey(h)
	if n, err := r.leases.ReleasePredecessors(ctx, r.key...); err != nil {
		return nil, err
	} else if n > 0 {
		p.Logger.Info("history import: taken over from an earlier run of this name", "integration", in.ID, "app", app.ID)
	}
	lease, took, err := r.leases.Take(ctx, p.clock(), historyLease, r.key...)
	if err != nil {
		return nil, err
	}
	if !took {
		holder, _, herr := p.DB.HistoryImportHolder(ctx, h, p.clock())
		if herr != nil {
			p.Logger.Warn("history import: its holder not read", "integration", in.ID, "app", app.ID, "error", herr)
		}
		if holder.IsZero() {
			holder = state.Owner{Name: "another hub"} // released or run out since: named as well as can be
		}
		return nil, &ImportBusyError{Holder: holder, App: app.ID, From: from, To: to}
	}
	r.lease = lease
	ok = true
	return r, nil
}

// Abandon lets a begun import go without running it: its lease is
// released.
func (r *HistoryImportRun) Abandon(ctx context.Context) {
	if r == nil || r.finished {
		return
	}
	defer r.p.importing.Delete(r.running)
	r.release(ctx)
}

func (r *HistoryImportRun) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.leases.Release(rctx, r.lease, r.key...); err != nil {
		r.p.Logger.Warn("history import: lease not released; it runs out instead", "integration", r.in.ID, "app", r.app.ID, "error", err)
	}
}

// Run runs a begun import to its end (see ImportHistory), then releases
// its lease.
func (r *HistoryImportRun) Run(ctx context.Context, progress func(state.HistoryImport)) (state.HistoryImport, error) {
	if r.finished {
		return r.h, nil
	}
	p, in, app, st, info := r.p, r.in, r.app, r.st, r.info
	from, to := r.h.From, r.h.To
	leases, lease, key := r.leases, r.lease, r.key
	defer p.importing.Delete(r.running)
	defer r.release(ctx)
	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	go func() {
		t := time.NewTicker(historyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C:
				if held, err := leases.Renew(renewCtx, lease, p.clock(), historyLease, key...); err != nil && renewCtx.Err() == nil {
					p.Logger.Warn("history import: lease not renewed", "integration", in.ID, "app", app.ID, "error", err)
				} else if err == nil && !held {
					return // the next write under it is refused
				}
			}
		}
	}()
	// Read again under the lease: another importer may have moved it on.
	h, _, err := p.DB.HistoryImport(ctx, in.ID, app.ID, from, to)
	if err != nil {
		return h, err
	}
	if !h.Finished.IsZero() {
		return h, nil
	}
	now := p.clock()
	if h.Started.IsZero() {
		h.Started = now
	}
	h.Updated, h.LastError = now, ""
	if err := p.DB.SaveHistoryImportUnder(ctx, h, lease); err != nil {
		return h, err
	}
	l := listing{in: in, app: app, info: info, canReply: info.Store != nil && info.Store.CanReply}
	for {
		page, err := sdk.History(ctx, st, sdk.HistoryRequest{Settings: app.StoreSettings, AppID: app.StoreAppID,
			From: from, To: to, Cursor: h.Cursor, PageSize: historyPageSize})
		if err != nil {
			h.LastError = err.Error()
			h.Updated = p.clock()
			if serr := p.DB.SaveHistoryImportUnder(context.WithoutCancel(ctx), h, lease); serr != nil {
				p.Logger.Warn("history import: progress not saved", "integration", in.ID, "app", app.ID, "error", serr)
			}
			if sdk.IsUnsupported(err) {
				return h, fmt.Errorf("%w: %v", ErrHistoryUnsupported, err)
			}
			return h, err
		}
		if page.NextCursor != "" && page.NextCursor == h.Cursor && len(page.Reviews) == 0 && len(page.Unreadable) == 0 {
			// Asked again it would answer the same: the import would never end.
			err := fmt.Errorf("history of %s: store plugin %q returned an empty page with the cursor it was asked with (%q): it makes no progress; import stopped",
				app.ID, app.StorePlugin, h.Cursor)
			h.LastError = err.Error()
			h.Updated = p.clock()
			if serr := p.DB.SaveHistoryImportUnder(context.WithoutCancel(ctx), h, lease); serr != nil {
				p.Logger.Warn("history import: progress not saved", "integration", in.ID, "app", app.ID, "error", serr)
			}
			return h, err
		}
		res := Result{Skipped: map[string]int{}}
		if err := p.keepUnreadable(ctx, in, app, page.Unreadable, &res); err != nil {
			return h, err
		}
		next := h
		next.Cursor = page.NextCursor
		next.Pages++
		next.Done, next.Total = page.Done, page.Total
		next.Reviews += int64(len(page.Reviews))
		next.RatingOnly += page.RatingOnly
		next.Unreadable += int64(len(page.Unreadable))
		next.CompleteUntil = page.CompleteUntil
		next.Updated = p.clock()
		if page.NextCursor == "" {
			next.Finished = next.Updated
		}
		b := batch{reviews: page.Reviews, archived: true, after: func(tx *state.Tx, queued int) error {
			n := next
			n.Queued += int64(queued)
			return tx.SaveHistoryImportUnder(ctx, n, lease)
		}}
		if err := p.apply(ctx, l, b, &res); err != nil {
			return h, err
		}
		next.Queued += int64(res.Queued)
		h = next
		if progress != nil {
			progress(h)
		}
		if h.Cursor == "" {
			p.Logger.Info("history imported", "integration", in.ID, "app", app.ID, "from", from, "to", to,
				"reviews", h.Reviews, "queued", h.Queued, "rating_only", h.RatingOnly, "unreadable", h.Unreadable, "pages", h.Pages)
			return h, nil
		}
	}
}

// importLeaseOwner is who holds this process's history imports: the
// schedule's owner name (the hub's; `hub import-history`: the host), one
// instance per process.
func (p *Poller) importLeaseOwner() state.Owner {
	p.importOnce.Do(func() { p.importOwner = state.NewOwner(p.Schedule.Owner) })
	return p.importOwner
}

func ms(t time.Time) int64 { return t.UnixMilli() }
