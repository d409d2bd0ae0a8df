package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/state"
)

// DefaultSchedule is the wait before each retry of a delivery (the
// Standard Webhooks specification's example schedule): 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, about three days in all;
// then the delivery is given up (failed; replay it).
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Defaults of the Dispatcher.
const (
	DefaultEvery        = time.Second
	DefaultTimeout      = 15 * time.Second
	DefaultDisableAfter = 72 * time.Hour
	DefaultRetention    = 7 * 24 * time.Hour
	// claimFor is how long a hub holds a delivery it sends: longer than
	// an attempt's deadline.
	claimExtra = 30 * time.Second
	// batch bounds the deliveries taken per look; workers send at once.
	batch   = 64
	workers = 8
	// excerpt bounds the response body kept in the delivery log.
	excerpt = 1024
	// jitter is the share of a wait added or taken at random.
	jitter = 0.2
	// maxRetryAfter bounds the wait a receiver's Retry-After asks for.
	maxRetryAfter = 24 * time.Hour
)

// Notifier sends a notice through the health alert path
// (health.Monitor.Notify).
type Notifier func(ctx context.Context, integrationID, kind, key, title, text string) error

// Dispatcher sends the queued deliveries: each claimed by one hub (a
// lease per delivery, state.WebhookLeases), signed, posted with a deadline
// and no redirects to an http(s) URL the outbound-host rules allow
// (health.CheckOutbound with health.alert_hosts), its outcome in the
// delivery log; failures retried on Schedule with jitter, an endpoint
// failing for DisableAfter disabled with a notice.
type Dispatcher struct {
	DB      *state.DB
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// HTTP posts the deliveries (default: a plain client); redirects are
	// never followed, and every attempt has Timeout.
	HTTP *http.Client
	// AllowHosts: health.alert_hosts (empty: any host).
	AllowHosts []string
	// Owner names this hub in the delivery claims (state.NewOwner).
	Owner string
	// Every is how often the queue is looked at (default DefaultEvery);
	// Wake looks at once.
	Every time.Duration
	// Timeout is an attempt's deadline (default DefaultTimeout).
	Timeout time.Duration
	// Schedule is the waits before the retries (default DefaultSchedule).
	Schedule []time.Duration
	// DisableAfter: an endpoint whose deliveries fail for this long is
	// disabled (default DefaultDisableAfter).
	DisableAfter time.Duration
	// Retention: finished deliveries and events older than this are
	// deleted (default DefaultRetention).
	Retention time.Duration
	// Notify sends the notice of a disabled endpoint (nil: logged only).
	Notify Notifier

	now     func() time.Time
	once    sync.Once
	leases  *state.Leases
	wake    chan struct{}
	pruned  time.Time
	running sync.WaitGroup
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.leases = d.DB.WebhookLeases(state.NewOwner(d.Owner))
		d.wake = make(chan struct{}, 1)
		if d.now == nil {
			d.now = time.Now
		}
	})
}

// Wake makes Run look at the queue at once.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends; it returns when the attempts under
// way have ended.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(cmp.Or(d.Every, DefaultEvery))
	defer t.Stop()
	defer d.running.Wait()
	sem := make(chan struct{}, workers)
	for {
		d.look(ctx, sem)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// look takes the due deliveries and sends them, workers at a time.
func (d *Dispatcher) look(ctx context.Context, sem chan struct{}) {
	now := d.now()
	if now.Sub(d.pruned) > time.Hour {
		d.pruned = now
		if err := d.DB.PruneEvents(ctx, now.Add(-cmp.Or(d.Retention, DefaultRetention))); err != nil && ctx.Err() == nil {
			d.Logger.Error("pruning old events and deliveries failed", "error", err)
		}
	}
	due, err := d.DB.DueWebhookDeliveries(ctx, now, batch)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Error("reading the outbound webhook queue failed", "error", err)
		}
		return
	}
	var wg sync.WaitGroup
	for _, w := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		d.running.Add(1)
		go func() {
			defer func() { <-sem; wg.Done(); d.running.Done() }()
			d.deliver(ctx, w)
		}()
	}
	wg.Wait()
}

