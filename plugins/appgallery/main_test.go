package appgallery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/plugins/appgallery/fake"
	"github.com/reviewhub/reviewhub/plugins/internal/storetest"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const app = "107654321"

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
	f.AddApp(app)
	return &env{fake: f, url: srv.URL, store: sdktest.LaunchStore(t, sdktest.Build(t, "./cmd/hub-plugin-appgallery")), settings: f.Settings(srv.URL)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func (e *env) listAll(t *testing.T, cursor string, pageSize int) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListReviewsRequest{Settings: e.settings, AppID: app, Cursor: cursor, PageSize: pageSize})
}

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		platform string
		retForm  bool // the answers' {"ret": {"rtnCode"}} form, hasNext 0/1
	}{{agc.PlatformHarmonyOS, false}, {agc.PlatformAndroid, false}, {agc.PlatformAndroid, true}} {
		platform := c.platform
		t.Run(fmt.Sprintf("%s ret form %v", platform, c.retForm), func(t *testing.T) {
			e := start(t)
			e.settings["platform"] = platform
			e.fake.SetRetEnvelope(c.retForm)
			e.fake.PutReview(app, sdk.Review{ID: "9f43c56228854d66a65921938199c0ce", Rating: 3, Text: "一般", Country: "CN", Language: "zh"})
			sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.settings, AppID: app, ReviewID: "9f43c56228854d66a65921938199c0ce",
				Vendor: storetest.View{Fake: e.fake, ReplyLimit: fake.ReplyMaxLength}})
		})
	}
}

// Many reviews over several pages, some at one instant across a page
// boundary, listed once each; a token obtained once; the cursor's next
// listing shows the edit and the new review only (and the cursor's own
// instant again).
func TestPagingCursorAndToken(t *testing.T) {
	for _, c := range []struct{ oldestFirst, retForm bool }{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("oldest first %v ret form %v", c.oldestFirst, c.retForm), func(t *testing.T) { pagingCursorAndToken(t, c.oldestFirst, c.retForm) })
	}
}

