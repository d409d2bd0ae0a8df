package sdktest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

// StoreSuite configures RunStore: what it checks, with and without a
// vendor view (Vendor), and what the view receives.
//
// What PutReview receives from these checks (and from the others of
// RunStore):
//
//   - ID: a fresh id of the form "sdktest-review-…" (or -backlog-, -page-,
//     -arrival-): never put before against the same
//     store. An edit repeats the ID of the review it changes.
//   - AppID: the suite's AppID; Author "Tester"; Language "en"; Country
//     StoreSuite.Country (default "US": a store that lists only some
//     countries must list that one with the suite's settings);
//     AppVersion "1.0" or "1.1"; Rating 1..5; Text and usually Title.
//   - CreatedAt and UpdatedAt: always set, UTC, whole seconds. A new
//     review has both equal. An edit keeps CreatedAt and has a later
//     UpdatedAt with a new rating or text. Dates are in the past: the
//     backlog review 3 days before now (half the ListingWindow when that
//     is shorter than 4 days); every other review one second after the
//     previous one the kit put, starting an hour ago, or one second after
//     the newest review the store held when the run began, if that is
//     later. The view must give the review these dates at the store (the
//     store's "last modified"), not the time of the call: the checks of
//     the cursor depend on it.
//
// The checks, and what each proves (those after "list reviews" need the
// vendor view, and are skipped without one):
//
//   - "info": kind, name, version, the settings schema (credentials
//     Secret), StoreCapabilities with a reply limit when CanReply.
//   - "check credentials": the suite's settings work.
//   - "list reviews": a listing ends within MaxPages, every review has an
//     id and a rating 1..5, none twice, the last page has a cursor; with a
//     view, the review the kit put is in it.
//   - "unknown app is classified": an error for an app that does not exist
//     has a kind (or the listing is empty, for a public store).
//   - "reply is visible at the store": PostReply, twice with the same
//     text (the hub may retry), and the store shows that text.
//   - "over-long reply is refused before any call": ReplyMaxLength+1
//     characters answer a Refused error and reach no API (the view's
//     Calls() does not grow).
//   - "edited review is listed again": after a listing, an edit and a new
//     review are listed from its cursor.
//   - "store errors are classified": while the view Fails every call with
//     400, 401, 403, 404, 500 and 503, ListReviews answers an error of the
//     kind sdk.KindFromHTTPStatus gives (a 5xx transient).
//   - "vendor view is sound": a listing makes the view's Calls() grow,
//     and while the view is told to Fail every call, a call consumes the
//     faults (Pending, when the view has it). Otherwise the view is
//     reported broken (a fake whose handler never calls faults.Next), and
//     the checks that depend on it are skipped instead of blaming the
//     plugin.
//   - "first listing reaches every page and the backlog": 2×PageSize+1
//     reviews and one backlog review (3 days old) are put; a listing from
//     an empty cursor, asking PageSize, must take three pages or more and
//     hold every one of them. A review put after its first page (arriving
//     while the listing is read) may repeat one review at a page boundary,
//     no more. Proves that the plugin follows NextPageToken to the end,
//     that its page tokens move on, and that a first listing reaches back
//     further than a day.
//   - "listing from the cursor: edits, arrivals, nothing older": after the
//     first listing a review is edited (same id, later UpdatedAt, new
//     rating and text) and a new one arrives, both dated before the first
//     listing ended (indexed late). The listing from the first listing's
//     cursor must hold both, the edit with its new rating and text, and
//     the review that arrived during the first listing unless that
//     listing held it; it must not hold a review whose date is older than
//     the cursor (less StoreSuite.Overlap). Proves that the cursor is the
//     newest change listed, not the time of the listing nor the newest at
//     the store; that the listing runs by the last change, not the
//     creation; and that the plugin honours the cursor (the hub's "since")
//     instead of reading the whole store each poll.
//   - "listing from the next cursor": one more review after the second
//     listing; the listing from its cursor must hold it and nothing older
//     than that cursor. Proves that cursors keep moving.
//   - "reply at the declared limit is visible": a reply of exactly
//     ReplyMaxLength characters, many of them multi-byte (Cyrillic, é, €,
//     №), must be posted and shown by the store unchanged; and when the
//     view implements StoreReplyLimiter, the declared limit must not be
//     larger than the store's own. Proves that the declared limit is the
//     store's and is counted in characters, not bytes.
type StoreSuite struct {
	// Settings of a working account against the test backend.
	Settings sdk.Settings
	// AppID of an app with at least one review.
	AppID string
	// ReviewID of a review that may be replied to (empty skips reply checks
	// without a Vendor; with one, the suite puts a review of its own).
	ReviewID string
	// MaxPages bounds the listing (default 50).
	MaxPages int
	// NotSecret lists settings whose keys look like credentials (a key, a
	// token) but are none, so need not be Secret.
	NotSecret []string
	// Vendor is the test's view of the store behind the plugin (its fake).
	// Nil skips the checks of what the plugin did at the store: a reply
	// visible there, a refused reply sent nowhere, an edit listed again,
	// the store's errors classified, and the listing checks (pages,
	// cursors, edits, arrivals, the reply limit; see above for what each
	// proves and what PutReview receives).
	Vendor StoreVendor
	// PageSize is the ListReviewsRequest.PageSize the listing checks ask
	// for (default 2), and the most reviews a page holds then: the kit puts
	// 2×PageSize+1 reviews, so a listing has three pages at least. A plugin
	// whose store pages by a size it cannot choose sets that size.
	PageSize int
	// Overlap is how far behind the cursor the plugin lists again on
	// purpose (the App Store plugin's overlap_hours); reviews older than
	// the cursor less Overlap must not be listed from it. Default 0.
	Overlap time.Duration
	// Country is the country of the reviews the kit puts (default "US"): a
	// store that lists only some countries must list it with Settings.
	Country string
}

