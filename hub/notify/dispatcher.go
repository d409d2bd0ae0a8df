package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/notifypolicy"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Defaults of the Dispatcher.
const (
	DefaultEvery   = time.Second
	DefaultTimeout = 15 * time.Second
	// batch bounds the events one claim of a destination takes.
	batch      = 16
	claimExtra = 30 * time.Second
)

// DefaultSchedule is the wait before each retry of a send that failed for
// a passing reason (a rate limit's retry-after is waited when longer);
// after the last, the event is given up, logged and counted.
var DefaultSchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

// Dispatcher posts the events of the outbox to the destinations: each
// destination claimed by one hub at a time (state.NotifyLeases) and read
// in order from its cursor, so that several hubs send each message once
// (at least once: a send whose answer is lost is sent again). An event
// its route takes goes through the destination's policy (throttling into
// digests, quiet hours); the first message of a review keeps its
// MessageRef, and the review's later events are sent into that thread.
type Dispatcher struct {
	DB     *state.DB
	Logger *slog.Logger
	// Destinations are the compiled notify.destinations.
	Destinations []*Destination
	// Notifier returns the notifier plugin of a name (false: not running).
	Notifier func(plugin string) (sdk.NotifierPlugin, bool)
	// Owner names this hub in the claims (state.NewOwner).
	Owner string
	// Every is how often the destinations are looked at (default
	// DefaultEvery); Wake looks at once.
	Every time.Duration
	// Timeout is a send's deadline (default DefaultTimeout).
	Timeout time.Duration
	// Schedule is the waits before the retries (default DefaultSchedule).
	Schedule []time.Duration

	now     func() time.Time
	once    sync.Once
	leases  *state.Leases
	wake    chan struct{}
	started bool
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.leases = d.DB.NotifyLeases(state.NewOwner(d.Owner))
		d.wake = make(chan struct{}, 1)
		if d.now == nil {
			d.now = time.Now
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
	})
}

// Wake makes Run look at once.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run posts events until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(cmp.Or(d.Every, DefaultEvery))
	defer t.Stop()
	last := ""
	for {
		// A lasting failure (a plugin not running) is logged when it starts
		// and when it changes, not at every look.
		err := d.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != last:
			d.Logger.Error("chat notifications", "error", err)
			last = err.Error()
		case err == nil && last != "":
			d.Logger.Info("chat notifications work again")
			last = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Once looks at every destination once: a new one is added with its
// cursor at now (it takes the events from then on); then each claimed
// destination posts what is due.
func (d *Dispatcher) Once(ctx context.Context) error {
	d.init()
	if !d.started {
		for _, dest := range d.Destinations {
			if err := d.DB.EnsureNotifyDestination(ctx, dest.Name, d.now().UnixMilli()); err != nil {
				return err
			}
		}
		d.started = true
	}
	var errs []error
	for _, dest := range d.Destinations {
		if err := d.destination(ctx, dest); err != nil {
			errs = append(errs, fmt.Errorf("destination %s: %w", dest.Name, err))
		}
	}
	return errors.Join(errs...)
}

// destination claims dest and posts its due events.
func (d *Dispatcher) destination(ctx context.Context, dest *Destination) error {
	timeout := cmp.Or(d.Timeout, DefaultTimeout)
	claim, ok, err := d.leases.Take(ctx, d.now(), batch*2*timeout+claimExtra, dest.Name)
	if err != nil || !ok {
		return err
	}
	defer func() {
		if _, err := d.leases.Release(context.WithoutCancel(ctx), claim, dest.Name); err != nil {
			d.Logger.Warn("releasing a destination's claim failed; it runs out by itself", "destination", dest.Name, "error", err)
		}
	}()
	// Read under the claim: another hub may have moved it meanwhile.
	n, err := d.DB.NotifyDestinationByName(ctx, dest.Name)
	if err != nil {
		return err
	}
	now := d.now()
	if n.RetryAt.After(now) {
		return nil
	}
	var st notifypolicy.State
	if n.Policy != "" {
		if err := json.Unmarshal([]byte(n.Policy), &st); err != nil {
			return fmt.Errorf("reading its policy state: %w", err)
		}
	}
	plugin, ok := d.Notifier(dest.Plugin)
	if !ok {
		return fmt.Errorf("notifier plugin %s is not running", dest.Plugin)
	}
	w := work{d: d, dest: dest, plugin: plugin, claim: claim, n: n, st: st, log: d.Logger.With("destination", dest.Name)}
	if !n.FlushAt.IsZero() && !n.FlushAt.After(now) {
		dec := notifypolicy.Flush(dest.Policy, st, now)
		if done, err := w.post(ctx, Event{}, dec); !done || err != nil {
			return err
		}
	}
	evs, err := d.DB.Events(ctx, n.CursorMS, n.CursorID, batch)
	if err != nil {
		return err
	}
	for _, se := range evs {
		e, err := FromOutbox(se)
		if err != nil {
			w.log.Error("an event of the outbox cannot be read; passed over", "event", se.ID, "error", err)
			w.n.CursorMS, w.n.CursorID = se.OccurredAt.UnixMilli(), se.ID
			if err := w.save(ctx); err != nil {
				return err
			}
			continue
		}
		if e.Review == nil && e.ReviewID != "" && dest.NeedsReview() {
			d.fillReview(ctx, &e)
		}
		var dec notifypolicy.Decision
		taken := dest.Takes(e)
		if taken {
			dec = notifypolicy.Decide(dest.Policy, w.st, e.Event, d.now())
		}
		w.n.CursorMS, w.n.CursorID = se.OccurredAt.UnixMilli(), se.ID
		if !taken {
			if err := w.save(ctx); err != nil {
				return err
			}
			continue
		}
		if done, err := w.post(ctx, e, dec); !done || err != nil {
			return err
		}
	}
	return nil
}

// fillReview reads the review of a reply event for its route.
func (d *Dispatcher) fillReview(ctx context.Context, e *Event) {
	r, err := d.DB.ReviewDetail(ctx, e.IntegrationID, e.AppID, e.ReviewID)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			d.Logger.Warn("reading the review of a reply event failed; its route sees no review", "event", e.ID, "error", err)
		}
		return
	}
	e.Store, e.AppName = r.Store, r.AppName
	e.Review = &sdk.Review{ID: r.ReviewID, AppID: r.AppID, Author: r.Author, Rating: r.Rating, Title: r.Title, Text: r.Text,
		Language: r.Language, Country: r.Country, AppVersion: r.AppVersion, URL: r.URL}
}

