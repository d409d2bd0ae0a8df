package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// DefaultCooldown is the least time between two alerts of one app when
// the configuration names none.
const DefaultCooldown = time.Hour

// DefaultEvery is how often the monitor looks at every app's health.
const DefaultEvery = 15 * time.Second

// claimLease is how long a hub holds an alert it is sending; a hub that
// dies while sending leaves it to another after this.
const claimLease = time.Minute

// Plugins is what the monitor needs of the plugin host.
type Plugins interface {
	Info(name string) (sdk.Info, bool)
	Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error)
}

// Monitor computes the apps' health and sends alerts.
type Monitor struct {
	DB      *state.DB
	Plugins Plugins
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Interval is the hub's default poll interval.
	Interval time.Duration
	// Every is how often Run looks (default DefaultEvery).
	Every time.Duration
	// HTTP sends the webhooks (default: a client with a 10 s timeout).
	// Redirects are never followed, whatever the client: the alert (and
	// the URL's secret) goes to the host the admin named or nowhere.
	HTTP *http.Client
	// AllowHosts, when set, are the only hosts alert webhooks may reach
	// (config health.alert_hosts; host names, compared case-insensitively).
	AllowHosts []string
	// DeadLetters counts the bus's dead letters by app (nil: none known).
	DeadLetters func(ctx context.Context) (map[bus.AppRef]int, error)
	// Owner names this hub in the alert claims (state.NewOwner: the same
	// across restarts; default the host name). Each Monitor claims as an
	// owner instance of its own.
	Owner string

	now         func() time.Time
	ownerOnce   sync.Once
	owner       state.Owner
	unsupported sync.Map // helpdesk plugins that post no alerts (logged once)
	// sentTo maps an alert's key to the channels that took it, while
	// another failed: its retry skips them (the helpdesk also dedupes by
	// key, for retries on another hub).
	sentTo sync.Map
}

// leaseOwner is who this monitor claims alerts as.
func (m *Monitor) leaseOwner() state.Owner {
	m.ownerOnce.Do(func() { m.owner = state.NewOwner(m.Owner) })
	return m.owner
}

func (m *Monitor) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// App is an app's health now.
type App struct {
	state.HealthRow
	Status
	// Changed: the computed state differs from the one recorded.
	Changed bool
	// History says what the app's newest history import recovered and
	// what is still missing (HistoryNote); "" when nothing to say.
	History string
}

