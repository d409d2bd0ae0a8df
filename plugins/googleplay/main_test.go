package googleplay

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/plugins/internal/storetest"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const pkg = "com.example.app"

type env struct {
	fake     *fake.Server
	api      *httptest.Server
	store    sdk.StorePlugin
	settings sdk.Settings
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	api := httptest.NewServer(f)
	t.Cleanup(api.Close)
	f.AddApp(pkg)
	return &env{fake: f, api: api, store: sdktest.LaunchStore(t, sdktest.Build(t, "./cmd/hub-plugin-googleplay")), settings: f.Settings(api.URL)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

// listAll reads one complete listing from cursor, 10 reviews a page.
func (e *env) listAll(t *testing.T, cursor string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg, Cursor: cursor, PageSize: 10})
}

func TestConformance(t *testing.T) {
	e := start(t)
	two := time.Now().Add(-2 * time.Hour) // older than the kit's reviews (see sdktest.RunStore)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Author: "Ann", Rating: 3, Text: "ok", Language: "en", CreatedAt: two, UpdatedAt: two})
	// With the reports bucket the kit's history checks run too.
	e.withReports(time.Hour)
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.settings, AppID: pkg, ReviewID: "r1", Vendor: storetest.View{Fake: e.fake, ReplyLimit: fake.ReplyMaxLength}})
}

func TestPagingMappingAndEdits(t *testing.T) {
	e := start(t)
	for i := range 25 {
		e.fake.PutReview(pkg, sdk.Review{ID: fmt.Sprintf("r%02d", i), Author: "User", Rating: 1 + i%5, Text: fmt.Sprintf("text %d", i),
			Language: "ja_JP", Device: "pixel7", OSVersion: "API 34", AppVersion: "3.2.0", ThumbsUp: i, Extra: map[string]string{"app_version_code": "320"}})
	}
	all, cursor, pages := e.listAll(t, "")
	if len(all) != 25 || pages != 3 {
		t.Fatalf("%d reviews in %d pages, want 25 in 3", len(all), pages)
	}
	r := all[len(all)-1]
	if r.Language != "ja-JP" || r.Device != "pixel7" || r.OSVersion != "API 34" || r.AppVersion != "3.2.0" ||
		r.Extra["app_version_code"] != "320" || r.UpdatedAt.IsZero() || r.Rating < 1 {
		t.Errorf("mapped review %+v", r)
	}
	// Nothing changed: the next poll lists nothing new (at most the newest, same time).
	again, cursor2, _ := e.listAll(t, cursor)
	if len(again) > 1 || cursor2 != cursor {
		t.Errorf("unchanged poll: %d reviews, cursor %s → %s", len(again), cursor, cursor2)
	}
	// Edits: rating up and down are listed again with newer times, and the
	// listing stops at the first page reaching back to the cursor.
	before := map[string]sdk.Review{}
	for _, r := range all {
		before[r.ID] = r
	}
	e.fake.PutReview(pkg, sdk.Review{ID: "r00", Author: "User", Rating: 5, Text: "fixed"})
	e.fake.PutReview(pkg, sdk.Review{ID: "r04", Author: "User", Rating: 1, Text: "broken again"})
	edited, cursor3, pages := e.listAll(t, cursor2)
	got := map[string]sdk.Review{}
	for _, r := range edited {
		got[r.ID] = r
	}
	if got["r00"].Rating != 5 || got["r04"].Rating != 1 || before["r00"].Rating != 1 || before["r04"].Rating != 5 {
		t.Errorf("edited reviews %v, want r00 1→5 and r04 5→1", got)
	}
	for _, id := range []string{"r00", "r04"} {
		if !got[id].UpdatedAt.After(before[id].UpdatedAt) {
			t.Errorf("%s: UpdatedAt %v not after %v", id, got[id].UpdatedAt, before[id].UpdatedAt)
		}
	}
	// Besides the edits, only the review at the cursor's own instant (kept so
	// that nothing is missed) may come again.
	if len(edited) > 3 || pages != 1 || cursor3 <= cursor2 {
		t.Errorf("incremental poll: %d reviews in %d pages, cursor %s → %s; want the 2 edits in 1 page and a newer cursor", len(edited), pages, cursor2, cursor3)
	}
}

