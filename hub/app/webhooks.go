package app

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/hub/webhooks"
)

// syncWebhooks writes the outbound webhook endpoints of the config file
// into the state (read-only in the API and the console).
func syncWebhooks(ctx context.Context, db *state.DB, cfg *config.Config) error {
	eps := make([]state.ConfigWebhookEndpoint, 0, len(cfg.Webhooks.Endpoints))
	for _, e := range cfg.Webhooks.Endpoints {
		eps = append(eps, state.ConfigWebhookEndpoint{Secret: e.Secret, WebhookEndpoint: state.WebhookEndpoint{
			ID: e.ID, IntegrationID: e.Integration, URL: e.URL, EventTypes: e.Events, Description: e.Description, Source: state.SourceConfig}})
	}
	if err := db.SyncConfigWebhookEndpoints(ctx, eps, time.Now()); err != nil {
		return fmt.Errorf("webhooks.endpoints: %w", err)
	}
	return nil
}

// newDispatcher makes the outbound webhooks' dispatcher.
func (h *Hub) newDispatcher(cfg *config.Config, opts Options) *webhooks.Dispatcher {
	return &webhooks.Dispatcher{DB: h.DB, Logger: h.log.With("component", "webhooks"), Metrics: h.ops.metrics,
		AllowHosts: cfg.Health.AlertHosts, Owner: leaseOwner(h.Addr()), Every: opts.WebhookEvery, Timeout: cfg.Webhooks.Timeout,
		Schedule: opts.WebhookSchedule, DisableAfter: cmp.Or(opts.WebhookDisableAfter, cfg.Webhooks.DisableAfter), Retention: cfg.Webhooks.Retention}
}

// runDispatcher sends the outbound webhooks until ctx ends; the health
// monitor's alert path takes the notices of disabled endpoints.
func (h *Hub) runDispatcher(ctx context.Context, wg *sync.WaitGroup) {
	h.webhooks.Notify = h.ops.monitor.Notify
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.webhooks.Run(ctx)
	}()
}

// sampleWebhooks emits the outbound webhook queue's figures.
func (h *Hub) sampleWebhooks(ctx context.Context, emit metrics.Emit) error {
	pending, oldest, err := h.DB.WebhookQueue(ctx, time.Now())
	if err != nil {
		return err
	}
	emit("outbound_webhook_queue_depth", "Event deliveries to enabled outbound webhook endpoints not delivered yet (all hubs).", false, float64(pending))
	emit("outbound_webhook_oldest_pending_age_seconds", "Age of the oldest event delivery not delivered yet to an enabled outbound webhook endpoint.", false, oldest.Seconds())
	return nil
}
