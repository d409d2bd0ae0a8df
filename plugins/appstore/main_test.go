package appstore

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appstore/fake"
	"github.com/reviewhub/reviewhub/plugins/internal/storetest"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const app = "1234567890"

type env struct {
	fake  *fake.Server
	url   string
	store sdk.StorePlugin
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.AddApp(app)
	return &env{fake: f, url: srv.URL, store: sdktest.LaunchStore(t, sdktest.Build(t, "./cmd/hub-plugin-appstore"))}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func (e *env) listAll(t *testing.T, s sdk.Settings, cursor string, countries ...string) ([]sdk.Review, string, int) {
	t.Helper()
	return sdktest.ListAll(t, e.store, sdk.ListReviewsRequest{Settings: s, AppID: app, Cursor: cursor, Countries: countries})
}

func seed(e *env, n int, start time.Time) { seedEvery(e, n, start, time.Minute) }

// seedEvery adds n reviews from start, one every step, in US, RU and JP in turn.
func seedEvery(e *env, n int, start time.Time, step time.Duration) {
	countries := []string{"US", "RU", "JP"}
	for i := range n {
		e.fake.PutReview(app, sdk.Review{ID: fmt.Sprintf("as-%04d", i), Author: "Nick", Rating: 1 + i%5, Title: "t", Text: fmt.Sprintf("review %d", i),
			Country: countries[i%3], UpdatedAt: start.Add(time.Duration(i) * step)})
	}
}

func parseCursor(t *testing.T, c string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, c)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestConformance(t *testing.T) {
	e := start(t)
	seed(e, 3, time.Now().Add(-time.Hour))
	sdktest.RunStore(t, e.store, sdktest.StoreSuite{Settings: e.fake.Settings(e.url), AppID: app, ReviewID: "as-0001",
		Vendor: storetest.View{Fake: e.fake, ReplyLimit: fake.ResponseMaxLength},
		// The plugin asks Apple for 200 a page whatever the hub asks, and
		// lists again the 48 hours behind the cursor (overlap_hours).
		PageSize: 200, Overlap: 48 * time.Hour})
}

func TestPagingCursorTerritoryAndTokens(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	seedEvery(e, 450, time.Now().Add(-460*time.Hour), time.Hour) // one an hour: 48 in the overlap window
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
	// The two changed ones, and the unchanged ones of the 48 hours behind
	// the cursor again (the hub delivers nothing for those), from one page.
	window := parseCursor(t, cursor).Add(-48 * time.Hour)
	for _, r := range fresh {
		if r.ID != "as-new" && r.ID != "as-0003" && r.UpdatedAt.Before(window) {
			t.Errorf("listed again from before the overlap window: %s at %s", r.ID, r.UpdatedAt)
		}
	}
	if !ids["as-new"] || !ids["as-0003"] || len(fresh) < 2+48 || len(fresh) > 2+49 || pages != 1 || e.fake.Calls()-calls != 1 {
		t.Fatalf("after the cursor: %d reviews in %d pages (%d calls), want as-new, as-0003 and the 48 of the window from one page", len(fresh), pages, e.fake.Calls()-calls)
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
	res, err := e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Thank you!"})
	rep := res.Reply
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
	if _, err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.fake.ReplyText(app, "as-0001"); ok {
		t.Error("the response is still there after delete")
	}
	// Deleting again (the hub retries after a crash) is not an error.
	if _, err := e.store.DeleteReply(ctx(t), sdk.DeleteReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", ReplyID: rep.ID}); err != nil {
		t.Errorf("delete again: %v", err)
	}
	calls := e.fake.Calls()
	_, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: strings.Repeat("x", 5971)})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "limited to 5970 characters, this one has 5971") || e.fake.Calls() != calls {
		t.Errorf("over-long: %v (calls %d → %d)", err, calls, e.fake.Calls())
	}
}