// deliver claims one delivery and makes one attempt.
func (d *Dispatcher) deliver(ctx context.Context, w state.WebhookDelivery) {
	log := d.Logger.With("endpoint", w.EndpointID, "event", w.EventID, "type", w.EventType)
	timeout := cmp.Or(d.Timeout, DefaultTimeout)
	claim, ok, err := d.leases.Take(ctx, d.now(), timeout+claimExtra, w.EndpointID, w.EventID)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			log.Error("claiming an outbound webhook delivery failed", "error", err)
		}
		return
	}
	// Read again under the claim: another hub may have sent it meanwhile.
	cur, err := d.DB.WebhookDeliveryByKey(ctx, w.EndpointID, w.EventID)
	if err != nil || cur.Status != state.DeliveryPending || cur.NextAt.After(d.now()) {
		if _, rerr := d.leases.Release(context.WithoutCancel(ctx), claim, w.EndpointID, w.EventID); rerr != nil {
			log.Warn("releasing a delivery claim failed; it runs out by itself", "error", rerr)
		}
		return
	}
	ep, err := d.DB.WebhookEndpointByID(ctx, w.EndpointID)
	if err == nil && ep.Disabled() {
		_, _ = d.leases.Release(context.WithoutCancel(ctx), claim, w.EndpointID, w.EventID)
		return
	}
	var a state.WebhookAttempt
	var wait time.Duration
	if err != nil {
		a = state.WebhookAttempt{At: d.now(), Error: "reading the endpoint failed"}
		log.Error("reading an outbound webhook endpoint failed", "error", err)
	} else {
		a, wait = d.attempt(ctx, ep, cur)
	}
	d.record(ctx, log, claim, ep, cur, a, wait)
}

