package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

func runHub(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// `hub check` with the test plugins: exit code, text and JSON output, an
// integration from the config file and one from the state (secrets
// unsealed), and nothing written at the vendor or in the state.
func TestCheckCommand(t *testing.T) {
	b := testbackend.New()
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	b.PutReview(testbackend.Review{ID: "r1", App: "app1", Rating: 4, Text: "nice"})
	desk := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk")
	store := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/store")
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, secrets.KeySize))
	const hookSecret = "cli-hook-s3cret"
	t.Setenv("CHECK_TEST_SECRET", hookSecret)
	cfgPath := filepath.Join(dir, "hub.yaml")
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
secret_key: %s
public_url: https://hub.example
plugins: {dir: %s, paths: {testdesk: %s, teststore: %s}}
log: {level: error}
integrations:
  - id: acme
    helpdesk: {plugin: testdesk, settings: {url: "%s", secret: "${CHECK_TEST_SECRET}"}}
    apps:
      - {id: ios, store: teststore, store_app_id: app1, settings: {url: "%s"}}
`, dir, key, filepath.Join(dir, "none"), desk, store, srv.URL, srv.URL)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	// All good: exit 0.
	b.SetWebhookURL("https://hub.example/hooks/testdesk/acme?secret=" + hookSecret)
	code, out, errs := runHub("check", "acme", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "match: the helpdesk sends webhooks to https://hub.example/hooks/testdesk/acme") ||
		!strings.Contains(out, "1 reviews on the first page") || !strings.Contains(out, "integration acme: ok (") {
		t.Fatalf("check acme: exit %d\n%s\n%s", code, out, errs)
	}

	// The helpdesk sends elsewhere and the account is read-only: exit 1.
	b.SetWebhookURL("https://old.example/hooks/testdesk/acme?secret=" + hookSecret)
	b.SetReadOnly("app1", true)
	code, out, errs = runHub("check", "acme", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "mismatch: the helpdesk sends webhooks to https://old.example/hooks/testdesk/acme?secret=REDACTED") ||
		!strings.Contains(out, "read-only") || !strings.Contains(out, "integration acme: fail (") {
		t.Fatalf("mismatch: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, hookSecret) {
		t.Errorf("the secret is printed:\n%s\n%s", out, errs)
	}

	// --json is the admin API's report.
	code, out, _ = runHub("check", "acme", "--json", "--config", cfgPath)
	var rep check.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if rep.OK || rep.Helpdesk.Webhook.Status != check.WebhookMismatch || len(rep.Apps) != 1 || rep.Apps[0].Listing == nil || rep.Apps[0].Listing.Reviews != 1 {
		t.Errorf("report %+v", rep)
	}
	if b.Writes() != 0 {
		t.Errorf("the check wrote %d times at the vendor", b.Writes())
	}
	dbPath := filepath.Join(dir, "hub.db")
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("checking a config-file integration touched the state: %v", err)
	}

	// Usage and unknown integrations.
	if code, _, errs := runHub("check", "--config", cfgPath); code != 2 || !strings.Contains(errs, "usage: hub check INTEGRATION") {
		t.Errorf("no integration named: exit %d %s", code, errs)
	}
	if code, _, errs := runHub("check", "beta", "--config", cfgPath); code != 1 || !strings.Contains(errs, `no integration "beta" in the config file, and the state database does not exist`) {
		t.Errorf("unknown integration without a state: exit %d %s", code, errs)
	}

	// An integration created through the admin API lives in the state only,
	// its settings sealed with the hub's key.
	raw, _ := base64.StdEncoding.DecodeString(key)
	sealer, err := secrets.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, dbPath, sealer)
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *state.Tx) error {
		return tx.PutIntegration(ctx, state.Integration{ID: "beta", HelpdeskPlugin: "testdesk", Source: "api",
			HelpdeskSettings: sdk.Settings{"url": srv.URL, "secret": "beta-secret"},
			Apps:             []state.App{{ID: "web", StorePlugin: "teststore", StoreAppID: "app1", StoreSettings: sdk.Settings{"url": srv.URL}}}})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	b.SetWebhookURL("https://hub.example/hooks/testdesk/beta?secret=beta-secret")
	b.SetReadOnly("app1", false)
	code, out, errs = runHub("check", "beta", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "app web (teststore app1)") || !strings.Contains(out, "integration beta: ok (") {
		t.Fatalf("check beta from the state: exit %d\n%s\n%s", code, out, errs)
	}
	after, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the check changed the state database")
	}

	// Without the key the state's credentials cannot be read: a clear error.
	noKey := strings.Replace(yaml, "secret_key: "+key+"\n", "", 1)
	if err := os.WriteFile(cfgPath, []byte(noKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runHub("check", "beta", "--config", cfgPath); code != 1 || !strings.Contains(errs, "secret_key") {
		t.Errorf("without the key: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Errorf("the check generated a key file: %v", err)
	}
}