func pagingCursorAndToken(t *testing.T, oldestFirst, retForm bool) {
	e := start(t)
	e.fake.SetOldestFirst(oldestFirst)
	e.fake.SetRetEnvelope(retForm) // hasNext 0/1 drives the paging
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	for i := range 53 {
		at := base.Add(time.Duration(i) * time.Second)
		if i >= 20 && i < 30 { // ten reviews at one instant, across pages of 7
			at = base.Add(20 * time.Second)
		}
		e.fake.PutReview(app, sdk.Review{ID: fmt.Sprintf("r%02d", i), Rating: 1 + i%5, Text: fmt.Sprintf("review %d", i),
			Country: []string{"CN", "US"}[i%2], Language: "zh-CN", AppVersion: "2.1", Device: "Mate 60", UpdatedAt: at})
	}
	e.fake.PutReview(app, sdk.Review{ID: "elsewhere", Rating: 5, Country: "DE", UpdatedAt: base}) // a country not asked for
	all, cursor, pages := e.listAll(t, "", 7)
	if len(all) != 53 || pages < 8 {
		t.Fatalf("%d reviews in %d pages, want 53 in at least 8", len(all), pages)
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.ID] {
			t.Errorf("review %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
	r := all[0]
	if oldestFirst {
		r = all[len(all)-1]
	}
	if r.ID != "r52" || r.Rating != 3 || r.Text != "review 52" || r.Country != "CN" || r.Language != "zh-CN" || r.AppVersion != "2.1" ||
		r.Device != "Mate 60" || !r.UpdatedAt.Equal(base.Add(52*time.Second)) || !strings.HasSuffix(r.URL, "/app/C"+app) {
		t.Errorf("mapped %+v", r)
	}
	if n := e.fake.TokenRequests(); n != 1 {
		t.Errorf("%d token requests for one listing, want 1 (cached for its 48 hours)", n)
	}
	e.fake.PutReview(app, sdk.Review{ID: "r05", Rating: 5, Text: "fixed", Country: "US"})
	e.fake.PutReview(app, sdk.Review{ID: "new", Rating: 4, Text: "nice", Country: "CN"})
	fresh, _, _ := e.listAll(t, cursor, 7)
	got := map[string]sdk.Review{}
	for _, r := range fresh {
		got[r.ID] = r
	}
	if len(got) != 3 || got["r05"].Text != "fixed" || got["r05"].Rating != 5 || got["new"].Text != "nice" || got["r52"].ID == "" {
		t.Errorf("from the cursor: %+v; want the edit, the new review and the cursor's own r52", fresh)
	}
}

// A cursor older than 6 months is walked in 6-month windows (Huawei
// refuses longer ones with 50010034), so nothing since is lost.
func TestOldCursorWalksWindows(t *testing.T) {
	e := start(t)
	now := time.Now()
	e.fake.PutReview(app, sdk.Review{ID: "old", Rating: 2, Country: "CN", UpdatedAt: now.Add(-300 * 24 * time.Hour)})
	e.fake.PutReview(app, sdk.Review{ID: "mid", Rating: 3, Country: "CN", UpdatedAt: now.Add(-200 * 24 * time.Hour)})
	e.fake.PutReview(app, sdk.Review{ID: "recent", Rating: 4, Country: "CN", UpdatedAt: now.Add(-time.Hour)})
	cursor := now.Add(-250 * 24 * time.Hour).UTC().Format(time.RFC3339Nano)
	all, next, _ := e.listAll(t, cursor, 0)
	ids := map[string]bool{}
	for _, r := range all {
		ids[r.ID] = true
	}
	if len(all) != 2 || !ids["mid"] || !ids["recent"] {
		t.Errorf("from a cursor 250 days back: %v, want mid and recent", ids)
	}
	if want := now.Add(-time.Hour).UTC().Truncate(time.Millisecond); next != want.Format(time.RFC3339Nano) {
		t.Errorf("cursor %s, want %s", next, want.Format(time.RFC3339Nano))
	}
}

func TestTokenRenewal(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "a", Rating: 4, Country: "CN"})
	e.listAll(t, "", 0)
	// A token AppGallery refuses is renewed once and the call carries on.
	e.fake.ExpireTokens()
	if all, _, _ := e.listAll(t, "", 0); len(all) != 1 || e.fake.TokenRequests() != 2 {
		t.Errorf("%d reviews, %d token requests: the refused token was not renewed once", len(all), e.fake.TokenRequests())
	}
}

// One reply per review: posted with the review's country and a v2
// language, asked again without a second post, a different text refused;
// the listing shows the reply (read from the detail).
func TestReplyOncePerReview(t *testing.T) {
	for _, c := range []struct {
		platform string
		retForm  bool // the answers' {"ret": {"rtnCode"}} form, hasNext 0/1
	}{{agc.PlatformHarmonyOS, false}, {agc.PlatformAndroid, false}, {agc.PlatformAndroid, true}} {
		platform := c.platform
		t.Run(fmt.Sprintf("%s ret form %v", platform, c.retForm), func(t *testing.T) {
			e := start(t)
			e.settings["platform"] = platform
			e.fake.SetRetEnvelope(c.retForm)
			e.fake.PutReview(app, sdk.Review{ID: "555", Rating: 2, Text: "Вылетает", Country: "US", Language: "ru-RU"})
			post := func(text string) (sdk.DeveloperReply, error) {
				res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: app, ReviewID: "555", Text: text})
				return res.Reply, err
			}
			rep, err := post("Спасибо, исправим!")
			if err != nil || rep.Text != "Спасибо, исправим!" || rep.State != "PUBLISHED" || rep.UpdatedAt.IsZero() || rep.ID == "" {
				t.Fatalf("reply: %+v %v", rep, err)
			}
			if again, err := post("Спасибо, исправим!"); err != nil || again.Text != rep.Text || e.fake.ReplyPosts() != 1 {
				t.Fatalf("asked again: %+v %v, %d posts; want the same reply, one post", again, err, e.fake.ReplyPosts())
			}
			writes := e.fake.Writes()
			if _, err := post("Another text"); sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "one per review") || e.fake.Writes() != writes {
				t.Errorf("a second, different reply: %v (%d writes); want Refused before any write", err, e.fake.Writes()-writes)
			}
			all, _, _ := e.listAll(t, "", 0)
			if len(all) != 1 || all[0].Reply == nil || all[0].Reply.Text != "Спасибо, исправим!" {
				t.Errorf("listed: %+v", all)
			}
			if _, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: app, ReviewID: "nope", Text: "x"}); sdk.KindOf(err) != sdk.ErrorKindNotFound {
				t.Errorf("unknown review: %v", err)
			}
		})
	}
}