func TestReplyReplaceAndRefuse(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Author: "Ann", Rating: 2, Text: "meh"})
	res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "Thanks!"})
	rep := res.Reply
	if err != nil || rep.Text != "Thanks!" {
		t.Fatalf("reply: %+v %v", rep, err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "r1"); txt != "Thanks!" {
		t.Errorf("store shows %q", txt)
	}
	// Asked again with the same text (after a crash): posted again, which
	// replaces the reply with itself; no read is spent on either (the GET
	// quota, 200 an hour per app, is kept for polling).
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "Thanks!"}); err != nil {
		t.Fatal(err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "r1"); txt != "Thanks!" || e.fake.ReplyCalls(pkg, "r1") != 2 || e.fake.GetCalls(pkg) != 0 {
		t.Errorf("after asking twice: %q, %d reply calls, %d GET calls; want the same reply, 2 calls, no GET", txt, e.fake.ReplyCalls(pkg, "r1"), e.fake.GetCalls(pkg))
	}
	// Google strips HTML tags and does not count them: the reply is what
	// Google stores, and 350 characters plus tags pass.
	res, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "<b>" + strings.Repeat("a", 350) + "</b>"})
	rep = res.Reply
	if err != nil || rep.Text != strings.Repeat("a", 350) {
		t.Errorf("350 characters in tags: %q %v", rep.Text, err)
	}
	// Emoji count twice (Google counts "approximately"; the plugin stays on
	// the safe side): 176 emoji are refused before any call.
	calls0 := e.fake.Calls()
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: strings.Repeat("😀", 176)}); sdk.KindOf(err) != sdk.ErrorKindRefused ||
		!strings.Contains(err.Error(), "this one has 352 (HTML tags are not counted; emoji") || e.fake.Calls() != calls0 {
		t.Errorf("176 emoji: %v", err)
	}
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "<p> </p>"}); sdk.KindOf(err) != sdk.ErrorKindRefused {
		t.Errorf("empty after stripping: %v", err)
	}
	// Replying again replaces the answer.
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "Fixed in 3.3"}); err != nil {
		t.Fatal(err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "r1"); txt != "Fixed in 3.3" {
		t.Errorf("after replacing: %q", txt)
	}
	all, _, _ := e.listAll(t, "")
	if all[0].Reply == nil || all[0].Reply.Text != "Fixed in 3.3" {
		t.Errorf("listed reply %+v", all[0].Reply)
	}
	// 351 characters: refused before any call.
	calls := e.fake.Calls()
	_, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: strings.Repeat("я", 351)})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google Play replies are limited to 350 characters, this one has 351") {
		t.Errorf("351 characters: %v", err)
	}
	if e.fake.Calls() != calls {
		t.Errorf("the over-long reply reached the API")
	}
	if _, err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1"}); sdk.KindOf(err) != sdk.ErrorKindUnsupported {
		t.Errorf("delete: %v", err)
	}
}

// A 403 on one review's reply is told apart from a package the account
// cannot see; a 500 on a review older than a week is explained, not retried
// for ever; review ids with ':' work.
func TestReplyFailuresExplained(t *testing.T) {
	e := start(t)
	reply := func(app, id string) error {
		_, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: app, ReviewID: id, Text: "Thanks"})
		return err
	}
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:AOqpTOH8ZUv5em6", Rating: 4, Text: "ok"})
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:blocked1", Rating: 1, Text: "bad"})
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:blocked2", Rating: 1, Text: "bad"})
	e.fake.RefuseReply(pkg, "gp:blocked1")
	e.fake.RefuseReply(pkg, "gp:blocked2")
	// Before any reply went through: listing works, so the review is refused.
	err := reply(pkg, "gp:blocked1")
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google refused the reply to review gp:blocked1 (403) although the account can read the reviews of "+pkg) {
		t.Errorf("refused review, no reply yet: %v (%v)", err, sdk.KindOf(err))
	}
	if err := reply(pkg, "gp:AOqpTOH8ZUv5em6"); err != nil {
		t.Fatalf("reply to a gp: id: %v", err)
	}
	gets := e.fake.GetCalls(pkg)
	err = reply(pkg, "gp:blocked2")
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google refused the reply to this review (403) although the account can reply to others of "+pkg) {
		t.Errorf("refused review after a reply: %v (%v)", err, sdk.KindOf(err))
	}
	if e.fake.GetCalls(pkg) != gets {
		t.Errorf("a GET was spent although an earlier reply proved the permission")
	}
	e.fake.Deny("com.not.ours")
	if err := reply("com.not.ours", "x"); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "no access to package com.not.ours") {
		t.Errorf("denied package: %v (%v)", err, sdk.KindOf(err))
	}
	// Older than a week: Google's 500 is explained and not retried.
	e.fake.PutReview(pkg, sdk.Review{ID: "old", Rating: 2, Text: "old", UpdatedAt: time.Now().Add(-9 * 24 * time.Hour)})
	err = reply(pkg, "old")
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google answered 500 to a reply to review old") || !strings.Contains(err.Error(), "older than a week") {
		t.Errorf("old review: %v (%v)", err, sdk.KindOf(err))
	}
	// A 5xx on a recent review stays transient.
	e.fake.Fail(1, 503)
	if err := reply(pkg, "gp:AOqpTOH8ZUv5em6"); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v (%v)", err, sdk.KindOf(err))
	}
}

