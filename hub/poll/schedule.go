package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/internal/retry"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Schedule configures the poll schedule. The zero value is usable.
type Schedule struct {
	// Workers polls at most this many apps at once (default 16).
	Workers int
	// Lease is how long a claimed app stays with this hub without a renewal;
	// a hub that dies loses its apps to the others after it (default 1m).
	Lease time.Duration
	// ReplyReserve is the share of a quota that polling leaves for replies
	// (default quota.DefaultReplyReserve).
	ReplyReserve float64
	// FirstPollRate spreads the first polls of apps new to the schedule at
	// this many per second, over at most one interval (default 20).
	FirstPollRate float64
	// Owner names this hub in leases. It should stay the same when the
	// hub restarts (the app uses host and listen address), so that a
	// restarted hub ends the leases of its killed predecessor at once.
	// Default: host-pid-random. The leases are held by a state.Owner of
	// this name and an instance id of the Poller's own, so two processes
	// given the same name never hold one app together.
	Owner string
	// ReconcileEvery is how often queued reviews whose message was lost
	// are looked for (reconcile.go; default DefaultReconcileEvery).
	ReconcileEvery time.Duration

	owner state.Owner // set by setDefaults
}

func (s *Schedule) setDefaults() {
	if s.Workers <= 0 {
		s.Workers = 16
	}
	if s.Lease <= 0 {
		s.Lease = time.Minute
	}
	if s.ReplyReserve <= 0 || s.ReplyReserve >= 1 {
		s.ReplyReserve = quota.DefaultReplyReserve
	}
	if s.FirstPollRate <= 0 {
		s.FirstPollRate = 20
	}
	if s.ReconcileEvery <= 0 {
		s.ReconcileEvery = DefaultReconcileEvery
	}
	if s.Owner == "" {
		host, _ := os.Hostname()
		s.Owner = fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
	}
	if s.owner.IsZero() {
		s.owner = state.NewOwner(s.Owner)
	}
}

// idleWake bounds how long the claimer sleeps: apps added or changed by
// another hub are seen within it.
const idleWake = time.Second

// minWake is the shortest sleep of an idle claimer.
const minWake = 20 * time.Millisecond

// syncEvery is how often apps new to the state are scheduled without a
// reload signal (another hub's admin API may have added them).
const syncEvery = 30 * time.Second

// Run polls due apps until ctx ends. Apps are rows of the schedule in the
// state, not goroutines: the hub claims due apps with a lease, polls them
// with a bounded pool of workers and writes each app's next time. Several
// hubs on one database share the apps this way, each app polled by one hub
// per interval. reload schedules new and changed apps at once.
func (p *Poller) Run(ctx context.Context, reload <-chan struct{}) {
	p.Schedule.setDefaults()
	s := p.Schedule
	p.releaseEarlierLeases(ctx)
	jobs := make(chan state.Slot)
	done := make(chan state.Slot, s.Workers)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.reconcileLoop(ctx)
	}()
	for range s.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for slot := range jobs {
				p.pollSlot(ctx, slot)
				done <- slot
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)

	renew := time.NewTicker(s.Lease / 3)
	defer renew.Stop()
	resync := time.NewTicker(syncEvery)
	defer resync.Stop()
	syncNow := true
	busy := 0
	// held: the slots the workers hold now; only their leases are renewed
	// (a slot whose release failed is let expire: polled again).
	type heldKey struct {
		state.AppRef
		fence int64
	}
	held := map[heldKey]state.Slot{}
	wake := time.NewTimer(0)
	defer wake.Stop()
	for {
		if syncNow {
			p.sync(ctx)
			syncNow = false
		}
		claimed, failed := 0, false
		if free := s.Workers - busy; free > 0 && ctx.Err() == nil {
			slots, err := p.DB.Claim(ctx, s.owner, p.clock(), s.Lease, free)
			if err != nil && ctx.Err() == nil {
				failed = true
				p.Logger.Error("claiming due apps failed", "error", err)
			}
			for _, slot := range slots {
				busy++
				held[heldKey{slot.AppRef, slot.Fence}] = slot
				jobs <- slot
			}
			claimed = len(slots)
		}
		wake.Reset(p.sleepAfterClaim(ctx, claimed, failed || busy >= s.Workers))
		select {
		case <-ctx.Done():
			for busy > 0 {
				<-done
				busy--
			}
			return
		case <-reload:
			syncNow = true
		case <-resync.C:
			syncNow = true
		case slot := <-done:
			busy--
			delete(held, heldKey{slot.AppRef, slot.Fence})
		case <-renew.C:
			if _, err := p.DB.RenewLeases(ctx, s.owner, slices.Collect(maps.Values(held)), p.clock(), s.Lease); err != nil && ctx.Err() == nil {
				p.Logger.Error("renewing poll leases failed", "error", err)
			}
		case <-wake.C:
		}
	}
}