// The reply limit (500, GUESS) is enforced before any call; 500
// multi-byte characters are taken.
func TestReplyLimit(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "556", Rating: 2, Country: "CN"})
	post := func(text string) (sdk.DeveloperReply, error) {
		res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: app, ReviewID: "556", Text: text})
		return res.Reply, err
	}
	calls := e.fake.Calls()
	if _, err := post(strings.Repeat("好", 501)); sdk.KindOf(err) != sdk.ErrorKindRefused || e.fake.Calls() != calls || e.fake.TokenRequests() != 0 {
		t.Errorf("501 characters: %v (%d calls)", err, e.fake.Calls()-calls)
	}
	if rep, err := post(strings.Repeat("好", 500)); err != nil || rep.Text != strings.Repeat("好", 500) {
		t.Errorf("500 characters: %v", err)
	}
}

// A replied review's reply comes from its detail; a detail that cannot be
// read fails the page (the hub retries it) instead of losing the review.
func TestReplyReadFromDetail(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "answered", Rating: 4, Text: "ok", Country: "CN"})
	e.fake.PutReply(app, "answered", "谢谢")
	e.fake.FailDetails(1)
	_, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: app})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable || !strings.Contains(err.Error(), "answered") {
		t.Errorf("a detail answering 503: %v (%v), want Unavailable naming the review", err, sdk.KindOf(err))
	}
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: app})
	if err != nil || len(page.Reviews) != 1 || page.Reviews[0].Reply == nil || page.Reviews[0].Reply.Text != "谢谢" || page.Reviews[0].Reply.ID == "" {
		t.Errorf("listed %+v %v", page.Reviews, err)
	}
}

func TestUnreadableReviews(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "ok", Rating: 5, Text: "good", Country: "CN"})
	now := time.Now().UnixMilli()
	e.fake.PutRawReview(app, map[string]any{"reviewId": "bad1", "rating": 0, "dateline": now, "countryCode": "CN", "content": "секрет"})
	e.fake.PutRawReview(app, map[string]any{"rating": 3, "dateline": now, "countryCode": "CN"})
	e.fake.PutRawReview(app, map[string]any{"reviewId": "bad3", "rating": "five", "dateline": now, "countryCode": "CN"})
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: app})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Reviews) != 1 || page.Reviews[0].ID != "ok" {
		t.Errorf("readable: %+v", page.Reviews)
	}
	want := map[string]string{"bad1": "rating 0 is not 1..5", "": "without reviewId", "bad3": "does not read"}
	if len(page.Unreadable) != len(want) {
		t.Fatalf("unreadable: %+v", page.Unreadable)
	}
	for _, u := range page.Unreadable {
		if reason, ok := want[u.ID]; !ok || !strings.Contains(u.Reason, reason) || strings.Contains(u.Reason+u.Shape, "секрет") {
			t.Errorf("unreadable %+v", u)
		}
	}
}

func TestCheckCredentials(t *testing.T) {
	e := start(t)
	rep, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: app})
	if err != nil || !rep.CanReply || len(rep.Checks) != 3 || e.fake.Writes() != 0 {
		t.Fatalf("check: %+v %v (%d writes)", rep, err, e.fake.Writes())
	}
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: "999"}); sdk.KindOf(err) != sdk.ErrorKindNotFound || !strings.Contains(err.Error(), "50010027") {
		t.Errorf("unknown app: %v", err)
	}
}

