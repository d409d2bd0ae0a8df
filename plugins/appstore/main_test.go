package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appstore/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const app = "1234567890"

type env struct {
	fake  *fake.Server
	url   string
	store sdk.Store
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.AddApp(app)
	return &env{fake: f, url: srv.URL, store: sdktest.LaunchStore(t, sdktest.Build(t, "."))}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func (e *env) listAll(t *testing.T, s sdk.Settings, cursor string, countries ...string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListRequest{Settings: s, AppID: app, Cursor: cursor, Countries: countries})
}

func seed(e *env, n int, start time.Time) {
	countries := []string{"US", "RU", "JP"}
	for i := range n {
		e.fake.PutReview(app, sdk.Review{ID: fmt.Sprintf("as-%04d", i), Author: "Nick", Rating: 1 + i%5, Title: "t", Text: fmt.Sprintf("review %d", i),
			Country: countries[i%3], UpdatedAt: start.Add(time.Duration(i) * time.Minute)})
	}
}

func TestConformance(t *testing.T) {
	e := start(t)
	seed(e, 3, time.Now().Add(-time.Hour))
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.fake.Settings(e.url), AppID: app, ReviewID: "as-0001"})
}

func TestPagingCursorTerritoryAndTokens(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	seed(e, 450, time.Now().Add(-48*time.Hour))
	all, cursor, pages := e.listAll(t, s, "")
	if len(all) != 450 || pages != 3 {
		t.Fatalf("%d reviews in %d pages, want 450 in 3 (200 a page)", len(all), pages)
	}
	r := all[0] // newest first
	if r.ID != "as-0449" || r.Country != "JP" || r.Extra["territory"] != "JPN" || r.Rating != 5 || r.Text != "review 449" || r.Author != "Nick" {
		t.Errorf("newest review %+v", r)
	}
	if n := e.fake.TokensSeen(); n != 1 {
		t.Errorf("%d tokens for one listing, want one reused", n)
	}
	// The cursor: only what is newer is listed, and paging stops early.
	e.fake.PutReview(app, sdk.Review{ID: "as-new", Rating: 2, Text: "new one", Country: "US"})
	e.fake.PutReview(app, sdk.Review{ID: "as-0003", Rating: 5, Text: "edited: great now", Country: "RU"}) // an edit gets a new date
	calls := e.fake.Calls()
	fresh, cursor2, pages := e.listAll(t, s, cursor)
	ids := map[string]bool{}
	for _, r := range fresh {
		ids[r.ID] = true
	}
	// The two changed ones, and perhaps the newest of the last poll again (same second as the cursor).
	if !ids["as-new"] || !ids["as-0003"] || len(fresh) > 3 || pages != 1 || e.fake.Calls()-calls != 1 {
		t.Fatalf("after the cursor: %v in %d pages (%d calls), want as-new and as-0003 from one page", ids, pages, e.fake.Calls()-calls)
	}
	if cursor2 <= cursor {
		t.Errorf("cursor did not advance: %s → %s", cursor, cursor2)
	}
	// Territory filter at the source (alpha-2 in, alpha-3 to Apple).
	jp, _, _ := e.listAll(t, s, "", "jp")
	for _, r := range jp {
		if r.Country != "JP" {
			t.Fatalf("country filter JP listed %+v", r)
		}
	}
	if len(jp) != 150 {
		t.Errorf("%d Japanese reviews, want 150", len(jp))
	}
	// Apple expires the token: the plugin signs a new one and carries on.
	e.fake.ExpireTokens()
	if _, _, _ = e.listAll(t, s, cursor2); e.fake.TokensSeen() != 2 {
		t.Errorf("%d tokens seen, want a second after expiry", e.fake.TokensSeen())
	}
}

func TestReplyReplaceDeleteAndLimits(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	seed(e, 2, time.Now().Add(-time.Hour))
	rep, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Thank you!"})
	if err != nil || rep.ID == "" || rep.Text != "Thank you!" {
		t.Fatalf("reply: %+v %v", rep, err)
	}
	if txt, _ := e.fake.ReplyText(app, "as-0001"); txt != "Thank you!" {
		t.Errorf("App Store shows %q", txt)
	}
	// Again with the same text: not posted twice.
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Thank you!"}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.ResponsePosts("as-0001"); n != 1 {
		t.Errorf("%d responses posted, want 1", n)
	}
	all, _, _ := e.listAll(t, s, "")
	for _, r := range all {
		if r.ID == "as-0001" && (r.Reply == nil || r.Reply.Text != "Thank you!" || r.Reply.State != "PENDING_PUBLISH") {
			t.Errorf("listed reply %+v", r.Reply)
		}
	}
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Fixed in 3.3"}); err != nil {
		t.Fatal(err)
	}
	if txt, _ := e.fake.ReplyText(app, "as-0001"); txt != "Fixed in 3.3" {
		t.Errorf("after replacing: %q", txt)
	}
	if err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.fake.ReplyText(app, "as-0001"); ok {
		t.Error("the response is still there after delete")
	}
	// Deleting again (the hub retries after a crash) is not an error.
	if err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", ReplyID: rep.ID}); err != nil {
		t.Errorf("delete again: %v", err)
	}
	calls := e.fake.Calls()
	_, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: strings.Repeat("x", 5971)})
	if sdk.KindOf(err) != sdk.Refused || !strings.Contains(err.Error(), "limited to 5970 characters, this one has 5971") || e.fake.Calls() != calls {
		t.Errorf("over-long: %v (calls %d → %d)", err, calls, e.fake.Calls())
	}
}

