// Package poll asks store plugins for new and edited reviews on an interval,
// classifies each against the hub's state (new, updated, better, worse,
// unchanged), applies the app's filters and queues what passes, with the
// state change and the queued message in one transaction.
package poll

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// CountBackfillSkipped counts past reviews not imported on connect.
const CountBackfillSkipped = "skipped_backfill"

// maxBackfillPages bounds the first listing of an app.
const maxBackfillPages = 50

// Plugins resolves store plugins by name (the poller asks only stores).
type Plugins interface {
	Store(name string) (sdk.StorePlugin, sdk.Info, error)
}

// Poller polls apps.
type Poller struct {
	DB      *state.DB
	Bus     bus.Bus
	Plugins Plugins
	Logger  *slog.Logger
	// Interval is the default poll interval (an app may set its own).
	Interval time.Duration
	// Runnable decides whether an app of an integration can be polled; nil: always.
	Runnable func(state.Integration, state.App) bool
	// Schedule configures the poll schedule (Run).
	Schedule Schedule
	// Metrics counts polls and reviews (nil: not counted).
	Metrics *metrics.Metrics

	warned  sync.Map // interval warnings given, by app and interval
	lagMu   sync.Mutex
	lags    []time.Duration // ring of the latest scheduler lags
	lagNext int
	polls   atomic.Int64
	now     func() time.Time // nil: time.Now
	// The reconciliation's place (reconcile.go): the key after which the
	// next run goes on; reconcileLimit (tests) replaces reconcileBatch.
	reconcileMu    sync.Mutex
	reconcileAfter state.QueuedReview
	reconcileLimit int
	// History imports (history.go): this process's owner of their leases,
	// and the imports running in it.
	importOnce  sync.Once
	importOwner state.Owner
	importing   sync.Map
}

// Result of one poll.
type Result struct {
	Pages   int
	Seen    int
	Queued  int
	Skipped map[string]int
	// Unreadable counts listed items the store plugin could not map.
	Unreadable int
}

// PollOnce runs one complete listing of an app.
func (p *Poller) PollOnce(ctx context.Context, in state.Integration, app state.App) (res Result, err error) {
	ctx, span := startPoll(ctx, in, app)
	defer func() { endPoll(span, res, err) }()
	res = Result{Skipped: map[string]int{}}
	st, info, err := p.Plugins.Store(app.StorePlugin)
	if err != nil {
		return res, err
	}
	caps := sdk.StoreCapabilities{}
	if info.Store != nil {
		caps = *info.Store
	}
	cur, err := p.DB.Cursor(ctx, in.ID, app.ID)
	if err != nil {
		return res, err
	}
	req := sdk.ListReviewsRequest{Settings: app.StoreSettings, AppID: app.StoreAppID, Cursor: cur.Value, PageSize: 100}
	if slices.Contains(caps.SourceFilters, sdk.FilterCountry) {
		req.Countries = app.Filters.Countries
	}
	if slices.Contains(caps.SourceFilters, sdk.FilterLanguage) {
		req.Languages = app.Filters.Languages
	}
	l := listing{in: in, app: app, info: info, canReply: caps.CanReply && setup.HasStoreAccount(app, info)}
	if !cur.Connected {
		return p.backfill(ctx, l, st, req)
	}
	p.recoverGap(ctx, in, app, caps, cur)
	pages := pageSpans{poll: ctx}
	defer pages.end(&err)
	for {
		ctx := pages.next()
		page, err := st.ListReviews(ctx, req)
		if err != nil {
			return res, err
		}
		res.Pages++
		if err := p.keepUnreadable(ctx, in, app, page.Unreadable, &res); err != nil {
			return res, err
		}
		last := page.NextPageToken == ""
		b := batch{reviews: page.Reviews}
		if last {
			b.cursor = &page.Cursor
		}
		if err := p.apply(ctx, l, b, &res); err != nil {
			return res, err
		}
		if last {
			return res, nil
		}
		req.PageToken = page.NextPageToken
	}
}

