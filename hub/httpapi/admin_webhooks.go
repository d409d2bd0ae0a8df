package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/hub/webhooks"
)

// KindWebhook is the audit kind of outbound webhook endpoints.
const KindWebhook = "webhook"

// WebhookWaker is the outbound webhooks' dispatcher as the API needs it:
// told to look at its queue at once after a replay or an enable.
type WebhookWaker interface{ Wake() }

// WebhookEndpointJSON is an outbound webhook endpoint in the API. Secret
// (whsec_…) is in the answer to its creation only.
type WebhookEndpointJSON struct {
	state.WebhookEndpoint
	Secret string `json:"secret,omitempty"`
}

// WebhookEndpointInput is what POST /api/webhooks and PUT
// /api/webhooks/{id} take (id only in the POST).
type WebhookEndpointInput struct {
	ID string `json:"id,omitempty"`
	// Integration: only its events ("": every integration's).
	Integration string   `json:"integration,omitempty"`
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
}

// maxWebhookDescription bounds an endpoint's description; maxListedDeliveries
// the delivery log's page.
const (
	maxWebhookDescription = 200
	maxListedDeliveries   = 200
)

func (a *Admin) checkEndpoint(ctx context.Context, j WebhookEndpointInput, create bool) (state.WebhookEndpoint, error) {
	var errs []*config.FieldError
	add := func(field, reason string) { errs = append(errs, &config.FieldError{Field: field, Reason: reason}) }
	if create && !config.ValidID(j.ID) {
		add("id", fmt.Sprintf("%q is not an id (lower-case letters, digits, - and _, up to 63)", clip(j.ID, 64)))
	}
	if err := webhooks.ValidURL(j.URL, a.AllowHosts); err != nil {
		add("url", err.Error())
	}
	for i, t := range j.Events {
		if !events.Known(t) {
			add(fmt.Sprintf("events[%d]", i), fmt.Sprintf("%q is not an event type (%s)", clip(t, 64), strings.Join(events.Types, ", ")))
		}
	}
	if len(j.Description) > maxWebhookDescription {
		add("description", fmt.Sprintf("is longer than %d bytes", maxWebhookDescription))
	}
	if j.Integration != "" {
		if _, err := a.DB.Integration(ctx, j.Integration); errors.Is(err, state.ErrNotFound) {
			add("integration", fmt.Sprintf("no integration %q", clip(j.Integration, 64)))
		} else if err != nil {
			return state.WebhookEndpoint{}, fmt.Errorf("reading integration %q: %w", j.Integration, err)
		}
	}
	if len(errs) > 0 {
		return state.WebhookEndpoint{}, invalid(errs)
	}
	types := slices.Clone(j.Events)
	slices.Sort(types)
	return state.WebhookEndpoint{ID: j.ID, IntegrationID: j.Integration, URL: j.URL, EventTypes: slices.Compact(types),
		Description: j.Description, Source: state.SourceAPI}, nil
}

// WebhookEndpoints lists the outbound webhook endpoints.
func (a *Admin) WebhookEndpoints(ctx context.Context) ([]state.WebhookEndpoint, error) {
	if err := Require(ctx, auth.RoleViewer); err != nil {
		return nil, err
	}
	return a.DB.WebhookEndpoints(ctx)
}

// WebhookEndpoint reads one endpoint.
func (a *Admin) WebhookEndpoint(ctx context.Context, id string) (state.WebhookEndpoint, error) {
	if err := Require(ctx, auth.RoleViewer); err != nil {
		return state.WebhookEndpoint{}, err
	}
	return a.endpoint(ctx, id)
}

func (a *Admin) endpoint(ctx context.Context, id string) (state.WebhookEndpoint, error) {
	ep, err := a.DB.WebhookEndpointByID(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return ep, errorf(http.StatusNotFound, "no webhook endpoint %q", clip(id, 64))
	}
	return ep, err
}

