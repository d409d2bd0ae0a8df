package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State.Driver != "sqlite" || cfg.Bus.Backend != "sqlite" || cfg.Listen == "" {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_EMPTY_VAR", "")
	for _, tc := range []struct{ body, want string }{
		{"listen: [", "yaml"},
		{"nonsense: 1", "field nonsense not found"},
		{"state: {driver: oracle}", `state.driver: "oracle" is not supported`},
		{"state: {driver: postgres}", "state.dsn: is required with state.driver postgres"},
		{"bus: {backend: postgres}", `bus.backend: "postgres" needs state.driver "postgres"`},
		{"bus: {backend: kafka}", `bus.backend: "kafka" is not supported`},
		{"log: {level: loud}", "log.level"},
		{"integrations: [{id: 'Bad Id'}]", "integrations[0].id"},
		{"integrations: [{id: a}, {id: a}]", `integrations[1].id: "a" is declared twice`},
		{"integrations: [{id: a, apps: [{id: x, filters: {which: sometimes}}]}]", "integrations[0].apps[0].filters.which"},
		{"integrations: [{id: a, apps: [{id: x, filters: {backfill: 500}}]}]", "integrations[0].apps[0].filters.backfill: 500 is outside 0..100"},
		{"integrations: [{id: a, apps: [{id: x, store: appstore}], automation: {rules: [{id: r, reply: nope}]}}]",
			`integrations[0].automation.rules[0].reply: no template "nope"`},
		{"integrations: [{id: a, apps: [{id: x, store: appstore}], automation: {rules: [{id: r, tags: [t], when: {apps: [y]}}]}}]",
			`integrations[0].automation.rules[0].when.apps[0]: no app "y" in this integration (apps: x)`},
		{"integrations: [{id: a, automation: {templates: [{id: t, text: 'Hi {{nick}}'}]}}]",
			"integrations[0].automation.templates[0].text: uses {{nick}}, which is not a variable"},
		{"integrations: [{id: a, automation: {delay: soon}}]", `"soon" is not a duration`},
		{"integrations: [{id: a, automation: {exceptions: ['']}}]", "integrations[0].automation.exceptions[0]"},
		{"shutdown_timeout: 10ms", "shutdown_timeout: 10ms is shorter than 1s"},
		{"schedule: {workers: -1}", "schedule.workers: -1 is negative"},
		{"schedule: {lease: 100ms}", "schedule.lease: 100ms is shorter than 1s"},
		{"schedule: {reply_reserve: 1.5}", "schedule.reply_reserve: 1.5 is not between 0 and 1"},
		{"plugins: {health_timeout: 1ms}", "plugins.health_timeout: 1ms is shorter than 100ms"},
		{"plugins: {call_timeout: -1s}", "plugins.call_timeout: -1s is shorter than 1s"},
		{"plugins: {paths: {'../../bin/sh': /bin/sh}}", `plugins.paths: plugin name "../../bin/sh" must be`},
		{"plugins: {paths: {'a/b': /bin/sh}}", `plugins.paths: plugin name "a/b"`},
		{"plugins: {paths: {'..': /bin/sh}}", `plugins.paths: plugin name ".."`},
		{"plugins: {paths: {x: ''}}", "plugins.paths.x: is empty"},
		{"plugins: {env: {omnidesk: [HUB_ADMIN_TOKEN]}}", "plugins.env.omnidesk: HUB_ADMIN_TOKEN: HUB_* variables hold the hub's own secrets"},
		{"plugins: {env: {omnidesk: [hub_secret_key]}}", "plugins.env.omnidesk: hub_secret_key: HUB_*"},
		{"plugins: {env: {omnidesk: ['A=B']}}", `plugins.env.omnidesk: "A=B" is not an environment variable name`},
		{"plugins: {env: {omnidesk: [PLUGIN_UNIX_SOCKET_DIR]}}", "reserved for the plugin handshake"},
		{"plugins: {env: {'x/y': [A]}}", `plugins.env: plugin name "x/y"`},
		{"plugins: {checksums: {omnidesk: abc}}", `plugins.checksums.omnidesk: "abc" is not a SHA-256 in hex`},
		{"integrations: [{id: a, helpdesk: {settings: {api_key: '${REVIEWHUB_TEST_UNSET_VAR}'}}}]", "integrations[0].helpdesk.settings.api_key: environment variable REVIEWHUB_TEST_UNSET_VAR is not set"},
		{"console: {enabled: true}", "console.enabled: the console needs a way to sign in"},
		{"admin_token: 0123456789abcdef0123\nconsole: {enabled: true, token_signin: false}", "console.enabled: the console needs a way to sign in"},
		{"console: {session_idle: 10s}", "console.session_idle: 10s is shorter than 1m"},
		{"console: {session_idle: 48h, session_max_age: 24h}", "console.session_max_age: 24h0m0s is shorter than the idle timeout"},
		{"trusted_proxies: [10.0.0.0/8, proxy.local]", `trusted_proxies[1]: "proxy.local" is not an IP address or CIDR prefix`},
		{"trusted_proxies: [10.0.0.0/33]", `trusted_proxies[0]: "10.0.0.0/33"`},
		{"console: {oidc: [{id: Bad ID, issuer: https://id.example, client_id: c, client_secret: s, roles: [{group: g, role: admin}]}]}", `console.oidc[0].id: "Bad ID" must be`},
		{"console: {oidc: [{id: corp, issuer: http://id.example, client_id: c, client_secret: s, roles: [{group: g, role: admin}]}]}", "console.oidc[0].issuer: must be an https URL"},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_secret: s, roles: [{group: g, role: admin}]}]}", "console.oidc[0].client_id: is required"},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_id: c, roles: [{group: g, role: admin}]}]}", "console.oidc[0].client_secret: is required"},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_id: c, client_secret: s}]}", "console.oidc[0].roles: is required"},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_id: c, client_secret: s, roles: [{group: g, email_domain: d, role: admin}]}]}", "console.oidc[0].roles[0]: needs exactly one of group and email_domain"},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_id: c, client_secret: s, roles: [{group: g, role: root}]}]}", `console.oidc[0].roles[0].role: unknown role "root"`},
		{"console: {oidc: [{id: corp, issuer: https://id.example, client_id: c, client_secret: \"${REVIEWHUB_TEST_EMPTY_VAR}\", roles: [{group: g, role: admin}]}]}", "console.oidc[0].client_secret: environment variable REVIEWHUB_TEST_EMPTY_VAR is empty"},
		{"secret_key: c2hvcnQ=", "secret_key: want 32 bytes base64-encoded, got 5 bytes"},
		{"secret_key: 'not base64!'", "secret_key: not valid base64"},
		{"admin_token: short", "admin_token: is 5 characters long; use at least 16"},
		{"admin_token: '${REVIEWHUB_TEST_UNSET_VAR}'", "admin_token: environment variable REVIEWHUB_TEST_UNSET_VAR is not set"},
		{"admin_token: '${REVIEWHUB_TEST_EMPTY_VAR}'", "admin_token: environment variable REVIEWHUB_TEST_EMPTY_VAR is empty"},
		{"public_url: 'javascript:alert(1)'", `public_url: must be an http(s) URL, not "javascript"`},
		{"public_url: hub.example.com/x", "public_url: must be an absolute http(s) URL (no scheme)"},
		{"public_url: 'https://'", "public_url: must be an absolute http(s) URL with a host"},
		{"listen: 8080", `listen: "8080" is not a host:port address`},
		{"metrics: {listen: 9464}", `metrics.listen: "9464" is not a host:port address (or off)`},
		{"health: {check_every: -1s}", "health.check_every: is negative"},
		{"integrations: [{id: a, alerts: {webhook_url: 'hooks.example/x'}}]", "integrations[0].alerts.webhook_url: must be an absolute http(s) URL"},
		{"integrations: [{id: a, alerts: {cooldown: -5m}}]", "integrations[0].alerts.cooldown: is negative"},
		{"integrations: [{id: a, alerts: {webhook_url: '${REVIEWHUB_TEST_UNSET_VAR}'}}]", "integrations[0].alerts.webhook_url: environment variable REVIEWHUB_TEST_UNSET_VAR is not set"},
		{"listen: ':http-ish'", `listen: ":http-ish": port "http-ish" is not a port number`},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.body, err, tc.want)
		}
	}
}