func TestErrors(t *testing.T) {
	e := start(t)
	list := func(s sdk.Settings) error {
		_, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app})
		return err
	}
	with := func(kv ...string) sdk.Settings {
		s := sdk.Settings{}
		for key, val := range e.settings {
			s[key] = val
		}
		for i := 0; i+1 < len(kv); i += 2 {
			s[kv[i]] = kv[i+1]
		}
		return s
	}
	if err := list(with("client_secret", "wrong")); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong key: %v (%v); want Unauthenticated without the key", err, sdk.KindOf(err))
	}
	if err := list(with("base_url", "", "site", "mars")); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "mars") {
		t.Errorf("unknown site: %v", err)
	}
	if err := list(with("platform", "ios")); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("unknown platform: %v", err)
	}
	if err := list(with("countries", "China")); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("bad country: %v", err)
	}
	e.fake.RateLimit(1, 30*time.Second)
	if err := list(e.settings); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("429: %v", err)
	}
	e.fake.Fail(1, 503)
	if err := list(e.settings); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v", err)
	}
	if _, err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: e.settings, AppID: app, ReviewID: "x"}); sdk.KindOf(err) != sdk.ErrorKindUnsupported {
		t.Errorf("delete: %v", err)
	}
}

func TestSiteHosts(t *testing.T) {
	s := &store{tokens: &agc.Tokens{}}
	for site, host := range map[string]string{"cn": "https://connect-api.cloud.huawei.com", "de": "https://connect-api-dre.cloud.huawei.com",
		"ru": "https://connect-api-drru.cloud.huawei.com", "sg": "https://connect-api-dra.cloud.huawei.com", "DE": "https://connect-api-dre.cloud.huawei.com"} {
		cl, err := s.client(sdk.Settings{"client_id": "1", "client_secret": "k", "site": site, "platform": "harmonyos"})
		if err != nil || cl.BaseURL != host {
			t.Errorf("site %s: %v %v, want %s", site, cl, err, host)
		}
	}
	if got := agc.ReviewsPath(agc.PlatformHarmonyOS); got != "/api/marketing-api/v2/reviews/manage/dev/reviews" {
		t.Errorf("v2 path %s", got)
	}
	if got := agc.ReviewsPath(agc.PlatformAndroid); got != "/api/reviews/v1/manage/dev/reviews" {
		t.Errorf("v1 path %s", got)
	}
}

// A page of 100 replied reviews reads their details a few at a time (not
// one by one, which could outlast the hub's call every time; not all at
// once), each reply on its own review.
func TestDetailsReadConcurrently(t *testing.T) {
	e := start(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 100 {
		id := fmt.Sprintf("d%03d", i)
		e.fake.PutReview(app, sdk.Review{ID: id, Rating: 4, Text: "ok", Country: "CN", UpdatedAt: base.Add(time.Duration(i) * time.Second)})
		e.fake.PutReply(app, id, "reply to "+id)
	}
	e.fake.SetDetailDelay(20 * time.Millisecond) // so reads in flight overlap and are counted
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.settings, AppID: app, PageSize: 100})
	if err != nil || len(page.Reviews) != 100 {
		t.Fatalf("listed %d reviews, %v", len(page.Reviews), err)
	}
	for _, r := range page.Reviews {
		if r.Reply == nil || r.Reply.Text != "reply to "+r.ID {
			t.Errorf("review %s: reply %+v", r.ID, r.Reply)
		}
	}
	if n := e.fake.MaxConcurrentDetails(); n < 2 || n > 8 {
		t.Errorf("%d detail reads in flight at most, want 2..8", n)
	}
}