// releaseEarlierLeases ends the leases of this hub's previous run (killed
// mid-poll: the same name, another instance) now, not when they expire.
// On SQLite only one hub uses the database: every lease is this hub's.
func (p *Poller) releaseEarlierLeases(ctx context.Context) {
	if n, err := p.DB.ReleaseLeases(ctx, p.Schedule.owner, p.DB.Dialect() == state.SQLite); err != nil {
		p.Logger.Error("releasing the leases of an earlier run failed", "error", err)
	} else if n > 0 {
		p.Logger.Info("released the poll leases of an earlier run", "apps", n)
	}
}

// sleepAfterClaim is how long the claimer sleeps after claiming claimed
// apps: idleWake when it cannot claim more (a failure, every worker busy),
// none when it claimed some (more may be due), else until the next due app
// (at least minWake, at most idleWake).
func (p *Poller) sleepAfterClaim(ctx context.Context, claimed int, cannotClaim bool) time.Duration {
	sleep := idleWake
	switch {
	case cannotClaim:
	case claimed > 0:
		sleep = 0 // more may be due
	default:
		// Due apps another hub is claiming right now: look again soon,
		// without spinning.
		if at, ok, err := p.DB.NextDue(ctx); err == nil && ok {
			sleep = min(max(at.Sub(p.clock()), minWake), idleWake)
		}
	}
	return sleep
}

// sync gives apps without a schedule row their first poll time, spread at
// FirstPollRate per second over at most one interval, so a hub starting
// with many apps does not poll them all at once.
func (p *Poller) sync(ctx context.Context) {
	slots, err := p.DB.Unscheduled(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.Logger.Error("reading unscheduled apps failed", "error", err)
		}
		return
	}
	now := p.clock()
	spread := time.Duration(float64(len(slots)) / p.Schedule.FirstPollRate * float64(time.Second))
	for i := range slots {
		window := min(spread, p.interval(slots[i].AppInterval))
		slots[i].NextAt = now.Add(time.Duration(rand.Int64N(int64(window) + 1)))
	}
	if err := p.DB.Schedule(ctx, slots); err != nil && ctx.Err() == nil {
		p.Logger.Error("scheduling apps failed", "error", err)
	}
}

// interval is an app's configured interval, or the hub's default.
func (p *Poller) interval(app time.Duration) time.Duration {
	return config.PollInterval(app, p.Interval)
}

// notRunnableWait is how soon an app that cannot be polled (settings
// incomplete, plugin not running) is looked at again.
const notRunnableWait = 30 * time.Second

// maxFailureBackoff bounds the wait after failed polls (2s after the
// first, doubling; never more than the app's interval either).
const maxFailureBackoff = 1024 * time.Second

// pollSlot polls one claimed app and writes its next time.
func (p *Poller) pollSlot(ctx context.Context, slot state.Slot) {
	now := p.clock()
	// The poll's request id: its log lines, its plugin calls and the
	// messages it queues (their correlation id) carry it.
	reqID := fmt.Sprintf("poll-%012x", rand.Uint64()>>16)
	ctx = sdk.WithRequestID(ctx, reqID)
	sp := &slotPoll{slot: slot, next: slot, now: now,
		log: p.Logger.With("integration", slot.IntegrationID, "app", slot.AppID, "request_id", reqID)}
	sp.next.NextAt = now.Add(notRunnableWait)
	defer func() {
		if ctx.Err() != nil && !sp.listing {
			// Shutting down before the listing: any hub may take it at
			// once. (Once listed, its next time is an interval on.)
			sp.next.NextAt = p.clock()
		}
		p.release(ctx, sp.log, sp.next)
	}()
	p.recordLag(now.Sub(slot.NextAt))
	p.Metrics.ScheduleLag(now.Sub(slot.NextAt))

	if !p.findApp(ctx, sp) || !p.ready(ctx, sp) || !p.startListing(ctx, sp) {
		return
	}
	cctx, calls := sdk.CountCalls(ctx)
	res, err := p.PollOnce(cctx, sp.in, sp.app)
	p.polls.Add(1)
	if ctx.Err() != nil {
		return
	}
	spent := p.record(ctx, sp, res, err, calls.Count())
	p.scheduleNext(ctx, sp, res, spent, err)
}