func TestErrorsAndRateLimit(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	e.fake.RateLimit(1, 0)
	_, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app})
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) <= 0 || !strings.Contains(err.Error(), "3600 requests an hour, 0 left") {
		t.Errorf("429: %v (%v %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	e.fake.RateLimit(1, 90*time.Second)
	if _, err = e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app}); sdk.RetryAfterOf(err) != 90*time.Second {
		t.Errorf("429 with Retry-After: %v", err)
	}
	_, err = e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: "999"})
	if sdk.KindOf(err) != sdk.ErrorKindNotFound || !strings.Contains(err.Error(), "There is no resource of type 'apps' with id '999'") {
		t.Errorf("unknown app: %v", err)
	}
	bad := e.fake.Settings(e.url)
	bad["private_key"] = fake.New().PrivateKeyPEM() // same ids, a key Apple does not know
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: bad, AppID: app}); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "refused the API key") {
		t.Errorf("unknown key: %v", err)
	}
	partial := sdk.Settings{"issuer_id": "x", "base_url": e.url}
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: partial, AppID: app}); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "key_id, private_key missing") {
		t.Errorf("incomplete key: %v", err)
	}
	garbled := e.fake.Settings(e.url)
	garbled["private_key"] = "not a key"
	if _, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: garbled, AppID: app}); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), ".p8") {
		t.Errorf("garbled key: %v", err)
	}
	e.fake.Fail(1, 503)
	if _, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app}); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v", err)
	}
}

// Without a key: reviews come from the public feed, replies are refused.
func TestPublicFeedMode(t *testing.T) {
	e := start(t)
	seedEvery(e, 120, time.Now().Add(-130*time.Hour), time.Hour) // 40 each in US, RU, JP
	e.fake.PutReview(app, sdk.Review{ID: "lonely", Rating: 4, Text: "only one in GB", Country: "GB"})
	s := e.fake.PublicSettings(e.url)
	report, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: s, AppID: app})
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
	window := parseCursor(t, cursor).Add(-48 * time.Hour)
	for _, r := range fresh {
		edited = edited || (r.ID == "as-0000" && r.Rating == 5)
		if r.ID != "as-0000" && r.UpdatedAt.Before(window) { // the overlap window comes again
			t.Errorf("after the cursor, a review from before the overlap window: %+v", r)
		}
	}
	if !edited {
		t.Errorf("after the cursor: %+v, want the edited as-0000", fresh)
	}
	_, err = e.store.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "hi"})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "need an App Store Connect API key") {
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
	if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "FORBIDDEN_ERROR") {
		t.Errorf("read-only key: %v", err)
	}
	if _, ok := e.fake.ReplyText(app, "as-0001"); ok {
		t.Error("a read-only key published a response")
	}
	calls := e.fake.Calls()
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: s, AppID: app, Countries: []string{"KP"}})
	if err != nil || len(page.Reviews) != 0 || page.NextPageToken != "" || e.fake.Calls() != calls {
		t.Errorf("a country without an App Store: %+v %v (%d calls)", page, err, e.fake.Calls()-calls)
	}
	ru, _, _ := e.listAll(t, s, "", "ru", "KP")
	if len(ru) != 1 || ru[0].Country != "RU" {
		t.Errorf("RU and KP: %+v", ru)
	}
}

// A review that Apple publishes late, dated before the cursor that a faster
// review already moved, is listed on the next poll (within the overlap
// window; the hub delivers nothing for the unchanged ones listed again).
// Without the overlap it is lost: the old behaviour, kept here to show the
// test can fail.
func TestLateReviewIsListedOnTheNextPoll(t *testing.T) {
	e := start(t)
	seedEvery(e, 30, time.Now().Add(-100*time.Hour), time.Hour)
	for _, mode := range []struct {
		name     string
		settings sdk.Settings
	}{{"api", e.fake.Settings(e.url)}, {"feed", e.fake.PublicSettings(e.url)}} {
		for _, ov := range []string{"", "0"} {
			s := maps.Clone(mode.settings)
			s["overlap_hours"] = ov
			_, cursor, _ := e.listAll(t, s, "")
			late := fmt.Sprintf("late-%s-%s", mode.name, ov)
			e.fake.PutReview(app, sdk.Review{ID: late, Rating: 1, Text: "published late", Country: "US", UpdatedAt: parseCursor(t, cursor).Add(-6 * time.Hour)})
			tooLate := late + "-beyond-window"
			e.fake.PutReview(app, sdk.Review{ID: tooLate, Rating: 1, Country: "US", UpdatedAt: parseCursor(t, cursor).Add(-50 * time.Hour)})
			fresh, next, _ := e.listAll(t, s, cursor)
			found := map[string]bool{}
			for _, r := range fresh {
				found[r.ID] = true
			}
			if want := ov == ""; found[late] != want {
				t.Errorf("%s, overlap %q: late review listed %v, want %v", mode.name, ov, found[late], want)
			}
			if found[tooLate] {
				t.Errorf("%s, overlap %q: a review 50 hours behind the cursor was listed (the window is 48)", mode.name, ov)
			}
			if next != cursor {
				t.Errorf("%s: the cursor moved from %s to %s though nothing newer came", mode.name, cursor, next)
			}
		}
	}
	bad := e.fake.Settings(e.url)
	bad["overlap_hours"] = "-3"
	if _, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: bad, AppID: app}); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "overlap_hours") {
		t.Errorf("a negative overlap: %v", err)
	}
}

