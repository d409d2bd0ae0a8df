// Package metrics holds the hub's Prometheus metrics: counters incremented
// where the work happens (poller, delivery, webhooks, plugin calls, alerts)
// and gauges read from the state at scrape time (health, bus backlog, dead
// letters, quota use). Labels are bounded: integration and app ids, store
// and plugin names, outcomes and error kinds from fixed sets; never a
// review id or free text.
//
// Every method is safe on a nil *Metrics (it does nothing), so packages
// that count can be used without metrics (tests, tools).
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reviewhub/reviewhub/sdk"
)

// Namespace prefixes every metric name.
const Namespace = "reviewhub"

// Poll outcomes.
const (
	PollOK          = "ok"
	PollError       = "error"
	PollQuota       = "deferred_quota"
	PollNotRunnable = "not_runnable"
)

// Metrics is one hub's registry and its counters.
type Metrics struct {
	Registry *prometheus.Registry

	polls          *prometheus.CounterVec
	reviewsSeen    *prometheus.CounterVec
	reviewsQueued  *prometheus.CounterVec
	reviewsSkipped *prometheus.CounterVec
	unreadable     *prometheus.CounterVec
	storeRequests  *prometheus.CounterVec
	deliveries     *prometheus.CounterVec
	replies        *prometheus.CounterVec
	pluginCalls    *prometheus.CounterVec
	pluginDuration *prometheus.HistogramVec
	rateLimitWaits *prometheus.CounterVec
	webhooks       *prometheus.CounterVec
	alerts         *prometheus.CounterVec
	outbound       *prometheus.CounterVec
	automation     *prometheus.CounterVec
	scheduleLag    prometheus.Histogram
}

// New makes a registry with the Go runtime and process collectors and the
// hub's counters. Gauges read from the state are added with Collect.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: r}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		r.MustRegister(c)
		return c
	}
	m.polls = counter("polls_total", "Polls of an app, by outcome (ok, error, deferred_quota, not_runnable).",
		"integration", "app", "store", "outcome")
	m.reviewsSeen = counter("reviews_seen_total", "Reviews listed by the store (every poll, changed or not).",
		"integration", "app", "store")
	m.reviewsQueued = counter("reviews_queued_total", "New and changed reviews queued for the helpdesk.",
		"integration", "app", "store")
	m.reviewsSkipped = counter("reviews_skipped_total", "Changed reviews a filter (or the backfill limit) kept out of the helpdesk.",
		"integration", "app", "store", "filter")
	m.unreadable = counter("reviews_unreadable_total", "Listed items the store plugin could not map to a review.",
		"integration", "app", "store")
	m.storeRequests = counter("store_requests_total", "Vendor requests made by store plugins while polling (as the plugin counts them).",
		"integration", "app", "store")
	m.deliveries = counter("deliveries_total", "Reviews delivered to the helpdesk, by outcome (created, updated, retry, failed).",
		"integration", "plugin", "outcome")
	m.replies = counter("replies_total", "Answers handled for a store, by outcome (published, refused with the reason written into the ticket).",
		"integration", "store", "outcome")
	m.pluginCalls = counter("plugin_calls_total", "Calls to plugins (and through them to vendors), by result: ok or the error kind.",
		"plugin", "op", "result")
	m.pluginDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "plugin_call_duration_seconds",
		Help: "Duration of calls to plugins, vendor time included.", Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
		[]string{"plugin", "op"})
	r.MustRegister(m.pluginDuration)
	m.rateLimitWaits = counter("rate_limit_waits_total", "Times a store or helpdesk asked the hub to wait (poll: a store's retry-after; delivery: a helpdesk's).",
		"integration", "where")
	m.webhooks = counter("webhook_requests_total", "Helpdesk webhook calls, by result (accepted, ignored, refused, unreadable, error).",
		"plugin", "result")
	m.alerts = counter("alerts_total", "Health alerts sent, by kind (alert, recovery), channel (helpdesk, webhook) and outcome (sent, failed, unsupported).",
		"integration", "kind", "channel", "outcome")
	m.outbound = counter("outbound_webhook_attempts_total", "Attempts to deliver an event to an outbound webhook endpoint, by endpoint and outcome (delivered; retry: tried again later; failed: given up after the schedule; disabled: the endpoint was turned off).",
		"endpoint", "outcome")
	m.automation = counter("auto_replies_total", "What auto-reply rules did, by rule and outcome (draft, queued, held, published, refused, failed).",
		"integration", "rule", "outcome")
	m.scheduleLag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "schedule_lag_seconds",
		Help:    "How late this hub's polls started after their due time.",
		Buckets: []float64{.1, .5, 1, 5, 15, 30, 60, 120, 300, 900, 1800}})
	r.MustRegister(m.scheduleLag)
	return m
}