func TestEnvOverridesAndExpansion(t *testing.T) {
	t.Setenv("HUB_LISTEN", "127.0.0.1:9999")
	t.Setenv("OMNI_KEY", "k-123")
	cfg, err := Load(write(t, "integrations: [{id: a, helpdesk: {plugin: omnidesk, settings: {api_key: '${OMNI_KEY}'}}}]"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.Integrations[0].Helpdesk.Settings["api_key"] != "k-123" {
		t.Errorf("got listen %s settings %v", cfg.Listen, cfg.Integrations[0].Helpdesk.Settings)
	}
}

// A container is configured by HUB_* variables alone: no file at all.
func TestEnvAloneConfiguresAHub(t *testing.T) {
	env := map[string]string{
		"HUB_LISTEN": "0.0.0.0:8080", "HUB_PUBLIC_URL": "https://hub.example", "HUB_DATA_DIR": t.TempDir(),
		"HUB_STATE_DRIVER": "postgres", "HUB_STATE_DSN": "postgres://hub@db:5432/reviewhub", "HUB_BUS_BACKEND": "postgres",
		"HUB_PLUGINS_DIR": "/usr/lib/reviewhub/plugins", "HUB_LOG_LEVEL": "debug", "HUB_LOG_FORMAT": "json",
		"HUB_METRICS_LISTEN": "0.0.0.0:9464", "HUB_ADMIN_TOKEN": "a-long-enough-admin-token",
		"HUB_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"HUB_LISTEN": cfg.Listen, "HUB_PUBLIC_URL": cfg.PublicURL, "HUB_DATA_DIR": cfg.DataDir,
		"HUB_STATE_DRIVER": cfg.State.Driver, "HUB_STATE_DSN": cfg.State.DSN, "HUB_BUS_BACKEND": cfg.Bus.Backend,
		"HUB_PLUGINS_DIR": cfg.Plugins.Dir, "HUB_LOG_LEVEL": cfg.Log.Level, "HUB_LOG_FORMAT": cfg.Log.Format,
		"HUB_METRICS_LISTEN": cfg.Metrics.Listen, "HUB_ADMIN_TOKEN": cfg.AdminToken, "HUB_SECRET_KEY": cfg.SecretKey,
	}
	for k, v := range env {
		if got[k] != v {
			t.Errorf("%s: config has %q, want %q", k, got[k], v)
		}
	}
	t.Setenv("HUB_STATE_DRIVER", "sqlite")
	t.Setenv("HUB_BUS_BACKEND", "")
	t.Setenv("HUB_STATE_PATH", "/elsewhere/state.db")
	if cfg, err = Load(""); err != nil {
		t.Fatal(err)
	}
	if cfg.State.Path != "/elsewhere/state.db" || cfg.Bus.Backend != "sqlite" {
		t.Errorf("state.path %q, bus.backend %q", cfg.State.Path, cfg.Bus.Backend)
	}
}

// Every error is reported, not only the first, each naming its field.
func TestEveryErrorIsReported(t *testing.T) {
	cfg, err := Load(write(t, "secret_key: c2hvcnQ=\nadmin_token: abc\npublic_url: 'ftp://x'\nlog: {level: loud}\n"+
		"integrations: [{id: a, helpdesk: {settings: {api_key: '${REVIEWHUB_TEST_UNSET_VAR}'}}}]"))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	want := []string{"integrations[0].helpdesk.settings.api_key", "public_url", "secret_key", "admin_token", "log.level"}
	if strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Errorf("fields %v, want %v", fields, want)
	}
	if cfg == nil {
		t.Error("the parsed config is not returned with validation errors")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the error is not one line: %q", err)
	}
}

// L2: admin_token, secret_key and state.dsn take ${VAR} like settings.
func TestAlertsAndMetricsSettings(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_HOOK", "https://hooks.example/services/T/B/x")
	cfg, err := Load(write(t, "metrics: {listen: '127.0.0.1:9464'}\nhealth: {check_every: 5s}\n"+
		"integrations: [{id: a, alerts: {helpdesk: true, webhook_url: '${REVIEWHUB_TEST_HOOK}', cooldown: 0s}}, {id: b}]"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Integrations[0].Alerts
	if cfg.Metrics.Listen != "127.0.0.1:9464" || cfg.Health.CheckEvery != 5*time.Second || a == nil || !a.Helpdesk ||
		a.WebhookURL != "https://hooks.example/services/T/B/x" || a.Cooldown == nil || *a.Cooldown != 0 || cfg.Integrations[1].Alerts != nil {
		t.Errorf("metrics %+v health %+v alerts %+v", cfg.Metrics, cfg.Health, a)
	}
}

func TestSecretsAreExpanded(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_TOKEN", "a-long-enough-admin-token")
	t.Setenv("REVIEWHUB_TEST_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	t.Setenv("REVIEWHUB_TEST_PW", "pw")
	cfg, err := Load(write(t, "admin_token: '${REVIEWHUB_TEST_TOKEN}'\nsecret_key: '${REVIEWHUB_TEST_KEY}'\n"+
		"state: {driver: postgres, dsn: 'postgres://hub:${REVIEWHUB_TEST_PW}@db/hub'}"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminToken != "a-long-enough-admin-token" || cfg.SecretKey != "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" ||
		cfg.State.DSN != "postgres://hub:pw@db/hub" {
		t.Errorf("not expanded: token %q key %q dsn %q", cfg.AdminToken, cfg.SecretKey, cfg.State.DSN)
	}
}

func TestPluginOptions(t *testing.T) {
	sum := strings.Repeat("AB", 32)
	cfg, err := Load(write(t, "plugins: {env: {omnidesk: [GOOGLE_APPLICATION_CREDENTIALS]}, checksums: {omnidesk: "+sum+"}, paths: {my-desk.v2: /opt/x}}"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Plugins.Checksums["omnidesk"]; got != strings.ToLower(sum) {
		t.Errorf("checksum %q, want it in lower case", got)
	}
	if cfg.ShutdownTimeout != 30*time.Second || cfg.Plugins.HealthTimeout != 5*time.Second || cfg.Plugins.CallTimeout != time.Minute {
		t.Errorf("defaults: shutdown %s, health %s, call %s", cfg.ShutdownTimeout, cfg.Plugins.HealthTimeout, cfg.Plugins.CallTimeout)
	}
	cfg, err = Load(write(t, "shutdown_timeout: 2s\nplugins: {health_timeout: 500ms, call_timeout: 10s}"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ShutdownTimeout != 2*time.Second || cfg.Plugins.HealthTimeout != 500*time.Millisecond || cfg.Plugins.CallTimeout != 10*time.Second {
		t.Errorf("set: shutdown %s, health %s, call %s", cfg.ShutdownTimeout, cfg.Plugins.HealthTimeout, cfg.Plugins.CallTimeout)
	}
}

// The config file is outside input: any content gives a config or an
// error, never a panic, and an accepted config is valid.
func FuzzParse(f *testing.F) {
	f.Add([]byte("listen: 127.0.0.1:9000\nintegrations: [{id: a, apps: [{id: x, store: appstore, filters: {backfill: 5, ratings: [1,2]}}]}]"))
	f.Add([]byte("state: {driver: postgres, dsn: 'postgres://x'}"))
	f.Add([]byte("poll_interval: -5s\nlog: {level: debug}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse("fuzz.yaml", raw)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted an invalid config: %v", verr)
			}
		}
	})
}

func TestConsoleOnWithAnAdminTokenUnlessSwitchedOff(t *testing.T) {
	on, off := true, false
	for _, tc := range []struct {
		token   string
		enabled *bool
		want    bool
	}{{"", nil, false}, {"0123456789abcdef", nil, true}, {"0123456789abcdef", &off, false}, {"0123456789abcdef", &on, true}} {
		c := &Config{AdminToken: tc.token, Console: Console{Enabled: tc.enabled}}
		if got := c.ConsoleOn(); got != tc.want {
			t.Errorf("token %q enabled %v: ConsoleOn %v, want %v", tc.token, tc.enabled, got, tc.want)
		}
	}
}

// state.timeout: 5s by default, set in the file or by HUB_STATE_TIMEOUT
// (which wins), each wrong value named.
func TestStateTimeout(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte("listen: 127.0.0.1:1\n"))
	if err != nil || cfg.State.Timeout != DefaultStateTimeout {
		t.Fatalf("default: %v %v", cfg.State.Timeout, err)
	}
	cfg, err = Parse("t.yaml", []byte("state: {timeout: 2s}\n"))
	if err != nil || cfg.State.Timeout != 2*time.Second {
		t.Fatalf("from the file: %v %v", cfg.State.Timeout, err)
	}
	t.Setenv("HUB_STATE_TIMEOUT", "750ms")
	cfg, err = Parse("t.yaml", []byte("state: {timeout: 2s}\n"))
	if err != nil || cfg.State.Timeout != 750*time.Millisecond {
		t.Fatalf("from the environment: %v %v", cfg.State.Timeout, err)
	}
	t.Setenv("HUB_STATE_TIMEOUT", "soon")
	if _, err := Parse("t.yaml", nil); err == nil || !strings.Contains(err.Error(), "HUB_STATE_TIMEOUT") {
		t.Errorf("a wrong HUB_STATE_TIMEOUT: %v", err)
	}
	t.Setenv("HUB_STATE_TIMEOUT", "10ms")
	if _, err := Parse("t.yaml", nil); err == nil || !strings.Contains(err.Error(), "state.timeout") {
		t.Errorf("a state.timeout of 10ms: %v", err)
	}
}

func TestAuditRetention(t *testing.T) {
	c, err := Parse("t", []byte("listen: 127.0.0.1:0\n"))
	if err != nil || c.Audit.Retention != DefaultAuditRetention {
		t.Fatalf("default: %v (%v)", c.Audit.Retention, err)
	}
	if c, err = Parse("t", []byte("listen: 127.0.0.1:0\naudit:\n  retention: 720h\n")); err != nil || c.Audit.Retention != 720*time.Hour {
		t.Fatalf("720h: %v (%v)", c.Audit.Retention, err)
	}
	for _, bad := range []string{"1h", "-5h"} {
		if _, err := Parse("t", []byte("listen: 127.0.0.1:0\naudit:\n  retention: "+bad+"\n")); err == nil || !strings.Contains(err.Error(), "audit.retention") {
			t.Errorf("retention %s: %v, want an error naming audit.retention", bad, err)
		}
	}
	c, err = Parse("t", []byte("listen: 127.0.0.1:0\nadmin_token: 0123456789abcdef0123\nadmin_token_disabled: true\n"))
	if err != nil || c.AdminTokenOn() || c.EffectiveAdminToken() != "" || c.ConsoleOn() {
		t.Fatalf("admin_token_disabled: on %v, token %q, console %v (%v)", c.AdminTokenOn(), c.EffectiveAdminToken(), c.ConsoleOn(), err)
	}
}

// The console is on with OIDC alone; the admin token can be kept from
// signing in to it; the client secret comes from the environment.
func TestConsoleSignInMethods(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_OIDC_SECRET", "s3cr3t-from-env")
	cfg, err := Parse("hub.yaml", []byte(`console:
  token_signin: false
  oidc:
    - id: corp
      issuer: https://accounts.google.com
      client_id: 123.apps.googleusercontent.com
      client_secret: ${REVIEWHUB_TEST_OIDC_SECRET}
      roles: [{email_domain: acme.example, role: viewer}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ConsoleOn() || cfg.Console.TokenSignIn() || cfg.Console.OIDC[0].ClientSecret != "s3cr3t-from-env" {
		t.Errorf("console on %v, token sign-in %v, secret %q", cfg.ConsoleOn(), cfg.Console.TokenSignIn(), cfg.Console.OIDC[0].ClientSecret)
	}
	cfg, err = Parse("hub.yaml", []byte("admin_token: 0123456789abcdef0123\nconsole: {token_signin: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConsoleOn() {
		t.Error("the console is on with no way to sign in")
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, err := Parse("hub.yaml", []byte("admin_token: 0123456789abcdef0123\ntrusted_proxies: [10.1.2.3/8, 192.0.2.7, '2001:db8::/32']\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.TrustedProxyPrefixes()
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prefixes %v, want %v", got, want)
	}
}