// A review the plugin cannot map is reported, not dropped in silence, and
// the rest of the page still comes; the feed without per-entry dates still
// flows.
func TestUnreadableReviewsAndFeedWithoutEntryDates(t *testing.T) {
	e := start(t)
	seed(e, 3, time.Now().Add(-time.Hour))
	e.fake.PutReview(app, sdk.Review{ID: "zero-stars", Rating: 0, Text: "no rating", Country: "US"})
	page, err := e.store.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: e.fake.Settings(e.url), AppID: app})
	if err != nil || len(page.Reviews) != 3 || len(page.Unreadable) != 1 {
		t.Fatalf("%d reviews, unreadable %+v, %v", len(page.Reviews), page.Unreadable, err)
	}
	if u := page.Unreadable[0]; u.ID != "zero-stars" || !strings.Contains(u.Reason, "rating 0 is not 1..5") || !strings.Contains(u.Shape, "rating") || strings.Contains(u.Shape, "no rating") {
		t.Errorf("unreadable %+v", u)
	}
	e.fake.FeedWithoutEntryDates(true)
	s := e.fake.PublicSettings(e.url)
	s["countries"] = "us"
	all, cursor, _ := e.listAll(t, s, "", "us")
	if len(all) != 1 || all[0].ID != "as-0000" || cursor == "" { // zero-stars, also in the US, is unreadable
		t.Fatalf("feed without entry dates: %+v, cursor %q", all, cursor)
	}
	for _, r := range all {
		if r.Extra["date_from"] != "feed" || r.UpdatedAt.IsZero() {
			t.Errorf("a dateless entry: %+v", r)
		}
	}
}

// The credentials check reads one page and what Apple's headers tell, and
// says honestly that the key's role is unknown until the first reply.
func TestCheckCredentialsReportsWhatItCanTell(t *testing.T) {
	e := start(t)
	seed(e, 3, time.Now().Add(-time.Hour))
	calls := e.fake.Calls()
	rep, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.fake.Settings(e.url), AppID: app})
	if err != nil || !rep.CanReply || e.fake.Calls()-calls != 1 {
		t.Fatalf("%+v %v (%d calls)", rep, err, e.fake.Calls()-calls)
	}
	checks := map[string]sdk.Check{}
	for _, c := range rep.Checks {
		checks[c.Name] = c
	}
	if c := checks["token"]; c.Status != sdk.CheckOK || !strings.Contains(c.Detail, e.fake.KeyID()) {
		t.Errorf("token check %+v", c)
	}
	if c := checks["reviews"]; c.Status != sdk.CheckOK || !strings.Contains(c.Detail, "(3 in all)") {
		t.Errorf("reviews check %+v", c)
	}
	if c := checks["reply role"]; c.Status != sdk.CheckWarn || !strings.Contains(c.Detail, "unknown until the first reply") {
		t.Errorf("role check %+v", c)
	}
	if c := checks["rate limit"]; c.Status != sdk.CheckOK || !strings.Contains(c.Detail, "of 3600 requests left in the rolling hour") {
		t.Errorf("rate limit check %+v", c)
	}
	if c := checks["clock"]; c.Status != sdk.CheckOK {
		t.Errorf("clock check %+v", c)
	}
	if n := e.fake.ResponsePosts("as-0001"); n != 0 {
		t.Errorf("the check wrote %d responses", n)
	}
}

