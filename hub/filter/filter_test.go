package filter

import (
	"testing"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{"   ", 0},
		{"Great", 1},
		{"Great app!", 2},
		{"Great app, thanks", 3},
		{"Отличное приложение, спасибо", 3},
		{"it's fine", 2},
		{"5 stars", 2},
		{"👍👍👍", 0},
		{"好", 1},
		{"很好", 1},
		{"不好用", 2},
		{"这个应用很好用，推荐大家下载", 7},
		{"最高", 1},
		{"とても使いやすいアプリです", 5},
		{"좋아요", 1},
		{"정말 좋은 앱입니다", 3},
		{"ดีมาก", 1},
		{"แอปนี้ใช้งานง่ายมากครับ", 5},
		{"Good 很好", 2},
		{"iPhone 15で使っています", 5},
	} {
		if got := CountWords(tc.text); got != tc.want {
			t.Errorf("CountWords(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func ip(n int) *int { return &n }

func TestNormalize(t *testing.T) {
	f := Filters{Countries: []string{"rus", "us"}, Languages: []string{"pt-BR", "JA"}, Ratings: []int{5, 1, 5}}
	if err := f.Normalize(); err != nil {
		t.Fatal(err)
	}
	if f.Which != WhichAll || f.Length != LengthAll || f.BackfillLimit() != DefaultBackfill {
		t.Errorf("defaults: %+v", f)
	}
	if f.Countries[0] != "RU" || f.Countries[1] != "US" || f.Languages[0] != "pt" || f.Languages[1] != "ja" {
		t.Errorf("codes: %v %v", f.Countries, f.Languages)
	}
	if len(f.Ratings) != 2 {
		t.Errorf("ratings: %v", f.Ratings)
	}
	for _, tc := range []struct {
		f     Filters
		field string
	}{
		{Filters{Which: "sometimes"}, "which"},
		{Filters{Length: "medium"}, "length"},
		{Filters{Backfill: ip(101)}, "backfill"},
		{Filters{Backfill: ip(-1)}, "backfill"},
		{Filters{Ratings: []int{0}}, "ratings"},
		{Filters{Countries: []string{"Narnia"}}, "countries[0]"},
		{Filters{Languages: []string{"not a tag!"}}, "languages[0]"},
	} {
		err := tc.f.Normalize()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("%+v: got %v, want an error naming %s", tc.f, err, tc.field)
		}
	}
}

func TestDecide(t *testing.T) {
	long := sdk.Review{Rating: 2, Country: "RUS", Language: "ru-RU", Text: "Приложение постоянно падает"}
	short := sdk.Review{Rating: 5, Country: "JP", Language: "ja", Text: "最高"}
	thaiLong := sdk.Review{Rating: 4, Country: "TH", Language: "th", Text: "แอปนี้ใช้งานง่ายมากครับ"}
	for _, tc := range []struct {
		name string
		f    Filters
		kind string
		r    sdk.Review
		want string
	}{
		{"all passes new", Filters{}, sdk.ChangeKindNew, long, ""},
		{"better skips new", Filters{Which: WhichBetter}, sdk.ChangeKindNew, long, SkipWhich},
		{"better passes better", Filters{Which: WhichBetter}, sdk.ChangeKindBetter, long, ""},
		{"better skips worse", Filters{Which: WhichBetter}, sdk.ChangeKindWorse, long, SkipWhich},
		{"worse passes worse", Filters{Which: WhichWorse}, sdk.ChangeKindWorse, long, ""},
		{"worse skips updated", Filters{Which: WhichWorse}, sdk.ChangeKindUpdated, long, SkipWhich},
		{"updated passes any edit", Filters{Which: WhichUpdated}, sdk.ChangeKindBetter, long, ""},
		{"updated skips new", Filters{Which: WhichUpdated}, sdk.ChangeKindNew, long, SkipWhich},
		{"rating in set", Filters{Ratings: []int{1, 2}}, sdk.ChangeKindNew, long, ""},
		{"rating not in set", Filters{Ratings: []int{1, 2}}, sdk.ChangeKindNew, short, SkipRating},
		{"alpha-3 country matches alpha-2 filter", Filters{Countries: []string{"RU"}}, sdk.ChangeKindNew, long, ""},
		{"country not in set", Filters{Countries: []string{"RU"}}, sdk.ChangeKindNew, short, SkipCountry},
		{"language base matches", Filters{Languages: []string{"ru"}}, sdk.ChangeKindNew, long, ""},
		{"language not in set", Filters{Languages: []string{"ru"}}, sdk.ChangeKindNew, short, SkipLanguage},
		{"no language given passes", Filters{Languages: []string{"en"}}, sdk.ChangeKindNew, sdk.Review{Rating: 3, Text: "Без языка"}, ""},
		{"short keeps CJK short", Filters{Length: LengthShort}, sdk.ChangeKindNew, short, ""},
		{"long skips CJK short", Filters{Length: LengthLong}, sdk.ChangeKindNew, short, SkipLength},
		{"long keeps Thai sentence", Filters{Length: LengthLong}, sdk.ChangeKindNew, thaiLong, ""},
		{"short skips Thai sentence", Filters{Length: LengthShort}, sdk.ChangeKindNew, thaiLong, SkipLength},
		{"combined: worse+ratings+country+long", Filters{Which: WhichWorse, Ratings: []int{1, 2}, Countries: []string{"RU"}, Length: LengthLong}, sdk.ChangeKindWorse, long, ""},
		{"combined: first failing filter named", Filters{Which: WhichWorse, Ratings: []int{5}, Countries: []string{"US"}}, sdk.ChangeKindWorse, long, SkipRating},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if err := f.Normalize(); err != nil {
				t.Fatal(err)
			}
			if got := f.Decide(tc.kind, tc.r); got != tc.want {
				t.Errorf("Decide = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzCountWords(f *testing.F) {
	for _, s := range []string{"", "Great app", "这个应用很好用", "แอปนี้ใช้งานง่าย", "とても使いやすい", "정말 좋은 앱", "a\u0301b", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := CountWords(s)
		if n < 0 || n > utf8.RuneCountInString(s) {
			t.Fatalf("CountWords(%q) = %d outside 0..%d", s, n, utf8.RuneCountInString(s))
		}
	})
}