// slotPoll is one poll of a claimed app: what its steps share.
type slotPoll struct {
	slot    state.Slot   // as claimed
	listing bool         // the listing began (startListing)
	next    state.Slot   // what the release writes: next time, note, cost, failures
	now     time.Time    // when the poll began
	log     *slog.Logger // with the integration, app, request id and (once found) store

	// Set by findApp and ready:
	in       state.Integration
	app      state.App
	interval time.Duration // the app's interval fitted to the store's capabilities
	buckets  []quota.Bucket
	expected int               // the calls reserved in the quota buckets
	reserved quota.Reservation // their reservation, settled by the poll's end
}

// findApp reads the slot's integration and app; false when either is gone
// (the next sync drops the row) or cannot be read.
func (p *Poller) findApp(ctx context.Context, sp *slotPoll) bool {
	in, err := p.DB.CurrentIntegration(ctx, sp.slot.IntegrationID)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) && ctx.Err() == nil {
			sp.log.Error("reading the app to poll failed", "error", err)
		}
		return false
	}
	app, found := in.App(sp.slot.AppID)
	if !found {
		return false // removed; the next sync drops its row
	}
	sp.in, sp.app = in, app
	sp.log = sp.log.With("store", sp.app.StorePlugin)
	return true
}

// ready reports whether the app may be polled now: it is runnable, its
// plugin runs, and its quota buckets have room for the poll (reserved
// here). When not, the slot's note and next time say why.
func (p *Poller) ready(ctx context.Context, sp *slotPoll) bool {
	in, app, next := sp.in, sp.app, &sp.next
	if p.Runnable != nil && !p.Runnable(in, app) {
		next.Note, next.Wait = "not polled: settings incomplete or plugin not running", ""
		p.Metrics.Poll(metrics.PollCount{Integration: in.ID, App: app.ID, Store: app.StorePlugin, Outcome: metrics.PollNotRunnable})
		return false
	}
	sp.interval = p.interval(app.PollInterval)
	_, info, err := p.Plugins.Store(app.StorePlugin)
	if err != nil {
		next.Note, next.Wait = "not polled: "+err.Error(), ""
		p.Metrics.Poll(metrics.PollCount{Integration: in.ID, App: app.ID, Store: app.StorePlugin, Outcome: metrics.PollNotRunnable})
		return false
	}
	if info.Store != nil {
		sp.interval = p.fit(sp.log, sp.slot.AppRef, sp.interval, *info.Store)
	}
	sp.buckets = quota.Buckets(info, app, sdk.OpList)
	sp.expected = max(int(sp.slot.CallsPerPoll+0.5), 1)
	reserved, use, ok, err := p.ledger().Take(ctx, sp.buckets, sp.now, sp.expected)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			sp.log.Error("reading the quota budget failed", "error", err)
		}
		return false
	case !ok:
		next.NextAt, next.Wait = use.FreesAt, state.WaitQuota
		next.Note = fmt.Sprintf("waiting for quota: %s (%s) spent %d of its polling budget %d in the last %s",
			use.Bucket.Name, use.Bucket.Account, use.Used, use.Budget, use.Bucket.Window)
		p.Metrics.Poll(metrics.PollCount{Integration: in.ID, App: app.ID, Store: app.StorePlugin, Outcome: metrics.PollQuota})
		if next.Note != sp.slot.Note {
			sp.log.Info("poll deferred to stay inside the store's quota", "reason", next.Note, "until", next.NextAt)
		}
		return false
	}
	sp.reserved = reserved
	return true
}

// ledger is the quota ledger polls reserve, spend and share by.
func (p *Poller) ledger() quota.Ledger {
	return quota.Ledger{DB: p.DB, ReplyReserve: p.Schedule.ReplyReserve}
}

