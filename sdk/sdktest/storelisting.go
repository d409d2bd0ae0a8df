package sdktest

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

// The store kit's listing and reply-limit checks (StoreSuite's comment says
// what each proves and what the vendor view's PutReview receives).

// StoreReplyLimiter is an optional side of a StoreVendor: ReplyMaxLength
// is the longest reply the store itself takes, counted as the plugin's
// StoreCapabilities.ReplyMaxLength counts (characters). With it, RunStore
// checks that the plugin declares no more than the store takes.
type StoreReplyLimiter interface {
	ReplyMaxLength() int
}

// pendingFaults is faults.Faults's Pending: the faults asked for and not
// handed out yet.
type pendingFaults interface{ Pending() int }

const defaultPageSize = 2

// storeKit is what the listing checks keep between subtests.
type storeKit struct {
	sp sdk.StorePlugin
	// clock is the date of the next review the kit puts (zero: not
	// started yet).
	clock time.Time
	// viewBroken says why the vendor view cannot be trusted ("": it can).
	viewBroken string
	// reviews the kit put, by listed id.
	reviews map[string]*kitReview
	// The listings so far.
	first, second *kitListing
	fill          []*kitReview
	backlog       *kitReview
	arrival       *kitReview
	seedCreated   time.Time
}

type kitReview struct {
	put, listed      string
	rating           int
	text             string
	created, updated time.Time
}

type kitListing struct {
	byID   map[string]sdk.Review
	dups   []string
	pages  int
	cursor string
	// end is when the last page was answered; newest the latest date of
	// the kit's reviews it holds.
	end, newest time.Time
}

func (r *storeRun) pageSize() int {
	if r.suite.PageSize > 0 {
		return r.suite.PageSize
	}
	return defaultPageSize
}

func (r *storeRun) country() string {
	if r.suite.Country != "" {
		return r.suite.Country
	}
	return "US"
}

// at is the date of the next review the kit puts: one second after the
// previous, starting an hour ago or after the newest review the store
// lists, if later.
func (r *storeRun) at(t tester) time.Time {
	t.Helper()
	k := r.kit
	if k.clock.IsZero() {
		start := time.Now().UTC().Add(-time.Hour)
		if newest := r.newestListed(t); !newest.Before(start) {
			start = newest.Add(time.Second)
		}
		k.clock = start.Truncate(time.Second).Add(time.Second)
	}
	d := k.clock
	k.clock = k.clock.Add(time.Second)
	return d
}

// newestListed is the latest date of a review the store lists now (zero
// when the listing fails: the listing checks report that).
func (r *storeRun) newestListed(t tester) time.Time {
	var newest time.Time
	req := sdk.ListReviewsRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, PageSize: 100}
	for page := 0; page < r.suite.MaxPages; page++ {
		p, err := r.kit.sp.ListReviews(ctx(t), req)
		if err != nil {
			return newest
		}
		for _, rv := range p.Reviews {
			for _, d := range []time.Time{rv.CreatedAt, rv.UpdatedAt} {
				if d.After(newest) {
					newest = d
				}
			}
		}
		if p.NextPageToken == "" {
			break
		}
		req.PageToken = p.NextPageToken
	}
	return newest
}

// put puts a review at the store through the vendor view and records it.
func (r *storeRun) put(t tester, putID string, rating int, text string, created, updated time.Time) *kitReview {
	t.Helper()
	rv := sdk.Review{ID: putID, AppID: r.suite.AppID, Author: "Tester", Rating: rating, Title: "Review", Text: text,
		Language: "en", Country: r.country(), AppVersion: "1.0", CreatedAt: created, UpdatedAt: updated}
	if created != updated {
		rv.AppVersion = "1.1"
	}
	id, err := r.suite.Vendor.PutReview(ctx(t), r.suite.AppID, rv)
	if err != nil || id == "" {
		t.Fatalf("vendor view: PutReview %s: %q, %v", putID, id, err)
	}
	if r.kit.reviews == nil {
		r.kit.reviews = map[string]*kitReview{}
	}
	k := r.kit.reviews[id]
	if k == nil {
		k = &kitReview{put: putID, listed: id}
		r.kit.reviews[id] = k
	}
	k.rating, k.text, k.created, k.updated = rating, text, created, updated
	return k
}

func (r *storeRun) needVendor(t tester) {
	t.Helper()
	if r.suite.Vendor == nil {
		t.Skip("no vendor view (StoreSuite.Vendor): the check puts reviews of its own at the store")
	}
	if r.kit.viewBroken != "" {
		t.Skip("the vendor view is broken (see \"vendor view is sound\")")
	}
}