// CreateWebhookEndpoint makes an endpoint (admin) with a new secret,
// returned this once (the state keeps it sealed).
func (a *Admin) CreateWebhookEndpoint(ctx context.Context, j WebhookEndpointInput) (WebhookEndpointJSON, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return WebhookEndpointJSON{}, err
	}
	ep, err := a.checkEndpoint(ctx, j, true)
	if err != nil {
		return WebhookEndpointJSON{}, err
	}
	ep.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	secret := webhooks.NewSecret()
	if err := a.DB.CreateWebhookEndpoint(ctx, ep, secret); errors.Is(err, state.ErrExists) {
		return WebhookEndpointJSON{}, errorf(http.StatusConflict, "webhook endpoint %q exists already", ep.ID)
	} else if err != nil {
		return WebhookEndpointJSON{}, err
	}
	a.record(ctx, state.AuditEntry{Kind: KindWebhook, Action: "create", IntegrationID: ep.IntegrationID, Target: ep.ID,
		Changes: []state.AuditChange{{Field: "url", To: ep.URL}, {Field: "events", To: strings.Join(ep.EventTypes, ",")}, {Field: "secret", To: SecretChanged}}})
	return WebhookEndpointJSON{WebhookEndpoint: ep, Secret: secret}, nil
}

// editable reads an endpoint that the API may change: not one of the
// configuration file's.
func (a *Admin) editable(ctx context.Context, id string) (state.WebhookEndpoint, error) {
	ep, err := a.endpoint(ctx, id)
	if err != nil {
		return ep, err
	}
	if ep.Source == state.SourceConfig {
		return ep, errorf(http.StatusConflict, "webhook endpoint %q is declared in the configuration file; change it there", id)
	}
	return ep, nil
}

// UpdateWebhookEndpoint changes an endpoint's URL, events, integration
// and description (admin); its secret stays.
func (a *Admin) UpdateWebhookEndpoint(ctx context.Context, id string, j WebhookEndpointInput) (state.WebhookEndpoint, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return state.WebhookEndpoint{}, err
	}
	old, err := a.editable(ctx, id)
	if err != nil {
		return old, err
	}
	ep, err := a.checkEndpoint(ctx, j, false)
	if err != nil {
		return ep, err
	}
	ep.ID = id
	if err := a.DB.UpdateWebhookEndpoint(ctx, ep); err != nil {
		return ep, err
	}
	a.record(ctx, state.AuditEntry{Kind: KindWebhook, Action: "update", IntegrationID: ep.IntegrationID, Target: id,
		Changes: []state.AuditChange{{Field: "url", From: old.URL, To: ep.URL},
			{Field: "events", From: strings.Join(old.EventTypes, ","), To: strings.Join(ep.EventTypes, ",")}}})
	return a.DB.WebhookEndpointByID(ctx, id)
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries (admin).
func (a *Admin) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return err
	}
	ep, err := a.editable(ctx, id)
	if err != nil {
		return err
	}
	if err := a.DB.DeleteWebhookEndpoint(ctx, id); err != nil {
		return err
	}
	a.record(ctx, state.AuditEntry{Kind: KindWebhook, Action: "delete", IntegrationID: ep.IntegrationID, Target: id})
	return nil
}

// EnableWebhookEndpoint turns a disabled endpoint on again (admin),
// its failing time reset; its waiting deliveries go out at once.
func (a *Admin) EnableWebhookEndpoint(ctx context.Context, id string) (state.WebhookEndpoint, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return state.WebhookEndpoint{}, err
	}
	ep, err := a.endpoint(ctx, id)
	if err != nil {
		return ep, err
	}
	if err := a.DB.EnableWebhookEndpoint(ctx, id, time.Now()); err != nil {
		return ep, err
	}
	a.record(ctx, state.AuditEntry{Kind: KindWebhook, Action: "enable", IntegrationID: ep.IntegrationID, Target: id})
	a.wakeWebhooks()
	return a.DB.WebhookEndpointByID(ctx, id)
}

func (a *Admin) wakeWebhooks() {
	if a.Webhooks != nil {
		a.Webhooks.Wake()
	}
}

// WebhookDeliveries is an endpoint's delivery log, newest first.
func (a *Admin) WebhookDeliveries(ctx context.Context, id string, limit int) ([]state.WebhookDelivery, error) {
	if err := Require(ctx, auth.RoleViewer); err != nil {
		return nil, err
	}
	if _, err := a.endpoint(ctx, id); err != nil {
		return nil, err
	}
	return a.DB.WebhookDeliveries(ctx, id, limit)
}

