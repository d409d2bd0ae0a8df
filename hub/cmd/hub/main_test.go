package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const goodKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

// clearHubEnv keeps the caller's HUB_* variables out of the config.
func clearHubEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HUB_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// hub runs the command in-process with a config file and returns its exit
// code, stdout and stderr.
func hub(t *testing.T, cmd, yaml string) (int, string, string) {
	t.Helper()
	clearHubEnv(t)
	path := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{cmd, "--config", path}, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func testdesk(t *testing.T) string {
	return sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub/internal/testdesk")
}

// H2: every start-up failure exits 1 with its cause on one line, never a
// panic, and leaves no plugin running.
func TestServeStartupFailuresExit1WithTheCause(t *testing.T) {
	desk := testdesk(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	badKeyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(badKeyDir, "secret.key"), []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A complete integration on the test plugin: plugins would start.
	integration := fmt.Sprintf("plugins: {dir: /nonexistent, paths: {testdesk: %s}}\n"+
		"integrations: [{id: acme, helpdesk: {plugin: testdesk, settings: {base_url: 'http://127.0.0.1:1', api_key: k}}}]\n", desk)
	for _, tc := range []struct {
		name, yaml, cause string
		checksPlugins     bool // the failure is found by asking the plugins
	}{
		{"secret_key too short", "secret_key: c2hvcnQ=\n", "secret_key: want 32 bytes base64-encoded, got 5 bytes", false},
		{"secret_key not base64", "secret_key: 'not base64!'\n", "secret_key: not valid base64", false},
		{"secret.key file of the wrong length", "data_dir: " + badKeyDir + "\n", "secret_key: secret key: want 32 bytes base64-encoded, got 5 bytes", false},
		{"address in use", "listen: " + taken.Addr().String() + "\ndata_dir: " + t.TempDir() + "\n" + integration, "address already in use", false},
		{"postgres unreachable", "data_dir: " + t.TempDir() + "\nsecret_key: " + goodKey +
			"\nstate: {driver: postgres, dsn: 'postgres://postgres@127.0.0.1:1/x?connect_timeout=5'}\n", "connection refused", false},
		{"data_dir not a directory", "data_dir: " + notDir + "\n", "data_dir: " + notDir + " is not a directory", false},
		{"plugin not installed", "listen: 127.0.0.1:0\ndata_dir: " + t.TempDir() + "\nplugins: {dir: /nonexistent}\n" +
			"integrations: [{id: acme, helpdesk: {plugin: nosuch}}]\n", `integrations[0].helpdesk.plugin: no plugin "nosuch" is installed`, false},
		{"plugin binary missing", "listen: 127.0.0.1:0\ndata_dir: " + t.TempDir() + "\nplugins: {paths: {gone: /nonexistent/hub-plugin-gone}}\n" +
			"integrations: [{id: acme, helpdesk: {plugin: gone}}]\n", `integrations[0].helpdesk.plugin: plugin "gone": binary /nonexistent/hub-plugin-gone does not exist`, false},
		// L1: the settings of an integration of the file are checked at
		// start too: a misspelled secret is an error, never stored.
		{"unknown setting", "listen: 127.0.0.1:0\ndata_dir: " + t.TempDir() + "\n" + strings.Replace(integration, "api_key: k", "api_key: k, apikey: TYPO-SECRET", 1),
			`integrations[0].helpdesk.settings.apikey: plugin "testdesk" has no such setting`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := hub(t, "serve", tc.yaml)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if strings.Contains(stderr, "panic") {
				t.Errorf("panicked:\n%s", stderr)
			}
			var line string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(strings.ReplaceAll(l, `\"`, `"`), tc.cause) { // slog quotes the error
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no line of stderr gives the cause %q:\n%s%s", tc.cause, stdout, stderr)
			}
			if !tc.checksPlugins && strings.Contains(stderr, "plugin started") {
				t.Errorf("plugins were started before the failure:\n%s", stderr)
			}
			if strings.Contains(stderr, "TYPO-SECRET") {
				t.Errorf("a setting's value is in the output:\n%s", stderr)
			}
		})
	}
}

// hub validate reports every problem it can find without serving, each
// naming its field: the secret key, the admin token, URLs, plugins that
// are not installed or do not start, and settings the plugin does not take,
// requires, or wants as an http(s) URL.
func TestValidateReportsEveryProblemByField(t *testing.T) {
	desk := testdesk(t)
	yaml := fmt.Sprintf(`secret_key: c2hvcnQ=
admin_token: short
public_url: 'javascript:alert(1)'
data_dir: %s
plugins: {dir: /nonexistent, paths: {testdesk: %s, notaplugin: /bin/true}}
integrations:
  - id: acme
    helpdesk: {plugin: testdesk, settings: {base_url: 'ftp://files.example/api', apikey: TYPO-SECRET}}
    apps:
      - {id: ios, store: nosuch, store_app_id: "1"}
      - {id: android, store: notaplugin, store_app_id: com.acme}
      - {id: web, store: testdesk}
`, t.TempDir(), desk)
	code, stdout, stderr := hub(t, "validate", yaml)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		"secret_key: want 32 bytes base64-encoded, got 5 bytes",
		"admin_token: is 5 characters long; use at least 16",
		`public_url: must be an http(s) URL, not "javascript"`,
		`integrations[0].helpdesk.settings.apikey: plugin "testdesk" has no such setting (it takes: base_url, api_key, note)`,
		`integrations[0].helpdesk.settings.base_url: must be an http(s) URL, not "ftp"`,
		`integrations[0].helpdesk.settings.api_key: is required by plugin "testdesk"`,
		`integrations[0].apps[0].store: no plugin "nosuch" is installed`,
		`integrations[0].apps[1].store: plugin "notaplugin" (/bin/true) did not start`,
		`integrations[0].apps[2].store_app_id: is required`,
		`integrations[0].apps[2].store: "testdesk" is a helpdesk plugin, not a store plugin`,
	} {
		if !strings.Contains(stderr, "\n  "+want) {
			t.Errorf("no line %q in:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout+stderr, "TYPO-SECRET") {
		t.Errorf("a setting's value is in the output:\n%s%s", stdout, stderr)
	}
}

func TestValidateAcceptsAGoodConfig(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_DESK_KEY", "k-123")
	yaml := fmt.Sprintf(`secret_key: %s
admin_token: a-long-enough-admin-token
public_url: https://hub.example.com
data_dir: %s
plugins: {dir: /nonexistent, paths: {testdesk: %s}}
integrations:
  - id: acme
    helpdesk: {plugin: testdesk, settings: {base_url: 'https://acme.example/api', api_key: '${REVIEWHUB_TEST_DESK_KEY}'}}
`, goodKey, t.TempDir(), testdesk(t))
	code, stdout, stderr := hub(t, "validate", yaml)
	if code != 0 || !strings.Contains(stdout, "configuration OK: 1 integration(s)") {
		t.Errorf("exit code %d\n%s%s", code, stdout, stderr)
	}
}

// A plugin whose binary differs from its pinned SHA-256 is not started by
// validate either: the pin is named, nothing runs.
func TestValidateHonoursChecksumPins(t *testing.T) {
	yaml := fmt.Sprintf(`secret_key: %s
data_dir: %s
plugins: {dir: /nonexistent, paths: {testdesk: %s}, checksums: {testdesk: %s}}
integrations:
  - id: acme
    helpdesk: {plugin: testdesk, settings: {base_url: 'https://acme.example/api', api_key: k}}
`, goodKey, t.TempDir(), testdesk(t), strings.Repeat("ab", 32))
	code, stdout, stderr := hub(t, "validate", yaml)
	if code != 1 || !strings.Contains(stderr, "SHA-256") || !strings.Contains(stderr, strings.Repeat("ab", 32)) {
		t.Errorf("exit code %d, want 1 naming the pin\n%s%s", code, stdout, stderr)
	}
}

// hub plugins shows a notifier's capabilities.
func TestNotifierPluginDetails(t *testing.T) {
	got := pluginDetails(sdk.Info{Kind: sdk.PluginKindNotifier, Description: "Slack",
		Notifier: &sdk.NotifierCapabilities{MaxTextLength: 3000, Formatting: sdk.FormatSlackMrkdwn, Threads: true}})
	if got != "notifier: text up to 3000 characters, formatting mrkdwn, threads: true" {
		t.Errorf("details %q", got)
	}
	if got := pluginDetails(sdk.Info{Kind: sdk.PluginKindHelpdesk, Description: "Zendesk"}); got != "Zendesk" {
		t.Errorf("helpdesk details %q", got)
	}
}
