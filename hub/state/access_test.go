package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAPITokens(t *testing.T) { dialects(t, testAPITokens) }

func testAPITokens(t *testing.T, db *DB) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	tok := APIToken{ID: "t1", Name: "ci", Role: "agent", CreatedAt: time.Now(), CreatedBy: "admin", ExpiresAt: exp}
	if err := db.CreateAPIToken(ctx, tok, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAPIToken(ctx, APIToken{ID: "t2", Name: "x", Role: "viewer"}, "h1"); !errors.Is(err, ErrExists) {
		t.Fatalf("a second token with the same hash: %v, want ErrExists", err)
	}
	got, err := db.APITokenByHash(ctx, "h1")
	if err != nil || got.ID != "t1" || got.Role != "agent" || !got.ExpiresAt.Equal(exp) || got.CreatedBy != "admin" {
		t.Fatalf("by hash: %+v, %v", got, err)
	}
	if _, err := db.APITokenByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	used := time.Now().UTC().Truncate(time.Millisecond)
	if err := db.TouchAPIToken(ctx, "t1", used); err != nil {
		t.Fatal(err)
	}
	list, err := db.APITokens(ctx)
	if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(used) {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if old, err := db.DeleteAPIToken(ctx, "t1"); err != nil || old.Name != "ci" {
		t.Fatalf("revoke: %+v, %v", old, err)
	}
	if _, err := db.APITokenByHash(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a revoked token is still found: %v", err)
	}
	if _, err := db.DeleteAPIToken(ctx, "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestAuditLog(t *testing.T) { dialects(t, testAuditLog) }

func testAuditLog(t *testing.T, db *DB) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, e := range []AuditEntry{
		{Subject: "admin", Kind: "integration", Action: "create", IntegrationID: "a"},
		{Subject: "token:1", Name: "ci", Kind: "app", Action: "update", IntegrationID: "a", Target: "app1",
			Changes: []AuditChange{{Field: "name", From: "x", To: "y"}, {Field: "settings.key", Secret: true}}},
		{Subject: "admin", Kind: "integration", Action: "delete", IntegrationID: "b"},
		{Subject: "anonymous", Kind: "signin", Action: "signin", Outcome: "failed"},
	} {
		e.At = base.Add(time.Duration(i) * time.Hour)
		if err := db.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.Audit(ctx, AuditFilter{})
	if err != nil || len(all) != 4 || all[0].Kind != "signin" || all[3].Action != "create" {
		t.Fatalf("all, newest first: %+v, %v", all, err)
	}
	if got := all[2]; len(got.Changes) != 2 || got.Changes[1].Field != "settings.key" || !got.Changes[1].Secret || got.Name != "ci" {
		t.Fatalf("changes: %+v", got)
	}
	check := func(f AuditFilter, want ...string) {
		t.Helper()
		got, err := db.Audit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range got {
			acts = append(acts, e.Action)
		}
		if len(acts) != len(want) {
			t.Fatalf("%+v: %v, want %v", f, acts, want)
		}
		for i := range want {
			if acts[i] != want[i] {
				t.Fatalf("%+v: %v, want %v", f, acts, want)
			}
		}
	}
	check(AuditFilter{Who: "admin"}, "delete", "create")
	check(AuditFilter{Who: "ci"}, "update")
	check(AuditFilter{Kind: "integration"}, "delete", "create")
	check(AuditFilter{IntegrationID: "a"}, "update", "create")
	check(AuditFilter{Since: base.Add(time.Hour), Until: base.Add(3 * time.Hour)}, "delete", "update")
	check(AuditFilter{Limit: 2}, "signin", "delete")
	check(AuditFilter{Before: all[1].ID, Limit: 2}, "update", "create")
	n, err := db.PruneAudit(ctx, base.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	check(AuditFilter{}, "signin", "delete")
}

// A summary entry: written once with its id, its changes replaced later.
func TestAuditEntryUpdated(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		id, err := db.AddAuditID(ctx, AuditEntry{Subject: "unknown", Kind: "signin", Action: "api", Outcome: "failed",
			Changes: []AuditChange{{Field: "wrong tokens", To: "1"}}})
		if err != nil || id == 0 {
			t.Fatalf("id %d, %v", id, err)
		}
		if err := db.SetAuditChanges(ctx, id, []AuditChange{{Field: "wrong tokens", To: "4"}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Audit(ctx, AuditFilter{Kind: "signin"})
		if err != nil || len(got) != 1 || got[0].ID != id || len(got[0].Changes) != 1 || got[0].Changes[0].To != "4" {
			t.Fatalf("entries %+v, %v", got, err)
		}
	})
}
