package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// hub token create shows the token once and stores its hash; list never
// shows it; revoke deletes it; each change is in the audit log.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := inDataDir(t, dir, "token", "create", "ci bot", "--role", "agent", "--expires", "720h", "--json")
	if code != 0 {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	var made httpapi.TokenJSON
	if err := json.Unmarshal([]byte(out), &made); err != nil || !strings.HasPrefix(made.Token, httpapi.TokenPrefix) || made.Role != "agent" ||
		made.ExpiresAt.IsZero() {
		t.Fatalf("created %+v (%v)", made, err)
	}
	code, out, _ = inDataDir(t, dir, "token", "list")
	if code != 0 || !strings.Contains(out, made.ID) || !strings.Contains(out, "ci bot") || strings.Contains(out, made.Token[len(made.Token)-20:]) {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errOut = inDataDir(t, dir, "token", "create", "x", "--role", "owner"); code != 2 || !strings.Contains(errOut, "--role: unknown role") {
		t.Fatalf("a wrong role: %d %q", code, errOut)
	}
	if code, out, _ = inDataDir(t, dir, "token", "revoke", made.ID); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if code, _, errOut = inDataDir(t, dir, "token", "revoke", made.ID); code != 1 || !strings.Contains(errOut, "no token") {
		t.Fatalf("revoke twice: %d %q", code, errOut)
	}
	db, err := state.OpenSQLite(context.Background(), filepath.Join(dir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	audit, err := db.Audit(context.Background(), state.AuditFilter{Kind: "token"})
	if err != nil || len(audit) != 2 || audit[0].Action != "revoke" || audit[1].Action != "create" || audit[1].Subject != "cli" {
		t.Fatalf("audit %+v (%v)", audit, err)
	}
	for _, e := range audit {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), made.Token) || strings.Contains(string(b), httpapi.HashToken(made.Token)) {
			t.Fatalf("the token is in the audit: %s", b)
		}
	}
}
