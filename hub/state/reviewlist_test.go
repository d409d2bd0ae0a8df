package state

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestSearchTokens(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Crashes on START!", []string{"crashes", "on", "start"}},
		{"Приложение ВЫЛЕТАЕТ", []string{"приложение", "вылетает"}},
		{"日本語", []string{"日本", "本語", "語"}},
		{"很好", []string{"很好", "好"}},
		{"iPhone15で落ちる", []string{"iphone15", "で落", "落ち", "ちる", "る"}},
		{"ｉＰｈｏｎｅ", []string{"iphone"}}, // full width folded
		{"ดีมาก", []string{"ดี", "ีม", "มา", "าก", "ก"}},
		{"", nil},
		{"!!! — ...", nil},
	}
	for _, c := range cases {
		if got := searchTokens(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("searchTokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := ftsMatch(searchTerms("Crash 日本語 日")); got != `"crash*" "日本 本語" "日*"` {
		t.Errorf("ftsMatch = %s", got)
	}
	if got := tsQuery(searchTerms("Crash 日本語 日")); got != `'crash':* & ('日本' <-> '本語') & '日':*` {
		t.Errorf("tsQuery = %s", got)
	}
}

// seedSearch stores reviews in several languages and scripts; it returns
// their ids by key.
type seedReview struct {
	in, app, id string
	rating      int
	title, text string
	lang        string
	posted      time.Time
}

func storeReviews(t *testing.T, db *DB, list []seedReview) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *Tx) error {
		byApp := map[[2]string][]string{}
		for _, s := range list {
			k := [2]string{s.in, s.app}
			byApp[k] = append(byApp[k], s.id)
		}
		for k, ids := range byApp {
			// PostgreSQL: the poller's page path (PreloadReviews, batched
			// inserts); SQLite ignores it.
			if err := tx.PreloadReviews(ctx, k[0], k[1], ids); err != nil {
				return err
			}
		}
		for _, s := range list {
			r := sdk.Review{ID: s.id, Rating: s.rating, Title: s.title, Text: s.text, Language: s.lang, Author: "author " + s.id,
				Country: "JP", AppVersion: "1.0", URL: "https://store.example/" + s.id, CreatedAt: s.posted}
			if _, err := tx.ObserveReview(ctx, s.in, s.app, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func seedApps(t *testing.T, db *DB) {
	t.Helper()
	now := ts(time.Now())
	for _, in := range []string{"i1", "i2"} {
		if _, err := db.SQL().Exec(db.Rebind(`INSERT INTO integrations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`), in, in, now, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range [][3]string{{"i1", "gp", "googleplay"}, {"i1", "as", "appstore"}, {"i2", "gp", "googleplay"}} {
		if _, err := db.SQL().Exec(db.Rebind(`INSERT INTO apps (integration_id, id, name, store_plugin) VALUES (?, ?, ?, ?)`),
			a[0], a[1], "App "+a[1], a[2]); err != nil {
			t.Fatal(err)
		}
	}
}

var searchCorpus = []seedReview{
	{"i1", "gp", "en1", 1, "Crashes", "The app crashes on start", "en-US", day(1)},
	{"i1", "gp", "en2", 5, "Great", "Love the new dark mode", "en-GB", day(2)},
	{"i1", "as", "ru1", 2, "Вылетает", "Приложение вылетает при запуске", "ru", day(3)},
	{"i1", "as", "zh1", 1, "很差", "这个应用程序经常崩溃", "zh-Hans", day(4)},
	{"i2", "gp", "ja1", 4, "便利", "日本語の入力がとても便利です", "ja", day(5)},
	{"i2", "gp", "ko1", 3, "보통", "앱이 자주 멈춰요", "ko", day(6)},
	{"i2", "gp", "th1", 5, "ดีมาก", "แอปนี้ใช้งานง่ายมาก", "th", day(7)},
	{"i1", "gp", "ja2", 2, "", "アップデート後にログインできない", "ja", day(8)},
}

func day(n int) time.Time { return time.Date(2026, 11, n, 12, 0, 0, 0, time.UTC) }

func ids(p ReviewPage) []string {
	out := []string{}
	for _, r := range p.Reviews {
		out = append(out, r.ReviewID)
	}
	slices.Sort(out)
	return out
}

func TestReviewSearch(t *testing.T) { dialects(t, testReviewSearch) }

func testReviewSearch(t *testing.T, db *DB) {
	ctx := context.Background()
	seedApps(t, db)
	storeReviews(t, db, searchCorpus)
	cases := []struct {
		q    string
		want []string
	}{
		{"crash", []string{"en1"}},       // Latin, prefix of "crashes"
		{"CRASHES app", []string{"en1"}}, // case folded, terms ANDed
		{"dark mode", []string{"en2"}},   // two words
		{"mode dark", []string{"en2"}},   // in any order
		{"ark", []string{}},              // not inside a Latin word
		{"вылет", []string{"ru1"}},       // Cyrillic prefix, title and text
		{"ЗАПУСКЕ", []string{"ru1"}},     // Cyrillic, case folded
		{"崩溃", []string{"zh1"}},          // Chinese, two characters
		{"应用程序", []string{"zh1"}},        // Chinese, four
		{"崩", []string{"zh1"}},           // Chinese, one character
		{"溃", []string{"zh1"}},           // the last one of a run
		{"程序经常", []string{"zh1"}},        // inside the run
		{"日本語", []string{"ja1"}},         // Japanese kanji
		{"入力", []string{"ja1"}},          // two characters
		{"便", []string{"ja1"}},           // one, in the title and the text
		{"ログイン", []string{"ja2"}},        // katakana with a long vowel mark
		{"ア", []string{"ja2"}},           // one katakana
		{"ｱｯﾌﾟﾃﾞｰﾄ", []string{"ja2"}},    // half-width katakana folded
		{"자주", []string{"ko1"}},          // Korean
		{"멈", []string{"ko1"}},           // one Hangul syllable
		{"앱이 자주", []string{"ko1"}},       // two terms
		{"ใช้งาน", []string{"th1"}},      // Thai inside a run without spaces
		{"ง่าย", []string{"th1"}},        // Thai with a tone mark
		{"ดี", []string{"th1"}},          // Thai, short
		{"日本語 崩溃", []string{}},           // all terms must match
		{"本日", []string{}},               // characters not neighbours
		{"author ja1", []string{"ja1"}},  // the author is searched
		{"...", []string{}},              // separators only
	}
	// SQLite: both plans, the matches sorted and the list's order walked.
	for _, upTo := range []int{sortMatchesUpTo, 1} {
		defer func(was int) { sortMatchesUpTo = was }(sortMatchesUpTo)
		sortMatchesUpTo = upTo
		for _, c := range cases {
			p, err := db.Reviews(ctx, ReviewQuery{Search: c.q})
			if err != nil {
				t.Fatalf("search %q: %v", c.q, err)
			}
			if got := ids(p); !reflect.DeepEqual(got, c.want) {
				t.Errorf("search %q (sorting up to %d matches) found %v, want %v", c.q, upTo, got, c.want)
			}
		}
	}
	// A search combines with the filters.
	p, err := db.Reviews(ctx, ReviewQuery{Search: "便利", IntegrationID: "i1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Reviews) != 0 {
		t.Errorf("search in i1 found %v", ids(p))
	}
}

func TestReviewFilters(t *testing.T) { dialects(t, testReviewFilters) }

func testReviewFilters(t *testing.T, db *DB) {
	ctx := context.Background()
	seedApps(t, db)
	storeReviews(t, db, searchCorpus)
	_, err := func() (bool, error) {
		var ok bool
		err := db.InTx(ctx, func(tx *Tx) error {
			var err error
			ok, err = tx.AddReply(ctx, Reply{IntegrationID: "i1", MessageID: "m1", AppID: "gp", ReviewID: "en1", Text: "Sorry, fixed in 1.1",
				Staff: "Anna", Status: ReplyPending})
			if err != nil {
				return err
			}
			return tx.SetReplyStatus(ctx, "i1", "m1", ReplyPublished, "")
		})
		return ok, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    ReviewQuery
		want []string
	}{
		{"all", ReviewQuery{}, []string{"en1", "en2", "ja1", "ja2", "ko1", "ru1", "th1", "zh1"}},
		{"integration", ReviewQuery{IntegrationID: "i2"}, []string{"ja1", "ko1", "th1"}},
		{"app", ReviewQuery{IntegrationID: "i1", AppID: "as"}, []string{"ru1", "zh1"}},
		{"store", ReviewQuery{Store: "googleplay"}, []string{"en1", "en2", "ja1", "ja2", "ko1", "th1"}},
		{"store in integration", ReviewQuery{Store: "googleplay", IntegrationID: "i1"}, []string{"en1", "en2", "ja2"}},
		{"store of no app", ReviewQuery{Store: "rustore"}, []string{}},
		{"store not in the integration", ReviewQuery{Store: "appstore", IntegrationID: "i2"}, []string{}},
		{"rating", ReviewQuery{Ratings: []int{1}}, []string{"en1", "zh1"}},
		{"ratings", ReviewQuery{Ratings: []int{4, 5}}, []string{"en2", "ja1", "th1"}},
		{"published", ReviewQuery{ReplyStatus: ReplyPublished}, []string{"en1"}},
		{"never answered", ReviewQuery{ReplyStatus: ReplyNone, IntegrationID: "i1", AppID: "gp"}, []string{"en2", "ja2"}},
		{"language", ReviewQuery{Language: "en"}, []string{"en1", "en2"}},
		{"language exact", ReviewQuery{Language: "EN-us"}, []string{"en1"}},
		{"dates", ReviewQuery{From: day(3), Until: day(5)}, []string{"ru1", "zh1"}},
		{"everything", ReviewQuery{IntegrationID: "i1", Store: "googleplay", Ratings: []int{1, 2}, Language: "ja", From: day(1),
			Until: day(30), Search: "ログ"}, []string{"ja2"}},
	}
	for _, c := range cases {
		p, err := db.Reviews(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(p); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// What the list shows of a review.
	p, err := db.Reviews(ctx, ReviewQuery{IntegrationID: "i1", AppID: "gp", Search: "crash"})
	if err != nil || len(p.Reviews) != 1 {
		t.Fatalf("%v %v", p, err)
	}
	r := p.Reviews[0]
	if r.Author != "author en1" || r.Country != "JP" || r.Language != "en-US" || r.AppVersion != "1.0" || r.URL != "https://store.example/en1" ||
		r.Store != "googleplay" || r.AppName != "App gp" || r.Reply.Status != ReplyPublished || r.AnswerText != "Sorry, fixed in 1.1" ||
		!r.PostedAt.Equal(day(1)) || r.Title != "Crashes" {
		t.Errorf("listed review: %+v", r)
	}
}

func TestReviewPagesStable(t *testing.T) { dialects(t, testReviewPagesStable) }

func testReviewPagesStable(t *testing.T, db *DB) {
	ctx := context.Background()
	var list []seedReview
	for i := range 25 {
		// Two reviews share each date: the order's tiebreak is tested too.
		list = append(list, seedReview{"i1", "gp", fmt.Sprintf("r%02d", i), 3, "", "中文评论 number", "zh", day(1).Add(time.Duration(i/2) * time.Hour)})
	}
	storeReviews(t, db, list)
	walk := func(q ReviewQuery) []string {
		var seen []string
		for range 10 {
			p, err := db.Reviews(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Reviews {
				seen = append(seen, r.ReviewID)
			}
			if p.Next == "" {
				return seen
			}
			q.After = p.Next
		}
		t.Fatal("no last page")
		return nil
	}
	defer func(was int) { sortMatchesUpTo = was }(sortMatchesUpTo)
	sortMatchesUpTo = 20 // 25 matches: the list's order is walked (SQLite)
	all := walk(ReviewQuery{Limit: 10, Search: "评论"})
	if len(all) != 25 {
		t.Fatalf("walked %d reviews: %v", len(all), all)
	}
	u := slices.Clone(all)
	slices.Sort(u)
	if len(slices.Compact(u)) != 25 {
		t.Fatalf("a review shown twice: %v", all)
	}
	// Page 1, then newer reviews arrive: page 2 goes on where page 1 ended.
	p1, err := db.Reviews(ctx, ReviewQuery{Limit: 10, Search: "评论"})
	if err != nil {
		t.Fatal(err)
	}
	storeReviews(t, db, []seedReview{{"i1", "gp", "new1", 3, "", "新的评论", "zh", day(20)}, {"i1", "gp", "new2", 3, "", "评论", "zh", day(21)}})
	p2, err := db.Reviews(ctx, ReviewQuery{Limit: 10, Search: "评论", After: p1.Next})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p2.Reviews {
		got = append(got, r.ReviewID)
	}
	if !reflect.DeepEqual(got, all[10:20]) {
		t.Errorf("page 2 after inserts = %v, want %v", got, all[10:20])
	}
	// Back from page 2: page 1 as it was, and now a page before it (the new reviews).
	back, err := db.Reviews(ctx, ReviewQuery{Limit: 10, Search: "评论", Before: p2.Prev})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range back.Reviews {
		got = append(got, r.ReviewID)
	}
	if !reflect.DeepEqual(got, all[:10]) || back.Prev == "" || back.Next != p1.Next {
		t.Errorf("back to page 1 = %v (prev %q next %q), want %v", got, back.Prev, back.Next, all[:10])
	}
	first, err := db.Reviews(ctx, ReviewQuery{Limit: 10, Search: "评论", Before: back.Prev})
	if err != nil {
		t.Fatal(err)
	}
	if ids(first)[0] != "new1" || len(first.Reviews) != 2 || first.Prev != "" {
		t.Errorf("page before = %v prev %q", ids(first), first.Prev)
	}
	for _, k := range []string{"nonsense!", pageKey(1, 2)[:3]} {
		if _, err := db.Reviews(ctx, ReviewQuery{After: k}); !errors.Is(err, ErrBadKey) {
			t.Errorf("key %q: %v, want ErrBadKey", k, err)
		}
	}
}

func TestReviewDetail(t *testing.T) { dialects(t, testReviewDetail) }

func testReviewDetail(t *testing.T, db *DB) {
	ctx := context.Background()
	seedApps(t, db)
	storeReviews(t, db, []seedReview{{"i1", "gp", "r1", 1, "Bad", "アプリが落ちる", "ja", day(1)}})
	// An edit: the old text is no longer found, the new one is.
	storeReviews(t, db, []seedReview{{"i1", "gp", "r1", 4, "Better", "直りました", "ja", day(2)}})
	for q, want := range map[string]int{"落ち": 0, "直": 1, "better": 1, "bad": 0} {
		p, err := db.Reviews(ctx, ReviewQuery{Search: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Reviews) != want {
			t.Errorf("after the edit, %q found %d", q, len(p.Reviews))
		}
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.AddReply(ctx, Reply{IntegrationID: "i1", MessageID: "d1", AppID: "gp", ReviewID: "r1", Text: "Thanks!",
			Rule: "thanks", Status: ReplyDraft}); err != nil {
			return err
		}
		if _, err := tx.AddReply(ctx, Reply{IntegrationID: "i1", MessageID: "s1", AppID: "gp", ReviewID: "r1", Text: "Thanks!",
			Staff: "Anna", Status: ReplyPending}); err != nil {
			return err
		}
		if err := tx.CloseDraftsBy(ctx, "i1", "gp", "r1", ReplyApproved, "", "Anna"); err != nil {
			return err
		}
		return tx.SetReplyStatus(ctx, "i1", "s1", ReplyPublished, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.ReviewDetail(ctx, "i1", "gp", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Versions) != 2 || d.Versions[0].Text != "アプリが落ちる" || d.Versions[1].Rating != 4 || !d.Versions[1].PostedAt.Equal(day(2)) ||
		d.Versions[0].AppVersion != "1.0" {
		t.Errorf("versions: %+v", d.Versions)
	}
	if len(d.Answers) != 2 {
		t.Fatalf("answers: %+v", d.Answers)
	}
	var draft, staff AnswerHistory
	for _, a := range d.Answers {
		if a.MessageID == "d1" {
			draft = a
		} else {
			staff = a
		}
	}
	statuses := func(ev []ReplyEvent) (out []string) {
		for _, e := range ev {
			out = append(out, e.Status+"/"+e.Actor)
		}
		return out
	}
	if got := statuses(draft.Events); !reflect.DeepEqual(got, []string{"draft/rule thanks", "approved/Anna"}) {
		t.Errorf("draft timeline %v", got)
	}
	if got := statuses(staff.Events); !reflect.DeepEqual(got, []string{"pending/Anna", "published/"}) {
		t.Errorf("answer timeline %v", got)
	}
	if d.Reply.Status != ReplyPublished || d.AnswerText != "Thanks!" {
		t.Errorf("reply %+v %q", d.Reply, d.AnswerText)
	}
	if _, err := db.ReviewDetail(ctx, "i1", "gp", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown review: %v", err)
	}
}

// Reviews stored before the search (or by an older hub) are indexed.
func TestReviewsIndexedLate(t *testing.T) { dialects(t, testReviewsIndexedLate) }

func testReviewsIndexedLate(t *testing.T, db *DB) {
	ctx := context.Background()
	q := `INSERT INTO reviews (integration_id, app_id, review_id, version, rating, title, body, seen_at) VALUES ('i1', 'gp', 'old', 1, 2, '', '旧版本的评论', ?)`
	if db.Dialect() == SQLite {
		// An older hub sets no seq; SQLite's migration numbered them by rowid.
		q = `INSERT INTO reviews (integration_id, app_id, review_id, version, rating, title, body, seen_at, seq) VALUES ('i1', 'gp', 'old', 1, 2, '', '旧版本的评论', ?, 999)`
	}
	if _, err := db.SQL().Exec(db.Rebind(q), ts(day(9))); err != nil {
		t.Fatal(err)
	}
	p, err := db.Reviews(ctx, ReviewQuery{Search: "版本"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p); !reflect.DeepEqual(got, []string{"old"}) || !p.Reviews[0].PostedAt.Equal(day(9)) {
		t.Errorf("an old review: %v %v", got, p.Reviews)
	}
}
