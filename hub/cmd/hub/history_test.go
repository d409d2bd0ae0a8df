package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
)

func TestHistoryImportArguments(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	f, to, err := historyRange("2026-10-01", "", now)
	if err != nil || !f.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default to: %v %v %v", f, to, err)
	}
	for _, c := range [][2]string{{"", ""}, {"2026-13-01", ""}, {"2026-10-01", "tomorrow"}, {"2026-10-02", "2026-10-01"}, {"2026-10-01", "2026-10-01"}} {
		if _, _, err := historyRange(c[0], c[1], now); err == nil {
			t.Errorf("--from %q --to %q accepted", c[0], c[1])
		}
	}
	var out, errOut bytes.Buffer
	if code := importHistory(nil, nil, []string{"only-integration"}, "2026-10-01", "", &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: hub import-history") {
		t.Errorf("one argument: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := importHistory(nil, nil, []string{"acme", "gp"}, "2026-10-xx", "", &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `--from "2026-10-xx" is not a date`) {
		t.Errorf("bad date: exit %d, %q", code, errOut.String())
	}
}

func TestHistoryImportProgressLine(t *testing.T) {
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	h := state.HistoryImport{Pages: 4, Done: 25, Total: 100, Reviews: 1000, Queued: 900, RatingOnly: 7}
	got := progressLine(h, start, 0, start.Add(10*time.Second))
	for _, want := range []string{"[#######·······················]", " 25%", "page 4", "1000 reviews", "900 queued", "7 ratings without text", "100 reviews/s", "ETA 30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	if got := progressLine(state.HistoryImport{Reviews: 5}, start, 0, start); strings.Contains(got, "ETA") || strings.Contains(got, "%") {
		t.Errorf("unknown total: %q", got)
	}
}

// An import started from the command line is audited (L3).
func TestHistoryImportAudited(t *testing.T) {
	ctx := context.Background()
	s, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Setenv("USER", "ops")
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var errOut strings.Builder
	recordHistoryStart(ctx, db, "acme", "gp", from, to, &errOut)
	got, err := db.Audit(ctx, state.AuditFilter{Kind: httpapi.KindHistory})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Subject != "cli" || got[0].Name != "ops" || got[0].Action != "start" || got[0].IntegrationID != "acme" ||
		got[0].Target != "gp" || len(got[0].Changes) != 2 || got[0].Changes[0].To != "2026-10-01" || errOut.Len() != 0 {
		t.Fatalf("audit %+v, stderr %q", got, errOut.String())
	}
}