// Titled reviews are split; reviews the plugin cannot map are reported as
// unreadable (once), not dropped and not failing the page; pages shorter
// than asked are paged through; review links.
func TestTitlesUnreadableShortPagesAndLinks(t *testing.T) {
	e := start(t)
	base := time.Now().Add(-time.Hour)
	e.fake.PutReview(pkg, sdk.Review{ID: "titled", Rating: 2, Title: "Crashes", Text: "Since 3.2", UpdatedAt: base})
	e.fake.PutReview(pkg, sdk.Review{ID: "bad", Rating: 9, Text: "secret words", UpdatedAt: base.Add(time.Second)})
	for i := range 8 {
		e.fake.PutReview(pkg, sdk.Review{ID: fmt.Sprint("r", i), Rating: 4, Text: "ok", UpdatedAt: base.Add(time.Duration(2+i) * time.Second)})
	}
	e.fake.ShortPages(3)
	var all []sdk.Review
	var bad []sdk.Unreadable
	var cursor string
	req := sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg, PageSize: 10}
	for pages := 0; pages < 10; pages++ {
		page, err := e.store.ListReviews(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		all, bad, cursor = append(all, page.Reviews...), append(bad, page.Unreadable...), page.Cursor
		if req.PageToken = page.NextPageToken; req.PageToken == "" {
			break
		}
	}
	if len(all) != 9 {
		t.Fatalf("%d reviews, want 9", len(all))
	}
	titled := all[len(all)-1]
	if titled.ID != "titled" || titled.Title != "Crashes" || titled.Text != "Since 3.2" ||
		titled.URL != "https://play.google.com/store/apps/details?id="+pkg+"&reviewId=titled" {
		t.Errorf("titled review %+v", titled)
	}
	if len(bad) != 1 || bad[0].ID != "bad" || !strings.Contains(bad[0].Reason, "star rating 9") || bad[0].Shape == "" || strings.Contains(bad[0].Shape, "secret") {
		t.Errorf("unreadable %+v", bad)
	}
	// The next poll, nothing changed: the unreadable review, on the page
	// again, is not reported again.
	e.fake.ShortPages(0)
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg, Cursor: cursor, PageSize: 10})
	if err != nil || len(page.Unreadable) != 0 {
		t.Errorf("second poll: %+v %v", page.Unreadable, err)
	}
	// An edit of the title alone is listed again with the new title.
	e.fake.PutReview(pkg, sdk.Review{ID: "titled", Rating: 2, Title: "Crashes on Android 14", Text: "Since 3.2"})
	page, err = e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg, Cursor: cursor, PageSize: 10})
	if err != nil || len(page.Reviews) == 0 || page.Reviews[0].Title != "Crashes on Android 14" || page.Reviews[0].Text != "Since 3.2" {
		t.Errorf("title edit: %+v %v", page.Reviews, err)
	}
	// With Play Console's ids the link opens the review in Play Console.
	s := sdk.Settings{"developer_account_id": "5166846112789481453", "console_app_id": "4974525787948290123"}
	for k, v := range e.settings {
		s[k] = v
	}
	page, err = e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: pkg, PageSize: 1})
	if err != nil || len(page.Reviews) != 1 || !strings.HasPrefix(page.Reviews[0].URL,
		"https://play.google.com/console/developers/5166846112789481453/app/4974525787948290123/user-feedback/review-details?reviewId=") {
		t.Errorf("console link: %+v %v", page.Reviews, err)
	}
	s["console_app_id"] = "com.example.app"
	if _, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: pkg}); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "console_app_id") {
		t.Errorf("bad console id: %v", err)
	}
	delete(s, "console_app_id")
	if _, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: pkg}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("one console id only: %v", err)
	}
}

