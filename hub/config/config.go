// Package config reads and validates the hub's YAML configuration.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unique"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/notifypolicy"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/sdk"
)

// Config is the hub's configuration file.
type Config struct {
	// Listen is the HTTP address (env HUB_LISTEN).
	Listen string `yaml:"listen"`
	// PublicURL is how helpdesks reach the hub (for webhook URLs shown to users).
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For is believed: a request from one of them is
	// from the right-most forwarded address not in this list. Empty: the
	// header is ignored and the client is the connection's address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// DataDir holds the SQLite database and the generated secret key (env HUB_DATA_DIR).
	DataDir string  `yaml:"data_dir"`
	State   State   `yaml:"state"`
	Bus     Bus     `yaml:"bus"`
	Plugins Plugins `yaml:"plugins"`
	// PollInterval is the default poll interval per app.
	PollInterval time.Duration `yaml:"poll_interval"`
	Schedule     Schedule      `yaml:"schedule"`
	// SecretKey (base64, 32 bytes) seals credentials at rest (env HUB_SECRET_KEY).
	// Empty: a key is generated once in DataDir/secret.key.
	SecretKey string `yaml:"secret_key"`
	// AcceptedSecretKeys (base64, comma-separated; env
	// HUB_ACCEPTED_SECRET_KEYS) unseal but never seal: the old key while
	// `hub rotate-key` re-seals with a new one (docs/operations.md).
	AcceptedSecretKeys string `yaml:"accepted_secret_keys"`
	// AdminToken authenticates the admin API (env HUB_ADMIN_TOKEN), at least
	// MinAdminTokenLength characters. Empty: the admin API is off.
	AdminToken string `yaml:"admin_token"`
	// AdminTokenDisabled turns the configured admin token off: neither
	// the API nor the console accepts it; personal API tokens (hub token
	// create) still sign in to the API (docs/operations.md, "Roles,
	// tokens and the audit log").
	AdminTokenDisabled bool  `yaml:"admin_token_disabled"`
	Audit              Audit `yaml:"audit"`
	// ShutdownTimeout bounds a graceful stop (SIGTERM): work still in
	// flight then stays queued, the plugins are killed and the hub exits 0.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Log             Log           `yaml:"log"`
	Metrics         Metrics       `yaml:"metrics"`
	Health          Health        `yaml:"health"`
	Webhooks        Webhooks      `yaml:"webhooks"`
	Notify          Notify        `yaml:"notify"`
	Console         Console       `yaml:"console"`
	Integrations    []Integration `yaml:"integrations"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen, when set, serves /metrics on its own address (e.g.
	// 127.0.0.1:9464) instead of the hub's listener; "off" serves none.
	Listen string `yaml:"listen"`
}

// Health configures how often app health is looked at (alerts are sent
// from there).
type Health struct {
	// CheckEvery is how often every app's health is computed (default 15s).
	CheckEvery time.Duration `yaml:"check_every"`
	// AlertHosts, when set, are the only hosts alert webhooks may reach.
	AlertHosts []string `yaml:"alert_hosts"`
}

// Webhooks configures the outbound webhooks: the hub's events posted,
// signed per the Standard Webhooks specification, to endpoints
// (docs/events.md). Endpoints are also made in the admin API; those of
// this file are read-only there.
type Webhooks struct {
	// DisableAfter: an endpoint whose deliveries fail for this long is
	// disabled, with an alert (default 72h).
	DisableAfter time.Duration `yaml:"disable_after"`
	// Timeout is each attempt's deadline (default 15s).
	Timeout time.Duration `yaml:"timeout"`
	// Retention: delivered and given-up deliveries and their events are
	// deleted after this (default 168h).
	Retention time.Duration `yaml:"retention"`
	// Endpoints of this file.
	Endpoints []WebhookEndpoint `yaml:"endpoints"`
}

// Notify configures the chat notifications (issue 29): the hub's events
// posted through notifier plugins (Slack, Telegram) to destinations
// (docs/events.md, "Notifications").
type Notify struct {
	// Destinations of this file.
	Destinations []NotifyDestination `yaml:"destinations"`
}

// NotifyDestination is one chat destination: a notifier plugin with its
// settings, a policy (throttling into digests, quiet hours) and a route
// (which events reach it).
type NotifyDestination struct {
	Name string `yaml:"name"`
	// Plugin is the notifier plugin's name (hub-plugin-NAME).
	Plugin string `yaml:"plugin"`
	// Settings are the plugin's; write secrets as ${VAR} (environment).
	Settings map[string]string `yaml:"settings"`
	// MaxPerHour bounds the messages an hour; the rest go in a digest (0: no bound).
	MaxPerHour int `yaml:"max_per_hour"`
	// QuietHours "22:00-07:00" in TimeZone hold events for a digest.
	QuietHours string `yaml:"quiet_hours"`
	TimeZone   string `yaml:"time_zone"`
	// Urgent event types are posted in quiet hours too.
	Urgent []string `yaml:"urgent"`
	// Events it takes (empty: review.created, review.updated and the reply events).
	Events []string `yaml:"events"`
	// Integration: only this integration's events (empty: every one).
	Integration string `yaml:"integration"`
	// When are the review conditions of the automation's rules (apps,
	// stores, ratings, languages, countries, keywords …); an event of no
	// review (app.health_changed) passes them.
	When rules.Conditions `yaml:"when"`
}

// WebhookEndpoint is an outbound webhook endpoint of the file.
type WebhookEndpoint struct {
	ID  string `yaml:"id"`
	URL string `yaml:"url"`
	// Secret is the signing secret, whsec_ and base64 of 24 to 64 bytes;
	// use ${VAR}.
	Secret string `yaml:"secret"`
	// Events it takes (empty: every type).
	Events []string `yaml:"events"`
	// Integration: only this integration's events (empty: every one).
	Integration string `yaml:"integration"`
	Description string `yaml:"description"`
}

// Alerts says where an integration's health alerts go.
type Alerts struct {
	// Helpdesk: a note through the integration's helpdesk plugin.
	Helpdesk bool `yaml:"helpdesk"`
	// WebhookURL receives Slack-compatible JSON; use ${VAR}, it is a secret.
	WebhookURL string `yaml:"webhook_url"`
	// Cooldown: at most one alert per app within it (default 1h; 0s: none).
	Cooldown *time.Duration `yaml:"cooldown"`
}

// State selects the state backend.
type State struct {
	// Driver: "sqlite" (default, embedded) or "postgres" (several hubs share it).
	Driver string `yaml:"driver"`
	// Path of the SQLite database (default DataDir/hub.db).
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database (env HUB_STATE_DSN), e.g.
	// postgres://hub@db:5432/reviewhub?sslmode=require.
	DSN string `yaml:"dsn"`
	// MaxConnections bounds the hub's PostgreSQL connections (default
	// state.DefaultPostgresConns, 16); every hub on the database adds
	// as many, which must stay under the server's max_connections.
	MaxConnections int `yaml:"max_connections"`
	// Timeout is the deadline of every call into the state database (env
	// HUB_STATE_TIMEOUT, default 5s): a webhook that cannot be recorded
	// in time is answered 503 with Retry-After, and /readyz fails.
	Timeout time.Duration `yaml:"timeout"`
}

// Schedule tunes the poll schedule (docs/reliability.md: Outgrowing one machine).
// Zero values mean the defaults.
type Schedule struct {
	// Workers is how many apps one hub polls at once (default 16).
	Workers int `yaml:"workers"`
	// Lease is how long an app claimed by a hub stays with it unrenewed: a
	// hub that dies loses its apps to the others after it (default 1m).
	Lease time.Duration `yaml:"lease"`
	// ReplyReserve is the share of a store quota polling leaves for
	// replies (default 0.2).
	ReplyReserve float64 `yaml:"reply_reserve"`
	// ReconcileEvery is how often queued reviews whose message was lost
	// are looked for (default 5m; hub/poll/reconcile.go).
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
}

// Bus selects the message bus backend.
type Bus struct {
	// Backend: the state database's own tables, so a state change and its
	// outgoing message commit in one transaction: "sqlite" (default) with
	// state.driver sqlite, "postgres" (watermill-sql's tables) with state.driver postgres.
	// Empty: the same as state.driver.
	Backend string `yaml:"backend"`
	// InFlight bounds the reviews of one integration delivered at once
	// (default 8). Changes of one review stay in order.
	InFlight int `yaml:"in_flight"`
}

// DefaultStateTimeout is the default State.Timeout.
const DefaultStateTimeout = 5 * time.Second

// DefaultInFlight is the default Bus.InFlight.
const DefaultInFlight = 8

// Plugins says where the plugin binaries are.
type Plugins struct {
	// Dir holds hub-plugin-NAME binaries (default ./bin).
	Dir string `yaml:"dir"`
	// Paths maps a plugin name to its binary, overriding Dir.
	Paths map[string]string `yaml:"paths"`
	// HealthTimeout bounds a plugin's health check: a plugin that does not
	// answer in time is killed and restarted (default 5s).
	HealthTimeout time.Duration `yaml:"health_timeout"`
	// CallTimeout bounds every call to a plugin (default 60s); a call that
	// runs out of time is retried like any outage.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// Env names, per plugin, the hub's environment variables that plugin
	// gets besides the few every plugin gets (PATH, HOME, TMPDIR, proxies,
	// SSL_CERT_*, locale, TZ). HUB_* variables are never passed.
	Env map[string][]string `yaml:"env"`
	// Checksums pins plugin binaries: name → hex SHA-256. A plugin whose
	// binary does not match is not started.
	Checksums map[string]string `yaml:"checksums"`
}

var (
	pluginNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	envNamePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256Pattern     = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// ValidPluginName reports whether name can name a plugin (it becomes part
// of a file name): see PluginNameRule.
func ValidPluginName(name string) bool {
	return pluginNamePattern.MatchString(name) && !strings.Contains(name, "..")
}

// PluginNameRule describes valid plugin names.
const PluginNameRule = "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' or path separators"

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// Integration declared in the file ("as code"). It wins over the admin API:
// such integrations are read-only there.
type Integration struct {
	ID       string          `yaml:"id"`
	Name     string          `yaml:"name"`
	Tags     *bool           `yaml:"tags"`
	Helpdesk HelpdeskAccount `yaml:"helpdesk"`
	Apps     []App           `yaml:"apps"`
	Alerts   *Alerts         `yaml:"alerts"`
	// Automation: auto-reply rules, templates and guardrails (docs/admin-api.md:
	// "Replies: status, retry and automation").
	Automation *rules.Automation `yaml:"automation"`
}

// HelpdeskAccount is the helpdesk side of an integration.
type HelpdeskAccount struct {
	Plugin   string            `yaml:"plugin"`
	Settings map[string]string `yaml:"settings"`
}

// App is one store app of an integration.
type App struct {
	ID           string            `yaml:"id"`
	Name         string            `yaml:"name"`
	Store        string            `yaml:"store"`
	StoreAppID   string            `yaml:"store_app_id"`
	Settings     map[string]string `yaml:"settings"`
	PollInterval time.Duration     `yaml:"poll_interval"`
	Filters      filter.Filters    `yaml:"filters"`
}

// DefaultPollInterval is how often an app is polled when neither it nor
// the hub's poll_interval says.
const DefaultPollInterval = 5 * time.Minute

// PollInterval is an app's poll interval before quota budgets: its own,
// else the hub's, else DefaultPollInterval (the one rule the poller and
// the health check share).
func PollInterval(app, hub time.Duration) time.Duration {
	switch {
	case app > 0:
		return app
	case hub > 0:
		return hub
	}
	return DefaultPollInterval
}

// FieldError names the field that is wrong.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Errors is a list of field errors.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// DefaultAuditRetention is how long audit log entries are kept by default.
const DefaultAuditRetention = 365 * 24 * time.Hour

// MinAuditRetention is the shortest retention accepted.
const MinAuditRetention = 24 * time.Hour

// Audit configures the audit log.
type Audit struct {
	// Retention: entries older than this are pruned (default 8760h, a
	// year; at least 24h).
	Retention time.Duration `yaml:"retention"`
}

// AdminTokenOn reports whether the configured admin token signs in.
func (c *Config) AdminTokenOn() bool { return c.AdminToken != "" && !c.AdminTokenDisabled }

// EffectiveAdminToken is the admin token that signs in: "" when none is
// set or it is turned off.
func (c *Config) EffectiveAdminToken() string {
	if !c.AdminTokenOn() {
		return ""
	}
	return c.AdminToken
}

// Console switches the web console (docs/web-console.md) and says how
// people sign in to it (docs/operations.md, "Sign-in and sessions").
type Console struct {
	// Enabled: nil means on when there is a way to sign in (the admin
	// token or an OIDC issuer).
	Enabled *bool `yaml:"enabled"`
	// TokenSignin: false stops the admin token signing in to the console
	// (people sign in with OIDC only). nil: on.
	TokenSignin *bool `yaml:"token_signin"`
	// SessionIdle ends a session unused this long (default 12h).
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMaxAge ends a session this long after sign-in, however much
	// it is used (default 168h, 7 days).
	SessionMaxAge time.Duration `yaml:"session_max_age"`
	// OIDC are the OpenID Connect issuers people sign in with, each a
	// button on the sign-in page.
	OIDC []OIDCIssuer `yaml:"oidc"`
}

// OIDCIssuer is an OpenID Connect issuer of the console's sign-in. Its
// redirect URL, to register at the issuer, is
// PUBLIC_URL/console/oidc/ID/callback.
type OIDCIssuer struct {
	// ID names it in the redirect URL and in sessions.
	ID string `yaml:"id"`
	// Name is on the button: "Sign in with NAME" (default: the id).
	Name string `yaml:"name"`
	// Issuer is the issuer URL, as in its ID tokens' iss.
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecret: use ${VAR}, it is a secret.
	ClientSecret string `yaml:"client_secret"`
	// Scopes asked for besides openid (default [email, profile]).
	Scopes []string `yaml:"scopes"`
	// GroupsClaim is the ID token's claim with the groups (default groups).
	GroupsClaim string `yaml:"groups_claim"`
	// Roles: the first rule that matches gives the role; an account no
	// rule matches is refused.
	Roles []OIDCRoleRule `yaml:"roles"`
	// Timeout bounds each call to the issuer (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// TrustUnverifiedEmail lets email_domain rules match an address whose
	// ID token lacks email_verified: true (for issuers that never send
	// the claim but control their addresses). Off by default.
	TrustUnverifiedEmail bool `yaml:"trust_unverified_email"`
}

// OIDCRoleRule gives Role (viewer, agent, admin) to the members of Group
// or to verified email addresses of EmailDomain: exactly one of the two.
type OIDCRoleRule struct {
	Group       string `yaml:"group"`
	EmailDomain string `yaml:"email_domain"`
	Role        string `yaml:"role"`
}

// TokenSignIn reports whether the admin token signs in to the console.
func (c Console) TokenSignIn() bool { return c.TokenSignin == nil || *c.TokenSignin }

// ConsoleOn reports whether the hub serves the web console: asked for (or
// not switched off) and a way to sign in (the admin token or OIDC).
func (c *Config) ConsoleOn() bool {
	if !c.consoleSignIn() {
		return false
	}
	return c.Console.Enabled == nil || *c.Console.Enabled
}

func (c *Config) consoleSignIn() bool {
	return (c.AdminTokenOn() && c.Console.TokenSignIn()) || len(c.Console.OIDC) > 0
}

// MinAdminTokenLength is the shortest admin token accepted.
const MinAdminTokenLength = 16

// Load reads, expands and validates the file at path. With path "" the
// defaults are used. See Parse for what it returns on invalid content.
func Load(path string) (*Config, error) {
	var raw []byte
	if path != "" {
		var err error
		if raw, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return Parse(path, raw)
}

// Parse reads a config file's content (name is used in errors), applies
// the environment, expands and validates it. Every invalid field is
// reported (the error wraps Errors). When the content parsed but is
// invalid, the config is returned with the error, so that `hub validate`
// can check further; it must not be used to run.
func Parse(name string, raw []byte) (*Config, error) {
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	errs := cfg.applyEnv()
	cfg.setDefaults()
	errs = append(errs, cfg.expandEnv()...)
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err.(Errors)...)
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("config %s: %w", name, errs)
	}
	return cfg, nil
}

func (c *Config) applyEnv() Errors {
	for env, dst := range map[string]*string{
		"HUB_LISTEN": &c.Listen, "HUB_DATA_DIR": &c.DataDir, "HUB_SECRET_KEY": &c.SecretKey,
		"HUB_ACCEPTED_SECRET_KEYS": &c.AcceptedSecretKeys, "HUB_ADMIN_TOKEN": &c.AdminToken, "HUB_PUBLIC_URL": &c.PublicURL,
		"HUB_STATE_DRIVER": &c.State.Driver, "HUB_STATE_DSN": &c.State.DSN, "HUB_STATE_PATH": &c.State.Path,
		"HUB_BUS_BACKEND": &c.Bus.Backend, "HUB_PLUGINS_DIR": &c.Plugins.Dir,
		"HUB_LOG_LEVEL": &c.Log.Level, "HUB_LOG_FORMAT": &c.Log.Format, "HUB_METRICS_LISTEN": &c.Metrics.Listen,
	} {
		if v, ok := os.LookupEnv(env); ok {
			*dst = v
		}
	}
	var errs Errors
	for env, dst := range map[string]*time.Duration{"HUB_STATE_TIMEOUT": &c.State.Timeout} {
		if v, ok := os.LookupEnv(env); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, &FieldError{env, fmt.Sprintf("%q is not a duration (e.g. 5s)", v)})
				continue
			}
			*dst = d
		}
	}
	return errs
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.State.Driver == "" {
		c.State.Driver = "sqlite"
	}
	if c.State.Path == "" {
		c.State.Path = filepath.Join(c.DataDir, "hub.db")
	}
	if c.Bus.Backend == "" {
		c.Bus.Backend = c.State.Driver
	}
	if c.Plugins.Dir == "" {
		c.Plugins.Dir = "./bin"
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Bus.InFlight == 0 {
		c.Bus.InFlight = DefaultInFlight
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.State.Timeout == 0 {
		c.State.Timeout = DefaultStateTimeout
	}
	if c.Plugins.HealthTimeout == 0 {
		c.Plugins.HealthTimeout = 5 * time.Second
	}
	if c.Plugins.CallTimeout == 0 {
		c.Plugins.CallTimeout = time.Minute
	}
	if c.Audit.Retention == 0 {
		c.Audit.Retention = DefaultAuditRetention
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in the secrets (admin_token, secret_key,
// state.dsn) and in settings values with the environment's value, so
// secrets stay out of the file. An unset or empty variable is an error
// (an empty admin token would turn the API off, an empty key would make
// the hub generate its own).
func (c *Config) expandEnv() Errors {
	var errs Errors
	expand := func(field string, v string) string {
		return envRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			val, ok := os.LookupEnv(name)
			switch {
			case !ok:
				errs = append(errs, &FieldError{field, fmt.Sprintf("environment variable %s is not set", name)})
			case val == "":
				errs = append(errs, &FieldError{field, fmt.Sprintf("environment variable %s is empty", name)})
			}
			return val
		})
	}
	c.AdminToken = expand("admin_token", c.AdminToken)
	c.SecretKey = expand("secret_key", c.SecretKey)
	c.AcceptedSecretKeys = expand("accepted_secret_keys", c.AcceptedSecretKeys)
	c.State.DSN = expand("state.dsn", c.State.DSN)
	for i := range c.Console.OIDC {
		o := &c.Console.OIDC[i]
		o.ClientID = expand(fmt.Sprintf("console.oidc[%d].client_id", i), o.ClientID)
		o.ClientSecret = expand(fmt.Sprintf("console.oidc[%d].client_secret", i), o.ClientSecret)
	}
	for i, d := range c.Notify.Destinations {
		for k, v := range d.Settings {
			d.Settings[k] = expand(fmt.Sprintf("notify.destinations[%d].settings.%s", i, k), v)
		}
	}
	for i, in := range c.Integrations {
		if in.Alerts != nil {
			in.Alerts.WebhookURL = expand(fmt.Sprintf("integrations[%d].alerts.webhook_url", i), in.Alerts.WebhookURL)
		}
		for k, v := range in.Helpdesk.Settings {
			in.Helpdesk.Settings[k] = expand(fmt.Sprintf("integrations[%d].helpdesk.settings.%s", i, k), v)
		}
		for j, a := range in.Apps {
			for k, v := range a.Settings {
				// Apps of one account share their credentials: one
				// string for equal values (10,000 apps of one service
				// account kept 22 MB of copies in make bench-scale).
				a.Settings[k] = unique.Make(expand(fmt.Sprintf("integrations[%d].apps[%d].settings.%s", i, j, k), v)).Value()
			}
		}
	}
	return errs
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// HTTPURL checks that s is an absolute http or https URL with a host. The
// error does not repeat s (it may hold credentials).
func HTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return errors.New("must be an absolute http(s) URL (no scheme)")
		}
		return fmt.Errorf("must be an http(s) URL, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("must be an absolute http(s) URL with a host")
	}
	return nil
}

// ValidID reports whether s is a valid integration or app id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// IDRule describes valid ids.
const IDRule = "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"

// Validate checks the configuration; errors (Errors) name the field.
// Checks that need the plugins or the file system are app.Check's.
func (c *Config) Validate() error {
	var errs Errors
	add := func(field, reason string) { errs = append(errs, &FieldError{field, reason}) }
	c.validateServer(add)
	c.validateStorage(add)
	c.validateRun(add)
	c.validatePlugins(add)
	c.validateIntegrations(add)
	c.validateWebhooks(add)
	c.validateNotify(add)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// validateServer checks the HTTP listener and its public URL, the key
// sealing credentials, the admin token and the console that signs in with it.
func (c *Config) validateServer(add func(field, reason string)) {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", fmt.Sprintf("%q is not a host:port address", c.Listen))
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		add("listen", fmt.Sprintf("%q: port %q is not a port number", c.Listen, port))
	}
	if c.PublicURL != "" { // empty: derived from listen
		if err := HTTPURL(c.PublicURL); err != nil {
			add("public_url", err.Error())
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			add(fmt.Sprintf("trusted_proxies[%d]", i), fmt.Sprintf("%q is not an IP address or CIDR prefix (10.0.0.0/8, 2001:db8::/32)", p))
		}
	}
	if c.SecretKey != "" {
		if _, err := secrets.ParseKey(c.SecretKey); err != nil {
			add("secret_key", keyReason(err)+" (generate one with `openssl rand -base64 32`)")
		}
	}
	if _, err := c.AcceptedKeys(); err != nil {
		add("accepted_secret_keys", err.Error())
	}
	if n := len(c.AdminToken); n > 0 && n < MinAdminTokenLength {
		add("admin_token", fmt.Sprintf("is %d characters long; use at least %d (e.g. `openssl rand -hex 32`)", n, MinAdminTokenLength))
	}
	if c.Console.Enabled != nil && *c.Console.Enabled && !c.consoleSignIn() {
		add("console.enabled", "the console needs a way to sign in: set admin_token (or HUB_ADMIN_TOKEN) or console.oidc")
	}
	if c.Audit.Retention != 0 && c.Audit.Retention < MinAuditRetention { // 0: the default
		add("audit.retention", fmt.Sprintf("%s is shorter than %s", c.Audit.Retention, MinAuditRetention))
	}
	c.validateConsole(add)
}

// validateStorage checks the state database and the bus kept in it.
func (c *Config) validateStorage(add func(field, reason string)) {
	switch c.State.Driver {
	case "sqlite":
	case "postgres":
		if c.State.DSN == "" {
			add("state.dsn", "is required with state.driver postgres (or set HUB_STATE_DSN)")
		}
	default:
		add("state.driver", fmt.Sprintf("%q is not supported (supported: sqlite, postgres)", c.State.Driver))
	}
	if c.State.Timeout != 0 && c.State.Timeout < 100*time.Millisecond {
		add("state.timeout", fmt.Sprintf("%s is shorter than 100ms", c.State.Timeout))
	}
	switch c.Bus.Backend {
	case "sqlite", "postgres":
		if c.Bus.Backend != c.State.Driver {
			add("bus.backend", fmt.Sprintf("%q needs state.driver %q: the bus keeps its messages in the state database (outbox)", c.Bus.Backend, c.Bus.Backend))
		}
	default:
		add("bus.backend", fmt.Sprintf("%q is not supported (supported: sqlite, postgres)", c.Bus.Backend))
	}
}

// validateRun checks how the hub runs: logging, concurrency, intervals,
// the metrics listener and the shutdown deadline.
func (c *Config) validateRun(add func(field, reason string)) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", fmt.Sprintf("%q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", fmt.Sprintf("%q is not one of text, json", c.Log.Format))
	}
	if c.State.MaxConnections < 0 || c.State.MaxConnections > 1000 {
		add("state.max_connections", fmt.Sprintf("%d is not between 1 and 1000", c.State.MaxConnections))
	}
	if c.Bus.InFlight < 0 || c.Bus.InFlight > 64 {
		add("bus.in_flight", fmt.Sprintf("%d is not between 1 and 64", c.Bus.InFlight))
	}
	if c.PollInterval < time.Second {
		add("poll_interval", fmt.Sprintf("%s is shorter than 1s", c.PollInterval))
	}
	if c.Schedule.Workers < 0 {
		add("schedule.workers", fmt.Sprintf("%d is negative", c.Schedule.Workers))
	}
	if c.Schedule.Lease != 0 && c.Schedule.Lease < time.Second {
		add("schedule.lease", fmt.Sprintf("%s is shorter than 1s", c.Schedule.Lease))
	}
	if c.Schedule.ReconcileEvery != 0 && c.Schedule.ReconcileEvery < time.Second {
		add("schedule.reconcile_every", fmt.Sprintf("%s is shorter than 1s", c.Schedule.ReconcileEvery))
	}
	if c.Schedule.ReplyReserve < 0 || c.Schedule.ReplyReserve >= 1 {
		add("schedule.reply_reserve", fmt.Sprintf("%v is not between 0 and 1 (exclusive of 1)", c.Schedule.ReplyReserve))
	}
	if c.Health.CheckEvery < 0 {
		add("health.check_every", "is negative")
	}
	if l := c.Metrics.Listen; l != "" && l != "off" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			add("metrics.listen", fmt.Sprintf("%q is not a host:port address (or off)", l))
		}
	}
	// Zero durations mean the default (a Config built in code).
	if c.ShutdownTimeout != 0 && c.ShutdownTimeout < time.Second {
		add("shutdown_timeout", fmt.Sprintf("%s is shorter than 1s", c.ShutdownTimeout))
	}
}

// validateWebhooks checks the outbound webhooks and their endpoints.
func (c *Config) validateWebhooks(add func(field, reason string)) {
	w := c.Webhooks
	if w.DisableAfter != 0 && w.DisableAfter < time.Minute {
		add("webhooks.disable_after", fmt.Sprintf("%s is shorter than 1m", w.DisableAfter))
	}
	if w.Timeout != 0 && (w.Timeout < time.Second || w.Timeout > 5*time.Minute) {
		add("webhooks.timeout", fmt.Sprintf("%s is not between 1s and 5m", w.Timeout))
	}
	if w.Retention != 0 && w.Retention < time.Hour {
		add("webhooks.retention", fmt.Sprintf("%s is shorter than 1h", w.Retention))
	}
	seen := map[string]bool{}
	for i, e := range w.Endpoints {
		f := fmt.Sprintf("webhooks.endpoints[%d]", i)
		switch {
		case !ValidID(e.ID):
			add(f+".id", fmt.Sprintf("%q is not an id (lower-case letters, digits, - and _, up to 63)", e.ID))
		case seen[e.ID]:
			add(f+".id", fmt.Sprintf("%q is used twice", e.ID))
		}
		seen[e.ID] = true
		if err := HTTPURL(e.URL); err != nil {
			add(f+".url", err.Error())
		}
		if err := WebhookSecret(e.Secret); err != nil {
			add(f+".secret", err.Error())
		}
		for j, t := range e.Events {
			if !events.Known(t) {
				add(fmt.Sprintf("%s.events[%d]", f, j), fmt.Sprintf("%q is not an event type (%s)", t, strings.Join(events.Types, ", ")))
			}
		}
		if e.Integration != "" && !c.hasIntegration(e.Integration) {
			add(f+".integration", fmt.Sprintf("%q is not an integration of this file", e.Integration))
		}
	}
}

// validateNotify checks the notification destinations.
func (c *Config) validateNotify(add func(field, reason string)) {
	seen := map[string]bool{}
	for i, d := range c.Notify.Destinations {
		f := fmt.Sprintf("notify.destinations[%d]", i)
		switch {
		case !ValidID(d.Name):
			add(f+".name", fmt.Sprintf("%q is not a name (lower-case letters, digits, - and _, up to 63)", d.Name))
		case seen[d.Name]:
			add(f+".name", fmt.Sprintf("%q is used twice", d.Name))
		}
		seen[d.Name] = true
		if !ValidPluginName(d.Plugin) {
			add(f+".plugin", fmt.Sprintf("%q is not a plugin name: %s", d.Plugin, PluginNameRule))
		}
		if d.MaxPerHour < 0 {
			add(f+".max_per_hour", fmt.Sprintf("%d is negative", d.MaxPerHour))
		}
		if d.QuietHours != "" {
			if _, err := notifypolicy.ParseQuietHours(d.QuietHours, d.TimeZone); err != nil {
				add(f+".quiet_hours", err.Error())
			}
		} else if d.TimeZone != "" {
			if _, err := time.LoadLocation(d.TimeZone); err != nil {
				add(f+".time_zone", fmt.Sprintf("%q is not a time zone", d.TimeZone))
			}
		}
		for j, t := range d.Events {
			if !events.Known(t) && t != sdk.EventSpike {
				add(fmt.Sprintf("%s.events[%d]", f, j), fmt.Sprintf("%q is not an event type (%s, %s)", t, strings.Join(events.Types, ", "), sdk.EventSpike))
			}
		}
		for j, t := range d.Urgent {
			if !events.Known(t) && t != sdk.EventSpike {
				add(fmt.Sprintf("%s.urgent[%d]", f, j), fmt.Sprintf("%q is not an event type", t))
			}
		}
		if d.Integration != "" && !c.hasIntegration(d.Integration) {
			add(f+".integration", fmt.Sprintf("%q is not an integration of this file", d.Integration))
		}
		if _, errs := rules.CompileConditions(d.When, "when"); len(errs) > 0 {
			for _, fe := range errs {
				add(f+"."+fe.Field, fe.Reason)
			}
		}
	}
}

func (c *Config) hasIntegration(id string) bool {
	for _, in := range c.Integrations {
		if in.ID == id {
			return true
		}
	}
	return false
}

// WebhookSecret checks an endpoint's signing secret: whsec_ and the
// standard base64 of 24 to 64 bytes. The error never shows the secret.
func WebhookSecret(s string) error {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return errors.New("must start with whsec_ (generate one: echo whsec_$(openssl rand -base64 32))")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return errors.New("is not whsec_ and standard base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return fmt.Errorf("has a key of %d bytes; it must have 24 to 64", len(key))
	}
	return nil
}

// validateIntegrations checks each integration: its id, alerts, apps and
// automation. Filters and automation are normalised in place.
func (c *Config) validateIntegrations(add func(field, reason string)) {
	seen := map[string]bool{}
	for i, in := range c.Integrations {
		p := fmt.Sprintf("integrations[%d]", i)
		if !ValidID(in.ID) {
			add(p+".id", fmt.Sprintf("%q %s", in.ID, IDRule))
		} else if seen[in.ID] {
			add(p+".id", fmt.Sprintf("%q is declared twice", in.ID))
		}
		seen[in.ID] = true
		if al := in.Alerts; al != nil {
			if al.WebhookURL != "" {
				if err := HTTPURL(al.WebhookURL); err != nil {
					add(p+".alerts.webhook_url", err.Error())
				}
			}
			if al.Cooldown != nil && *al.Cooldown < 0 {
				add(p+".alerts.cooldown", "is negative")
			}
		}
		c.Integrations[i].validateApps(p, add)
		if in.Automation != nil {
			apps, stores := AppsAndStores(in.Apps)
			_, errs := rules.Compile(*in.Automation, apps, stores)
			for _, fe := range errs {
				add(p+".automation."+fe.Field, fe.Reason)
			}
		}
	}
}

// validateApps checks the apps of the integration at p (its field path):
// ids unique in the integration, poll interval, filters (normalised in place).
func (in *Integration) validateApps(p string, add func(field, reason string)) {
	apps := map[string]bool{}
	for j := range in.Apps {
		a := &in.Apps[j]
		ap := fmt.Sprintf("%s.apps[%d]", p, j)
		if !ValidID(a.ID) {
			add(ap+".id", fmt.Sprintf("%q %s", a.ID, IDRule))
		} else if apps[a.ID] {
			add(ap+".id", fmt.Sprintf("%q is declared twice in this integration", a.ID))
		}
		apps[a.ID] = true
		if a.PollInterval != 0 && a.PollInterval < time.Second {
			add(ap+".poll_interval", fmt.Sprintf("%s is shorter than 1s", a.PollInterval))
		}
		if err := a.Filters.Normalize(); err != nil {
			var fe *filter.FieldError
			if errors.As(err, &fe) {
				add(ap+".filters."+fe.Field, fe.Reason)
			} else {
				add(ap+".filters", err.Error())
			}
		}
	}
}

// AppsAndStores are the app ids and the store plugin names of an
// integration's apps: what its rules may name.
func AppsAndStores(apps []App) (ids, stores []string) {
	ids, stores = []string{}, []string{}
	for _, a := range apps {
		ids = append(ids, a.ID)
		if !slices.Contains(stores, a.Store) {
			stores = append(stores, a.Store)
		}
	}
	return ids, stores
}

func (c *Config) validatePlugins(add func(field, reason string)) {
	p := &c.Plugins
	if p.HealthTimeout != 0 && p.HealthTimeout < 100*time.Millisecond {
		add("plugins.health_timeout", fmt.Sprintf("%s is shorter than 100ms", p.HealthTimeout))
	}
	if p.CallTimeout != 0 && p.CallTimeout < time.Second {
		add("plugins.call_timeout", fmt.Sprintf("%s is shorter than 1s", p.CallTimeout))
	}
	name := func(field, n string) bool {
		if !ValidPluginName(n) {
			add(field, fmt.Sprintf("plugin name %q %s", n, PluginNameRule))
			return false
		}
		return true
	}
	for n, path := range p.Paths {
		if name("plugins.paths", n) && path == "" {
			add("plugins.paths."+n, "is empty")
		}
	}
	for n, vars := range p.Env {
		if !name("plugins.env", n) {
			continue
		}
		for _, v := range vars {
			switch {
			case !envNamePattern.MatchString(v):
				add("plugins.env."+n, fmt.Sprintf("%q is not an environment variable name", v))
			case strings.HasPrefix(strings.ToUpper(v), "HUB_"):
				add("plugins.env."+n, fmt.Sprintf("%s: HUB_* variables hold the hub's own secrets and are never passed to plugins", v))
			case strings.HasPrefix(strings.ToUpper(v), "PLUGIN_") || v == "REVIEWHUB_PLUGIN":
				add("plugins.env."+n, fmt.Sprintf("%s is reserved for the plugin handshake", v))
			}
		}
	}
	for n, sum := range p.Checksums {
		if !name("plugins.checksums", n) {
			continue
		}
		if !sha256Pattern.MatchString(sum) {
			add("plugins.checksums."+n, fmt.Sprintf("%q is not a SHA-256 in hex (64 hex digits, as sha256sum prints it)", sum))
		} else {
			p.Checksums[n] = strings.ToLower(sum)
		}
	}
}

// keyReason is why secrets.ParseKey refused a key.
func keyReason(err error) string {
	var ke *secrets.KeyError
	if errors.As(err, &ke) {
		return ke.Reason
	}
	return err.Error()
}

// AcceptedKeys are the keys of AcceptedSecretKeys, decoded.
func (c *Config) AcceptedKeys() ([][]byte, error) {
	var keys [][]byte
	for i, s := range strings.Split(c.AcceptedSecretKeys, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := secrets.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %s", i+1, keyReason(err))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// TrustedProxyPrefixes are TrustedProxies parsed (a bare address is its
// own /32 or /128); Validate has refused what does not parse.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if pre, err := parseProxy(p); err == nil {
			out = append(out, pre)
		}
	}
	return out
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
