package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const pkg = "com.example.app"

type env struct {
	fake     *fake.Server
	api      *httptest.Server
	store    sdk.Store
	settings sdk.Settings
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	api := httptest.NewServer(f)
	t.Cleanup(api.Close)
	f.AddApp(pkg)
	return &env{fake: f, api: api, store: sdktest.LaunchStore(t, sdktest.Build(t, ".")), settings: f.Settings(api.URL)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

// listAll reads one complete listing from cursor, 10 reviews a page.
func (e *env) listAll(t *testing.T, cursor string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListRequest{Settings: e.settings, AppID: pkg, Cursor: cursor, PageSize: 10})
}

func TestConformance(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Author: "Ann", Rating: 3, Text: "ok", Language: "en"})
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.settings, AppID: pkg, ReviewID: "r1"})
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
	rep, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "Thanks!"})
	if err != nil || rep.Text != "Thanks!" {
		t.Fatalf("reply: %+v %v", rep, err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "r1"); txt != "Thanks!" {
		t.Errorf("store shows %q", txt)
	}
	// Asked again with the same text (after a crash): nothing is posted again.
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1", Text: "Thanks!"}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.ReplyCalls(pkg, "r1"); n != 1 {
		t.Errorf("%d reply calls, want 1", n)
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
	if sdk.KindOf(err) != sdk.Refused || !strings.Contains(err.Error(), "Google Play answers are limited to 350 characters, this one has 351") {
		t.Errorf("351 characters: %v", err)
	}
	if e.fake.Calls() != calls {
		t.Errorf("the over-long reply reached the API")
	}
	if err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "r1"}); sdk.KindOf(err) != sdk.Unsupported {
		t.Errorf("delete: %v", err)
	}
}

func TestErrorsQuotaAndTokens(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "r1", Rating: 2, Text: "x"})
	list := func(s sdk.Settings, app string) error {
		_, err := e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app})
		return err
	}
	e.fake.RateLimit(1, 42*time.Second)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.RateLimited || sdk.RetryAfterOf(err) != 42*time.Second {
		t.Errorf("429: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	// Google's form for a spent project quota: 403 rateLimitExceeded, no Retry-After.
	e.fake.Quota(1)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.RateLimited || sdk.RetryAfterOf(err) != time.Minute || !strings.Contains(err.Error(), "Queries per minute") {
		t.Errorf("quota: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	e.fake.Fail(1, 503)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("503: %v (%v)", err, sdk.KindOf(err))
	}
	e.fake.Deny("com.not.ours")
	if err := list(e.settings, "com.not.ours"); sdk.KindOf(err) != sdk.PermissionDenied || !strings.Contains(err.Error(), "no access to package com.not.ours in Play Console") {
		t.Errorf("denied package: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(e.settings, "com.unknown"); sdk.KindOf(err) != sdk.NotFound || !strings.Contains(err.Error(), "no app with package name com.unknown") {
		t.Errorf("unknown package: %v", err)
	}
	other := fake.New() // a key the fake's token endpoint does not know
	bad := sdk.Settings{"service_account_json": other.KeyJSON(e.api.URL + "/token"), "base_url": e.api.URL}
	if err := list(bad, pkg); sdk.KindOf(err) != sdk.Unauthenticated || !strings.Contains(err.Error(), "refused the service-account key") {
		t.Errorf("bad key: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(sdk.Settings{"service_account_json": `{"type":"authorized_user"}`}, pkg); sdk.KindOf(err) != sdk.Invalid || !strings.Contains(err.Error(), "not a service-account key") {
		t.Errorf("wrong key type: %v", err)
	}
	if _, err := e.store.CheckCredentials(ctx(t), bad, pkg); sdk.KindOf(err) != sdk.Unauthenticated {
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
	all, _, _ := sdktest.ListAll(t, e.store, sdk.ListRequest{Settings: s, AppID: pkg})
	if len(all) != 1 || all[0].Text != "[en] Gute App" || all[0].Extra["original_text"] != "Gute App" || all[0].Language != "de" {
		t.Errorf("translated listing %+v", all)
	}
	rep, err := e.store.CheckCredentials(ctx(t), e.settings, pkg)
	if err != nil || !rep.CanReply {
		t.Errorf("check: %+v %v", rep, err)
	}
	if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "nope", Text: "hi"}); sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("reply to a missing review: %v", err)
	}
	info, err := e.store.Info(ctx(t))
	if err != nil || info.Store.ReplyMaxLength != 350 || !info.Store.CanEditReply || info.Store.CanDeleteReply ||
		info.Store.ListingWindow != 7*24*time.Hour || info.Store.MinPollInterval <= 0 || len(info.Store.SourceFilters) != 0 {
		t.Errorf("info %+v %v", info.Store, err)
	}
}
