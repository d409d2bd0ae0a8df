package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func TestReviewStatsAndExportsOverTheAdminAPI(t *testing.T) {
	ts, _ := newRepliesServer(t)
	ctx := context.Background()
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"acme","helpdesk":`+deskJSON+`,"apps":[{"id":"ios","store":"st","store_app_id":"1"}]}`); a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	when := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	texts := []string{"Crashes, \"always\"\non start", "=HYPERLINK(\"http://evil.example\")", "Отличное приложение", "很好用"}
	err := ts.db.InTx(ctx, func(tx *state.Tx) error {
		for i, text := range texts {
			r := sdk.Review{ID: "r" + string(rune('0'+i)), Rating: i + 2, Text: text, Author: "Kenji", CreatedAt: when.AddDate(0, 0, i/2)}
			if _, err := tx.ObserveReview(ctx, "acme", "ios", r); err != nil {
				return err
			}
		}
		if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "m1", AppID: "ios", ReviewID: "r0", Text: "Sorry; fixed",
			Staff: "Anna", Status: state.ReplyPending}); err != nil {
			return err
		}
		return tx.SetReplyStatus(ctx, "acme", "m1", state.ReplyPublished, "")
	})
	if err != nil {
		t.Fatal(err)
	}

	a := ts.do(t, "GET", "/api/stats/reviews?integration=acme&app=ios&days=7&until=2026-11-03", "")
	var s ReviewStatsJSON
	if err := json.Unmarshal([]byte(a.body), &s); a.code != 200 || err != nil {
		t.Fatalf("stats: %d %s", a.code, a.body)
	}
	if s.From != "2026-10-28" || s.Until != "2026-11-03" || len(s.Days) != 7 || s.Days[4].Day != "2026-11-01" {
		t.Fatalf("period: %+v", s)
	}
	d := s.Days[4]
	if d.Reviews != 2 || d.Ratings[0] != 0 || d.Ratings[1] != 1 || d.Ratings[2] != 1 || *d.AverageRating != 2.5 ||
		d.Answered != 1 || *d.AnsweredShare != 0.5 || d.FirstAnswers != 1 || d.FirstAnswerHours == nil {
		t.Errorf("2026-11-01: %+v", d)
	}
	if s.Days[0].AverageRating != nil || s.Days[0].Reviews != 0 {
		t.Errorf("an empty day has figures: %+v", s.Days[0])
	}
	if s.Totals.Reviews != 4 || *s.Totals.AverageRating != 3.5 || s.Totals.Answered != 1 || *s.Totals.AnsweredShare != 0.25 {
		t.Errorf("totals: %+v", s.Totals)
	}
	for path, want := range map[string]string{
		"/api/stats/reviews?days=0":                  "parameter days",
		"/api/stats/reviews?days=400":                "parameter days",
		"/api/stats/reviews?app=ios":                 "parameter app",
		"/api/stats/reviews?until=yesterday":         "parameter until",
		"/api/stats/reviews?dayz=7":                  "parameter dayz",
		"/api/stats/reviews?integration=acme&app=no": "has no app",
		"/api/reviews/export?rating=9":               "parameter rating",
		"/api/stats/reviews/export?days=x":           "parameter days",
	} {
		if a := ts.do(t, "GET", path, ""); a.code != 400 || !strings.Contains(a.body, want) {
			t.Errorf("%s: %d %s", path, a.code, a.body)
		}
	}
	if a := ts.do(t, "GET", "/api/stats/reviews?integration=nope", ""); a.code != 404 {
		t.Errorf("unknown integration: %d %s", a.code, a.body)
	}

	// The statistics as CSV: a byte order mark, the header, one line a day.
	a = ts.do(t, "GET", "/api/stats/reviews/export?integration=acme&days=7&until=2026-11-03", "")
	if a.code != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv; charset=utf-8") ||
		!strings.Contains(a.header.Get("Content-Disposition"), `filename="reviewhub-stats-acme-2026-10-28-2026-11-03.csv"`) {
		t.Fatalf("stats export: %d %v", a.code, a.header)
	}
	if !strings.HasPrefix(a.body, "\ufeffday,reviews,stars_1,") || !strings.Contains(a.body, "\r\n2026-11-01,2,0,1,1,0,0,2.5,1,0.5,1,") {
		t.Errorf("stats export:\n%s", a.body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(a.body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 8 || len(rows[0]) != len(StatsCSVHeader) {
		t.Errorf("stats export: %d rows, %v", len(rows), err)
	}

	// The reviews as CSV, with the Reviews page's filters.
	a = ts.do(t, "GET", "/api/reviews/export?integration=acme", "")
	if a.code != 200 || !strings.HasPrefix(a.body, "\ufeff") {
		t.Fatalf("review export: %d %s", a.code, a.body)
	}
	rows, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(a.body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("review export: %d rows, %v:\n%s", len(rows), err, a.body)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[4]] = r
	}
	if got := byID["r0"]; got[9] != texts[0] || got[16] != "published" || got[17] != "Sorry; fixed" || got[7] != "2" {
		t.Errorf("r0: %q", got)
	}
	if got := byID["r1"][9]; got != "'"+texts[1] {
		t.Errorf("a formula was not defused: %q", got)
	}
	if byID["r2"][9] != "Отличное приложение" || byID["r3"][9] != "很好用" {
		t.Errorf("UTF-8 text: %q %q", byID["r2"][9], byID["r3"][9])
	}
	if !strings.Contains(a.body, "\"Crashes, \"\"always\"\"\r\non start\"") {
		t.Errorf("quoting: %s", a.body)
	}
	a = ts.do(t, "GET", "/api/reviews/export?rating=3&bom=0", "")
	if a.code != 200 || strings.HasPrefix(a.body, "\ufeff") || strings.Count(a.body, "\r\n") != 2 || !strings.Contains(a.body, ",r1,") {
		t.Errorf("filtered, no BOM: %d %q", a.code, a.body)
	}
}

// The review export reads page after page, and says so when a page
// fails midway.
func TestReviewsCSVStreamsPages(t *testing.T) {
	calls := 0
	list := func(_ context.Context, q state.ReviewQuery) (ReviewPageJSON, error) {
		calls++
		if q.Limit != state.MaxReviewPage {
			t.Errorf("page size %d", q.Limit)
		}
		switch q.After {
		case "":
			return ReviewPageJSON{Reviews: []ReviewJSON{{ReviewID: "a", Text: "one"}}, Next: "k1"}, nil
		case "k1":
			return ReviewPageJSON{Reviews: []ReviewJSON{{ReviewID: "b", Text: "two"}}, Next: "k2"}, nil
		}
		return ReviewPageJSON{}, errors.New("database gone")
	}
	w := httptest.NewRecorder()
	WriteReviewsCSV(w, httptest.NewRequest("GET", "/api/reviews/export", nil), slog.New(slog.DiscardHandler), list,
		state.ReviewQuery{After: "ignored"}, false)
	rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err == nil { // the last row has one field
		t.Fatalf("rows %q", rows)
	}
	body := w.Body.String()
	if calls != 3 || !strings.Contains(body, ",a,") || !strings.Contains(body, ",b,") || !strings.Contains(body, "# the export stopped here") ||
		strings.Contains(body, "database gone") {
		t.Errorf("%d calls:\n%s", calls, body)
	}
	// A failure before the first row is a problem answer.
	w = httptest.NewRecorder()
	WriteReviewsCSV(w, httptest.NewRequest("GET", "/api/reviews/export", nil), slog.New(slog.DiscardHandler),
		func(context.Context, state.ReviewQuery) (ReviewPageJSON, error) {
			return ReviewPageJSON{}, errors.New("down")
		}, state.ReviewQuery{}, true)
	if w.Code != 500 || strings.Contains(w.Body.String(), "down") {
		t.Errorf("first page failed: %d %s", w.Code, w.Body.String())
	}
}