func TestErrorsQuotaAndTokens(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Rating: 2, Text: "x"})
	list := func(s sdk.Settings, app string) error {
		_, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app})
		return err
	}
	e.fake.RateLimit(1, 42*time.Second)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 42*time.Second {
		t.Errorf("429: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	// Google's form for a spent project quota: 403 rateLimitExceeded, no Retry-After.
	e.fake.Quota(1)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != time.Minute || !strings.Contains(err.Error(), "Queries per minute") {
		t.Errorf("quota: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	// Google's daily quota answer (aporat/store-receipt-validator#136): retried in an hour.
	e.fake.QuotaLimit(1, "Queries per day")
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != time.Hour {
		t.Errorf("daily quota: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	e.fake.Fail(1, 503)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v (%v)", err, sdk.KindOf(err))
	}
	e.fake.Deny("com.not.ours")
	if err := list(e.settings, "com.not.ours"); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "no access to package com.not.ours in Play Console") {
		t.Errorf("denied package: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(e.settings, "com.unknown"); sdk.KindOf(err) != sdk.ErrorKindNotFound || !strings.Contains(err.Error(), "no app with package name com.unknown") {
		t.Errorf("unknown package: %v", err)
	}
	other := fake.New() // a key the fake's token endpoint does not know
	bad := sdk.Settings{"service_account_json": other.KeyJSON(e.api.URL + "/token"), "base_url": e.api.URL}
	if err := list(bad, pkg); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "refused the service-account key") {
		t.Errorf("bad key: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(sdk.Settings{"service_account_json": `{"type":"authorized_user"}`}, pkg); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "not a service-account key") {
		t.Errorf("wrong key type: %v", err)
	}
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: bad, AppID: pkg}); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
		t.Errorf("check with a bad key: %v", err)
	}
	// Access tokens are reused while valid and renewed when they expire.
	before := e.fake.TokenCalls()
	for range 3 {
		if err := list(e.settings, pkg); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.TokenCalls() - before; n != 0 {
		t.Errorf("%d new tokens for three calls with a valid one", n)
	}
}

func TestTranslationAndCredentials(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Author: "Jörg", Rating: 4, Text: "Gute App", Language: "de"})
	s := sdk.Settings{"translation_language": "en"}
	for k, v := range e.settings {
		s[k] = v
	}
	all, _, _ := sdktest.ListAll(t, e.store, sdk.ListReviewsRequest{Settings: s, AppID: pkg})
	if len(all) != 1 || all[0].Text != "[en] Gute App" || all[0].Extra["original_text"] != "Gute App" || all[0].Language != "de" {
		t.Errorf("translated listing %+v", all)
	}
	calls, gets := e.fake.Calls(), e.fake.GetCalls(pkg)
	rep, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: pkg})
	if err != nil || !rep.CanReply || len(rep.Checks) != 4 {
		t.Fatalf("check: %+v %v", rep, err)
	}
	want := map[string]string{"access token": sdk.CheckOK, "reviews of " + pkg: sdk.CheckOK, "reply permission": sdk.CheckWarn, "quota": sdk.CheckOK}
	for _, c := range rep.Checks {
		if want[c.Name] != c.Status || c.Detail == "" {
			t.Errorf("check line %+v", c)
		}
	}
	if e.fake.Calls()-calls != 1 || e.fake.GetCalls(pkg)-gets != 1 || e.fake.ReplyCalls(pkg, "r1") != 0 {
		t.Errorf("the check made %d calls (%d GET) and %d replies; want one GET, nothing written", e.fake.Calls()-calls, e.fake.GetCalls(pkg)-gets, e.fake.ReplyCalls(pkg, "r1"))
	}
	e.fake.Deny("com.not.ours")
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: "com.not.ours"}); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied {
		t.Errorf("check of a refused package: %v", err)
	}
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "nope", Text: "hi"}); sdk.KindOf(err) != sdk.ErrorKindNotFound {
		t.Errorf("reply to a missing review: %v", err)
	}
	info, err := e.store.Info(ctx(t), sdk.InfoRequest{})
	if err != nil || info.Store.ReplyMaxLength != 350 || !info.Store.CanEditReply || info.Store.CanDeleteReply ||
		info.Store.ListingWindow != 7*24*time.Hour || info.Store.MinPollInterval <= 0 || len(info.Store.SourceFilters) != 0 {
		t.Errorf("info %+v %v", info.Store, err)
	}
	for _, f := range info.Settings {
		if (f.Key == "base_url" || f.Key == "reports_base_url") != f.Endpoint {
			t.Errorf("setting %s: Endpoint %v", f.Key, f.Endpoint)
		}
	}
}

