package sdktest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// dateHistoryPlugin is datePlugin with History over the same store (every
// review, whatever its age), correct unless bug names one mistake.
type dateHistoryPlugin struct {
	datePlugin
	hbug string
}

func (p dateHistoryPlugin) Info(ctx context.Context, req sdk.InfoRequest) (sdk.Info, error) {
	info, err := p.datePlugin.Info(ctx, req)
	if p.hbug != "undeclared, answers an empty page" {
		info.Store.History = &sdk.HistoryCapabilities{Lag: 24 * time.Hour, Source: "the store's archive"}
	}
	return info, err
}

func (p dateHistoryPlugin) History(_ context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	if p.hbug == "undeclared, answers an empty page" {
		return sdk.HistoryResponse{}, nil
	}
	p.s.mu.Lock()
	var all []sdk.Review
	for _, r := range p.s.apps[req.AppID] {
		inRange := !r.UpdatedAt.Before(req.From) && r.UpdatedAt.Before(req.To)
		if p.hbug == "range ignored" {
			inRange = !r.UpdatedAt.Before(req.From.Add(-time.Hour))
		}
		if p.hbug == "To inclusive" {
			inRange = !r.UpdatedAt.Before(req.From) && !r.UpdatedAt.After(req.To)
		}
		if inRange {
			all = append(all, r)
		}
	}
	p.s.mu.Unlock()
	slices.SortFunc(all, func(a, b sdk.Review) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	off, _ := strconv.Atoi(req.Cursor)
	if p.hbug == "cursor ignored" {
		off = 0
	}
	size := max(req.PageSize, 1)
	if p.hbug == "one page" {
		size = len(all)
	}
	off = min(off, len(all))
	end := min(off+size, len(all))
	out := sdk.HistoryResponse{Reviews: slices.Clone(all[off:end]), Done: int64(end), Total: int64(len(all))}
	for i := range out.Reviews {
		if p.hbug == "ids differ from the listing's" {
			out.Reviews[i].ID = "archive-" + out.Reviews[i].ID
		}
	}
	if end < len(all) {
		out.NextCursor = strconv.Itoa(end)
		if p.hbug == "cursor ignored" {
			out.NextCursor = "x" + strconv.Itoa(end)
		}
	}
	return out, nil
}

func runHistoryStore(t *testing.T, hbug string) []string {
	t.Helper()
	s := newDateStore()
	old := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3, Text: "ok", CreatedAt: old, UpdatedAt: old})
	rec := newRecorder(t)
	runStore(rec, dateHistoryPlugin{datePlugin: datePlugin{s: s}, hbug: hbug},
		StoreSuite{Settings: sdk.Settings{"api_key": "k"}, AppID: "app", ReviewID: "r1", Vendor: s})
	for _, sk := range *rec.skips {
		if hbug == "" && strings.HasPrefix(sk, "history") {
			t.Errorf("a history check was skipped: %s", sk)
		}
	}
	return *rec.findings
}

func TestHistoryConformanceCorrectPluginPasses(t *testing.T) {
	if f := runHistoryStore(t, ""); len(f) > 0 {
		t.Errorf("findings: %q", f)
	}
	// A plugin without History passes with the typed Unsupported answer.
	if f := runDateStore(t, "", "", true); len(f) > 0 {
		t.Errorf("plugin without history: %q", f)
	}
}

func TestHistoryMutantsAreCaught(t *testing.T) {
	for _, tc := range []struct{ bug, subtest string }{
		{"undeclared, answers an empty page", "history: unsupported is typed"},
		{"range ignored", "history: paged, range honoured"},
		{"To inclusive", "history: paged, range honoured"},
		{"one page", "history: paged, range honoured"},
		{"cursor ignored", "history: paged, range honoured"},
		{"ids differ from the listing's", "history: ids equal the listing's"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			f := runHistoryStore(t, tc.bug)
			if !reportedIn(f, tc.subtest) {
				t.Errorf("mutant %q not reported in %q; findings: %q", tc.bug, tc.subtest, f)
			}
		})
	}
}

func reportedIn(findings []string, subtest string) bool {
	for _, f := range findings {
		if strings.HasPrefix(f, subtest+":") {
			return true
		}
	}
	return false
}