// RunStore checks that a store plugin honours the protocol's contract. s
// is a launched plugin (LaunchStore) or one in the test's process: a
// sdk.StorePlugin, or a sdk.Store written for SDK v0.1.
func RunStore(t *testing.T, s sdk.AnyStore, suite StoreSuite) { runStore(goTest{t}, s, suite) }

func runStore(t tester, impl sdk.AnyStore, suite StoreSuite) {
	s, err := sdk.AsStorePlugin(impl)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if suite.MaxPages == 0 {
		suite.MaxPages = 50
	}
	r := &storeRun{s: s, suite: suite, kit: &storeKit{sp: s}}
	t.Run("info", r.checkInfo)
	t.Run("check credentials", func(t tester) {
		if _, err := s.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: suite.Settings, AppID: suite.AppID}); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("vendor view is sound", r.checkView)
	t.Run("list reviews", r.listReviews)
	t.Run("unknown app is classified", r.unknownApp)
	t.Run("reply is visible at the store", r.replyVisible)
	t.Run("over-long reply is refused before any call", r.overLong)
	t.Run("reply at the declared limit is visible", r.replyAtLimit)
	t.Run("edited review is listed again", r.editListedAgain)
	t.Run("first listing reaches every page and the backlog", r.firstListing)
	t.Run("listing from the cursor: edits, arrivals, nothing older", r.cursorListing)
	t.Run("listing from the next cursor", r.nextListing)
	t.Run("store errors are classified", func(t tester) {
		if r.kit.viewBroken != "" {
			t.Skip("the vendor view is broken (see \"vendor view is sound\")")
		}
		checkFaults(t, suite.Vendor, func() error {
			_, err := s.ListReviews(ctx(t), sdk.ListRequest{Settings: suite.Settings, AppID: suite.AppID})
			return err
		})
	})
	r.history(t)
}

type storeRun struct {
	s     sdk.StorePlugin
	suite StoreSuite
	info  sdk.Info
	// seed is the listed id of the review the suite put (once put), seedPut
	// the id it was put with.
	seed, seedPut string
	kit           *storeKit
}