// TestReplyToAnOlderImportedReview: a review older than the API's 7-day
// listing (imported from the reports, issue 27) is read with reviews.get
// first, then answered; the same answer again is not posted twice; a
// rating without text (not in the API) is refused with an explanation and
// no reply call; a recent review costs no GET.
func TestReplyToAnOlderImportedReview(t *testing.T) {
	e := start(t)
	e.fake.AcceptOldReplies()
	old := time.Now().Add(-30 * 24 * time.Hour).UTC().Truncate(time.Second)
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:imported", Rating: 2, Text: "slow", UpdatedAt: old})
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:ratingonly", Rating: 1, UpdatedAt: old})
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:recent", Rating: 5, Text: "fine", UpdatedAt: time.Now().Add(-time.Hour)})
	reply := func(id string, changed time.Time) (sdk.PostReplyResponse, error) {
		return e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: id, Text: "Fixed in 3.3", ReviewUpdatedAt: changed})
	}
	gets := e.fake.GetCalls(pkg)
	res, err := reply("gp:imported", old)
	if err != nil || res.Reply.Text != "Fixed in 3.3" {
		t.Fatalf("reply to an older review: %+v %v", res, err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "gp:imported"); txt != "Fixed in 3.3" || e.fake.GetCalls(pkg)-gets != 1 || e.fake.ReplyCalls(pkg, "gp:imported") != 1 {
		t.Errorf("stored %q after %d GET and %d reply calls; want the reply after one GET", txt, e.fake.GetCalls(pkg)-gets, e.fake.ReplyCalls(pkg, "gp:imported"))
	}
	// Asked again (the hub crashed before recording it): read, found, not posted again.
	if res, err := reply("gp:imported", old); err != nil || res.Reply.Text != "Fixed in 3.3" || e.fake.ReplyCalls(pkg, "gp:imported") != 1 {
		t.Errorf("again: %+v %v, %d reply calls", res, err, e.fake.ReplyCalls(pkg, "gp:imported"))
	}
	_, err = reply("gp:ratingonly", old)
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google's API has no review gp:ratingonly") ||
		!strings.Contains(err.Error(), "answer it in Play Console") || e.fake.ReplyCalls(pkg, "gp:ratingonly") != 0 {
		t.Errorf("rating without text: %v (%v), %d reply calls", err, sdk.KindOf(err), e.fake.ReplyCalls(pkg, "gp:ratingonly"))
	}
	gets = e.fake.GetCalls(pkg)
	if _, err := reply("gp:recent", time.Now().Add(-time.Hour)); err != nil || e.fake.GetCalls(pkg) != gets {
		t.Errorf("recent review: %v, %d GET calls", err, e.fake.GetCalls(pkg)-gets)
	}
}

// TestReplyToAnOlderReviewRefusedByGoogle: where Google answers a reply to
// an older review with 500 (reported second-hand), the refusal is
// explained from the review read before replying: one GET, not retried.
func TestReplyToAnOlderReviewRefusedByGoogle(t *testing.T) {
	e := start(t)
	old := time.Now().Add(-20 * 24 * time.Hour).UTC().Truncate(time.Second)
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:imported", Rating: 2, Text: "slow", UpdatedAt: old})
	gets := e.fake.GetCalls(pkg)
	_, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "gp:imported", Text: "Thanks", ReviewUpdatedAt: old})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google answered 500 to a reply to review gp:imported, last changed "+old.Format(time.DateOnly)) {
		t.Errorf("refused: %v (%v)", err, sdk.KindOf(err))
	}
	if e.fake.GetCalls(pkg)-gets != 1 {
		t.Errorf("%d GET calls, want the one before replying", e.fake.GetCalls(pkg)-gets)
	}
}
