package sdktest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// The store kit's history checks (SDK v0.3), run last by RunStore:
//
//   - "history: unsupported is typed": a plugin that declares no
//     StoreCapabilities.History answers History with ErrorKindUnsupported
//     (sdk.IsUnsupported), never an empty success the hub would take for
//     "no reviews".
//   - "history: paged, range honoured" (needs the vendor view): 2×PageSize+1
//     reviews are put with dates beyond the listing window (ListingWindow +
//     History.Lag + 2 days ago, within History.Reach), one a second before
//     the range and one at its end (To is exclusive). History over the
//     range, asking PageSize, must take three pages or more, hold every
//     review of the range (their rating and text as put) and neither of
//     the two outside it, none twice, and end (empty NextCursor) within
//     MaxPages. Proves that the plugin pages, that its cursor moves on, and
//     that it honours From and To.
//   - "history: a cursor asked again gives the same page": the second
//     page's cursor, asked again, gives the same reviews. The hub resumes
//     an import after a crash from the last cursor it stored.
//   - "history: ids equal the listing's": a review put inside the listing
//     window is listed by ListReviews and asked for by History over a
//     range around it; where History holds it, with the listing's id and
//     version; where not, its CompleteUntil must say the history is not
//     complete there yet (the store's lag). Proves that a review seen both
//     ways is one review to the hub.
func (r *storeRun) history(t tester) {
	caps := r.info.Store
	if caps == nil {
		info, err := r.s.Info(ctx(t), sdk.InfoRequest{})
		if err != nil || info.Store == nil {
			t.Skip("no store capabilities (see \"info\")")
		}
		caps = info.Store
	}
	if caps.History == nil {
		t.Run("history: unsupported is typed", func(t tester) {
			now := time.Now().UTC()
			_, err := sdk.History(ctx(t), r.s, sdk.HistoryRequest{Settings: r.suite.Settings, AppID: r.suite.AppID,
				From: now.Add(-90 * 24 * time.Hour), To: now})
			if !sdk.IsUnsupported(err) {
				t.Errorf("History of a plugin that declares no StoreCapabilities.History: %v, want an ErrorKindUnsupported error", err)
			}
		})
		return
	}
	if _, ok := r.s.(sdk.HistoryLister); !ok {
		t.Errorf("StoreCapabilities.History is declared but the plugin does not implement sdk.HistoryLister")
		return
	}
	var rangeFrom, rangeTo time.Time
	var second string
	var secondIDs []string
	t.Run("history: paged, range honoured", func(t tester) {
		r.needVendor(t)
		age := caps.ListingWindow + caps.History.Lag + 2*24*time.Hour
		if caps.ListingWindow == 0 {
			age = caps.History.Lag + 10*24*time.Hour
		}
		if caps.History.Reach > 0 && age > caps.History.Reach/2 {
			age = caps.History.Reach / 2
		}
		n := 2*r.pageSize() + 1
		rangeFrom = time.Now().UTC().Add(-age).Truncate(time.Second)
		rangeTo = rangeFrom.Add(time.Duration(n+1) * time.Second)
		before := r.put(t, fmt.Sprintf("sdktest-review-history-before-%d", rangeFrom.Unix()), 2, "Changed before the range", rangeFrom.Add(-time.Second), rangeFrom.Add(-time.Second))
		after := r.put(t, fmt.Sprintf("sdktest-review-history-after-%d", rangeFrom.Unix()), 2, "Changed at the range's end", rangeTo, rangeTo)
		want := map[string]*kitReview{}
		for i := range n {
			at := rangeFrom.Add(time.Duration(i) * time.Second)
			k := r.put(t, fmt.Sprintf("sdktest-review-history-%d-%d", rangeFrom.Unix(), i), 1+i%5, fmt.Sprintf("History review %d", i), at, at)
			want[k.listed] = k
		}
		seen := map[string]sdk.Review{}
		var dups []string
		pages := 0
		req := sdk.HistoryRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, From: rangeFrom, To: rangeTo, PageSize: r.pageSize()}
		for {
			if pages >= r.suite.MaxPages {
				t.Fatalf("History did not end within %d pages (StoreSuite.MaxPages)", r.suite.MaxPages)
			}
			page, err := sdk.History(ctx(t), r.s, req)
			if err != nil {
				t.Fatalf("History page %d of [%s, %s): %v", pages+1, rangeFrom.Format(time.RFC3339), rangeTo.Format(time.RFC3339), err)
			}
			pages++
			for _, rv := range page.Reviews {
				if _, ok := seen[rv.ID]; ok {
					dups = append(dups, rv.ID)
				}
				seen[rv.ID] = rv
			}
			if pages == 2 {
				second = req.Cursor
				for _, rv := range page.Reviews {
					secondIDs = append(secondIDs, rv.ID)
				}
			}
			if page.NextCursor == "" {
				break
			}
			if page.NextCursor == req.Cursor {
				t.Fatalf("History page %d answered its own cursor as the next: the listing would never end", pages)
			}
			req.Cursor = page.NextCursor
		}
		var missing, wrong []string
		for id, k := range want {
			rv, ok := seen[id]
			switch {
			case !ok:
				missing = append(missing, id)
			case rv.Rating != k.rating || rv.Text != k.text:
				wrong = append(wrong, fmt.Sprintf("%s: rating %d text %q, put with %d %q", id, rv.Rating, rv.Text, k.rating, k.text))
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("History of [%s, %s) lacks %d of the %d reviews changed in it: %s", rangeFrom.Format(time.RFC3339), rangeTo.Format(time.RFC3339),
				len(missing), n, strings.Join(missing, ", "))
		}
		if len(wrong) > 0 {
			t.Errorf("History gave reviews other than put: %s", strings.Join(wrong, "; "))
		}
		for _, k := range []*kitReview{before, after} {
			if _, ok := seen[k.listed]; ok {
				t.Errorf("History of [%s, %s) holds %s, changed at %s: outside the range (From inclusive, To exclusive)",
					rangeFrom.Format(time.RFC3339), rangeTo.Format(time.RFC3339), k.listed, k.updated.Format(time.RFC3339))
			}
		}
		if len(dups) > 0 {
			t.Errorf("History gave reviews twice: %s", strings.Join(dups, ", "))
		}
		if pages < 3 && len(missing) == 0 {
			t.Errorf("History gave %d reviews in %d page(s) asking PageSize %d: it must page (the hub's calls have deadlines)", len(seen), pages, r.pageSize())
		}
	})
	t.Run("history: a cursor asked again gives the same page", func(t tester) {
		if second == "" {
			t.Skip("no second page (see \"history: paged, range honoured\")")
		}
		page, err := sdk.History(ctx(t), r.s, sdk.HistoryRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, From: rangeFrom, To: rangeTo,
			PageSize: r.pageSize(), Cursor: second})
		if err != nil {
			t.Fatalf("History with the second page's cursor again: %v", err)
		}
		var ids []string
		for _, rv := range page.Reviews {
			ids = append(ids, rv.ID)
		}
		if strings.Join(ids, ",") != strings.Join(secondIDs, ",") {
			t.Errorf("the second page's cursor gave %v, then %v: a cursor must stay valid (the hub resumes from it)", secondIDs, ids)
		}
	})
	t.Run("history: ids equal the listing's", func(t tester) {
		r.needVendor(t)
		at := r.at(t)
		k := r.put(t, fmt.Sprintf("sdktest-review-history-live-%d", at.Unix()), 4, "Listed live and in the history", at, at)
		listed := r.listFrom(t, "", nil)
		live, ok := listed.byID[k.listed]
		if !ok {
			t.Fatalf("ListReviews did not list %s (put just now): see the listing checks", k.listed)
		}
		page := sdk.HistoryResponse{}
		req := sdk.HistoryRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, From: at.Add(-time.Minute), To: at.Add(time.Minute), PageSize: 100}
		var got *sdk.Review
		for range r.suite.MaxPages {
			var err error
			if page, err = sdk.History(ctx(t), r.s, req); err != nil {
				t.Fatalf("History around a live review: %v", err)
			}
			for i, rv := range page.Reviews {
				if rv.ID == live.ID {
					got = &page.Reviews[i]
				}
			}
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
		switch {
		case got != nil && (got.Rating != live.Rating || got.Text != live.Text):
			t.Errorf("History gave %s with rating %d text %q, the listing %d %q: inside the listing window the listing's version counts",
				live.ID, got.Rating, got.Text, live.Rating, live.Text)
		case got == nil && (page.CompleteUntil.IsZero() || !page.CompleteUntil.Before(at)):
			t.Errorf("History around %s lacks the review ListReviews lists as %s, and says it is complete until %v: "+
				"the ids differ, or the history misses it without saying so (CompleteUntil)", at.Format(time.RFC3339), live.ID, page.CompleteUntil)
		}
	})
}