func (r *storeRun) checkInfo(t tester) {
	info, err := r.s.Info(ctx(t), sdk.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	r.info = info
	checkInfo(t, info, sdk.PluginKindStore, r.suite.NotSecret)
	if info.Store == nil {
		return
	}
	if info.Store.ReplyMaxLength < 0 {
		t.Errorf("ReplyMaxLength %d < 0", info.Store.ReplyMaxLength)
	}
	if info.Store.CanReply && info.Store.ReplyMaxLength == 0 {
		t.Errorf("CanReply without ReplyMaxLength: declare the store's limit, so an over-long reply is refused before it is sent")
	}
	for _, f := range info.Store.SourceFilters {
		if f != sdk.FilterCountry && f != sdk.FilterLanguage {
			t.Errorf("unknown source filter %q", f)
		}
	}
}

// list reads one whole listing from cursor and checks every page: ids,
// ratings, no review twice, a cursor for the next poll.
func (r *storeRun) list(t tester, cursor string) (map[string]sdk.Review, string) {
	t.Helper()
	seen := map[string]sdk.Review{}
	twice := map[string]bool{} // reported once, however often listed again
	req := sdk.ListRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, Cursor: cursor, PageSize: 10}
	for page := 0; ; page++ {
		if page >= r.suite.MaxPages {
			t.Fatalf("listing did not end within %d pages", r.suite.MaxPages)
		}
		p, err := r.s.ListReviews(ctx(t), req)
		if err != nil {
			t.Fatalf("ListReviews page %d: %v", page, err)
		}
		for _, rv := range p.Reviews {
			if rv.ID == "" {
				t.Errorf("review without id: %+v", rv)
			}
			if rv.Rating < 1 || rv.Rating > 5 {
				t.Errorf("review %s: rating %d outside 1..5", rv.ID, rv.Rating)
			}
			if _, dup := seen[rv.ID]; dup && !twice[rv.ID] {
				twice[rv.ID] = true
				t.Errorf("review %s listed twice in one listing", rv.ID)
			}
			seen[rv.ID] = rv
		}
		if p.NextPageToken == "" {
			if p.Cursor == "" {
				t.Errorf("the listing returned no cursor for the next poll")
			}
			return seen, p.Cursor
		}
		req.PageToken = p.NextPageToken
	}
}

func (r *storeRun) listReviews(t tester) {
	if r.suite.Vendor != nil {
		r.review(t) // the listing must show it
	}
	seen, _ := r.list(t, "")
	if len(seen) == 0 {
		t.Fatalf("the app has no reviews; the suite needs at least one")
	}
	if r.seed != "" {
		if _, ok := seen[r.seed]; !ok {
			t.Errorf("the review put at the store (listed id %s) is not in the listing", r.seed)
		}
	}
}

// review is the listed id of a review of the suite's own, put at the
// store the first time it is asked for.
func (r *storeRun) review(t tester) string {
	t.Helper()
	if r.seed != "" {
		return r.seed
	}
	put := nonce("review")
	at := r.at(t)
	r.kit.seedCreated = at
	id, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, sdk.Review{ID: put, AppID: r.suite.AppID,
		Author: "Tester", Rating: 2, Title: "Crashes", Text: "It crashes on start.", Language: "en", Country: r.country(), AppVersion: "1.0",
		CreatedAt: at, UpdatedAt: at})
	if err != nil || id == "" {
		t.Fatalf("vendor view: PutReview: %q, %v", id, err)
	}
	r.seed, r.seedPut = id, put
	return id
}

func (r *storeRun) unknownApp(t tester) {
	_, err := r.s.ListReviews(ctx(t), sdk.ListRequest{Settings: r.suite.Settings, AppID: "reviewhub-sdktest-no-such-app"})
	if err == nil {
		return // stores with a public listing may answer an empty list
	}
	if k := sdk.KindOf(err); k == sdk.ErrorKindUnknown {
		t.Errorf("error for an unknown app is not classified: %v", err)
	}
}

func (r *storeRun) canReply(t tester) {
	t.Helper()
	if r.info.Store == nil || !r.info.Store.CanReply {
		t.Skip("the store takes no replies")
	}
}