// startListing confirms, right before the listing, that this hub still
// holds the app's lease, and counts the app's next time from now (see
// state.DB.StartPoll); false: not listed (the lease was lost, or could not
// be confirmed), and the quota reserved by ready is given back. On SQLite
// one hub uses the database: nobody else claims.
func (p *Poller) startListing(ctx context.Context, sp *slotPoll) bool {
	now, interval := p.clock(), max(sp.slot.Interval, sp.interval)
	if p.DB.Dialect() != state.Postgres {
		sp.listing, sp.next.NextAt = true, now.Add(interval)
		return true
	}
	held, err := p.DB.StartPoll(ctx, p.Schedule.owner, sp.slot, now, p.Schedule.Lease, interval)
	if err != nil || !held {
		if serr := p.ledger().Settle(ctx, sp.reserved, p.clock(), 0); serr != nil && ctx.Err() == nil {
			sp.log.Error("giving back the quota reserved for the poll failed", "error", serr)
		}
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			sp.log.Error("confirming the poll lease failed; not polled", "error", err)
		}
		p.Metrics.Poll(metrics.PollCount{Integration: sp.in.ID, App: sp.app.ID, Store: sp.app.StorePlugin, Outcome: metrics.PollNotRunnable})
		sp.next.Note, sp.next.Wait = "not polled: the poll lease could not be confirmed", ""
		sp.next.NextAt = sp.now.Add(retry.Jitter(minRetryAfterLeaseError, 0.1))
		return false
	case !held:
		sp.log.Info("poll lease lost before the listing (another hub took the app over); not polled")
		return false
	}
	// Written if the listing is interrupted (a stop): as StartPoll did.
	sp.listing, sp.next.NextAt = true, now.Add(interval)
	return true
}

// minRetryAfterLeaseError is when an app whose lease could not be
// confirmed is looked at again.
const minRetryAfterLeaseError = 5 * time.Second

// record settles the quota with the calls the poll made (counted, else one
// per page), counts the poll in the metrics and records it for the app's
// health. It returns the calls spent.
func (p *Poller) record(ctx context.Context, sp *slotPoll, res Result, pollErr error, counted int) int {
	in, app := sp.in, sp.app
	spent := counted
	if spent == 0 {
		spent = max(res.Pages, 1) // a plugin that does not count: one request per page
	}
	if err := p.ledger().Settle(ctx, sp.reserved, p.clock(), spent); err != nil {
		sp.log.Error("recording quota use failed", "error", err)
	}
	outcome := metrics.PollOK
	if pollErr != nil {
		outcome = metrics.PollError
	}
	p.Metrics.Poll(metrics.PollCount{Integration: in.ID, App: app.ID, Store: app.StorePlugin, Outcome: outcome,
		Seen: res.Seen, Queued: res.Queued, Unreadable: res.Unreadable, Requests: spent, Skipped: res.Skipped})
	if herr := p.DB.RecordPoll(ctx, sp.slot.AppRef, sp.now, pollErr); herr != nil {
		sp.log.Error("recording the poll for the app's health failed", "error", herr)
	}
	return spent
}

// scheduleNext sets the app's next poll: its cost per poll (a moving
// average), its interval shared within the quota budget, and the wait
// after an error (the store's retry-after, else a backoff), with jitter.
func (p *Poller) scheduleNext(ctx context.Context, sp *slotPoll, res Result, spent int, pollErr error) {
	slot, next := sp.slot, &sp.next
	next.CallsPerPoll = float64(spent)
	if slot.CallsPerPoll > 0 {
		next.CallsPerPoll = 0.7*slot.CallsPerPoll + 0.3*float64(spent)
	}
	next.LastPoll, next.Note, next.Wait = sp.now, "", ""
	// The app's share of its buckets is written when it is new to the
	// schedule or its cost changed; every poll reads the bucket's demand.
	join := slot.LastPoll.IsZero() || apart(next.CallsPerPoll, slot.CallsPerPoll)
	fitted, stretch, ferr := p.ledger().Fit(ctx, sp.buckets, quota.Demand{App: slot.AppRef, Interval: sp.interval,
		CallsPerPoll: next.CallsPerPoll, Record: join})
	if ferr != nil {
		sp.log.Error("sharing the quota budget failed", "error", ferr)
	}
	if stretch != nil {
		next.Note = fmt.Sprintf("interval lengthened from %s to %s: %s", sp.interval, fitted.Round(time.Second), stretch)
		if apart(fitted.Seconds(), slot.Interval.Seconds()) {
			sp.log.Info("poll interval lengthened to stay inside the store's quota", "reason", next.Note)
		}
	}
	next.Interval = fitted
	wait := fitted
	if pollErr != nil {
		wait = p.afterFailure(ctx, sp, pollErr, fitted)
	} else {
		next.Failures = 0
		if res.Queued > 0 || len(res.Skipped) > 0 || res.Unreadable > 0 {
			sp.log.Info("polled", "pages", res.Pages, "seen", res.Seen, "queued", res.Queued, "skipped", res.Skipped,
				"unreadable", res.Unreadable)
		}
	}
	// ±10% jitter so that apps do not poll in lockstep.
	next.NextAt = p.clock().Add(retry.Jitter(wait, 0.1))
}