// Apps computes the health of the apps of an integration (all when
// integrationID is empty). Since is the time the app entered its state:
// from the facts where they tell, else when the state was recorded.
func (m *Monitor) Apps(ctx context.Context, integrationID string) ([]App, error) {
	now := m.clock()
	rows, err := m.DB.HealthRows(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	var dead map[bus.AppRef]int
	if m.DeadLetters != nil {
		if dead, err = m.DeadLetters(ctx); err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
	}
	lost, err := m.DB.LostByApp(ctx)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	imports, err := m.DB.LatestHistoryImports(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	out := make([]App, 0, len(rows))
	for _, r := range rows {
		r.Delivery.DeadLetters = dead[bus.AppRef{Integration: r.IntegrationID, App: r.AppID}]
		r.Delivery.Lost = lost[r.AppRef]
		var window time.Duration
		if info, ok := m.Plugins.Info(r.StorePlugin); ok && info.Store != nil {
			window = info.Store.ListingWindow
		}
		interval := r.Interval // as last scheduled, after quota budgets
		if interval <= 0 {
			interval = config.PollInterval(r.AppInterval, m.Interval)
		}
		st := Compute(r, interval, window, now)
		a := App{HealthRow: r, Status: st, Changed: st.Health != r.Recorded,
			History: HistoryNote(imports[[2]string{r.IntegrationID, r.AppID}], now, window)}
		switch {
		case !a.Changed && !r.RecordedSince.IsZero():
			a.Since = r.RecordedSince
		case st.Since.IsZero():
			a.Since = now
		}
		out = append(out, a)
	}
	return out, nil
}

// Run looks at every app's health every Every until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	every := m.Every
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check records changed health states and sends the alerts due.
func (m *Monitor) Check(ctx context.Context) {
	if err := m.DB.KeepHealthRows(ctx, m.clock()); err != nil {
		if ctx.Err() == nil {
			m.Logger.Error("keeping the health rows failed", "error", err)
		}
		return
	}
	apps, err := m.Apps(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			m.Logger.Error("computing app health failed", "error", err)
		}
		return
	}
	configs := map[string]*state.AlertConfig{}
	for _, a := range apps {
		log := m.Logger.With("integration", a.IntegrationID, "app", a.AppID, "store", a.StorePlugin)
		if a.Changed {
			level := slog.LevelInfo
			switch {
			case a.Health != sdk.HealthOK:
				level = slog.LevelWarn
			case a.Recorded == "":
				level = slog.LevelDebug // an app new to the health table, fine
			}
			log.Log(ctx, level, "app health changed", "health", a.Health, "was", a.Recorded, "reason", a.Reason, "since", a.Since)
			if err := m.recordHealth(ctx, a); err != nil {
				log.Error("recording app health failed", "error", err)
			}
		}
		cfg, ok := configs[a.IntegrationID]
		if !ok {
			c, err := m.DB.Alerts(ctx, a.IntegrationID)
			if err != nil {
				log.Error("reading the alert settings failed", "error", err)
				continue
			}
			cfg = &c
			configs[a.IntegrationID] = cfg
		}
		if cfg.Enabled() {
			m.alert(ctx, log, a, *cfg)
		}
	}
}

// recordHealth records an app's changed health and, when it had one
// before, the app.health_changed event with it (one transaction; of
// several hubs computing the change, one records it).
func (m *Monitor) recordHealth(ctx context.Context, a App) error {
	var event func() (state.Event, error)
	if a.Recorded != "" {
		event = func() (state.Event, error) {
			return events.HealthChanged(events.HealthData{Integration: a.IntegrationID, App: a.AppID, AppName: a.AppName,
				Store: a.StorePlugin, Health: a.Health, Previous: a.Recorded, Reason: a.Reason, Since: a.Since}, m.clock())
		}
	}
	_, err := m.DB.ChangeHealth(ctx, a.AppRef, a.Recorded, a.Health, a.Reason, a.Since, event)
	return err
}

// alert sends the app's alert when one is due: its state turned bad (or
// to another bad state), or it is ok again after an alerted bad state;
// never within the cooldown of the last one. A change that reverts within
// the cooldown sends nothing.
func (m *Monitor) alert(ctx context.Context, log *slog.Logger, a App, cfg state.AlertConfig) {
	was := a.Alerted
	if was == "" {
		was = sdk.HealthOK
	}
	recovered := a.Health == sdk.HealthOK && Bad(was)
	if !recovered && (!Bad(a.Health) || a.Health == was) {
		return
	}
	now := m.clock()
	if !a.AlertedAt.IsZero() && now.Sub(a.AlertedAt) < cfg.Cooldown {
		log.Debug("alert held back by the cooldown", "health", a.Health, "last_alert", a.AlertedAt, "cooldown", cfg.Cooldown)
		return
	}
	claim, claimed, err := m.DB.ClaimAlert(ctx, m.leaseOwner(), a.AppRef, a.Alerted, now, claimLease)
	if err != nil {
		log.Error("claiming an alert failed", "error", err)
		return
	}
	if !claimed {
		return // another hub sends it, or sent it
	}
	al := sdk.Alert{IntegrationID: a.IntegrationID, AppID: a.AppID, AppName: a.AppName, Store: a.StorePlugin,
		StoreName: m.storeName(a.StorePlugin),
		Health:    a.Health, Previous: was, Recovered: recovered, Reason: a.Reason, Since: a.Since,
		Key: fmt.Sprintf("%s/%s/%s>%s/%d", a.IntegrationID, a.AppID, was, a.Health, a.AlertedAt.UnixMilli())}
	al.Title, al.Text = describe(al)
	kind := "alert"
	if recovered {
		kind = "recovery"
	}
	done, _ := m.sentTo.LoadOrStore(al.Key, &sync.Map{})
	sent := done.(*sync.Map)
	ok := true
	send := func(channel string, fn func() bool) {
		if _, already := sent.Load(channel); already {
			return
		}
		if fn() {
			sent.Store(channel, true)
		} else {
			ok = false
		}
	}
	if cfg.Helpdesk {
		send("helpdesk", func() bool { return m.toHelpdesk(ctx, log, al, kind) })
	}
	if cfg.WebhookURL != "" {
		send("webhook", func() bool { return m.toWebhook(ctx, log, cfg.WebhookURL, al, kind) })
	}
	if ok {
		m.sentTo.Delete(al.Key)
	}
	if !ok {
		// The next check tries again (the helpdesk dedupes by the alert's key).
		if err := m.DB.ReleaseAlert(ctx, a.AppRef, claim); err != nil {
			log.Error("releasing an unsent alert failed; it is retried when its claim expires", "error", err)
		}
		return
	}
	log.Info("alert sent", "kind", kind, "health", a.Health, "was", was)
	if err := m.DB.AlertSent(ctx, a.AppRef, claim, a.Health, now); errors.Is(err, state.ErrLeaseLost) {
		log.Warn("the alert's claim ran out while sending and another hub took it; it records the alert", "error", err)
	} else if err != nil {
		log.Error("recording a sent alert failed", "error", err)
	}
}

// storeName is how people call the store plugin (rules.StoreName), or its
// name when it is not installed.
func (m *Monitor) storeName(plugin string) string {
	var info sdk.Info
	if m.Plugins != nil {
		info, _ = m.Plugins.Info(plugin)
	}
	return rules.StoreName(plugin, info)
}

func describe(a sdk.Alert) (title, text string) {
	store := a.DisplayStore()
	name := a.AppName
	if name == "" {
		name = a.AppID
	}
	if a.Recovered {
		title = fmt.Sprintf("Reviewhub: reviews of %s (%s) flow again", name, store)
		text = fmt.Sprintf("The app %s (%s, integration %s) is healthy again after %q. Reviews are polled and delivered as usual.",
			name, store, a.IntegrationID, a.Previous)
		return title, text
	}
	title = fmt.Sprintf("Reviewhub: reviews of %s (%s) are not arriving: %s", name, store, a.Health)
	text = fmt.Sprintf("The app %s (%s, integration %s) is %q since %s: %s.", name, store, a.IntegrationID, a.Health,
		a.Since.UTC().Format(time.RFC3339), a.Reason)
	switch a.Health {
	case sdk.HealthCredentials:
		text += " Renew or fix the app's store credentials (hub check " + a.IntegrationID + " shows what the store says)."
	case sdk.HealthAtRisk:
		text += " The store lists only recent reviews: fix the cause soon or reviews are lost."
	case sdk.HealthStalled:
		text += " See GET /api/integrations/" + a.IntegrationID + "/status or hub status for the schedule and the last error."
	case sdk.HealthFailing:
		text += " Fix the cause named above, then retry or drop the dead letters (hub deadletters list), or save or check the integration again."
	}
	return title, text
}

func (m *Monitor) toHelpdesk(ctx context.Context, log *slog.Logger, a sdk.Alert, kind string) bool {
	in, err := m.DB.Integration(ctx, a.IntegrationID)
	if err != nil {
		log.Error("alert: reading the integration failed", "error", err)
		m.Metrics.Alert(a.IntegrationID, kind, "helpdesk", "failed")
		return false
	}
	hd, _, err := m.Plugins.Helpdesk(in.HelpdeskPlugin)
	var alerter sdk.AlertPoster
	if err == nil {
		var ok bool
		if alerter, ok = hd.(sdk.AlertPoster); !ok {
			err = &sdk.Error{Kind: sdk.ErrorKindUnsupported, Message: "the helpdesk plugin posts no alerts"}
		}
	}
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = alerter.PostAlert(cctx, sdk.PostAlertRequest{Settings: in.HelpdeskSettings, IntegrationID: in.ID, Alert: a})
		cancel()
	}
	switch {
	case err == nil:
		m.Metrics.Alert(a.IntegrationID, kind, "helpdesk", "sent")
		return true
	case sdk.KindOf(err) == sdk.ErrorKindUnsupported:
		if _, seen := m.unsupported.LoadOrStore(in.HelpdeskPlugin, true); !seen {
			log.Warn("the helpdesk plugin posts no alerts (built with an older SDK?); alerts go to the webhook only",
				"plugin", in.HelpdeskPlugin)
		}
		m.Metrics.Alert(a.IntegrationID, kind, "helpdesk", "unsupported")
		return true
	}
	log.Error("alert: the helpdesk plugin failed to post it", "error", err, "kind", sdk.KindOf(err).String())
	m.Metrics.Alert(a.IntegrationID, kind, "helpdesk", "failed")
	return false
}

