package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// ops is the hub's operations side: metrics, app health and alerts.
type ops struct {
	metrics *metrics.Metrics
	monitor *health.Monitor
	// srv serves /metrics on its own listener (metrics.listen), if set.
	srv *http.Server
	ln  net.Listener
}

// opsListen makes the registry and binds metrics.listen (before anything
// else starts, like the hub's own listener).
func (h *Hub) opsListen(cfg *config.Config) error {
	h.ops.metrics = metrics.New()
	if l := cfg.Metrics.Listen; l != "" && l != "off" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return fmt.Errorf("metrics.listen %s: %w", l, err)
		}
		h.ops.ln = ln
		h.life.onClose("metrics listener", func() error {
			if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
	}
	return nil
}

// observeCall counts a plugin call and logs it (debug) with the request
// id that joins it to the poll, webhook or message it serves.
func (h *Hub) observeCall(ctx context.Context, plugin, op string, err error, d time.Duration) {
	h.ops.metrics.PluginCall(plugin, op, err, d)
	if h.log.Enabled(ctx, slog.LevelDebug) {
		result := "ok"
		if err != nil {
			result = sdk.KindOf(err).String()
		}
		h.log.Debug("plugin call", "component", "plugins", "plugin", plugin, "op", op, "request_id", sdk.RequestID(ctx),
			"duration", d, "result", result)
	}
}

// requestIDs gives every bus message's handler its correlation id as the
// request id, passed on to the plugins it calls.
func requestIDs(next message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msg.SetContext(sdk.WithRequestID(msg.Context(), bus.CorrelationID(msg)))
		return next(msg)
	}
}

// opsWire builds the health monitor and the gauges read at scrape time,
// and says where /metrics is served.
func (h *Hub) opsWire(cfg *config.Config, plugins Resolver, srv *httpapi.Server, admin *httpapi.Admin) {
	m := h.ops.metrics
	h.router.AddMiddleware(requestIDs)
	h.ops.monitor = &health.Monitor{DB: h.DB, Plugins: plugins, Metrics: m, Logger: h.log.With("component", "health"),
		Interval: cfg.PollInterval, Every: cfg.Health.CheckEvery, AllowHosts: cfg.Health.AlertHosts,
		DeadLetters: DeadLetters(h.DB).CountByApp, Owner: leaseOwner(h.Addr())}
	admin.Health = h.ops.monitor.Apps
	srv.Metrics = m
	m.Register(&metrics.Sampler{Read: h.sample, Logger: h.log, MinInterval: cfg.Health.CheckEvery})
	handler := m.Handler(h.log.With("component", "metrics"))
	switch {
	case h.ops.ln != nil:
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", handler)
		h.ops.srv = httpapi.NewHTTPServer(h.ops.ln.Addr().String(), mux, h.log)
	case cfg.Metrics.Listen != "off":
		srv.MetricsHandler = handler
	}
}

// MetricsURL is where /metrics is served ("" when off).
func (h *Hub) MetricsURL() string {
	switch {
	case h.ops.ln != nil:
		return "http://" + h.ops.ln.Addr().String() + "/metrics"
	case h.cfg.Metrics.Listen == "off":
		return ""
	}
	return "http://" + h.Addr() + "/metrics"
}

// Metrics is the hub's metrics registry and counters.
func (h *Hub) Metrics() *metrics.Metrics { return h.ops.metrics }

// opsRun runs the health monitor and the metrics listener until ctx ends.
func (h *Hub) opsRun(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.ops.monitor.Run(ctx)
	}()
	if h.ops.srv != nil {
		go func() {
			if err := h.ops.srv.Serve(h.ops.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Error("metrics server", "error", err)
			}
		}()
		context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = h.ops.srv.Shutdown(sctx)
		})
	}
}

