package rustore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/storetest"
	"github.com/reviewhub/reviewhub/plugins/rustore/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const pkg = "ru.example.app"

type env struct {
	fake     *fake.Server
	url      string
	store    sdk.StorePlugin
	settings sdk.Settings
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.AddApp(pkg)
	return &env{fake: f, url: srv.URL, store: sdktest.LaunchStore(t, sdktest.Build(t, "./cmd/hub-plugin-rustore")), settings: f.Settings(srv.URL)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func (e *env) listAll(t *testing.T, cursor string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg, Cursor: cursor})
}

func TestConformance(t *testing.T) {
	e := start(t)
	two := time.Now().Add(-2 * time.Hour) // older than the kit's reviews (see sdktest.RunStore)
	e.fake.PutReview(pkg, sdk.Review{ID: "101", Author: "Иван", Rating: 3, Text: "Нормально", CreatedAt: two, UpdatedAt: two})
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.settings, AppID: pkg, ReviewID: "101",
		Vendor:   storetest.View{Fake: e.fake, ListedID: e.fake.CommentID, ReplyLimit: fake.AnswerMaxLength},
		PageSize: 100}) // RuStore's pages are the plugin's fixed 100
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
	if r.ID != "1229" || r.Rating != 5 || r.Text != "отзыв 229" || r.AppVersion != "2.1" || r.ThumbsUp != 229%7 ||
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

// Answers are created, asked again, edited and deleted as RuStore
// documents it, with answer ids as strings (the specification) and as
// numbers (the help pages); create and edit answer with the id only, so
// the reply is read back.
func TestAnswerEditDelete(t *testing.T) {
	for _, numeric := range []bool{false, true} {
		t.Run(fmt.Sprintf("numeric ids %v", numeric), func(t *testing.T) {
			e := start(t)
			e.fake.SetNumericAnswerIDs(numeric)
			e.fake.PutReview(pkg, sdk.Review{ID: "555", Author: "Ольга", Rating: 2, Text: "Вылетает"})
			post := func(text string) (sdk.DeveloperReply, error) {
				res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "555", Text: text})
				return res.Reply, err
			}
			rep, err := post("Спасибо, исправим!")
			if err != nil || rep.ID == "" || rep.Text != "Спасибо, исправим!" || rep.State != "PUBLISHED" || rep.UpdatedAt.IsZero() {
				t.Fatalf("answer: %+v %v, want the answer read back (id, text, status, date)", rep, err)
			}
			again, err := post("Спасибо, исправим!") // asked again after a crash
			if err != nil || again.ID != rep.ID || again.Text != rep.Text {
				t.Fatalf("asked again: %+v %v", again, err)
			}
			if n := e.fake.AnswerPosts(); n != 1 {
				t.Errorf("%d answers created, want 1", n)
			}
			edited, err := post("Исправлено в 2.2")
			if err != nil || edited.ID != rep.ID || edited.Text != "Исправлено в 2.2" || edited.State != "PUBLISHED" || edited.UpdatedAt.IsZero() {
				t.Fatalf("edit: %+v %v", edited, err)
			}
			if txt, _ := e.fake.ReplyText(pkg, "555"); txt != "Исправлено в 2.2" || e.fake.AnswerPosts() != 1 {
				t.Errorf("after editing: %q, %d posts", txt, e.fake.AnswerPosts())
			}
			all, _, _ := e.listAll(t, "")
			if len(all) != 1 || all[0].Reply == nil || all[0].Reply.Text != "Исправлено в 2.2" || all[0].Reply.ID != rep.ID {
				t.Errorf("listed reply %+v", all)
			}
			if _, err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "555"}); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.fake.ReplyText(pkg, "555"); ok {
				t.Error("the answer is still there")
			}
			// After a deletion a new answer is created, not the deleted one edited.
			if rep, err := post("Новый ответ"); err != nil || rep.Text != "Новый ответ" || e.fake.AnswerPosts() != 2 {
				t.Errorf("answer after deletion: %+v %v, %d posts", rep, err, e.fake.AnswerPosts())
			}
		})
	}
}

// The answer limit (500, GUESS) is enforced before any call.
func TestAnswerLimit(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "556", Rating: 2, Text: "Вылетает"})
	post := func(text string) (sdk.DeveloperReply, error) {
		res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: pkg, ReviewID: "556", Text: text})
		return res.Reply, err
	}
	calls := e.fake.Calls()
	_, err := post(strings.Repeat("ы", 501))
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "limited to 500 characters") || !strings.Contains(err.Error(), "this one has 501") ||
		e.fake.Calls() != calls || e.fake.TokenRequests() != 0 {
		t.Errorf("501 characters: %v (%d calls, %d token requests)", err, e.fake.Calls()-calls, e.fake.TokenRequests())
	}
	if rep, err := post(strings.Repeat("ы", 500)); err != nil || rep.Text != strings.Repeat("ы", 500) {
		t.Errorf("500 characters: %+v %v", rep, err)
	}
}