// WebhookPayload is the JSON the outgoing webhook receives: "text" is what
// Slack, Mattermost and Rocket.Chat incoming webhooks show; "alert" has the
// fields for machines.
type WebhookPayload struct {
	Text  string       `json:"text"`
	Alert WebhookAlert `json:"alert"`
}

// WebhookAlert is the machine-readable part of an alert.
type WebhookAlert struct {
	Key         string    `json:"key"`
	Integration string    `json:"integration"`
	App         string    `json:"app"`
	AppName     string    `json:"app_name,omitempty"`
	Store       string    `json:"store"`
	Health      string    `json:"health"`
	Previous    string    `json:"previous"`
	Recovered   bool      `json:"recovered"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
}

func (m *Monitor) toWebhook(ctx context.Context, log *slog.Logger, target string, a sdk.Alert, kind string) bool {
	body, _ := json.Marshal(WebhookPayload{Text: "*" + a.Title + "*\n" + a.Text, Alert: WebhookAlert{Key: a.Key,
		Integration: a.IntegrationID, App: a.AppID, AppName: a.AppName, Store: a.Store, Health: a.Health,
		Previous: a.Previous, Recovered: a.Recovered, Reason: a.Reason, Since: a.Since}})
	err := m.post(ctx, target, body)
	if err != nil {
		// The URL carries the webhook's secret: the error never names it.
		log.Error("alert: the webhook failed", "error", err)
		m.Metrics.Alert(a.IntegrationID, kind, "webhook", "failed")
		return false
	}
	m.Metrics.Alert(a.IntegrationID, kind, "webhook", "sent")
	return true
}

func (m *Monitor) post(ctx context.Context, target string, body []byte) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return errors.New("the webhook URL is not valid")
	}
	if err := m.allowed(req.URL); err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	base := m.HTTP
	if base == nil {
		base = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := NoRedirects(base).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST to the alert webhook (host %s): %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the alert webhook (host %s) answered %s", req.URL.Host, resp.Status)
	}
	return nil
}

// allowed refuses a webhook URL that is not http(s), or whose host is not
// in AllowHosts when that is set (the error names the host, never the
// URL: it carries the webhook's secret).
func (m *Monitor) allowed(u *url.URL) error {
	return CheckOutbound(u, m.AllowHosts, "the alert webhook")
}

// NoRedirects returns a copy of c (nil: a zero client) that follows no
// redirect: an outbound call (alert, webhook) answers with the redirect
// itself, so a receiver cannot send the hub somewhere its host rules
// were not checked.
func NoRedirects(c *http.Client) *http.Client {
	n := http.Client{}
	if c != nil {
		n = *c
	}
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

// CheckOutbound is the rule for every URL the hub posts to on its own
// (alert webhooks, outbound event webhooks): http(s) only, and, when
// allowHosts (health.alert_hosts) is set, one of its hosts. The error
// names what (the kind of URL) and the host, never the URL, which may
// carry a secret.
func CheckOutbound(u *url.URL, allowHosts []string, what string) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s must be an http(s) URL, not %q", what, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%s has no host", what)
	}
	if len(allowHosts) == 0 {
		return nil
	}
	host := u.Hostname()
	for _, h := range allowHosts {
		if strings.EqualFold(h, host) {
			return nil
		}
	}
	return fmt.Errorf("%s's host %s is not in health.alert_hosts", what, host)
}

// Sample emits every app's health for the metrics: reviewhub_app_health
// (1, labelled with the current state), the time of the last successful
// poll and since when the app is in its state.
func (m *Monitor) Sample(ctx context.Context, emit metrics.Emit) error {
	apps, err := m.Apps(ctx, "")
	if err != nil {
		return err
	}
	for _, a := range apps {
		l := []string{"integration", a.IntegrationID, "app", a.AppID, "store", a.StorePlugin}
		emit("app_health", "An app's health, computed by the hub: 1 with the current state in the health label "+
			"(ok, degraded, quota, failing, stalled, credentials, at risk of loss).", false, 1, append(l, "health", a.Health)...)
		emit("app_health_since_timestamp_seconds", "When the app entered its current health state (Unix time).",
			false, float64(a.Since.UnixMilli())/1000, l...)
		if !a.LastOK.IsZero() {
			emit("app_last_success_timestamp_seconds", "When the app was last polled successfully (Unix time).",
				false, float64(a.LastOK.UnixMilli())/1000, l...)
		}
		emit("app_poll_failures", "Polls of the app that failed in a row.", false, float64(a.Failures), l...)
	}
	return nil
}

// Notify sends a notice about the hub itself (an outbound webhook
// endpoint disabled, hub/webhooks) through the alert path of integration
// integrationID, or of every integration when "": its helpdesk and its
// alert webhook, as configured, without a cooldown (the caller sends each
// notice once). key identifies the notice (the helpdesk dedupes by it).
func (m *Monitor) Notify(ctx context.Context, integrationID, kind, key, title, text string) error {
	ids := []string{integrationID}
	if integrationID == "" {
		ins, err := m.DB.Integrations(ctx)
		if err != nil {
			return fmt.Errorf("health: notice %s: %w", key, err)
		}
		ids = ids[:0]
		for _, in := range ins {
			ids = append(ids, in.ID)
		}
	}
	var errs []error
	for _, id := range ids {
		cfg, err := m.DB.Alerts(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !cfg.Enabled() {
			continue
		}
		log := m.Logger.With("integration", id, "notice", kind)
		al := sdk.Alert{IntegrationID: id, Key: key + "/" + id, Title: title, Text: text, Since: m.clock()}
		if cfg.Helpdesk && !m.toHelpdesk(ctx, log, al, kind) {
			errs = append(errs, fmt.Errorf("the helpdesk of integration %s did not take the notice", id))
		}
		if cfg.WebhookURL != "" && !m.toWebhook(ctx, log, cfg.WebhookURL, al, kind) {
			errs = append(errs, fmt.Errorf("the alert webhook of integration %s did not take the notice", id))
		}
	}
	return errors.Join(errs...)
}
