package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/rustore/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const pkg = "ru.example.app"

type env struct {
	fake     *fake.Server
	url      string
	store    sdk.Store
	settings sdk.Settings
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.AddApp(pkg)
	return &env{fake: f, url: srv.URL, store: sdktest.LaunchStore(t, sdktest.Build(t, ".")), settings: f.Settings(srv.URL)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func (e *env) listAll(t *testing.T, cursor string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListRequest{Settings: e.settings, AppID: pkg, Cursor: cursor})
}

func TestConformance(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "101", Author: "Иван", Rating: 3, Text: "Нормально"})
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.settings, AppID: pkg, ReviewID: "101"})
}

func TestTokenPagingAndEdits(t *testing.T) {
	e := start(t)
	base := time.Now().Add(-time.Hour)
	for i := range 230 {
		e.fake.PutReview(pkg, sdk.Review{ID: fmt.Sprint(1000 + i), Author: "Пользователь", Rating: 1 + i%5, Text: fmt.Sprintf("отзыв %d", i),
			AppVersion: "2.1", Language: "ru", ThumbsUp: i % 7, ThumbsDown: 1, UpdatedAt: base.Add(time.Duration(i) * time.Second)})
	}
	all, cursor, pages := e.listAll(t, "")
	if len(all) != 230 || pages != 3 {
		t.Fatalf("%d reviews in %d pages, want 230 in 3", len(all), pages)
	}
	r := all[0]
	if r.ID != "1229" || r.Rating != 5 || r.Text != "отзыв 229" || r.AppVersion != "2.1" || r.Language != "ru" || r.ThumbsUp != 229%7 ||
		r.ThumbsDown != 1 || r.Status != "PUBLISHED" || r.CreatedAt.IsZero() {
		t.Errorf("mapped %+v", r)
	}
	if n := e.fake.TokenRequests(); n != 1 {
		t.Errorf("%d token requests for one listing, want 1 (cached)", n)
	}
	// An edit is seen through the updated date.
	e.fake.PutReview(pkg, sdk.Review{ID: "1005", Rating: 5, Text: "исправили"})
	fresh, _, _ := e.listAll(t, cursor)
	found := false
	for _, r := range fresh {
		if r.ID == "1005" {
			found = r.Rating == 5 && r.Text == "исправили" && r.UpdatedAt.After(r.CreatedAt)
		} else if r.ID != "1229" { // the newest of the last poll may come again
			t.Errorf("unchanged review %s listed after the cursor", r.ID)
		}
	}
	if !found {
		t.Errorf("the edit was not listed: %+v", fresh)
	}
	// A token RuStore refuses is renewed and the call carries on.
	e.fake.ExpireTokens()
	if _, _, _ = e.listAll(t, ""); e.fake.TokenRequests() != 2 {
		t.Errorf("%d token requests: the refused token was not renewed once", e.fake.TokenRequests())
	}
	// A token past its lifetime is renewed before use.
	e.fake.SetTokenTTL(time.Second)
	e.fake.ExpireTokens()
	e.listAll(t, "")
	n := e.fake.TokenRequests()
	time.Sleep(1100 * time.Millisecond)
	e.listAll(t, "")
	if e.fake.TokenRequests() <= n {
		t.Errorf("%d token requests after the lifetime, want a new one (had %d)", e.fake.TokenRequests(), n)
	}
}

func TestAnswerEditDelete(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "555", Author: "Ольга", Rating: 2, Text: "Вылетает"})
	post := func(text string) (sdk.DeveloperReply, error) {
		return e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "555", Text: text})
	}
	if rep, err := post("Спасибо, исправим!"); err != nil || rep.ID == "" {
		t.Fatalf("answer: %+v %v", rep, err)
	}
	if _, err := post("Спасибо, исправим!"); err != nil { // asked again after a crash
		t.Fatal(err)
	}
	if n := e.fake.AnswerPosts(); n != 1 {
		t.Errorf("%d answers created, want 1", n)
	}
	if _, err := post("Исправлено в 2.2"); err != nil {
		t.Fatal(err)
	}
	if txt, _ := e.fake.ReplyText(pkg, "555"); txt != "Исправлено в 2.2" || e.fake.AnswerPosts() != 1 {
		t.Errorf("after editing: %q, %d posts", txt, e.fake.AnswerPosts())
	}
	all, _, _ := e.listAll(t, "")
	if all[0].Reply == nil || all[0].Reply.Text != "Исправлено в 2.2" {
		t.Errorf("listed reply %+v", all[0].Reply)
	}
	if err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "555"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.fake.ReplyText(pkg, "555"); ok {
		t.Error("the answer is still there")
	}
	calls := e.fake.Calls()
	_, err := post(strings.Repeat("ы", 5001))
	if sdk.KindOf(err) != sdk.Refused || !strings.Contains(err.Error(), "RuStore answers are limited to 5000 characters, this one has 5001") || e.fake.Calls() != calls {
		t.Errorf("over-long: %v", err)
	}
}

func TestErrors(t *testing.T) {
	e := start(t)
	list := func(s sdk.Settings, app string) error {
		_, err := e.store.ListReviews(ctx(t), sdk.ListRequest{Settings: s, AppID: app})
		return err
	}
	bad := sdk.Settings{"key_id": e.settings["key_id"], "private_key": fake.New().PrivateKeyBase64(), "base_url": e.url}
	if err := list(bad, pkg); sdk.KindOf(err) != sdk.Unauthenticated || !strings.Contains(err.Error(), "Signature is invalid") {
		t.Errorf("wrong key: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(sdk.Settings{"key_id": "1", "private_key": "not a key", "base_url": e.url}, pkg); sdk.KindOf(err) != sdk.Invalid {
		t.Errorf("garbled key: %v", err)
	}
	if err := list(e.settings, "ru.unknown"); sdk.KindOf(err) != sdk.NotFound || !strings.Contains(err.Error(), "ru.unknown not found") {
		t.Errorf("unknown app: %v", err)
	}
	e.fake.RateLimit(1, 30*time.Second)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.RateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("429: %v", err)
	}
	e.fake.Fail(1, 502)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("502: %v", err)
	}
	// A clock an hour off: the signed timestamp is refused, clearly.
	e.fake.SetNow(func() time.Time { return time.Now().Add(-time.Hour) })
	e.fake.ExpireTokens()
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.Unauthenticated || !strings.Contains(err.Error(), "Timestamp is outside the allowed window") {
		t.Errorf("stale timestamp: %v", err)
	}
}