// Comments the plugin cannot map are reported, not dropped and not fatal.
func TestUnreadableComments(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "700", Author: "Пётр", Rating: 5, Text: "Отлично"})
	e.fake.PutRawComment(pkg, map[string]any{"commentId": 701, "appRating": 0, "commentDate": "2026-01-01 10:00:00.000", "commentText": "секрет"})
	e.fake.PutRawComment(pkg, map[string]any{"appRating": 3, "commentDate": "2026-01-01 10:00:00.000", "commentText": "без id"})
	e.fake.PutRawComment(pkg, map[string]any{"commentId": "703", "appRating": 3, "commentDateIso": "вчера"})
	e.fake.PutRawComment(pkg, map[string]any{"commentId": 704, "appRating": "пять"})
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: pkg})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Reviews) != 1 || page.Reviews[0].ID != "700" {
		t.Errorf("readable reviews: %+v", page.Reviews)
	}
	want := map[string]string{"701": "appRating 0 is not 1..5", "": "without commentId", "703": "commentDateIso", "704": "UserCommentDto"}
	if len(page.Unreadable) != len(want) {
		t.Fatalf("unreadable: %+v, want %d", page.Unreadable, len(want))
	}
	for _, u := range page.Unreadable {
		reason, ok := want[u.ID]
		if !ok || !strings.Contains(u.Reason, reason) || !strings.HasPrefix(u.Shape, "{") {
			t.Errorf("unreadable %+v, want id %q with %q and a shape", u, u.ID, reason)
		}
		if strings.Contains(u.Shape, "секрет") || strings.Contains(u.Reason, "секрет") {
			t.Errorf("the review text leaked into the report: %+v", u)
		}
	}
}

// CheckCredentials reads only: a token (with the clock skew), one page of
// comments and one of answers; it says that replying cannot be checked.
func TestCheckCredentials(t *testing.T) {
	e := start(t)
	e.fake.PutReview(pkg, sdk.Review{ID: "800", Rating: 4, Text: "ok"})
	check := func() (sdk.CheckCredentialsResponse, error) {
		return e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: pkg})
	}
	status := func(rep sdk.CheckCredentialsResponse, name string) sdk.Check {
		for _, c := range rep.Checks {
			if c.Name == name {
				return c
			}
		}
		t.Errorf("no %q check in %+v", name, rep.Checks)
		return sdk.Check{}
	}
	rep, err := check()
	if err != nil || !rep.CanReply {
		t.Fatalf("check: %+v %v", rep, err)
	}
	for name, want := range map[string]string{"token": sdk.CheckOK, "clock": sdk.CheckOK, "reviews": sdk.CheckOK, "answers": sdk.CheckOK, "replying": sdk.CheckWarn} {
		if c := status(rep, name); c.Status != want || c.Detail == "" {
			t.Errorf("%s: %+v, want %s", name, c, want)
		}
	}
	if e.fake.Writes() != 0 || e.fake.TokenRequests() != 1 {
		t.Errorf("the check wrote %d times and asked %d tokens; want no writes, one fresh token", e.fake.Writes(), e.fake.TokenRequests())
	}
	// RuStore's clock 30 s ahead: still accepted (60 s), but warned about.
	e.fake.SetNow(func() time.Time { return time.Now().Add(30 * time.Second) })
	rep, err = check()
	if c := status(rep, "clock"); err != nil || c.Status != sdk.CheckWarn || !strings.Contains(c.Detail, "60 s") {
		t.Errorf("30 s skew: %+v %v", c, err)
	}
	// 90 s: RuStore refuses the token; the error names the clock.
	e.fake.SetNow(func() time.Time { return time.Now().Add(90 * time.Second) })
	if _, err := check(); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "Range timestamp not valid") ||
		!strings.Contains(err.Error(), "clock") {
		t.Errorf("90 s skew: %v", err)
	}
	e.fake.SetNow(time.Now)
	// An unknown package fails the check, classified.
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: "ru.unknown"}); sdk.KindOf(err) != sdk.ErrorKindNotFound {
		t.Errorf("unknown app: %v", err)
	}
}

func TestInfoMarksTheEndpoint(t *testing.T) {
	e := start(t)
	info, err := e.store.Info(ctx(t), sdk.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range info.Settings {
		if f.Endpoint != (f.Key == "base_url") {
			t.Errorf("setting %s: Endpoint %v", f.Key, f.Endpoint)
		}
	}
	if info.Store.ReplyMaxLength != 500 {
		t.Errorf("ReplyMaxLength %d, want 500", info.Store.ReplyMaxLength)
	}
}

func TestErrors(t *testing.T) {
	e := start(t)
	list := func(s sdk.Settings, app string) error {
		_, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app})
		return err
	}
	bad := sdk.Settings{"key_id": e.settings["key_id"], "private_key": fake.New().PrivateKeyBase64(), "base_url": e.url}
	if err := list(bad, pkg); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "Signature is invalid") {
		t.Errorf("wrong key: %v (%v)", err, sdk.KindOf(err))
	}
	if err := list(sdk.Settings{"key_id": "1", "private_key": "not a key", "base_url": e.url}, pkg); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("garbled key: %v", err)
	}
	if err := list(e.settings, "ru.unknown"); sdk.KindOf(err) != sdk.ErrorKindNotFound || !strings.Contains(err.Error(), "ru.unknown not found") {
		t.Errorf("unknown app: %v", err)
	}
	e.fake.RateLimit(1, 30*time.Second)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("429: %v", err)
	}
	e.fake.Fail(1, 502)
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("502: %v", err)
	}
	// A clock an hour off: RuStore refuses the signed timestamp with 400
	// "Range timestamp not valid"; the error says to set the clock.
	e.fake.SetNow(func() time.Time { return time.Now().Add(-time.Hour) })
	e.fake.ExpireTokens()
	if err := list(e.settings, pkg); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "Range timestamp not valid") ||
		!strings.Contains(err.Error(), "within 60 seconds") || !strings.Contains(err.Error(), "1h0m0s off") {
		t.Errorf("stale timestamp: %v", err)
	}
}