// ReplayWebhookDelivery sends one delivery again (admin): queued at once
// with a fresh retry schedule, whatever its status.
func (a *Admin) ReplayWebhookDelivery(ctx context.Context, id, eventID string) (state.WebhookDelivery, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return state.WebhookDelivery{}, err
	}
	ep, err := a.endpoint(ctx, id)
	if err != nil {
		return state.WebhookDelivery{}, err
	}
	err = a.DB.ReplayWebhookDelivery(ctx, id, eventID, time.Now())
	if errors.Is(err, state.ErrNotFound) {
		return state.WebhookDelivery{}, errorf(http.StatusNotFound, "no delivery of event %q to webhook endpoint %q", clip(eventID, 64), id)
	}
	if err != nil {
		return state.WebhookDelivery{}, err
	}
	a.record(ctx, state.AuditEntry{Kind: KindWebhook, Action: "replay", IntegrationID: ep.IntegrationID, Target: id + "/" + eventID})
	a.wakeWebhooks()
	return a.DB.WebhookDeliveryByKey(ctx, id, eventID)
}

func (a *Admin) registerWebhooks(r *mux.Router) {
	r.HandleFunc("/webhooks", a.handle(a.listWebhooks)).Methods(http.MethodGet)
	r.HandleFunc("/webhooks", a.handle(a.createWebhook)).Methods(http.MethodPost)
	r.HandleFunc("/webhooks/{id}", a.handle(a.getWebhook)).Methods(http.MethodGet)
	r.HandleFunc("/webhooks/{id}", a.handle(a.putWebhook)).Methods(http.MethodPut)
	r.HandleFunc("/webhooks/{id}", a.handle(a.deleteWebhook)).Methods(http.MethodDelete)
	r.HandleFunc("/webhooks/{id}/enable", a.handle(a.enableWebhook)).Methods(http.MethodPost)
	r.HandleFunc("/webhooks/{id}/deliveries", a.handle(a.webhookDeliveries)).Methods(http.MethodGet)
	r.HandleFunc("/webhooks/{id}/deliveries/{event}/replay", a.handle(a.replayWebhook)).Methods(http.MethodPost)
}

func (a *Admin) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := a.WebhookEndpoints(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, list)
	return nil
}

func (a *Admin) createWebhook(w http.ResponseWriter, r *http.Request) error {
	j, err := decodeBody[WebhookEndpointInput](w, r)
	if err != nil {
		return err
	}
	ep, err := a.CreateWebhookEndpoint(r.Context(), j)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // the answer carries the secret
	WriteJSON(w, http.StatusCreated, ep)
	return nil
}

func (a *Admin) getWebhook(w http.ResponseWriter, r *http.Request) error {
	ep, err := a.WebhookEndpoint(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, ep)
	return nil
}

func (a *Admin) putWebhook(w http.ResponseWriter, r *http.Request) error {
	j, err := decodeBody[WebhookEndpointInput](w, r)
	if err != nil {
		return err
	}
	ep, err := a.UpdateWebhookEndpoint(r.Context(), mux.Vars(r)["id"], j)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, ep)
	return nil
}

func (a *Admin) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := a.DeleteWebhookEndpoint(r.Context(), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *Admin) enableWebhook(w http.ResponseWriter, r *http.Request) error {
	ep, err := a.EnableWebhookEndpoint(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, ep)
	return nil
}

func (a *Admin) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListedDeliveries {
			return invalid([]*config.FieldError{{Field: "limit", Reason: fmt.Sprintf("%q is not a number from 1 to %d", clip(v, 32), maxListedDeliveries)}})
		}
		limit = n
	}
	list, err := a.WebhookDeliveries(r.Context(), mux.Vars(r)["id"], limit)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, list)
	return nil
}

func (a *Admin) replayWebhook(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	d, err := a.ReplayWebhookDelivery(r.Context(), v["id"], v["event"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, d)
	return nil
}
