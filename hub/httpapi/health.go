package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/state"
)

// HealthStatus is an app's health in the status view.
type HealthStatus struct {
	// State is ok, degraded, quota, failing, stalled, credentials or "at risk of loss".
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// LastSuccessAt is the last successful poll.
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// LastAlert is the state the last alert was sent for, and when.
	LastAlert   string     `json:"last_alert,omitempty"`
	LastAlertAt *time.Time `json:"last_alert_at,omitempty"`
	// History: what the app's newest history import recovered and what is
	// still missing (a gap after an outage; issue 27).
	History string `json:"history,omitempty"`
}

// healthOf computes the health of an integration's apps, by app id.
func (a *Admin) healthOf(ctx context.Context, integrationID string) (map[string]*HealthStatus, error) {
	if a.Health == nil {
		return nil, nil
	}
	apps, err := a.Health(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	out := map[string]*HealthStatus{}
	for _, h := range apps {
		hs := &HealthStatus{State: h.Health, Reason: h.Reason, Since: h.Since, LastAlert: h.Alerted, History: h.History}
		if !h.LastOK.IsZero() {
			t := h.LastOK
			hs.LastSuccessAt = &t
		}
		if !h.AlertedAt.IsZero() {
			t := h.AlertedAt
			hs.LastAlertAt = &t
		}
		out[h.AppID] = hs
	}
	return out, nil
}

// AlertsJSON is an integration's alert settings in the API. The webhook
// URL is write-only (it carries a secret): answers say only whether one
// is set.
type AlertsJSON struct {
	// Helpdesk: post a note through the integration's helpdesk plugin.
	Helpdesk bool `json:"helpdesk"`
	// WebhookURL receives Slack-compatible JSON; omitted keeps the stored
	// one, "" removes it.
	WebhookURL *string `json:"webhook_url,omitempty"`
	WebhookSet bool    `json:"webhook_set"`
	// Cooldown: at most one alert per app within it (Go duration; default 1h, "0s": none).
	Cooldown string `json:"cooldown"`
}

func (a *Admin) registerHealth(r *mux.Router) {
	r.HandleFunc("/integrations/{id}/alerts", a.handle(a.getAlerts)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/alerts", a.handle(a.putAlerts)).Methods(http.MethodPut)
}

func alertsJSON(c state.AlertConfig) AlertsJSON {
	return AlertsJSON{Helpdesk: c.Helpdesk, WebhookSet: c.WebhookURL != "", Cooldown: c.Cooldown.String()}
}

func (a *Admin) getAlerts(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	c, err := a.DB.Alerts(r.Context(), in.ID)
	if err != nil {
		return fmt.Errorf("reading the alert settings of %q: %w", in.ID, err)
	}
	WriteJSON(w, http.StatusOK, alertsJSON(c))
	return nil
}

func (a *Admin) putAlerts(w http.ResponseWriter, r *http.Request) error {
	in, err := a.loadWritable(r.Context(), mux.Vars(r)["id"], "edit its alerts there")
	if err != nil {
		return err
	}
	j, err := decodeBody[AlertsJSON](w, r)
	if err != nil {
		return err
	}
	old, err := a.DB.Alerts(r.Context(), in.ID)
	if err != nil {
		return fmt.Errorf("reading the alert settings of %q: %w", in.ID, err)
	}
	c := state.AlertConfig{Helpdesk: j.Helpdesk, WebhookURL: old.WebhookURL, Cooldown: health.DefaultCooldown}
	var errs []*config.FieldError
	if j.WebhookURL != nil {
		c.WebhookURL = *j.WebhookURL
		if c.WebhookURL != "" {
			if err := config.HTTPURL(c.WebhookURL); err != nil {
				errs = append(errs, &config.FieldError{Field: "webhook_url", Reason: err.Error()})
			}
		}
	}
	if j.Cooldown != "" {
		d, err := time.ParseDuration(j.Cooldown)
		if err != nil || d < 0 {
			errs = append(errs, &config.FieldError{Field: "cooldown", Reason: "must be a duration such as 30m or 1h (0s: no cooldown)"})
		}
		c.Cooldown = d
	}
	if len(errs) > 0 {
		return invalid(errs)
	}
	if err := a.DB.PutAlerts(r.Context(), in.ID, c); err != nil {
		return fmt.Errorf("saving the alert settings of %q: %w", in.ID, err)
	}
	WriteJSON(w, http.StatusOK, alertsJSON(c))
	return nil
}
