package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func TestChartsPage(t *testing.T) {
	db := reviewsState(t)
	base, get := signedIn(t, reviewsAdminOver(db))

	// Nov 1-5: gp-2 (2★), as-1 (5★), as-2 (4★), gp-1 edited on the 5th (3★, answered).
	code, body := get("/console/charts?days=7&until=2026-11-05")
	if code != 200 {
		t.Fatalf("charts: %d %s", code, body)
	}
	for _, want := range []string{
		`aria-current="page">Charts`, `<svg viewBox="0 0 720 200" role="img" aria-labelledby="chart-ratings-title" aria-describedby="chart-ratings-desc"`,
		`<title id="chart-ratings-title">Reviews per day by rating</title>`, "2026-10-30 to 2026-11-05: 4 reviews in all",
		`<dd id="total-reviews">4</dd>`, `<dd id="total-average">3.50★</dd>`, `<dd id="total-answered">25%</dd>`,
		`<polyline class="line"`, `<rect class="answered"`, `<rect class="first"`, `<title>2026-11-04: 4★ × 1</title>`,
		`href="/console/charts/export?days=7&amp;until=2026-11-05"`, `href="/console/reviews?from=2026-10-30&amp;until=2026-11-05"`,
		"The figures as a table", `<th scope="row" class="nowrap">2026-11-05</th>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("charts page lacks %s", want)
		}
	}
	for class, n := range map[string]int{"r2": 1, "r3": 1, "r4": 1, "r5": 1, "r1": 0} {
		if got := strings.Count(body, `<rect class="`+class+`"`); got != n {
			t.Errorf("%d bars of class %s, want %d", got, class, n)
		}
	}
	if got := strings.Count(body, `<th scope="row"`); got != 7 {
		t.Errorf("%d rows in the table, want 7", got)
	}
	// The range links: 7, 30, 90 days, the current one marked.
	for _, n := range []int{7, 30, 90} {
		if !strings.Contains(body, fmt.Sprintf(`href="/console/charts?days=%d"`, n)) {
			t.Errorf("no %d-day link", n)
		}
	}
	if !strings.Contains(body, `href="/console/charts?days=7" class="button secondary" aria-current="page"`) {
		t.Error("the current range is not marked")
	}
	// Per integration and app.
	code, body = get("/console/integrations/beta/charts?days=7&until=2026-11-05&app=ios")
	if code != 200 || !strings.Contains(body, `<dd id="total-reviews">2</dd>`) || !strings.Contains(body, `<option value="ios" selected>`) ||
		!strings.Contains(body, "Charts · beta · ios") || strings.Contains(body, `id="c-integration"`) {
		t.Errorf("beta's charts: %d", code)
	}
	// Nothing in the period: said so, no bars.
	code, body = get("/console/charts?days=7&until=2026-10-01")
	if code != 200 || strings.Count(body, "No figures in this period.") != 4 || strings.Contains(body, "<rect") {
		t.Errorf("empty period: %d", code)
	}
	if code, _ = get("/console/integrations/nope/charts"); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
	if code, body = get("/console/charts?days=400"); code != 400 || !strings.Contains(body, "is not a number of days") {
		t.Errorf("400 days: %d", code)
	}
	// Russian.
	code, body = getLang(t, get, "/console/charts?days=7&until=2026-11-05", "ru")
	if code != 200 || !strings.Contains(body, "Отзывы по дням и оценкам") || !strings.Contains(body, "с 2026-10-30 по 2026-11-05: всего отзывов — 4") ||
		!strings.Contains(body, ">05.11<") || !strings.Contains(body, "Скачать CSV") {
		t.Errorf("ru: %d", code)
	}

	// The CSV exports.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Get(base + "/console/charts/export?days=7"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the export without a session: %d", resp.StatusCode)
	}
	code, body = get("/console/charts/export?days=7&until=2026-11-05&integration=acme")
	if code != 200 || !strings.HasPrefix(body, "\ufeffday,reviews,") || !strings.Contains(body, "\r\n2026-11-05,1,0,0,1,0,0,3,1,1,1,") {
		t.Errorf("charts export: %d %q", code, body)
	}
	code, body = get("/console/reviews/export?integration=acme&bom=0")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 3 || rows[1][4] != "gp-1" || rows[1][9] != "アプリが起動しません。再インストールで直りました。" {
		t.Errorf("reviews export: %d %v %q", code, err, rows)
	}
	// The Reviews page links its export with its filters.
	_, body = get("/console/reviews?rating=5&q=" + "x")
	if !strings.Contains(body, `href="/console/reviews/export?q=x&amp;rating=5" download`) {
		t.Error("the Reviews page has no export link with its filters")
	}
}

// A viewer may read the charts and download them and the reviews.
func TestChartsForViewers(t *testing.T) {
	for _, action := range []string{"GET /console/charts", "GET /console/charts/export", "GET /console/reviews/export",
		"GET /console/integrations/{id}/charts"} {
		if !can("viewer", action) {
			t.Errorf("a viewer may not %s", action)
		}
	}
}

// chartsState adds 90 days of reviews before now to reviewsState: for
// the browser test's and the screenshots' charts.
func chartsState(t *testing.T, now time.Time) *state.DB {
	t.Helper()
	db := reviewsState(t)
	ctx := context.Background()
	today := now.UTC().Truncate(24 * time.Hour)
	type answered struct {
		in, msg string
		at      time.Time
	}
	var times []answered
	err := db.InTx(ctx, func(tx *state.Tx) error {
		for d := 0; d < 90; d++ {
			for k, app := range [][2]string{{"acme", "android"}, {"beta", "ios"}} {
				n := 2 + (d*7+k*3)%5
				for j := 0; j < n; j++ {
					posted := today.AddDate(0, 0, -d).Add(time.Duration(1+j*3+k) * time.Hour)
					rating := 1 + (d+j*2+k+d/15)%5
					id := fmt.Sprintf("gen-%s-%d-%d", app[1], d, j)
					r := sdk.Review{ID: id, Rating: rating, Text: fmt.Sprintf("Review %d of day %d", j, d), Author: "Tester", CreatedAt: posted}
					if _, err := tx.ObserveReview(ctx, app[0], app[1], r); err != nil {
						return err
					}
					if (d+j)%3 == 0 || d > 20 && j == 0 {
						continue // not answered
					}
					msg := "msg-" + id
					if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: app[0], MessageID: msg, AppID: app[1], ReviewID: id, Text: "Thank you",
						Staff: "Anna", Status: state.ReplyPending}); err != nil {
						return err
					}
					if err := tx.SetReplyStatus(ctx, app[0], msg, state.ReplyPublished, ""); err != nil {
						return err
					}
					times = append(times, answered{app[0], msg, posted.Add(time.Duration(2+(d*5+j*11)%30) * time.Hour)})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range times { // the publications' times, as if they happened then
		if _, err := db.SQL().Exec(`UPDATE reply_events SET at_ms = ? WHERE integration_id = ? AND message_id = ? AND status = 'published'`,
			a.at.UnixMilli(), a.in, a.msg); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// ChartsTestServer serves the console over chartsState (for the browser
// test of package console_test); it returns the console's URL.
func ChartsTestServer(t *testing.T) string {
	t.Helper()
	c, err := New(Options{Token: testToken, Admin: reviewsAdminOver(chartsState(t, time.Now()))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestChartsOverNinetyDays(t *testing.T) {
	now := time.Now()
	_, get := signedIn(t, reviewsAdminOver(chartsState(t, now)))
	code, body := get("/console/charts?days=90")
	if code != 200 {
		t.Fatalf("charts: %d", code)
	}
	if got := strings.Count(body, `<th scope="row"`); got != 90 {
		t.Errorf("%d days in the table", got)
	}
	if n := strings.Count(body, "<rect class=\"first\""); n < 80 {
		t.Errorf("%d days with a first answer's time", n)
	}
	// Day labels are spaced: not one per day.
	if n := strings.Count(body, `<g class="xlabels">`); n != 4 {
		t.Errorf("%d label groups", n)
	}
	i := strings.Index(body, `<g class="xlabels">`)
	if labels := strings.Count(body[i:i+strings.Index(body[i:], "</g>")], "<text"); labels > 10 || labels < 5 {
		t.Errorf("%d day labels on a 90-day chart", labels)
	}
}