func (r *storeRun) replyVisible(t tester) {
	r.canReply(t)
	if r.suite.Vendor == nil {
		t.Skip("no vendor view (StoreSuite.Vendor)")
	}
	id := r.review(t)
	text := "Thanks, fixed in 1.1 (" + nonce("reply") + ")"
	for try := 1; try <= 2; try++ { // the hub may post the same reply again
		res, err := r.s.PostReply(ctx(t), sdk.PostReplyRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, ReviewID: id, Text: text})
		if err != nil {
			t.Fatalf("PostReply (try %d): %v", try, err)
		}
		reply := res.Reply
		if reply.Text != "" && reply.Text != text {
			t.Errorf("PostReply (try %d) answered the reply %q, want %q", try, reply.Text, text)
		}
		got, ok, err := r.suite.Vendor.Reply(ctx(t), r.suite.AppID, id)
		switch {
		case err != nil:
			t.Fatalf("vendor view: Reply: %v", err)
		case !ok:
			t.Fatalf("PostReply (try %d) succeeded, the store shows no reply to review %s", try, id)
		case got != text:
			t.Errorf("PostReply (try %d): the store shows the reply %q, want %q", try, got, text)
		}
	}
}

func (r *storeRun) overLong(t tester) {
	r.canReply(t)
	id := r.suite.ReviewID
	if r.suite.Vendor != nil {
		id = r.review(t)
	}
	if r.info.Store.ReplyMaxLength == 0 || id == "" {
		t.Skip("no reply limit declared or no review to reply to")
	}
	text := strings.Repeat("a", r.info.Store.ReplyMaxLength+1)
	calls := 0
	if r.suite.Vendor != nil {
		calls = r.suite.Vendor.Calls()
	}
	_, err := r.s.PostReply(ctx(t), sdk.PostReplyRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, ReviewID: id, Text: text})
	if sdk.KindOf(err) != sdk.ErrorKindRefused {
		t.Errorf("reply of %d characters: got %v, want a Refused error", utf8.RuneCountInString(text), err)
	}
	if r.suite.Vendor != nil && r.kit.viewBroken == "" {
		if n := r.suite.Vendor.Calls() - calls; n != 0 {
			t.Errorf("reply of %d characters over the declared %d: %d calls reached the store, want it refused before any", len(text), r.info.Store.ReplyMaxLength, n)
		}
	}
}

// editListedAgain: after a listing, the author edits a review and a new
// one arrives; the next listing from the cursor shows both, the edit with
// its new rating and text (the hub compares them with what it stored).
func (r *storeRun) editListedAgain(t tester) {
	if r.suite.Vendor == nil {
		t.Skip("no vendor view (StoreSuite.Vendor)")
	}
	id := r.review(t)
	_, cursor := r.list(t, "")
	edit := sdk.Review{ID: r.seedPut, AppID: r.suite.AppID, Author: "Tester", Rating: 4, Title: "Works", Text: "Fixed now, thanks (" + nonce("edit") + ")",
		Language: "en", Country: r.country(), AppVersion: "1.1", CreatedAt: r.kit.seedCreated, UpdatedAt: r.at(t)}
	if _, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, edit); err != nil {
		t.Fatalf("vendor view: PutReview (edit): %v", err)
	}
	at := r.at(t)
	fresh, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, sdk.Review{ID: nonce("review"), AppID: r.suite.AppID, Author: "Tester",
		Rating: 5, Text: "Great app.", Language: "en", Country: r.country(), AppVersion: "1.1", CreatedAt: at, UpdatedAt: at})
	if err != nil {
		t.Fatalf("vendor view: PutReview (new): %v", err)
	}
	seen, _ := r.list(t, cursor)
	got, ok := seen[id]
	switch {
	case !ok:
		t.Errorf("review %s was edited after the listing and is not listed from its cursor: the hub would never see the edit", id)
	case got.Rating != edit.Rating || !strings.Contains(got.Text, edit.Text):
		t.Errorf("edited review %s listed with rating %d, text %q; want %d, %q", id, got.Rating, got.Text, edit.Rating, edit.Text)
	}
	if _, ok := seen[fresh]; !ok {
		t.Errorf("review %s arrived after the listing and is not listed from its cursor", fresh)
	}
}
