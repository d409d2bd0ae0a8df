package console_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/internal/oidctest"
	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// OIDC sign-in in Chromium against the real hub binary configured with the
// project's test issuer (hub/internal/oidctest): the sign-in page offers
// "Sign in with Acme ID" beside the admin token, the click goes through
// the issuer and lands on the console signed in as the issuer's user with
// the role its group maps to; sign out everywhere ends the session. The
// client secret comes from the environment (${VAR}) and never reaches the
// hub's log. Screenshots go to $CONSOLE_SCREENSHOTS (make console-screenshots).
func TestConsoleOIDCInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	const clientID, secret = "reviewhub-console", "browser-test-oidc-secret-0123456789"
	is, err := oidctest.Start("", clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.SetUser(oidctest.User{Subject: "u-7", Email: "kim@acme.example", Name: "Kim", Groups: []string{"everyone", "support"}})

	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	const token = "console-test-admin-token-0123456789"
	cfg := map[string]any{
		"listen": addr, "data_dir": dataDir, "admin_token": token,
		"plugins": map[string]any{"dir": filepath.Join(dataDir, "none")},
		"log":     map[string]any{"level": "debug", "format": "text"},
		"console": map[string]any{"oidc": []any{map[string]any{
			"id": "acme", "name": "Acme ID", "issuer": is.URL, "client_id": clientID,
			"client_secret": "${REVIEWHUB_TEST_OIDC_SECRET}",
			"roles": []any{
				map[string]any{"group": "support-admins", "role": "admin"},
				map[string]any{"group": "support", "role": "agent"},
				map[string]any{"email_domain": "acme.example", "role": "viewer"},
			},
		}}},
	}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dataDir, "hub.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	hubLog := &syncbuf.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hub, err := stack.StartHub(ctx, hubBin, cfgPath, addr, hubLog, "REVIEWHUB_TEST_OIDC_SECRET="+secret)
	if err != nil {
		t.Fatalf("%v\n%s", err, hubLog.String())
	}
	t.Cleanup(func() {
		if err := hub.Stop(); err != nil {
			t.Errorf("hub stop: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", hubLog.String())
		}
		if strings.Contains(hubLog.String(), secret) {
			t.Error("the client secret is in the hub's log")
		}
	})

	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	cmd := exec.CommandContext(ctx, node, "oidc.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "HUB_URL=http://"+addr, "ISSUER_URL="+is.URL, "SCREENSHOTS="+shots, "CHROMIUM="+chromium,
		"BUTTON=Sign in with Acme ID", "USER_EMAIL=kim@acme.example", "USER_ROLE=agent")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("browser test output:\n%s", out.String())
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}
	if n := is.TokensIssued(); n != 1 {
		t.Errorf("the issuer issued %d ID tokens, want 1 (one sign-in)", n)
	}
	if !strings.Contains(hubLog.String(), "subject=oidc:"+is.URL+"#u-7") {
		t.Error("the hub did not log the OIDC sign-in with its subject")
	}
}
