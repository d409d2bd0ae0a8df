package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// hub sessions revoke ends one subject's console sessions, or all, in the
// state (every hub at once), and audits it.
func TestSessionsRevokeCommand(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := inDataDir(t, dir, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(dir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, subject := range []string{"admin", "admin", "oidc:https://id.example#1"} {
		if err := db.CreateSession(ctx, state.Session{Key: string(rune('a' + i)), Subject: subject, Role: "admin", Via: "admin_token",
			CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if code, _, errOut := inDataDir(t, dir, "sessions", "revoke"); code != 2 || !strings.Contains(errOut, "usage: hub sessions") {
		t.Fatalf("no subject: %d %q", code, errOut)
	}
	if code, out, errOut := inDataDir(t, dir, "sessions", "revoke", "admin"); code != 0 || !strings.Contains(out, "2 console sessions ended") {
		t.Fatalf("revoke admin: %d %q %q", code, out, errOut)
	}
	db, err = state.OpenSQLite(ctx, filepath.Join(dir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Session(ctx, "c"); !ok {
		t.Fatal("another subject's session ended")
	}
	db.Close()
	if code, out, errOut := inDataDir(t, dir, "sessions", "revoke", "--all"); code != 0 || !strings.Contains(out, "1 console sessions ended") {
		t.Fatalf("revoke --all: %d %q %q", code, out, errOut)
	}
	db, err = state.OpenSQLite(ctx, filepath.Join(dir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Audit(ctx, state.AuditFilter{Kind: httpapi.KindSignIn})
	if err != nil || len(got) != 2 || got[1].Action != "sessions_revoke" || got[1].Target != "admin" || got[1].Subject != "cli" ||
		got[0].Target != "all" || got[0].Changes[0].To != "1" {
		t.Fatalf("audit %+v %v", got, err)
	}
}
