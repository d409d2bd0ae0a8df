package health

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
)

func TestHistoryNoteSaysRecoveredAndMissingDays(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	base := state.HistoryImport{From: from, To: to, Started: now.Add(-time.Hour), Updated: now, Reviews: 1200, Queued: 1100, Pages: 4, Done: 30, Total: 120}
	running := base
	stopped := base
	stopped.LastError = "cloud storage: 503"
	partial := base
	partial.Finished, partial.CompleteUntil = now, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	done := base
	done.Finished = now.Add(-24 * time.Hour)
	old := done
	old.Finished = now.Add(-10 * 24 * time.Hour)
	failed := base
	failed.Finished, failed.LastError = now, "history unsupported: set reports_bucket"
	for _, tc := range []struct {
		name string
		h    state.HistoryImport
		want []string
	}{
		{"none", state.HistoryImport{}, nil},
		{"running", running, []string{"recovering the reviews of 2026-11-01 to 2026-12-07", "25%", "1200 reviews"}},
		{"stopped", stopped, []string{"stopped after page 4", "cloud storage: 503", "resumes at the next poll"}},
		{"partly", partial, []string{"recovered the reviews of 2026-11-01 to 2026-11-25", "2026-11-25 to 2026-11-30 still missing"}},
		{"done", done, []string{"recovered the reviews of 2026-11-01 to 2026-12-07 from the store's history (1200 reviews, 1100 queued) on 2026-12-06"}},
		{"done long ago", old, nil},
		{"failed", failed, []string{"could not be recovered: history unsupported: set reports_bucket"}},
	} {
		got := HistoryNote(tc.h, now, week)
		if (got == "") != (len(tc.want) == 0) {
			t.Errorf("%s: %q", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}

func TestHistoryNoteFromTheNewestImportOfEachApp(t *testing.T) {
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC().Truncate(time.Millisecond)
	day := 24 * time.Hour
	for _, h := range []state.HistoryImport{
		{IntegrationID: "acme", AppID: "gp", From: now.Add(-60 * day), To: now.Add(-30 * day), Started: now, Finished: now, Reviews: 1},
		{IntegrationID: "acme", AppID: "gp", From: now.Add(-20 * day), To: now, Started: now, Reviews: 2},
		{IntegrationID: "other", AppID: "gp", From: now.Add(-5 * day), To: now, Started: now, Reviews: 3},
	} {
		if err := db.SaveHistoryImport(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := db.LatestHistoryImports(ctx, "acme")
	if err != nil || len(latest) != 1 || latest[[2]string{"acme", "gp"}].Reviews != 2 || !latest[[2]string{"acme", "gp"}].Running() {
		t.Fatalf("latest of acme: %+v %v", latest, err)
	}
	all, err := db.LatestHistoryImports(ctx, "")
	if err != nil || len(all) != 2 || all[[2]string{"other", "gp"}].Reviews != 3 {
		t.Fatalf("latest of all: %+v %v", all, err)
	}
}