// checkView checks the vendor view itself: calls are counted, injected
// faults are handed out.
func (r *storeRun) checkView(t tester) {
	v := r.suite.Vendor
	if v == nil {
		t.Skip("no vendor view (StoreSuite.Vendor)")
	}
	before := v.Calls()
	r.at(t) // lists the store once, to date the kit's reviews after everything in it
	if v.Calls() == before {
		r.kit.viewBroken = "counts no calls"
		t.Fatalf("the vendor view is broken, not the plugin: the plugin listed the store and the view's Calls() stayed %d. "+
			"The fake's handler must call faults.Next once for every request (that counts the call and hands out the faults Fail asks for); "+
			"until it does, the kit cannot check that a refused reply reaches no API, nor how the plugin meets the store's errors", before)
	}
	fi, ok := v.(FaultInjector)
	pf, hasPending := v.(pendingFaults)
	if !ok || !hasPending {
		return
	}
	fi.Fail(1000, 503)
	defer fi.Fail(0, 0)
	calls, pending := v.Calls(), pf.Pending()
	_, _ = r.kit.sp.ListReviews(ctx(t), sdk.ListReviewsRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, PageSize: r.pageSize()})
	if n := v.Calls() - calls; n > 0 && pf.Pending() == pending {
		r.kit.viewBroken = "applies no faults"
		t.Fatalf("the vendor view is broken, not the plugin: told to answer 503 to every call, it counted %d calls and handed out none of the faults (Pending() stayed %d): "+
			"the fake's handler must answer the fault faults.Next returns", n, pending)
	}
}

// listFrom reads one whole listing from cursor, PageSize a page; after
// the first page it calls afterFirst (when not nil).
func (r *storeRun) listFrom(t tester, cursor string, afterFirst func()) *kitListing {
	t.Helper()
	size := r.pageSize()
	l := &kitListing{byID: map[string]sdk.Review{}}
	req := sdk.ListReviewsRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, Cursor: cursor, PageSize: size}
	limit := r.suite.MaxPages + len(r.kit.reviews)/size + 1
	for {
		if l.pages >= limit {
			t.Fatalf("the listing did not end within %d pages of %d (a page token that does not move on?)", limit, size)
		}
		p, err := r.kit.sp.ListReviews(ctx(t), req)
		if err != nil {
			t.Fatalf("ListReviews (page %d): %v", l.pages+1, err)
		}
		l.pages++
		for _, rv := range p.Reviews {
			if _, dup := l.byID[rv.ID]; dup {
				l.dups = append(l.dups, rv.ID)
			}
			l.byID[rv.ID] = rv
			if k := r.kit.reviews[rv.ID]; k != nil && k.updated.After(l.newest) {
				l.newest = k.updated
			}
		}
		if l.pages == 1 && afterFirst != nil {
			afterFirst()
		}
		if p.NextPageToken == "" {
			l.cursor, l.end = p.Cursor, time.Now()
			if p.Cursor == "" {
				t.Errorf("the listing's last page has no cursor for the next poll")
			}
			return l
		}
		req.PageToken = p.NextPageToken
	}
}

// backlogAge is how old the backlog review is: 3 days, or half the
// store's listing window when that is shorter than 4 days.
func (r *storeRun) backlogAge() time.Duration {
	age := 3 * 24 * time.Hour
	if r.info.Store != nil && r.info.Store.ListingWindow > 0 && r.info.Store.ListingWindow < 4*24*time.Hour {
		age = r.info.Store.ListingWindow / 2
	}
	return age
}