// Individual API keys: settings without issuer_id sign individual tokens
// (sub "user"), list and reply; a key of the wrong kind is refused as
// Unauthenticated with a message that names the likely cause.
func TestIndividualKey(t *testing.T) {
	e := start(t)
	seed(e, 3, time.Now().Add(-time.Hour))
	e.fake.SetIndividual(true)
	s := e.fake.IndividualSettings(e.url)
	p := e.store
	check := func(s sdk.Settings) (sdk.CheckCredentialsResponse, error) {
		return p.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: s, AppID: app})
	}
	rep, err := check(s)
	if err != nil || !rep.CanReply {
		t.Fatalf("CheckCredentials with an individual key: %+v %v", rep, err)
	}
	if c := rep.Checks[0]; c.Name != "token" || !strings.Contains(c.Detail, "individual key "+e.fake.KeyID()) {
		t.Errorf("token check %+v", c)
	}
	if all, _, _ := e.listAll(t, s, ""); len(all) != 3 {
		t.Errorf("listed %d reviews, want 3", len(all))
	}
	if _, err := p.PostReply(ctx(t), sdk.PostReplyRequest{Settings: s, AppID: app, ReviewID: "as-0001", Text: "Thanks"}); err != nil {
		t.Fatalf("reply with an individual key: %v", err)
	}
	if text, ok := e.fake.ReplyText(app, "as-0001"); !ok || text != "Thanks" {
		t.Errorf("the store shows %q, %v", text, ok)
	}
	// The same key given as a team key (with an issuer id) is refused.
	_, err = check(e.fake.Settings(e.url))
	if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "an individual key given with an issuer id") {
		t.Errorf("team settings for an individual key: %v", err)
	}
	// A team key given without its issuer id.
	e.fake.SetIndividual(false)
	_, err = check(s)
	if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "a team key given without its issuer id") {
		t.Errorf("individual settings for a team key: %v", err)
	}
	// An issuer id alone is no key.
	_, err = check(sdk.Settings{"issuer_id": e.fake.IssuerID(), "base_url": e.url})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "key_id, private_key missing") {
		t.Errorf("an issuer id alone: %v", err)
	}
}

// TestHistoryPagesAllTerritoriesAndStopsBeforeFrom: History reads the
// customerReviews list newest first in every territory, returns the
// range's reviews only, reports Apple's total, and stops at the first
// page reaching before From (older pages are not read); without a key
// (the public feed, ~500 recent reviews a country) it says there is no
// history.
func TestHistoryPagesAllTerritoriesAndStopsBeforeFrom(t *testing.T) {
	e := start(t)
	base := time.Now().Add(-1000 * time.Hour).UTC().Truncate(time.Second)
	seedEvery(e, 900, base, time.Hour) // as-0000 oldest … as-0899 newest, US/RU/JP
	settings := e.fake.Settings(e.url)
	from, to := base.Add(500*time.Hour), base.Add(700*time.Hour) // as-0500 … as-0699
	var got []sdk.Review
	cur, pages := "", 0
	for {
		res, err := sdk.History(ctx(t), e.store, sdk.HistoryRequest{Settings: settings, AppID: app, From: from, To: to, Cursor: cur, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, res.Reviews...)
		if res.Total != 900 {
			t.Errorf("page %d: total %d, want Apple's 900", pages, res.Total)
		}
		if res.NextCursor == "" {
			if res.Done != 900 {
				t.Errorf("last page: done %d of %d", res.Done, res.Total)
			}
			break
		}
		cur = res.NextCursor
	}
	countries := map[string]bool{}
	for _, r := range got {
		countries[r.Country] = true
		if r.UpdatedAt.Before(from) || !r.UpdatedAt.Before(to) {
			t.Errorf("review %s of %v outside [%v, %v)", r.ID, r.UpdatedAt, from, to)
		}
	}
	// 200 a page, newest first: pages 1–2 hold as-0899…as-0500, page 2 ends at as-0500, page 3 reaches before From.
	if len(got) != 200 || len(countries) != 3 || pages != 3 {
		t.Errorf("%d reviews in %d territories over %d pages; want 200 in 3 over 3", len(got), len(countries), pages)
	}
	_, err := sdk.History(ctx(t), e.store, sdk.HistoryRequest{Settings: sdk.Settings{"feed_base_url": e.url}, AppID: app, From: from, To: to})
	if !sdk.IsUnsupported(err) || !strings.Contains(err.Error(), "about 500 recent reviews") {
		t.Errorf("feed mode: %v", err)
	}
}