func TestErrorsAndRateLimit(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	e.fake.RateLimit(1, 0)
	_, err := e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app})
	if sdk.KindOf(err) != sdk.RateLimited || sdk.RetryAfterOf(err) <= 0 || !strings.Contains(err.Error(), "3600 requests an hour, 0 left") {
		t.Errorf("429: %v (%v %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	e.fake.RateLimit(1, 90*time.Second)
	if _, err = e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app}); sdk.RetryAfterOf(err) != 90*time.Second {
		t.Errorf("429 with Retry-After: %v", err)
	}
	_, err = e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: "999"})
	if sdk.KindOf(err) != sdk.NotFound || !strings.Contains(err.Error(), "There is no resource of type 'apps' with id '999'") {
		t.Errorf("unknown app: %v", err)
	}
	bad := e.fake.Settings(e.url)
	bad["private_key"] = fake.New().PrivateKeyPEM() // same ids, a key Apple does not know
	if _, err := e.store.CheckCredentials(ctx(t), bad, app); sdk.KindOf(err) != sdk.Unauthenticated || !strings.Contains(err.Error(), "refused the API key") {
		t.Errorf("unknown key: %v", err)
	}
	partial := sdk.Settings{"issuer_id": "x", "base_url": e.url}
	if _, err := e.store.CheckCredentials(ctx(t), partial, app); sdk.KindOf(err) != sdk.Invalid || !strings.Contains(err.Error(), "key_id, private_key missing") {
		t.Errorf("incomplete key: %v", err)
	}
	garbled := e.fake.Settings(e.url)
	garbled["private_key"] = "not a key"
	if _, err := e.store.CheckCredentials(ctx(t), garbled, app); sdk.KindOf(err) != sdk.Invalid || !strings.Contains(err.Error(), ".p8") {
		t.Errorf("garbled key: %v", err)
	}
	e.fake.Fail(1, 503)
	if _, err := e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app}); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("503: %v", err)
	}
}

// Without a key: reviews come from the public feed, replies are refused.
func TestPublicFeedMode(t *testing.T) {
	e := start(t)
	seed(e, 120, time.Now().Add(-10*time.Hour)) // 40 each in US, RU, JP
	e.fake.PutReview(app, sdk.Review{ID: "lonely", Rating: 4, Text: "only one in GB", Country: "GB"})
	s := e.fake.PublicSettings(e.url)
	report, err := e.store.CheckCredentials(ctx(t), s, app)
	if err != nil || report.CanReply {
		t.Fatalf("check: %+v %v", report, err)
	}
	all, cursor, _ := e.listAll(t, s, "")
	byCountry := map[string]int{}
	for _, r := range all {
		byCountry[r.Country]++
	}
	if byCountry["US"] != 40 || byCountry["RU"] != 40 || byCountry["JP"] != 40 || byCountry["GB"] != 1 {
		t.Errorf("feed reviews by country %v", byCountry)
	}
	e.fake.PutReview(app, sdk.Review{ID: "as-0000", Rating: 5, Text: "edited", Country: "US"})
	fresh, _, _ := e.listAll(t, s, cursor)
	edited := false
	for _, r := range fresh {
		edited = edited || (r.ID == "as-0000" && r.Rating == 5)
		if r.ID != "as-0000" && r.ID != "lonely" { // the newest may come again (same second as the cursor)
			t.Errorf("after the cursor, an old review: %+v", r)
		}
	}
	if !edited {
		t.Errorf("after the cursor: %+v, want the edited as-0000", fresh)
	}
	_, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "hi"})
	if sdk.KindOf(err) != sdk.Refused || !strings.Contains(err.Error(), "need an App Store Connect API key") {
		t.Errorf("reply without a key: %v", err)
	}
}

// A key whose role may not answer reviews; a country without an App Store.
func TestReadOnlyKeyAndCountriesWithoutAppStore(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	seed(e, 3, time.Now().Add(-time.Hour))
	e.fake.ReadOnly(true)
	_, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Thanks"})
	if sdk.KindOf(err) != sdk.PermissionDenied || !strings.Contains(err.Error(), "FORBIDDEN_ERROR") {
		t.Errorf("read-only key: %v", err)
	}
	if _, ok := e.fake.ReplyText(app, "as-0001"); ok {
		t.Error("a read-only key published a response")
	}
	calls := e.fake.Calls()
	page, err := e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app, Countries: []string{"KP"}})
	if err != nil || len(page.Reviews) != 0 || page.NextPageToken != "" || e.fake.Calls() != calls {
		t.Errorf("a country without an App Store: %+v %v (%d calls)", page, err, e.fake.Calls()-calls)
	}
	ru, _, _ := e.listAll(t, s, "", "ru", "KP")
	if len(ru) != 1 || ru[0].Country != "RU" {
		t.Errorf("RU and KP: %+v", ru)
	}
}