// work is one claimed destination's progress.
type work struct {
	d      *Dispatcher
	dest   *Destination
	plugin sdk.NotifierPlugin
	claim  state.Lease
	n      state.NotifyDestination
	st     notifypolicy.State
	log    *slog.Logger
}

func (w *work) save(ctx context.Context) error {
	b, err := json.Marshal(w.st)
	if err != nil {
		return fmt.Errorf("encoding its policy state: %w", err)
	}
	w.n.Policy = string(b)
	return w.d.DB.SaveNotifyDestination(context.WithoutCancel(ctx), w.claim, w.n)
}

// post sends the messages of dec (e is the event decided on, if any) and
// saves the progress: done false when a send failed for a passing reason
// (the destination waits for its retry; the event is decided again then).
func (w *work) post(ctx context.Context, e Event, dec notifypolicy.Decision) (done bool, err error) {
	for _, m := range dec.Post {
		key := threadKeyOf(m)
		if m.ID == e.ID && e.ID != "" {
			key = e.ThreadKey
		}
		if err := w.send(ctx, m, key); err != nil {
			kind := sdk.KindOf(err)
			sched := w.d.Schedule
			if len(sched) == 0 {
				sched = DefaultSchedule
			}
			switch {
			case kind.Permanent():
				w.n.Refused++
				w.log.Error("the destination refused a message for good; it is not sent again", "event", m.ID, "type", m.Type, "error", err)
			case w.n.Tries >= len(sched):
				w.n.Refused++
				w.log.Error("a message could not be sent after every retry; given up", "event", m.ID, "type", m.Type, "tries", w.n.Tries+1, "error", err)
			default:
				wait := max(sched[w.n.Tries], sdk.RetryAfterOf(err))
				w.n.Tries++
				w.n.RetryAt = w.d.now().Add(wait)
				w.log.Warn("sending a message failed; it is tried again", "event", m.ID, "type", m.Type, "retry_in", wait, "error", err)
				// The cursor and policy state stay: the event is decided again.
				return false, w.d.DB.SaveNotifyDestination(context.WithoutCancel(ctx), w.claim, w.unmoved())
			}
		}
	}
	w.st, w.n.FlushAt, w.n.Tries, w.n.RetryAt = dec.State, dec.Next, 0, time.Time{}
	return true, w.save(ctx)
}

// unmoved is the saved progress with only the retry changed.
func (w *work) unmoved() state.NotifyDestination {
	saved, err := w.d.DB.NotifyDestinationByName(context.Background(), w.n.Name)
	if err != nil {
		return w.n
	}
	saved.Tries, saved.RetryAt, saved.Refused = w.n.Tries, w.n.RetryAt, w.n.Refused
	return saved
}

// send posts one message, in key's thread when it has one.
func (w *work) send(ctx context.Context, m sdk.Event, key string) error {
	var ref string
	if key != "" {
		var err error
		if ref, err = w.d.DB.NotifyThread(ctx, w.dest.Name, key); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, cmp.Or(w.d.Timeout, DefaultTimeout))
	defer cancel()
	resp, err := w.plugin.Notify(sctx, sdk.NotifyRequest{Settings: w.dest.Settings, DestinationID: w.dest.Name, Event: m, ThreadKey: key, ThreadRef: ref})
	if err != nil {
		return err
	}
	if key != "" && ref == "" && resp.MessageRef != "" {
		if err := w.d.DB.AddNotifyThread(context.WithoutCancel(ctx), w.dest.Name, key, resp.MessageRef, w.d.now()); err != nil {
			w.log.Error("keeping a review's thread failed; its next event starts another", "error", err)
		}
	}
	w.log.Debug("message sent", "event", m.ID, "type", m.Type)
	return nil
}

// threadKeyOf is the thread key of a message posted after it was held (a
// lone held event is posted as itself): its review's, when it carries one.
func threadKeyOf(m sdk.Event) string {
	switch m.Type {
	case sdk.EventDigest, sdk.EventSpike, sdk.EventAppHealthChanged:
		return ""
	}
	if m.Review == nil || m.Review.ID == "" {
		return ""
	}
	return m.IntegrationID + "/" + m.AppID + "/" + m.Review.ID
}
