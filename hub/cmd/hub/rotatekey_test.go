package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// sealedState writes an integration with credentials and an alert webhook
// into a new SQLite state at dir/hub.db, sealed with key.
func sealedState(t *testing.T, dir string, key []byte) {
	t.Helper()
	ctx := context.Background()
	s, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.OpenSQLite(ctx, filepath.Join(dir, "hub.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := state.Integration{ID: "acme", Source: state.SourceAPI, HelpdeskPlugin: "desk", HelpdeskSettings: sdk.Settings{"api_key": "helpdesk-secret"},
		Apps: []state.App{{IntegrationID: "acme", ID: "ios", StorePlugin: "store", StoreAppID: "1", StoreSettings: sdk.Settings{"key": "store-secret"}}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAlerts(ctx, "acme", state.AlertConfig{WebhookURL: "https://hooks.example.com/webhook-secret"}); err != nil {
		t.Fatal(err)
	}
}

// readsWith checks that key alone opens every secret of dir/hub.db.
func readsWith(t *testing.T, dir string, key []byte) {
	t.Helper()
	ctx := context.Background()
	s, _ := secrets.New(key)
	db, err := state.OpenSQLite(ctx, filepath.Join(dir, "hub.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, err := db.Integration(ctx, "acme")
	if err != nil || in.HelpdeskSettings["api_key"] != "helpdesk-secret" || in.Apps[0].StoreSettings["key"] != "store-secret" {
		t.Fatalf("with the new key alone: %v", err)
	}
	if a, err := db.Alerts(ctx, "acme"); err != nil || !strings.HasSuffix(a.WebhookURL, "webhook-secret") {
		t.Fatalf("alerts with the new key alone: %v", err)
	}
}

func noSecrets(t *testing.T, out string, keys ...[]byte) {
	t.Helper()
	for _, s := range []string{"helpdesk-secret", "store-secret", "webhook-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("output shows a secret: %q", out)
		}
	}
	for _, k := range keys {
		if strings.Contains(out, secrets.EncodeKey(k)) {
			t.Errorf("output shows a key: %q", out)
		}
	}
}

// With secret_key (the new key) and accepted_secret_keys (the old one),
// hub rotate-key re-seals everything; the new key alone then opens it.
func TestRotateKeyConfigured(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := bytes.Repeat([]byte{3}, secrets.KeySize), bytes.Repeat([]byte{4}, secrets.KeySize)
	sealedState(t, dir, oldKey)
	yaml := "listen: 127.0.0.1:0\ndata_dir: " + dir + "\nsecret_key: " + secrets.EncodeKey(newKey) + "\naccepted_secret_keys: " + secrets.EncodeKey(oldKey) + "\n"
	code, out, errOut := withConfig(t, yaml, "rotate-key")
	if code != 0 || !strings.Contains(out, "re-sealed 3 secret(s) with the new key; 0 were sealed with it already") ||
		!strings.Contains(out, "remove accepted_secret_keys") {
		t.Fatalf("rotate-key: %d %q %q", code, out, errOut)
	}
	noSecrets(t, out+errOut, oldKey, newKey)
	readsWith(t, dir, newKey)
	if code, out, _ = withConfig(t, yaml, "rotate-key"); code != 0 || !strings.Contains(out, "re-sealed 0 secret(s) with the new key; 3 were sealed with it already") {
		t.Fatalf("rotate-key again: %d %q", code, out)
	}
	// Without the old key a value sealed with it is an error naming the row only.
	other := t.TempDir()
	sealedState(t, other, oldKey)
	code, out, errOut = withConfig(t, "listen: 127.0.0.1:0\ndata_dir: "+other+"\nsecret_key: "+secrets.EncodeKey(newKey)+"\n", "rotate-key")
	if code != 1 || !strings.Contains(errOut, "integrations helpdesk_settings of acme") {
		t.Errorf("rotate-key without the old key: %d %q %q", code, out, errOut)
	}
	noSecrets(t, out+errOut, oldKey, newKey)
}

// Without secret_key, hub rotate-key makes a new key file and re-seals
// with it; it refuses while the hub answers.
func TestRotateKeyFile(t *testing.T) {
	dir := t.TempDir()
	oldKey, err := secrets.LoadOrCreateKeyFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealedState(t, dir, oldKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	running := &http.Server{Handler: http.NotFoundHandler()}
	go running.Serve(ln) //nolint:errcheck
	code, _, errOut := withConfig(t, "listen: "+ln.Addr().String()+"\ndata_dir: "+dir+"\n", "rotate-key")
	running.Close()
	if code != 1 || !strings.Contains(errOut, "stop it first") {
		t.Fatalf("rotate-key with the hub running: %d %q", code, errOut)
	}

	code, out, errOut := withConfig(t, "listen: "+ln.Addr().String()+"\ndata_dir: "+dir+"\n", "rotate-key")
	if code != 0 || !strings.Contains(out, "re-sealed 3 secret(s)") || !strings.Contains(out, "the previous key is forgotten") {
		t.Fatalf("rotate-key: %d %q %q", code, out, errOut)
	}
	newKey, err := secrets.LoadOrCreateKeyFile(filepath.Join(dir, "secret.key"))
	if err != nil || bytes.Equal(newKey, oldKey) {
		t.Fatalf("key file: %v", err)
	}
	noSecrets(t, out+errOut, oldKey, newKey)
	readsWith(t, dir, newKey)
	if _, err := os.Stat(filepath.Join(dir, "secret.key.previous")); !os.IsNotExist(err) {
		t.Errorf("previous key kept: %v", err)
	}
}