// sample emits the figures read from the state, the bus and the plugin
// host at scrape time.
func (h *Hub) sample(ctx context.Context, emit metrics.Emit) error {
	var errs []error
	backlog, err := bus.Backlog(ctx, h.DB.SQL(), h.cfg.Bus.Backend == "postgres")
	errs = append(errs, err)
	for topic, b := range backlog {
		emit("bus_queue_depth", "Messages waiting on a bus topic (all partitions, all hubs).", false, float64(b.Depth), "topic", topic)
		emit("bus_oldest_message_age_seconds", "Age of the oldest message waiting on a bus topic.", false, b.Oldest.Seconds(), "topic", topic)
	}
	// Served by every bus (dashboards and alerts need not know the
	// driver): only the PostgreSQL bus checks its acks, the others
	// refuse none.
	var refused int64
	if r, ok := h.Bus.(interface{ RefusedAcks() int64 }); ok {
		refused = r.RefusedAcks()
	}
	emit("bus_acks_refused_total", "Acks refused because they would have moved a subscription's position past a message it never read (PostgreSQL bus; should stay 0; each is logged as an error and the subscription reads again from its recorded position).", true, float64(refused))
	if n, err := DeadLetters(h.DB).Count(ctx); err == nil {
		emit("dead_letters", "Messages that failed for good (hub deadletters list).", false, float64(n))
	} else {
		errs = append(errs, err)
	}
	for _, name := range h.Plugins.Names() {
		if p, ok := h.Plugins.Plugin(name); ok {
			st := p.Status()
			emit("plugin_restarts_total", "Restarts of a plugin process since the hub started.", true, float64(st.Restarts), "plugin", name)
			up := 0.0
			if st.Running {
				up = 1
			}
			emit("plugin_up", "1 when the plugin process is running.", false, up, "plugin", name)
		}
	}
	if n, err := h.DB.Requeued(ctx); err == nil {
		emit("reviews_lost_requeue_waiting", "Reviews whose queued message was found lost (never delivered, not on the bus, no dead letter), waiting for the store to list them again; each was logged as an error and counted in the app's reviews_lost_requeued.", false, float64(n))
	} else {
		errs = append(errs, err)
	}
	if apps, due, leased, err := h.DB.ScheduleCounts(ctx, time.Now()); err == nil {
		emit("schedule_apps", "Apps in the poll schedule (all hubs).", false, float64(apps))
		emit("schedule_due", "Apps due for a poll that no hub holds (a growing number means the hubs fall behind).", false, float64(due))
		emit("schedule_leased", "Apps being polled by some hub.", false, float64(leased))
	} else {
		errs = append(errs, err)
	}
	errs = append(errs, h.sampleRatings(ctx, emit))
	errs = append(errs, h.sampleQuotas(ctx, emit))
	errs = append(errs, h.ops.monitor.Sample(ctx, emit))
	errs = append(errs, h.sampleWebhooks(ctx, emit))
	return errors.Join(errs...)
}

// sampleRatings emits every app's reviews by rating and how many of them
// have a published answer (the console's Charts, as totals: per app and
// rating, never per review), and the sum of each app's ratings (average
// rating = rating_sum / the app's reviews).
func (h *Hub) sampleRatings(ctx context.Context, emit metrics.Emit) error {
	counts, err := h.DB.RatingCounts(ctx)
	if err != nil {
		return err
	}
	sums := map[[2]string]int{}
	for _, c := range counts {
		r := strconv.Itoa(c.Rating)
		emit("reviews_by_rating", "Reviews the hub keeps, by app and latest rating.", false, float64(c.Reviews),
			"integration", c.IntegrationID, "app", c.AppID, "rating", r)
		emit("reviews_answered_by_rating", "Reviews whose latest answer is published, by app and latest rating.", false, float64(c.Answered),
			"integration", c.IntegrationID, "app", c.AppID, "rating", r)
		sums[[2]string{c.IntegrationID, c.AppID}] += c.Rating * c.Reviews
	}
	for k, sum := range sums {
		emit("reviews_stars", "Sum of the latest ratings of an app's reviews (divided by reviews_by_rating summed over rating: the average rating).",
			false, float64(sum), "integration", k[0], "app", k[1])
	}
	return nil
}

// sampleQuotas emits every app's store quota use (each bucket once per app).
func (h *Hub) sampleQuotas(ctx context.Context, emit metrics.Emit) error {
	ins, err := h.DB.Integrations(ctx)
	if err != nil {
		return err
	}
	ledger := quota.Ledger{DB: h.DB, ReplyReserve: h.cfg.Schedule.ReplyReserve}
	now := time.Now()
	plugins := Resolver{h.Plugins}
	read := map[string]quota.Use{} // a bucket shared by many apps is read once
	for _, in := range ins {
		for _, app := range in.Apps {
			info, ok := plugins.Info(app.StorePlugin)
			if !ok {
				continue
			}
			for _, b := range quota.Buckets(info, app, sdk.OpList) {
				use, ok := read[b.Key]
				if !ok {
					var err error
					if use, err = ledger.Read(ctx, b, now); err != nil {
						return err
					}
					read[b.Key] = use
				}
				l := []string{"integration", in.ID, "app", app.ID, "store", app.StorePlugin, "quota", b.Name}
				emit("quota_used", "Requests spent from a store quota bucket in its window (all hubs, all apps sharing it).", false, float64(use.Used), l...)
				emit("quota_poll_budget", "What polling may spend from the bucket per window (the rest is kept for replies).", false, float64(use.Budget), l...)
				emit("quota_limit", "The store's limit of the bucket per window.", false, float64(b.Limit), l...)
			}
		}
	}
	return nil
}

// alertsFromConfig is an integration's alert settings as the state keeps them.
func alertsFromConfig(a *config.Alerts) state.AlertConfig {
	if a == nil {
		return state.AlertConfig{}
	}
	c := state.AlertConfig{Helpdesk: a.Helpdesk, WebhookURL: a.WebhookURL, Cooldown: health.DefaultCooldown}
	if a.Cooldown != nil {
		c.Cooldown = *a.Cooldown
	}
	return c
}
