package console

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// reviewsState is a SQLite state with two integrations and reviews in
// several scripts, one answered through a draft approved by Anna.
func reviewsState(t *testing.T) *state.DB {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, q := range [][]any{
		{`INSERT INTO integrations (id, name, helpdesk_plugin, created_at, updated_at) VALUES ('acme', 'Acme', 'omnidesk', ?, ?)`, now, now},
		{`INSERT INTO integrations (id, name, helpdesk_plugin, created_at, updated_at) VALUES ('beta', 'Beta', 'zendesk', ?, ?)`, now, now},
		{`INSERT INTO apps (integration_id, id, name, store_plugin, store_app_id) VALUES ('acme', 'android', 'Acme Android', 'googleplay', 'com.acme')`},
		{`INSERT INTO apps (integration_id, id, name, store_plugin, store_app_id) VALUES ('beta', 'ios', 'Beta iOS', 'appstore', '1')`},
	} {
		if _, err := db.SQL().Exec(q[0].(string), q[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	day := func(n int) time.Time { return time.Date(2026, 11, n, 9, 30, 0, 0, time.UTC) }
	err = db.InTx(ctx, func(tx *state.Tx) error {
		for _, x := range []struct {
			in, app string
			r       sdk.Review
		}{
			{"acme", "android", sdk.Review{ID: "gp-1", Author: "Kenji", Rating: 1, Title: "起動しない", Text: "アプリが起動しません。毎回クラッシュします。",
				Language: "ja", Country: "JP", AppVersion: "3.2.1", URL: "https://play.example/gp-1", CreatedAt: day(1)}},
			{"acme", "android", sdk.Review{ID: "gp-2", Author: "Иван", Rating: 2, Text: "Не хватает тёмной темы, глаза устают.",
				Language: "ru", Country: "RU", AppVersion: "3.2.0", CreatedAt: day(2)}},
			{"beta", "ios", sdk.Review{ID: "as-1", Author: "Somchai", Rating: 5, Text: "แอปนี้ใช้งานง่ายมาก", Language: "th", Country: "TH",
				CreatedAt: day(3)}},
			{"beta", "ios", sdk.Review{ID: "as-2", Author: "Li", Rating: 4, Text: "很好用，但是偶尔崩溃", Language: "zh-Hans", Country: "CN",
				CreatedAt: day(4)}},
		} {
			if _, err := tx.ObserveReview(ctx, x.in, x.app, x.r); err != nil {
				return err
			}
		}
		// Kenji edits his review.
		if _, err := tx.ObserveReview(ctx, "acme", "android", sdk.Review{ID: "gp-1", Author: "Kenji", Rating: 3, Title: "起動しない",
			Text: "アプリが起動しません。再インストールで直りました。", Language: "ja", Country: "JP", AppVersion: "3.2.2",
			URL: "https://play.example/gp-1", CreatedAt: day(1), UpdatedAt: day(5)}); err != nil {
			return err
		}
		if err := tx.LinkTicket(ctx, "acme", "android", "gp-1", "1042"); err != nil {
			return err
		}
		if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "d1", AppID: "android", ReviewID: "gp-1",
			Text: "ご不便をおかけして申し訳ありません。", Rule: "sorry", Status: state.ReplyDraft}); err != nil {
			return err
		}
		if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "s1", AppID: "android", ReviewID: "gp-1",
			Text: "ご不便をおかけして申し訳ありません。", Staff: "Anna", Status: state.ReplyPending}); err != nil {
			return err
		}
		if err := tx.CloseDraftsBy(ctx, "acme", "android", "gp-1", state.ReplyApproved, "", "Anna"); err != nil {
			return err
		}
		return tx.SetReplyStatus(ctx, "acme", "s1", state.ReplyPublished, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReviewsPages(t *testing.T) {
	db := reviewsState(t)
	_, get := signedIn(t, reviewsAdminOver(db))

	// All integrations, newest first, everything the row shows.
	code, body := get("/console/reviews")
	if code != 200 {
		t.Fatalf("reviews: %d %s", code, body)
	}
	for _, want := range []string{`type="search"`, "很好用", "แอปนี้ใช้งานง่ายมาก", "再インストールで直りました", "Kenji", "JP", "3.2.2",
		"https://play.example/gp-1", "ご不便をおかけして申し訳ありません。", "published", "Ticket 1042", "Acme Android", "googleplay",
		`href="/console/reviews/acme/android/gp-1"`, "edited, version 2", `aria-current="page">Reviews`} {
		if !strings.Contains(body, want) {
			t.Errorf("reviews page lacks %q", want)
		}
	}
	if strings.Index(body, "很好用") > strings.Index(body, "แอปนี้") {
		t.Error("not newest first")
	}
	// Search (CJK, one character), and filters.
	for q, want := range map[string][]string{
		"q=" + url.QueryEscape("崩"):                   {"as-2"},
		"q=" + url.QueryEscape("起動"):                  {"gp-1"},
		"q=" + url.QueryEscape("тёмной"):              {"gp-2"},
		"rating=1&rating=2&rating=3":                  {"gp-1", "gp-2"},
		"integration=beta":                            {"as-1", "as-2"},
		"store=appstore&language=th":                  {"as-1"},
		"reply=published":                             {"gp-1"},
		"reply=none&from=2026-11-02&until=2026-11-03": {"gp-2", "as-1"},
		"q=" + url.QueryEscape("nothing-like-this"):   {},
	} {
		code, body := get("/console/reviews?" + q)
		if code != 200 {
			t.Errorf("%s: %d", q, code)
			continue
		}
		got := strings.Count(body, `<tr data-review=`)
		if got != len(want) {
			t.Errorf("%s: %d rows, want %v", q, got, want)
		}
		for _, id := range want {
			if !strings.Contains(body, `data-review="`+id+`"`) {
				t.Errorf("%s: no %s", q, id)
			}
		}
		if len(want) == 0 && !strings.Contains(body, "No review matches") {
			t.Errorf("%s: no empty message", q)
		}
	}
	// Per integration: its apps offered, other integrations' reviews not shown.
	code, body = get("/console/integrations/acme/reviews")
	if code != 200 || !strings.Contains(body, `<option value="android"`) || strings.Contains(body, "as-1") || !strings.Contains(body, "gp-2") {
		t.Errorf("acme's reviews: %d", code)
	}
	if code, _ = get("/console/integrations/nope/reviews"); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
	// Pages: one review a page, there and back.
	if code, body = get("/console/reviews?limit=1"); code != 200 {
		t.Fatalf("page 1: %d", code)
	}
	next := pageLink(t, body, "next")
	code, body = get(next)
	if code != 200 || !strings.Contains(body, `data-review="as-2"`) || strings.Count(body, "<tr data-review=") != 1 {
		t.Errorf("page 2: %d", code)
	}
	code, body = get(pageLink(t, body, "prev"))
	if code != 200 || !strings.Contains(body, `data-review="gp-1"`) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("back to page 1 (Kenji's, edited last): %d", code)
	}
	// A wrong filter: 400, the form again with the parameter named.
	code, body = get("/console/reviews?rating=9&from=someday")
	if code != 400 || !strings.Contains(body, "Some filters are not valid") || !strings.Contains(body, `href="#f-rating"`) ||
		!strings.Contains(body, `href="#f-from"`) || !strings.Contains(body, `type="search"`) {
		t.Errorf("bad filter: %d %s", code, body)
	}
	// Russian.
	code, body = getLang(t, get, "/console/reviews", "ru")
	if code != 200 || !strings.Contains(body, "Поиск") || !strings.Contains(body, "опубликован") || !strings.Contains(body, "Все интеграции") {
		t.Errorf("ru: %d", code)
	}
}

func TestReviewPage(t *testing.T) {
	db := reviewsState(t)
	_, get := signedIn(t, reviewsAdminOver(db))
	code, body := get("/console/reviews/acme/android/gp-1")
	if code != 200 {
		t.Fatalf("review: %d %s", code, body)
	}
	for _, want := range []string{"毎回クラッシュします", "再インストールで直りました", `data-version="1"`, `data-version="2"`, "3.2.1", "3.2.2",
		`data-message="d1"`, `data-message="s1"`, "approved by Anna", "draft awaiting approval", "published", "rule sorry",
		"1042", "https://play.example/gp-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("review page lacks %q", want)
		}
	}
	if code, body = get("/console/reviews/acme/android/nope"); code != 404 || !strings.Contains(body, "has not seen review") {
		t.Errorf("unknown review: %d", code)
	}
}

// pageLink is the pager's link with rel (HTML-unescaped).
func pageLink(t *testing.T, body, rel string) string {
	t.Helper()
	i := strings.Index(body, `rel="`+rel+`"`)
	if i < 0 {
		t.Fatalf("no %s link", rel)
	}
	start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
	end := strings.Index(body[start:], `"`)
	return strings.ReplaceAll(body[start:start+end], "&amp;", "&")
}

func getLang(t *testing.T, get func(string) (int, string), path, lang string) (int, string) {
	t.Helper()
	get("/console/lang?l=" + lang + "&back=" + url.QueryEscape(path))
	code, body := get(path)
	get("/console/lang?l=en&back=" + url.QueryEscape(path))
	return code, body
}

// reviewsAdminOver is the admin API's functions over db (no plugins installed).
func reviewsAdminOver(db *state.DB) *httpapi.Admin {
	return &httpapi.Admin{DB: db, Token: testToken, Info: func(string) (sdk.Info, bool) { return sdk.Info{}, false },
		Plugins: func() []string { return nil }}
}

// ReviewsTestServer serves the console over reviewsState (for the browser
// test of package console_test); it returns the console's URL.
func ReviewsTestServer(t *testing.T) string {
	t.Helper()
	c, err := New(Options{Token: testToken, Admin: reviewsAdminOver(reviewsState(t))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestToken is the admin token of ReviewsTestServer.
const TestToken = testToken