// backfill reads the first listing of a newly connected app: every review is
// recorded, and only the most recent unanswered ones, up to the app's
// backfill limit, are delivered.
func (p *Poller) backfill(ctx context.Context, l listing, st sdk.StorePlugin, req sdk.ListReviewsRequest) (_ Result, err error) {
	res := Result{Skipped: map[string]int{}}
	var all []sdk.Review
	cursor := ""
	pages := pageSpans{poll: ctx}
	defer pages.end(&err)
	for res.Pages < maxBackfillPages {
		ctx := pages.next()
		page, err := st.ListReviews(ctx, req)
		if err != nil {
			return res, err
		}
		res.Pages++
		if err := p.keepUnreadable(ctx, l.in, l.app, page.Unreadable, &res); err != nil {
			return res, err
		}
		all = append(all, page.Reviews...)
		cursor = page.Cursor
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	// Newest first, so the limit takes the most recent.
	sort.SliceStable(all, func(i, j int) bool { return reviewTime(all[i]).After(reviewTime(all[j])) })
	limit := l.app.Filters.BackfillLimit()
	return res, p.apply(ctx, l, batch{reviews: all, backfill: &limit, cursor: &cursor}, &res)
}

func reviewTime(r sdk.Review) time.Time {
	if !r.UpdatedAt.IsZero() {
		return r.UpdatedAt
	}
	return r.CreatedAt
}

// listing is what every page of one app's listing shares.
type listing struct {
	in       state.Integration
	app      state.App
	info     sdk.Info
	canReply bool // an answer to these reviews can be published
}

// batch is listed reviews recorded in one transaction.
type batch struct {
	reviews []sdk.Review
	// backfill, on the first listing of an app, limits how many new,
	// unanswered reviews are delivered; nil: no limit.
	backfill *int
	// cursor is saved with the batch when set (the listing's last page).
	cursor *string
	// after, when set, runs last in the batch's transaction (a history
	// import's progress).
	after func(tx *state.Tx, queued int) error
	// archived: the reviews are rows of the store's history, possibly
	// older than the stored versions (state.Tx.ObserveArchivedReview).
	archived bool
}

// apply records a batch of listed reviews and queues the changes that pass
// the filters, in one transaction.
func (p *Poller) apply(ctx context.Context, l listing, b batch, res *Result) error {
	in, app := l.in, l.app
	queued := 0
	t := tally{skipped: map[string]int{}}
	err := p.DB.InTx(ctx, func(tx *state.Tx) error {
		queued = 0
		clear(t.skipped)
		t.queued = map[string]int{}
		t.events = t.events[:0]
		t.imported = 0
		now := p.clock()
		b := b
		if b.backfill != nil {
			// Whether this is still the app's first listing is decided
			// here, under the cursor row's lock: another listing may have
			// connected the app since this one began, and then every
			// review listed is delivered as in any other listing.
			first, err := tx.Connecting(ctx, in.ID, app.ID)
			if err != nil {
				return err
			}
			if !first {
				b.backfill = nil
			}
		}
		// The page's stored reviews in one read (PostgreSQL: a statement
		// per review was a round trip each).
		ids := make([]string, 0, len(b.reviews))
		for _, r := range b.reviews {
			if r.ID != "" {
				ids = append(ids, r.ID)
			}
		}
		if err := tx.PreloadReviews(ctx, in.ID, app.ID, ids); err != nil {
			return err
		}
		var out []*message.Message // the batch's changes, published in a few inserts
		for _, r := range b.reviews {
			msg, err := p.observe(ctx, tx, l, b, r, now, &t)
			if err != nil {
				return err
			}
			if msg == nil {
				continue
			}
			out = append(out, msg)
			queued++
		}
		if queued > 0 {
			if err := p.Bus.PublishTx(tx, bus.TopicFor(bus.TopicReviews, in.ID), out...); err != nil {
				return err
			}
			if err := tx.Count(ctx, in.ID, app.ID, state.CountQueued, queued); err != nil {
				return err
			}
			// Recorded with the messages: a queued review not delivered
			// must have its message waiting (reconcile.go).
			if err := tx.MarkQueued(ctx, in.ID, app.ID, t.queued); err != nil {
				return err
			}
		}
		for why, n := range t.skipped {
			if err := tx.Count(ctx, in.ID, app.ID, state.CountSkipped+why, n); err != nil {
				return err
			}
		}
		if b.cursor != nil {
			if err := tx.SaveCursor(ctx, in.ID, app.ID, *b.cursor); err != nil {
				return err
			}
		}
		if b.after != nil {
			return b.after(tx, queued)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range t.events {
		p.Metrics.AutoReply(in.ID, e.rule, e.outcome)
	}
	res.Seen += len(b.reviews)
	res.Queued += queued
	for why, n := range t.skipped {
		res.Skipped[why] += n
	}
	return nil
}

// tally is what one run of a batch's transaction counts besides the
// reviews queued (a retried transaction starts it again).
type tally struct {
	imported int            // new reviews let through the backfill limit
	skipped  map[string]int // reviews not delivered, by reason
	queued   map[string]int // reviews queued: the version of each
	events   []autoEvent    // what rules did, for the metrics after the commit
}

// observe records one listed review in tx and returns the message that
// delivers its change to the helpdesk, or nil when there is none: the
// review is unchanged, skipped by the backfill limit or a filter, or
// answered by a rule without a ticket.
func (p *Poller) observe(ctx context.Context, tx *state.Tx, l listing, b batch, r sdk.Review, now time.Time, t *tally) (*message.Message, error) {
	in, app, info := l.in, l.app, l.info
	if r.ID == "" {
		p.Logger.Warn("store listed a review without id; ignored", "integration", in.ID, "app", app.ID)
		return nil, nil
	}
	observe := tx.ObserveReview
	if b.archived {
		observe = tx.ObserveArchivedReview
	}
	obs, err := observe(ctx, in.ID, app.ID, r)
	if err != nil {
		return nil, err
	}
	if obs.Kind == state.Unchanged {
		return nil, p.replyNotes(ctx, tx, in, app.ID, obs, r)
	}
	if b.backfill != nil && obs.Kind == sdk.ChangeKindNew {
		if r.Reply != nil || t.imported >= *b.backfill {
			t.skipped["backfill"]++
			return nil, nil
		}
		t.imported++
	}
	if why := app.Filters.Decide(obs.Kind, r); why != "" {
		t.skipped[why]++
		return nil, p.replyNotes(ctx, tx, in, app.ID, obs, r)
	}
	change := sdk.ReviewChange{
		Store: info.Name, StoreName: rules.StoreName(app.StorePlugin, info), AppName: app.Name, Kind: obs.Kind,
		Review: r, History: obs.History, CanReply: l.canReply,
	}
	if info.Store != nil {
		change.ReplyMaxLength = info.Store.ReplyMaxLength
	}
	m := busmsg.Review{IntegrationID: in.ID, AppID: app.ID, Version: obs.Version, Change: change}
	if in.Tags {
		m.Tags = busmsg.Tags(info.Name, app, change)
	}
	toTicket, err := p.automate(ctx, tx, l, obs, r, &m, now, &t.events)
	if err != nil {
		return nil, err
	}
	if !toTicket {
		p.Logger.Debug("review answered by a ticketless rule", "integration", in.ID, "app", app.ID, "review", r.ID,
			"version", obs.Version, "request_id", sdk.RequestID(ctx))
		return nil, nil
	}
	msg, err := busmsg.Encode(ctx, bus.TopicReviews, in.ID, sdk.RequestID(ctx), m)
	if err != nil {
		return nil, err
	}
	t.queued[r.ID] = obs.Version
	p.Logger.Debug("review queued", "integration", in.ID, "app", app.ID, "review", r.ID, "kind", obs.Kind,
		"version", obs.Version, "request_id", sdk.RequestID(ctx))
	return msg, nil
}

// fitInterval keeps the poll interval well inside the store's listing
// window (Google Play lists only the last 7 days: polling less often than
// that loses reviews) and warns when it is shorter than the store's quotas
// allow.
func fitInterval(log *slog.Logger, interval time.Duration, caps sdk.StoreCapabilities) time.Duration {
	if caps.ListingWindow > 0 && interval > caps.ListingWindow/4 {
		log.Warn("poll interval shortened: the store lists only recent reviews", "configured", interval,
			"listing_window", caps.ListingWindow, "using", caps.ListingWindow/4)
		interval = caps.ListingWindow / 4
	}
	if caps.MinPollInterval > 0 && interval < caps.MinPollInterval {
		log.Warn("poll interval is shorter than the store's quotas comfortably allow", "configured", interval,
			"recommended_min", caps.MinPollInterval)
	}
	return interval
}