// attempt posts the event to the endpoint once.
func (d *Dispatcher) attempt(ctx context.Context, ep state.WebhookEndpoint, w state.WebhookDelivery) (a state.WebhookAttempt, wait time.Duration) {
	start := d.now()
	a.At = start
	fail := func(format string, args ...any) (state.WebhookAttempt, time.Duration) {
		a.Error = fmt.Sprintf(format, args...)
		a.Duration = d.now().Sub(start)
		return a, 0
	}
	ev, err := d.DB.EventByID(ctx, w.EventID)
	if err != nil {
		return fail("reading the event failed")
	}
	secret, err := d.DB.WebhookSecret(ctx, ep.ID)
	if err != nil {
		return fail("reading the endpoint's secret failed")
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		return fail("the endpoint's URL is not valid")
	}
	if err := health.CheckOutbound(u, d.AllowHosts, "the endpoint's URL"); err != nil {
		return fail("%s", err)
	}
	ts := d.now()
	sig, err := Sign(secret, ev.ID, ts, ev.Payload)
	if err != nil {
		return fail("signing: %s", err)
	}
	actx, cancel := context.WithTimeout(ctx, cmp.Or(d.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(ev.Payload))
	if err != nil {
		return fail("the endpoint's URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Reviewhub-Webhooks/1")
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := health.NoRedirects(d.HTTP).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fail("no answer within %s", cmp.Or(d.Timeout, DefaultTimeout))
		}
		return fail("POST to host %s: %s", u.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, excerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.StatusCode, a.Response, a.Duration = resp.StatusCode, printable(body), d.now().Sub(start)
	if resp.StatusCode/100 != 2 {
		a.Error = "answered " + resp.Status
		if wait = min(retryAfter(resp.Header.Get("Retry-After"), d.now()), maxRetryAfter); wait > 0 {
			a.Error += "; retry after " + wait.String()
		}
	}
	return a, wait
}

// printable is a response excerpt as valid UTF-8 text.
func printable(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// record writes the attempt and what follows: delivered; tried again on
// the schedule; given up; the endpoint disabled (410 Gone, or failing
// for DisableAfter).
func (d *Dispatcher) record(ctx context.Context, log *slog.Logger, claim state.Lease, ep state.WebhookEndpoint, w state.WebhookDelivery, a state.WebhookAttempt, retryAfter time.Duration) {
	ctx = context.WithoutCancel(ctx) // an attempt made is recorded, also at a stop
	ok := a.Error == ""
	o := state.DeliveryOutcome{Attempt: a, Status: state.DeliveryDelivered}
	outcome := "delivered"
	schedule := d.Schedule
	if len(schedule) == 0 {
		schedule = DefaultSchedule
	}
	if !ok {
		if w.Tries < len(schedule) {
			wait := max(withJitter(schedule[w.Tries]), retryAfter)
			o.Status, o.NextAt, outcome = state.DeliveryPending, a.At.Add(wait), "retry"
		} else {
			o.Status, outcome = state.DeliveryFailed, "failed"
		}
	}
	if err := d.DB.RecordWebhookAttempt(ctx, claim, w.EndpointID, w.EventID, o); err != nil {
		log.Error("recording an outbound webhook attempt failed", "error", err)
		return
	}
	d.Metrics.OutboundWebhook(w.EndpointID, outcome)
	if ok {
		log.Debug("event delivered", "status", a.StatusCode, "attempt", w.Attempts+1)
	} else {
		log.Warn("delivering an event failed", "attempt", w.Attempts+1, "error", a.Error, "outcome", outcome, "next", o.NextAt)
	}
	if ep.ID == "" {
		return
	}
	since, err := d.DB.WebhookEndpointOutcome(ctx, ep.ID, ok, a.At)
	if err != nil {
		log.Error("recording an endpoint's outcome failed", "error", err)
		return
	}
	disableAfter := cmp.Or(d.DisableAfter, DefaultDisableAfter)
	switch {
	case a.StatusCode == http.StatusGone:
		d.disable(ctx, log, ep, "the endpoint answered 410 Gone: it takes no more events", a.At)
	case !ok && !since.IsZero() && a.At.Sub(since) >= disableAfter:
		d.disable(ctx, log, ep, fmt.Sprintf("its deliveries failed for %s (since %s; last: %s)", disableAfter,
			since.UTC().Format(time.RFC3339), a.Error), a.At)
	}
}

// withJitter is d give or take jitter of it at random.
func withJitter(d time.Duration) time.Duration {
	f := 1 + jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// disable turns the endpoint off and sends the notice (once: the hub
// whose write disabled it).
func (d *Dispatcher) disable(ctx context.Context, log *slog.Logger, ep state.WebhookEndpoint, reason string, at time.Time) {
	done, err := d.DB.DisableWebhookEndpoint(ctx, ep.ID, reason, at)
	if err != nil {
		log.Error("disabling an outbound webhook endpoint failed", "error", err)
		return
	}
	if !done {
		return
	}
	d.Metrics.OutboundWebhook(ep.ID, "disabled")
	log.Error("outbound webhook endpoint disabled; enable it again in the admin API once it works", "reason", reason)
	if d.Notify == nil {
		return
	}
	host := ep.URL
	if u, err := url.Parse(ep.URL); err == nil {
		host = u.Host
	}
	title := fmt.Sprintf("Reviewhub: outbound webhook %s disabled", ep.ID)
	text := fmt.Sprintf("The outbound webhook endpoint %s (host %s) is disabled: %s. Its events wait; enable it again (POST /api/webhooks/%s/enable) once the receiver works.",
		ep.ID, host, reason, ep.ID)
	key := fmt.Sprintf("webhook/%s/disabled/%d", ep.ID, at.UnixMilli())
	if err := d.Notify(ctx, ep.IntegrationID, "webhook_disabled", key, title, text); err != nil {
		log.Error("the notice of a disabled endpoint was not sent everywhere", "error", err)
	}
}

// ValidURL checks an endpoint URL when it is saved: absolute http(s)
// with a host, allowed by the outbound-host rules.
func ValidURL(raw string, allowHosts []string) error {
	if !utf8.ValidString(raw) || strings.TrimSpace(raw) != raw || raw == "" {
		return errors.New("is required: an absolute http(s) URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	return health.CheckOutbound(u, allowHosts, "the URL")
}
