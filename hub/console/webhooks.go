package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The outbound webhooks pages: every endpoint with its state (working,
// failing since when, disabled and why), an endpoint's delivery log
// (status, attempts with the receiver's answers, next try), a delivery
// replayed and a disabled endpoint enabled again. Endpoints are made in
// the admin API or the configuration file (docs/events.md).

// WebhookOps is what the pages read and do (an *httpapi.Admin).
type WebhookOps interface {
	WebhookEndpoints(ctx context.Context) ([]state.WebhookEndpoint, error)
	WebhookEndpoint(ctx context.Context, id string) (state.WebhookEndpoint, error)
	WebhookDeliveries(ctx context.Context, id string, limit int) ([]state.WebhookDelivery, error)
	ReplayWebhookDelivery(ctx context.Context, id, eventID string) (state.WebhookDelivery, error)
	EnableWebhookEndpoint(ctx context.Context, id string) (state.WebhookEndpoint, error)
}

var _ WebhookOps = (*httpapi.Admin)(nil)

// webhooksPage is the pages' data: the list, or one endpoint with its log.
type webhooksPage struct {
	Endpoints  []state.WebhookEndpoint
	Endpoint   *state.WebhookEndpoint
	Deliveries []state.WebhookDelivery
}

// deliveryLogSize is how many deliveries an endpoint's page shows.
const deliveryLogSize = 50

func (c *Console) webhookRoutes(s *mux.Router) {
	s.HandleFunc("/webhooks", c.handle(c.webhooks)).Methods(http.MethodGet)
	s.HandleFunc("/webhooks/{id}", c.handle(c.webhookEndpoint)).Methods(http.MethodGet)
	s.HandleFunc("/webhooks/{id}/enable", c.handle(c.webhookEnable)).Methods(http.MethodPost)
	s.HandleFunc("/webhooks/{id}/deliveries/{event}/replay", c.handle(c.webhookReplay)).Methods(http.MethodPost)
}

func (c *Console) webhookOps() (WebhookOps, error) {
	if c.opts.Webhooks == nil {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this console has no outbound webhooks"}
	}
	return c.opts.Webhooks, nil
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request) error {
	ops, err := c.webhookOps()
	if err != nil {
		return err
	}
	list, err := ops.WebhookEndpoints(r.Context())
	if err != nil {
		return err
	}
	t := c.lang(r).T
	c.render(w, r, http.StatusOK, "webhooks", page{Title: t["webhooks_title"], Nav: "webhooks", Data: webhooksPage{Endpoints: list}})
	return nil
}

func (c *Console) webhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	ops, err := c.webhookOps()
	if err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	ep, err := ops.WebhookEndpoint(r.Context(), id)
	if err != nil {
		return err
	}
	log, err := ops.WebhookDeliveries(r.Context(), id, deliveryLogSize)
	if err != nil {
		return err
	}
	t := c.lang(r).T
	p := page{Title: t["webhooks_title"] + ": " + ep.ID, Nav: "webhooks", Data: webhooksPage{Endpoint: &ep, Deliveries: log}}
	switch q := r.URL.Query(); {
	case q.Get("replayed") != "":
		p.Notice = t["wh_replayed"]
	case q.Get("enabled") != "":
		p.Notice = t["wh_enabled_notice"]
	}
	c.render(w, r, http.StatusOK, "webhooks", p)
	return nil
}

func (c *Console) webhookEnable(w http.ResponseWriter, r *http.Request) error {
	ops, err := c.webhookOps()
	if err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if _, err := ops.EnableWebhookEndpoint(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/webhooks/"+url.PathEscape(id)+"?enabled=1", http.StatusSeeOther)
	return nil
}

func (c *Console) webhookReplay(w http.ResponseWriter, r *http.Request) error {
	ops, err := c.webhookOps()
	if err != nil {
		return err
	}
	v := mux.Vars(r)
	if _, err := ops.ReplayWebhookDelivery(r.Context(), v["id"], v["event"]); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/webhooks/"+url.PathEscape(v["id"])+"?replayed=1", http.StatusSeeOther)
	return nil
}

// endpointState is an endpoint's state in words for the pages: one of
// its fields is set.
type endpointState struct{ Disabled, Failing, OK string }

func stateOf(t map[string]string, ep state.WebhookEndpoint) endpointState {
	switch {
	case ep.Disabled():
		return endpointState{Disabled: fmt.Sprintf(t["wh_disabled"], ep.DisabledAt.UTC().Format("2006-01-02 15:04 UTC"), ep.DisabledReason)}
	case !ep.FailingSince.IsZero():
		return endpointState{Failing: fmt.Sprintf(t["wh_failing"], ep.FailingSince.UTC().Format("2006-01-02 15:04 UTC"))}
	}
	return endpointState{OK: t["wh_ok"]}
}
