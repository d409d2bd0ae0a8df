package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
)

// Entries older than the retention are pruned, the others kept.
func TestPruneAuditKeepsTheRetention(t *testing.T) {
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, age := range []time.Duration{400 * 24 * time.Hour, 366 * 24 * time.Hour, 364 * 24 * time.Hour, time.Hour} {
		if err := db.AddAudit(ctx, state.AuditEntry{At: now.Add(-age), Subject: "admin", Kind: "token", Action: age.String()}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := PruneAudit(ctx, db, 365*24*time.Hour, now)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	left, err := db.Audit(ctx, state.AuditFilter{})
	if err != nil || len(left) != 2 || left[0].Action != "1h0m0s" || left[1].Action != (364*24*time.Hour).String() {
		t.Fatalf("left %+v (%v)", left, err)
	}
}
