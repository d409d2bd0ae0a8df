package sdk_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestNotifierStars(t *testing.T) {
	for r, want := range map[int]string{-1: "☆☆☆☆☆", 0: "☆☆☆☆☆", 2: "★★☆☆☆", 5: "★★★★★", 9: "★★★★★"} {
		if got := sdk.Stars(r); got != want {
			t.Errorf("Stars(%d) = %q, want %q", r, got, want)
		}
	}
}

func TestNotifierTruncateCutsBetweenGraphemeClusters(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"hello world", 8, "hello w…"},
		{"hello world", 7, "hello…"},   // the space before the cut is dropped
		{"ае\u0308б", 3, "а…"},         // е + combining diaeresis is one character: not split
		{"ab🇺🇦c", 4, "ab…"},            // a flag is two code points
		{"x👩\u200d👩\u200d👧y", 6, "x…"}, // a family is five
		{"abc", 0, ""},
		{"abc", 1, "…"},
	} {
		got := sdk.Truncate(c.in, c.max)
		if got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if utf8.RuneCountInString(got) > c.max {
			t.Errorf("Truncate(%q, %d) = %q: longer than %d", c.in, c.max, got, c.max)
		}
	}
	if got := sdk.TruncateBy("😀😀😀", 4, sdk.UTF16Length); got != "😀…" {
		t.Errorf("TruncateBy UTF-16 = %q, want one emoji (two units) and the ellipsis", got)
	}
	if sdk.UTF16Length("a😀") != 3 || sdk.RuneLength("a😀") != 2 {
		t.Error("lengths")
	}
}

func TestNotifierFitTextCountsTheRendering(t *testing.T) {
	esc := func(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }
	render := func(s string) string { return "Title\n" + esc(s) }
	got, err := sdk.FitText(strings.Repeat("&", 100), 30, sdk.RuneLength, render)
	if err != nil || sdk.RuneLength(render(got)) > 30 || !strings.HasSuffix(got, "…") || len(got) < 4 {
		t.Fatalf("FitText = %q (%d rendered), %v", got, sdk.RuneLength(render(got)), err)
	}
	if got, _ := sdk.FitText("fits", 30, sdk.RuneLength, render); got != "fits" {
		t.Errorf("a text that fits changed: %q", got)
	}
	if _, err := sdk.FitText("x", 3, sdk.RuneLength, render); err == nil {
		t.Error("a frame longer than the limit fits")
	}
}

func TestNotifierEventWords(t *testing.T) {
	e := sdk.Event{Type: sdk.EventReviewUpdated, Store: "googleplay", StoreName: "Google Play", AppName: "Acme",
		Review: &sdk.Review{Rating: 4, Author: "Kenji", Title: "Fixed", Text: "Works now", Language: "ja", AppVersion: "2.1",
			URL: "https://x.example/r/1"}, History: []sdk.ReviewVersion{{Rating: 1}}}
	if got := sdk.EventTitle(e); got != "★★★★☆ Review of Acme on Google Play edited (rating 1 → 4)" {
		t.Errorf("title %q", got)
	}
	if got := strings.Join(sdk.EventLines(e), "|"); got != "Kenji: Fixed|Works now" {
		t.Errorf("lines %q", got)
	}
	if got := strings.Join(sdk.EventFacts(e), "|"); got != "language: ja|version: 2.1" {
		t.Errorf("facts %q", got)
	}
	if sdk.EventLink(e) != "https://x.example/r/1" || sdk.PlainLink("https://a", "A") != "A (https://a)" {
		t.Error("links")
	}
	for _, typ := range sdk.EventTypes {
		if sdk.EventTitle(sdk.Event{Type: typ, AppName: "Acme"}) == "" {
			t.Errorf("no title for %s", typ)
		}
	}
}