// firstListing: 2×PageSize+1 reviews and a backlog, one review arriving
// after the first page; every review put before must be listed.
func (r *storeRun) firstListing(t tester) {
	r.needVendor(t)
	k := r.kit
	size := r.pageSize()
	old := time.Now().UTC().Add(-r.backlogAge()).Truncate(time.Second)
	k.backlog = r.put(t, nonce("backlog"), 2, "An old review from the backlog.", old, old)
	n := 2*size + 1
	for i := range n {
		at := r.at(t)
		k.fill = append(k.fill, r.put(t, nonce("page"), 1+i%5, fmt.Sprintf("Review %d of the listing.", i+1), at, at))
	}
	l := r.listFrom(t, "", func() {
		at := r.at(t)
		k.arrival = r.put(t, nonce("arrival"), 5, "Arrived while the listing was read.", at, at)
	})
	k.first = l
	if l.pages < 3 {
		t.Errorf("a listing of %d reviews or more at PageSize %d took %d page(s), want 3 or more: the plugin ignores ListReviewsRequest.PageSize "+
			"(a store whose page size cannot be chosen: set StoreSuite.PageSize to it) or never sets NextPageToken, so later pages are never read", n+1, size, l.pages)
	}
	var missing []string
	for _, f := range k.fill {
		if _, ok := l.byID[f.listed]; !ok {
			missing = append(missing, f.listed)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of the %d reviews put before the listing are not in it (%s): reviews on later pages are lost", len(missing), n, strings.Join(missing, ", "))
	}
	if _, ok := l.byID[k.backlog.listed]; !ok {
		t.Errorf("review %s, last changed %s (%s before the listing), is not in the first listing: a backlog older than a day is lost, or the listing ended before the store's last page; "+
			"a first listing reaches as far back as the store lists (StoreCapabilities.ListingWindow), to the last page, also when a review arrives while it is read", k.backlog.listed, k.backlog.updated.Format(time.RFC3339), r.backlogAge())
	}
	if len(l.dups) > 1 {
		t.Errorf("reviews listed twice in one listing: %s (a review arriving while a listing is read may repeat one review at a page boundary; more means a page was read again)",
			strings.Join(l.dups, ", "))
	}
	r.datesAsPut(t, l)
}

// datesAsPut checks that the kit's reviews are listed with the dates the
// kit gave them (when the plugin lists a date at all): the cursor checks
// rely on them, and a view that stamps the time of the call instead makes
// them pass or fail by chance.
func (r *storeRun) datesAsPut(t tester, l *kitListing) {
	t.Helper()
	var off []string
	for id, rv := range l.byID {
		k := r.kit.reviews[id]
		if k == nil || rv.UpdatedAt.IsZero() {
			continue
		}
		if d := rv.UpdatedAt.Sub(k.updated); d < -time.Second || d > time.Second {
			off = append(off, fmt.Sprintf("%s put with UpdatedAt %s, listed with %s", id, k.updated.Format(time.RFC3339), rv.UpdatedAt.UTC().Format(time.RFC3339Nano)))
		}
	}
	if len(off) > 0 {
		slices.Sort(off)
		t.Errorf("%d review(s) are listed with another date than the kit put them with (%s): either the vendor view does not give the store the dates PutReview receives "+
			"(it must: see sdktest.StoreSuite), or the plugin maps the store's date wrongly", len(off), strings.Join(off[:min(len(off), 3)], "; "))
	}
}

// cursorListing: an edit and a late-indexed review after the first
// listing are listed from its cursor, with the review that arrived during
// it; nothing older than the cursor is.
func (r *storeRun) cursorListing(t tester) {
	r.needVendor(t)
	k := r.kit
	if k.first == nil || len(k.fill) == 0 {
		t.Skip("the first listing failed")
	}
	target := k.fill[0]
	oldRating, oldUpdated := target.rating, target.updated
	edit := r.put(t, target.put, 6-oldRating+boolInt(oldRating == 3), "Edited: works now ("+nonce("edit")+")", target.created, r.at(t))
	at := r.at(t)
	late := r.put(t, nonce("review"), 4, "Written before the last listing ended, listed by the store after it.", at, at)
	l := r.listFrom(t, k.first.cursor, nil)
	k.second = l
	if k.arrival != nil {
		_, inFirst := k.first.byID[k.arrival.listed]
		if _, ok := l.byID[k.arrival.listed]; !ok && !inFirst {
			t.Errorf("review %s arrived while the first listing was read (after its page 1) and is neither in that listing nor in the next from its cursor: "+
				"the cursor must be the newest change listed, not the newest at the store nor the time of the listing", k.arrival.listed)
		}
	}
	switch got, ok := l.byID[edit.listed]; {
	case !ok:
		t.Errorf("review %s was edited after the listing (last changed %s → %s, rating %d → %d) and is not listed from its cursor: the hub would never see the edit "+
			"(the listing must run by the last change, UpdatedAt, not by the creation)", edit.listed, oldUpdated.Format(time.RFC3339), edit.updated.Format(time.RFC3339), oldRating, edit.rating)
	case got.Rating != edit.rating || !strings.Contains(got.Text, edit.text):
		t.Errorf("edited review %s listed with rating %d, text %q; want %d, %q", edit.listed, got.Rating, got.Text, edit.rating, edit.text)
	}
	if _, ok := l.byID[late.listed]; !ok {
		when := "after the listing's newest review"
		if late.updated.Before(k.first.end) {
			when += ", before the listing ended"
		}
		t.Errorf("review %s, last changed %s (%s), was listed by the store after the listing and is not listed from its cursor: "+
			"the cursor must be the newest change listed, not the time of the listing (a review the store indexes late is lost)", late.listed, late.updated.Format(time.RFC3339), when)
	}
	r.nothingOlder(t, l, k.first)
	if len(l.dups) > 0 {
		t.Errorf("reviews listed twice in one listing: %s", strings.Join(l.dups, ", "))
	}
}

// nextListing: one more review after the second listing.
func (r *storeRun) nextListing(t tester) {
	r.needVendor(t)
	k := r.kit
	if k.second == nil {
		t.Skip("the listing from the cursor failed")
	}
	at := r.at(t)
	last := r.put(t, nonce("review"), 3, "The newest review.", at, at)
	l := r.listFrom(t, k.second.cursor, nil)
	if _, ok := l.byID[last.listed]; !ok {
		t.Errorf("review %s arrived after the second listing and is not listed from its cursor", last.listed)
	}
	r.nothingOlder(t, l, k.second)
	if len(l.dups) > 0 {
		t.Errorf("reviews listed twice in one listing: %s", strings.Join(l.dups, ", "))
	}
}

// nothingOlder: a listing from prev's cursor holds none of the kit's
// reviews last changed before prev's newest change (less Overlap).
func (r *storeRun) nothingOlder(t tester, l, prev *kitListing) {
	t.Helper()
	if prev.newest.IsZero() {
		return
	}
	bound := prev.newest.Add(-r.suite.Overlap)
	var again []string
	for id := range l.byID {
		if k := r.kit.reviews[id]; k != nil && k.updated.Before(bound) {
			again = append(again, fmt.Sprintf("%s (last changed %s)", id, k.updated.Format(time.RFC3339)))
		}
	}
	if len(again) > 0 {
		slices.Sort(again)
		t.Errorf("the listing from the cursor lists again %d review(s) unchanged since before the cursor (the previous listing's newest change %s): %s; "+
			"the plugin does not honour the cursor (each poll would read the whole store). A plugin that reads a window behind the cursor on purpose sets StoreSuite.Overlap",
			len(again), prev.newest.Format(time.RFC3339), strings.Join(again[:min(len(again), 3)], ", "))
	}
}

// multiByteText is n characters of replies in several scripts, many of
// them two or three bytes long in UTF-8, with no space at either end and
// nothing a store would strip (no markup).
func multiByteText(n int) string {
	const pattern = "Спасибо, ça marche: № 5€ — ёж. "
	var b strings.Builder
	for utf8.RuneCountInString(b.String()) < n {
		b.WriteString(pattern)
	}
	rs := []rune(b.String())[:n]
	if n > 0 && (rs[n-1] == ' ') {
		rs[n-1] = 'ё'
	}
	return string(rs)
}

// replyAtLimit posts a reply of exactly the declared limit.
func (r *storeRun) replyAtLimit(t tester) {
	r.canReply(t)
	r.needVendor(t)
	limit := r.info.Store.ReplyMaxLength
	if limit <= 0 {
		t.Skip("no reply limit declared (reported by info)")
	}
	if rl, ok := r.suite.Vendor.(StoreReplyLimiter); ok {
		if storeMax := rl.ReplyMaxLength(); storeMax > 0 && limit > storeMax {
			t.Errorf("the plugin declares ReplyMaxLength %d, the store takes at most %d (the vendor view's ReplyMaxLength): "+
				"the hub lets through replies the store refuses", limit, storeMax)
		}
	}
	at := r.at(t)
	rv := r.put(t, nonce("review"), 1, "Please answer at length.", at, at)
	text := multiByteText(limit)
	_, err := r.kit.sp.PostReply(ctx(t), sdk.PostReplyRequest{Settings: r.suite.Settings, AppID: r.suite.AppID, ReviewID: rv.listed, Text: text})
	if err != nil {
		t.Fatalf("a reply of exactly the declared ReplyMaxLength (%d characters, %d bytes) failed: %v. "+
			"Declare the store's own limit, counted in characters (not bytes)", limit, len(text), err)
	}
	got, ok, err := r.suite.Vendor.Reply(ctx(t), r.suite.AppID, rv.listed)
	switch {
	case err != nil:
		t.Fatalf("vendor view: Reply: %v", err)
	case !ok:
		t.Errorf("a reply of exactly ReplyMaxLength (%d characters) succeeded, the store shows no reply to review %s", limit, rv.listed)
	case got != text:
		t.Errorf("a reply of exactly ReplyMaxLength (%d characters): the store shows %d characters, not the reply sent (cut or changed)", limit, utf8.RuneCountInString(got))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