// afterFailure counts a failed poll, records its error for the admin API
// and returns the wait before the next: what the store asked, else a
// backoff (no longer than the interval), else (a permanent error) the
// interval.
func (p *Poller) afterFailure(ctx context.Context, sp *slotPoll, err error, interval time.Duration) time.Duration {
	sp.next.Failures++
	sp.log.Warn("poll failed", "error", err, "kind", sdk.KindOf(err).String())
	if serr := p.DB.SetPollError(ctx, sp.in.ID, sp.app.ID, err.Error()); serr != nil {
		sp.log.Error("recording poll error failed", "error", serr)
	}
	if ra := sdk.RetryAfterOf(err); ra > 0 {
		p.Metrics.RateLimitWait(sp.in.ID, "poll")
		sp.next.Note, sp.next.Wait = fmt.Sprintf("the store asked to wait %s", ra), state.WaitRetryAfter
		return ra
	}
	if !sdk.KindOf(err).Permanent() {
		return min(retry.Backoff(2*time.Second, maxFailureBackoff, sp.next.Failures), interval)
	}
	return interval
}

// clock is the one time the scheduler runs by (tests move it): the due
// times it claims by, the next times it writes, the quota's slots, and the
// leases on SQLite. On PostgreSQL the leases run by the database server's
// clock instead (state/lease.go), so hubs whose clocks disagree never poll
// one app at once. Only the pauses between its own steps (timers, tickers)
// are real time.
func (p *Poller) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// apart reports whether a and b differ by more than 10%.
func apart(a, b float64) bool { return a > b*1.1 || b > a*1.1 }

// release writes the app's next time and ends the lease.
func (p *Poller) release(ctx context.Context, log *slog.Logger, s state.Slot) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	kept, err := p.DB.Release(rctx, p.Schedule.owner, s)
	switch {
	case err != nil:
		log.Error("writing the next poll time failed; the lease expires instead", "error", err)
	case !kept:
		log.Debug("lease lost before the poll ended (app changed or taken over)")
	}
}

// fit applies the store's capabilities to the interval, warning once per
// app and outcome.
func (p *Poller) fit(log *slog.Logger, ref state.AppRef, interval time.Duration, caps sdk.StoreCapabilities) time.Duration {
	key := fmt.Sprintf("%s|%s", ref, interval)
	if _, warned := p.warned.LoadOrStore(key, true); warned {
		log = slog.New(slog.DiscardHandler)
	}
	return fitInterval(log, interval, caps)
}

// lagWindow is how many recent scheduler lags Lags reports.
const lagWindow = 10000

func (p *Poller) recordLag(d time.Duration) {
	p.lagMu.Lock()
	defer p.lagMu.Unlock()
	if len(p.lags) < lagWindow {
		p.lags = append(p.lags, d)
		return
	}
	p.lags[p.lagNext] = d
	p.lagNext = (p.lagNext + 1) % lagWindow
}

// Stats are the scheduler's figures since the hub started.
type Stats struct {
	// Polls started listings.
	Polls int64
	// LagP50 and LagP99: how late the recent polls (at most the last
	// lagWindow) started after their due time.
	LagP50, LagP99 time.Duration
}

// Stats returns the scheduler's figures.
func (p *Poller) Stats() Stats {
	p.lagMu.Lock()
	lags := append([]time.Duration(nil), p.lags...)
	p.lagMu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	st := Stats{Polls: p.polls.Load()}
	if n := len(lags); n > 0 {
		st.LagP50, st.LagP99 = lags[n/2], lags[min(n*99/100, n-1)]
	}
	return st
}