// A cursor more than an hour past the plugin's clock lists an empty page
// and keeps the cursor, instead of a window that ends before it starts.
func TestCursorAheadOfClock(t *testing.T) {
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.AddApp(app)
	now := time.Now()
	f.PutReview(app, sdk.Review{ID: "past", Rating: 4, Country: "CN", UpdatedAt: now.Add(-time.Hour)})
	s := &store{log: slog.New(slog.DiscardHandler), tokens: &agc.Tokens{}, now: func() time.Time { return now }}
	ahead := now.Add(3 * time.Hour).UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	settings := f.Settings(srv.URL)
	settings["platform"] = agc.PlatformHarmonyOS // in process: no SDK to fill the default
	page, err := s.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: settings, AppID: app, Cursor: ahead})
	if err != nil || len(page.Reviews) != 0 || page.NextPageToken != "" || page.Cursor != ahead {
		t.Errorf("cursor 3 h ahead of the clock: %+v %v; want an empty last page keeping the cursor %s", page, err, ahead)
	}
}

// devReplyState 6 (the user added a follow-up) and 3 send the plugin to
// the detail: a developer reply there is listed (else the hub would take
// it for removed); a review in state 6 without one is listed without.
func TestFollowUpStateReadsDetail(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "followed", Rating: 2, Text: "still broken", Country: "CN"})
	e.fake.PutReply(app, "followed", "we are on it")
	e.fake.SetReplyState(app, "followed", 6)
	e.fake.PutReview(app, sdk.Review{ID: "answered", Rating: 2, Text: "thanks", Country: "CN"})
	e.fake.PutReply(app, "answered", "you are welcome")
	e.fake.SetReplyState(app, "answered", 3)
	e.fake.PutReview(app, sdk.Review{ID: "alone", Rating: 3, Text: "more", Country: "CN"})
	e.fake.SetReplyState(app, "alone", 6)
	all, _, _ := e.listAll(t, "", 0)
	got := map[string]sdk.Review{}
	for _, r := range all {
		got[r.ID] = r
	}
	if r := got["followed"]; r.Reply == nil || r.Reply.Text != "we are on it" {
		t.Errorf("state 6 with a developer reply: listed %+v", r)
	}
	if r := got["answered"]; r.Reply == nil || r.Reply.Text != "you are welcome" {
		t.Errorf("state 3: listed %+v", r)
	}
	if r := got["alone"]; r.ID == "" || r.Reply != nil {
		t.Errorf("state 6 without a developer reply: listed %+v", r)
	}
}

// A reply asked again when the first one's answer was lost and the review
// does not show it yet: the same text goes with the same requestId, which
// AppGallery refuses as a duplicate (50010015); the plugin reads the
// review back and takes the reply there as the answer, not as Invalid
// (dead-lettered). No reply shown yet: Unavailable, asked again later.
func TestRetriedReplyDuplicateRequest(t *testing.T) {
	e := start(t)
	e.fake.PutReview(app, sdk.Review{ID: "dup", Rating: 2, Text: "slow", Country: "CN"})
	post := func(text string) (sdk.DeveloperReply, error) {
		res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: e.settings, AppID: app, ReviewID: "dup", Text: text})
		return res.Reply, err
	}
	if _, err := post("谢谢反馈"); err != nil {
		t.Fatal(err)
	}
	e.fake.HideReplies(1) // the retry's read-first does not see it yet; the read-back does
	rep, err := post("谢谢反馈")
	if err != nil || rep.Text != "谢谢反馈" || e.fake.ReplyPosts() != 1 || e.fake.Writes() != 2 {
		t.Errorf("retried reply: %+v %v, %d posts in %d writes; want the reply, one post, the retry's write refused as a duplicate",
			rep, err, e.fake.ReplyPosts(), e.fake.Writes())
	}
	e.fake.HideReplies(2) // neither read shows it
	if _, err := post("谢谢反馈"); sdk.KindOf(err) != sdk.ErrorKindUnavailable || !strings.Contains(err.Error(), "no reply yet") {
		t.Errorf("retried reply not shown yet: %v (%v), want Unavailable", err, sdk.KindOf(err))
	}
	e.fake.HideReplies(1) // another text: another requestId, refused as a second reply
	if _, err := post("另一个回复"); sdk.KindOf(err) != sdk.ErrorKindRefused {
		t.Errorf("another text: %v (%v), want Refused", err, sdk.KindOf(err))
	}
}
