package sdktest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

// StoreSuite configures RunStore.
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
	// the store's errors classified.
	Vendor StoreVendor
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
	r := &storeRun{s: s, suite: suite}
	t.Run("info", r.checkInfo)
	t.Run("check credentials", func(t tester) {
		if _, err := s.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: suite.Settings, AppID: suite.AppID}); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("list reviews", r.listReviews)
	t.Run("unknown app is classified", r.unknownApp)
	t.Run("reply is visible at the store", r.replyVisible)
	t.Run("over-long reply is refused before any call", r.overLong)
	t.Run("edited review is listed again", r.editListedAgain)
	t.Run("store errors are classified", func(t tester) {
		checkFaults(t, suite.Vendor, func() error {
			_, err := s.ListReviews(ctx(t), sdk.ListRequest{Settings: suite.Settings, AppID: suite.AppID})
			return err
		})
	})
}

type storeRun struct {
	s     sdk.StorePlugin
	suite StoreSuite
	info  sdk.Info
	// seed is the listed id of the review the suite put (once put), seedPut
	// the id it was put with.
	seed, seedPut string
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
			if _, dup := seen[rv.ID]; dup {
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
	id, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, sdk.Review{ID: put, AppID: r.suite.AppID,
		Author: "Tester", Rating: 2, Title: "Crashes", Text: "It crashes on start.", Language: "en", Country: "US", AppVersion: "1.0"})
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
	if r.suite.Vendor != nil {
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
		Language: "en", Country: "US", AppVersion: "1.1"}
	if _, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, edit); err != nil {
		t.Fatalf("vendor view: PutReview (edit): %v", err)
	}
	fresh, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, sdk.Review{ID: nonce("review"), AppID: r.suite.AppID, Author: "Tester",
		Rating: 5, Text: "Great app.", Language: "en", Country: "US", AppVersion: "1.1"})
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
