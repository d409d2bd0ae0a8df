package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func TestReviewsOverTheAdminAPI(t *testing.T) {
	ts, _ := newRepliesServer(t)
	ctx := context.Background()
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"acme","helpdesk":`+deskJSON+`,"apps":[{"id":"ios","store":"st","store_app_id":"1"}]}`); a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	when := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err := ts.db.InTx(ctx, func(tx *state.Tx) error {
		for i, text := range []string{"アプリが落ちる", "Отличное приложение", "Great app", "javascript link"} {
			r := sdk.Review{ID: "r" + string(rune('0'+i)), Rating: i + 1, Text: text, Author: "Kenji", Language: "ja", Country: "JP",
				URL: "https://store.example/r", CreatedAt: when.AddDate(0, 0, i)}
			if i == 3 {
				r.URL = "javascript:alert(1)"
			}
			if _, err := tx.ObserveReview(ctx, "acme", "ios", r); err != nil {
				return err
			}
		}
		_, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "m1", AppID: "ios", ReviewID: "r0", Text: "申し訳ありません",
			Staff: "Anna", Status: state.ReplyPending})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		a := ts.do(t, "GET", path, "")
		return a.code, a.body
	}
	code, body := get("/api/reviews?q=" + url.QueryEscape("落ち") + "&integration=acme&rating=1,2&reply=pending&from=2026-11-01&until=2026-11-01")
	var page ReviewPageJSON
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Reviews) != 1 {
		t.Fatalf("search: %d %s", code, body)
	}
	r := page.Reviews[0]
	if r.ReviewID != "r0" || r.Answer != "申し訳ありません" || r.ReplyStatus != "pending" || r.Author != "Kenji" || r.Store != "st" ||
		r.Self != "/api/reviews/acme/ios/r0" || r.URL != "https://store.example/r" {
		t.Errorf("review %+v", r)
	}
	// Pages: two at a time, then the rest.
	code, body = get("/api/reviews?limit=2")
	page = ReviewPageJSON{}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Reviews) != 2 || page.Next == "" {
		t.Fatalf("page 1: %d %s", code, body)
	}
	if page.Reviews[0].URL != "" {
		t.Errorf("a javascript: link was kept: %q", page.Reviews[0].URL)
	}
	code, body = get("/api/reviews?limit=2&after=" + page.Next)
	page = ReviewPageJSON{}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Reviews) != 2 || page.Next != "" || page.Prev == "" ||
		page.Reviews[1].ReviewID != "r0" {
		t.Fatalf("page 2: %d %s", code, body)
	}
	// One review with its versions and answers.
	code, body = get("/api/reviews/acme/ios/r0")
	var d ReviewDetailJSON
	if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil || len(d.Versions) != 1 || len(d.Answers) != 1 ||
		len(d.Answers[0].Timeline) != 1 || d.Answers[0].Timeline[0].By != "Anna" {
		t.Fatalf("one review: %d %s", code, body)
	}
	if code, body = get("/api/reviews/acme/ios/nope"); code != 404 || !strings.Contains(body, "has not seen review") {
		t.Errorf("unknown review: %d %s", code, body)
	}
	if code, _ = get("/api/reviews/nope/ios/r0"); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
	// Bad filters: 400 problems naming the parameter.
	for q, field := range map[string]string{
		"rating=6":                             "rating",
		"rating=x":                             "rating",
		"reply=answered":                       "reply",
		"language=" + url.QueryEscape("en us"): "language",
		"from=yesterday":                       "from",
		"until=2026-13-01":                     "until",
		"from=2026-11-05&until=2026-11-01":     "until",
		"limit=0":                              "limit",
		"limit=9999":                           "limit",
		"after=garbage":                        "after",
		"before=garbage":                       "before",
		"app=ios":                              "app",
		"integration=acme&app=android":         "app",
		"q=" + strings.Repeat("x", 201):        "q",
		"ratings=5":                            "ratings",
	} {
		code, body := get("/api/reviews?" + q)
		var p Problem
		if err := json.Unmarshal([]byte(body), &p); code != 400 || err != nil || len(p.Fields) == 0 || p.Fields[0].Field != field ||
			!strings.Contains(p.Detail, "parameter "+field) {
			t.Errorf("%s: %d %s, want a 400 naming %s", q, code, body, field)
		}
	}
	if code, _ = get("/api/reviews?integration=nope"); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
}
