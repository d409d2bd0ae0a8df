package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Every filter, the backfill limit and tags off, end to end through real
// plugin processes: one app per filter, each review either becomes a ticket
// or is counted as skipped by the filter that rejected it.
func TestFiltersAndBackfillEndToEnd(t *testing.T) {
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	two := 2
	settings := map[string]string{"url": e.srv.URL}
	app := func(id string, f filter.Filters) config.App {
		return config.App{ID: id, Name: id, Store: "teststore", StoreAppID: "s-" + id, Settings: settings, PollInterval: time.Second, Filters: f}
	}
	acme := &e.cfg.Integrations[0]
	acme.Apps = []config.App{
		app("better", filter.Filters{Which: filter.WhichBetter}),
		app("worse", filter.Filters{Which: filter.WhichWorse}),
		app("updated", filter.Filters{Which: filter.WhichUpdated}),
		app("ratings", filter.Filters{Ratings: []int{1, 2}}),
		app("countries", filter.Filters{Countries: []string{"jp", "TH"}}),
		app("languages", filter.Filters{Languages: []string{"ja", "th"}}),
		app("short", filter.Filters{Length: filter.LengthShort}),
		app("long", filter.Filters{Length: filter.LengthLong}),
		app("combined", filter.Filters{Which: filter.WhichWorse, Ratings: []int{1}, Languages: []string{"ja"}, Length: filter.LengthLong}),
		app("backfill", filter.Filters{Backfill: &two}),
	}
	no := false
	e.cfg.Integrations = append(e.cfg.Integrations, config.Integration{ID: "plain", Name: "No tags", Tags: &no,
		Helpdesk: acme.Helpdesk, Apps: []config.App{app("plain", filter.Filters{})}})
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	put := func(app, id string, rating int, text, country, lang string) {
		e.backend.PutReview(testbackend.Review{ID: id, App: "s-" + app, Author: "A", Rating: rating, Text: text, Country: country, Language: lang})
	}

	// Past reviews of the backfill app: five, the newest already answered.
	for i := 1; i <= 5; i++ {
		put("backfill", fmt.Sprintf("b%d", i), 3, fmt.Sprintf("past review %d", i), "", "en")
		time.Sleep(2 * time.Millisecond) // distinct update times: "most recent" is well defined
	}
	e.backend.PutReview(testbackend.Review{ID: "b5", App: "s-backfill", Rating: 3, Text: "past review 5", Reply: "answered"})
	e.startHub(t)

	counter := func(in, app, name string) int {
		c, err := e.hub.DB.Counters(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return c[app][name]
	}
	skipped := func(app, why string, want int) {
		t.Helper()
		eventually(t, fmt.Sprintf("%s: %d skipped by %s", app, want, why), func() bool {
			return counter("acme", app, state.CountSkipped+why) == want
		})
	}
	ticketed := func(id string, messages int) {
		t.Helper()
		eventually(t, fmt.Sprintf("review %s in a ticket with %d message(s)", id, messages), func() bool {
			tk, ok := ticketFor(e.backend, id)
			return ok && len(tk.Messages) == messages
		})
	}

	// Backfill: the two most recent unanswered past reviews, nothing else.
	ticketed("b4", 1)
	ticketed("b3", 1)
	skipped("backfill", "backfill", 3)

	// First versions.
	put("better", "w1", 3, "average", "", "en")
	put("worse", "x1", 3, "average", "", "en")
	put("updated", "y1", 3, "average", "", "en")
	put("ratings", "z1", 1, "bad", "", "en")
	put("ratings", "z2", 4, "good", "", "en")
	put("countries", "c1", 3, "ok", "JP", "")
	put("countries", "c2", 3, "ok", "US", "")
	put("countries", "c3", 3, "ok", "th", "")
	put("languages", "l1", 3, "普通です", "", "ja-JP")
	put("languages", "l2", 3, "ok", "", "en")
	put("languages", "l3", 3, "ดีมาก", "", "th")
	put("short", "s1", 5, "良い", "", "ja")                              // one Japanese word
	put("short", "s2", 5, "Great app, really good", "", "en")          // four words
	put("short", "s3", 5, "このアプリはとても使いやすくて毎日使っています", "", "ja")         // a Japanese sentence
	put("long", "t1", 5, "ชอบมากค่ะ ใช้งานง่ายมาก แนะนำเลย", "", "th") // a Thai sentence
	put("long", "t2", 5, "Nice", "", "en")
	put("long", "t3", 5, "界面很好看，但是经常闪退。", "", "zh")
	put("combined", "k1", 3, "アプリがよく落ちます。困っています。", "", "ja")
	put("plain", "p1", 2, "no tags here", "", "en")

	skipped("better", filter.SkipWhich, 1)
	skipped("worse", filter.SkipWhich, 1)
	skipped("updated", filter.SkipWhich, 1)
	ticketed("z1", 1)
	skipped("ratings", filter.SkipRating, 1)
	ticketed("c1", 1)
	ticketed("c3", 1)
	skipped("countries", filter.SkipCountry, 1)
	ticketed("l1", 1)
	ticketed("l3", 1)
	skipped("languages", filter.SkipLanguage, 1)
	ticketed("s1", 1)
	skipped("short", filter.SkipLength, 2)
	ticketed("t1", 1)
	ticketed("t3", 1)
	skipped("long", filter.SkipLength, 1)
	skipped("combined", filter.SkipWhich, 1)
	ticketed("p1", 1)

	// Edits.
	put("better", "w1", 5, "much better now", "", "en")              // better: passes
	put("worse", "x1", 4, "a bit better", "", "en")                  // better: skipped
	put("updated", "y1", 3, "same stars, new words", "", "en")       // updated: passes
	put("combined", "k1", 1, "アプリがよく落ちます。最悪です。本当に困っています。", "", "ja") // worse, 1★, ja, long: passes
	ticketed("w1", 1)
	skipped("worse", filter.SkipWhich, 2)
	ticketed("y1", 1)
	ticketed("k1", 1)

	put("better", "w1", 2, "worse again", "", "en")     // worse: skipped
	put("worse", "x1", 1, "now it is broken", "", "en") // worse: passes
	put("updated", "y1", 5, "five stars", "", "en")     // any edit: passes
	skipped("better", filter.SkipWhich, 2)
	ticketed("x1", 1)
	ticketed("y1", 2)

	for _, id := range []string{"b1", "b2", "b5", "z2", "c2", "l2", "s2", "s3", "t2"} {
		if _, ok := ticketFor(e.backend, id); ok {
			t.Errorf("review %s was filtered out but has a ticket", id)
		}
	}
	if tk, _ := ticketFor(e.backend, "w1"); !strings.Contains(tk.Messages[0], "[better]") {
		t.Errorf("w1 ticket: %q, want the better change", tk.Messages[0])
	}
	if tk, _ := ticketFor(e.backend, "p1"); len(tk.Tags) != 0 {
		t.Errorf("tags off, but the ticket has tags %v", tk.Tags)
	}
	if tk, _ := ticketFor(e.backend, "z1"); len(tk.Tags) == 0 {
		t.Error("tags on, but the ticket has none")
	}
}