// ScheduleLag observes how late a poll started after its due time (a
// negative lag, a clock step, counts as 0).
func (m *Metrics) ScheduleLag(d time.Duration) {
	if m == nil {
		return
	}
	m.scheduleLag.Observe(max(d, 0).Seconds())
}

// AutoReply counts what an auto-reply rule did.
func (m *Metrics) AutoReply(integration, rule, outcome string) {
	if m == nil {
		return
	}
	m.automation.WithLabelValues(integration, rule, outcome).Inc()
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{log},
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.Registry,
		Timeout:           20 * time.Second,
		EnableOpenMetrics: false,
	})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	if p.log != nil {
		p.log.Warn("metrics", "error", v)
	}
}

// PollCount is one poll of an app: whose, its outcome (Poll*) and, for a
// listing, what it listed.
type PollCount struct {
	Integration, App, Store string
	Outcome                 string
	// Seen, Queued and Unreadable reviews; Requests the vendor requests
	// the plugin counted; Skipped by filter name.
	Seen, Queued, Unreadable, Requests int
	Skipped                            map[string]int
}

// Poll counts one poll of an app and what it listed.
func (m *Metrics) Poll(p PollCount) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(p.Integration, p.App, p.Store, p.Outcome).Inc()
	if p.Seen > 0 {
		m.reviewsSeen.WithLabelValues(p.Integration, p.App, p.Store).Add(float64(p.Seen))
	}
	if p.Queued > 0 {
		m.reviewsQueued.WithLabelValues(p.Integration, p.App, p.Store).Add(float64(p.Queued))
	}
	if p.Unreadable > 0 {
		m.unreadable.WithLabelValues(p.Integration, p.App, p.Store).Add(float64(p.Unreadable))
	}
	if p.Requests > 0 {
		m.storeRequests.WithLabelValues(p.Integration, p.App, p.Store).Add(float64(p.Requests))
	}
	for filter, n := range p.Skipped {
		m.reviewsSkipped.WithLabelValues(p.Integration, p.App, p.Store, filter).Add(float64(n))
	}
}

// Delivery counts a review delivery to the helpdesk.
func (m *Metrics) Delivery(integration, plugin, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(integration, plugin, outcome).Inc()
}

// Reply counts an answer sent to a store.
func (m *Metrics) Reply(integration, store, outcome string) {
	if m == nil {
		return
	}
	m.replies.WithLabelValues(integration, store, outcome).Inc()
}

// PluginCall counts a plugin call; its result is "ok" or the error's kind.
func (m *Metrics) PluginCall(plugin, op string, err error, d time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = sdk.KindOf(err).String()
		if errorsIsCanceled(err) {
			result = "canceled"
		}
	}
	m.pluginCalls.WithLabelValues(plugin, op, result).Inc()
	m.pluginDuration.WithLabelValues(plugin, op).Observe(d.Seconds())
}

func errorsIsCanceled(err error) bool { return errors.Is(err, context.Canceled) }

// RateLimitWait counts a wait a vendor asked for; where is "poll" or
// "delivery".
func (m *Metrics) RateLimitWait(integration, where string) {
	if m == nil {
		return
	}
	m.rateLimitWaits.WithLabelValues(integration, where).Inc()
}

// Webhook counts a helpdesk webhook call. plugin is empty when the call
// named no known integration (its path is not trusted as a label).
func (m *Metrics) Webhook(plugin, result string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(plugin, result).Inc()
}

// Alert counts an alert sent (or not) on one channel.
func (m *Metrics) Alert(integration, kind, channel, outcome string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(integration, kind, channel, outcome).Inc()
}

// OutboundWebhook counts an attempt to deliver an event to an outbound
// webhook endpoint by its outcome.
func (m *Metrics) OutboundWebhook(endpoint, outcome string) {
	if m == nil {
		return
	}
	m.outbound.WithLabelValues(endpoint, outcome).Inc()
}

// Register adds a collector (gauges read at scrape time).
func (m *Metrics) Register(c prometheus.Collector) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(c)
}
