// Package filter decides which review changes an app's integration wants.
package filter

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/text/language"

	"github.com/reviewhub/reviewhub/sdk"
)

// Which reviews to deliver.
const (
	WhichAll     = "all"     // new and edited
	WhichBetter  = "better"  // rating raised on edit
	WhichWorse   = "worse"   // rating lowered on edit
	WhichUpdated = "updated" // any edit
)

// Length filters.
const (
	LengthAll   = "all"
	LengthShort = "short" // fewer than 3 words
	LengthLong  = "long"  // 3 words or more
)

// DefaultBackfill is how many unanswered past reviews are imported when an
// app is connected, unless its filters say otherwise.
const DefaultBackfill = 20

// MaxBackfill is the largest backfill allowed.
const MaxBackfill = 100

// Filters are one app's filters. The zero value (after Normalize) delivers
// everything.
type Filters struct {
	Which string `json:"which,omitempty" yaml:"which"`
	// Backfill: unanswered past reviews to import on connect (0..100); nil means DefaultBackfill.
	Backfill  *int     `json:"backfill,omitempty" yaml:"backfill"`
	Ratings   []int    `json:"ratings,omitempty" yaml:"ratings"`
	Countries []string `json:"countries,omitempty" yaml:"countries"`
	Languages []string `json:"languages,omitempty" yaml:"languages"`
	Length    string   `json:"length,omitempty" yaml:"length"`
}

// FieldError names the filter field that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Normalize fills defaults, canonicalises codes and validates. Errors name the field.
func (f *Filters) Normalize() error {
	if f.Which == "" {
		f.Which = WhichAll
	}
	switch f.Which {
	case WhichAll, WhichBetter, WhichWorse, WhichUpdated:
	default:
		return &FieldError{"which", fmt.Sprintf("%q is not one of all, better, worse, updated", f.Which)}
	}
	if f.Length == "" {
		f.Length = LengthAll
	}
	switch f.Length {
	case LengthAll, LengthShort, LengthLong:
	default:
		return &FieldError{"length", fmt.Sprintf("%q is not one of all, short, long", f.Length)}
	}
	if f.Backfill != nil && (*f.Backfill < 0 || *f.Backfill > MaxBackfill) {
		return &FieldError{"backfill", fmt.Sprintf("%d is outside 0..%d", *f.Backfill, MaxBackfill)}
	}
	for _, r := range f.Ratings {
		if r < 1 || r > 5 {
			return &FieldError{"ratings", fmt.Sprintf("%d is outside 1..5", r)}
		}
	}
	slices.Sort(f.Ratings)
	f.Ratings = slices.Compact(f.Ratings)
	for i, c := range f.Countries {
		n, err := NormalizeCountry(c)
		if err != nil {
			return &FieldError{fmt.Sprintf("countries[%d]", i), err.Error()}
		}
		f.Countries[i] = n
	}
	for i, l := range f.Languages {
		n, err := NormalizeLanguage(l)
		if err != nil {
			return &FieldError{fmt.Sprintf("languages[%d]", i), err.Error()}
		}
		f.Languages[i] = n
	}
	return nil
}

// BackfillLimit is the effective backfill.
func (f Filters) BackfillLimit() int {
	if f.Backfill == nil {
		return DefaultBackfill
	}
	return *f.Backfill
}

// NormalizeCountry turns an ISO 3166-1 alpha-2 or alpha-3 code into alpha-2, upper case.
func NormalizeCountry(c string) (string, error) {
	r, err := language.ParseRegion(strings.TrimSpace(c))
	if err != nil || !r.IsCountry() {
		return "", fmt.Errorf("%q is not an ISO 3166-1 country code", c)
	}
	return r.String(), nil
}

// NormalizeLanguage turns a BCP 47 tag into its base language ("pt-BR" → "pt").
func NormalizeLanguage(l string) (string, error) {
	t, err := language.Parse(strings.TrimSpace(l))
	if err != nil {
		return "", fmt.Errorf("%q is not a BCP 47 language tag", l)
	}
	b, _ := t.Base()
	return b.String(), nil
}

// Skip reasons, as counted in the status view.
const (
	SkipWhich    = "which"
	SkipRating   = "rating"
	SkipCountry  = "country"
	SkipLanguage = "language"
	SkipLength   = "length"
)

// Decide returns "" when the change passes, or the name of the first filter
// that rejects it. Source-side filters are still checked (cheap and safe).
func (f Filters) Decide(kind string, r sdk.Review) string {
	switch f.Which {
	case WhichBetter:
		if kind != sdk.ChangeKindBetter {
			return SkipWhich
		}
	case WhichWorse:
		if kind != sdk.ChangeKindWorse {
			return SkipWhich
		}
	case WhichUpdated:
		if kind == sdk.ChangeKindNew {
			return SkipWhich
		}
	}
	if len(f.Ratings) > 0 && !slices.Contains(f.Ratings, r.Rating) {
		return SkipRating
	}
	if len(f.Countries) > 0 {
		c, err := NormalizeCountry(r.Country)
		if err != nil || !slices.Contains(f.Countries, c) {
			return SkipCountry
		}
	}
	// A review whose store gives no language (RuStore's API has no such
	// field) cannot be judged by it and passes: dropping it would lose it.
	if len(f.Languages) > 0 && r.Language != "" {
		l, err := NormalizeLanguage(r.Language)
		if err != nil || !slices.Contains(f.Languages, l) {
			return SkipLanguage
		}
	}
	switch f.Length {
	case LengthShort:
		if CountWords(r.Title+" "+r.Text) >= 3 {
			return SkipLength
		}
	case LengthLong:
		if CountWords(r.Title+" "+r.Text) < 3 {
			return SkipLength
		}
	}
	return ""
}

// Average letters per word in scripts written without spaces. A run of such
// letters counts as the sum of 1/average over its letters, rounded up:
// Chinese words average about 2 characters, Japanese kana words about 3
// (a run mixing kanji and kana is read as Japanese), Thai and its neighbours
// about 4 letters (not counting vowel and tone marks).
var denseScripts = []struct {
	table *unicode.RangeTable
	avg   float64
}{
	{unicode.Han, 2},
	{unicode.Hiragana, 3},
	{unicode.Katakana, 3},
	{unicode.Thai, 4},
	{unicode.Lao, 4},
	{unicode.Khmer, 4},
	{unicode.Myanmar, 4},
}

func denseWeight(r rune) (float64, bool) {
	for _, s := range denseScripts {
		if unicode.Is(s.table, r) {
			if !unicode.IsLetter(r) {
				return 0, true
			}
			return 1 / s.avg, true
		}
	}
	return 0, false
}

// CountWords counts words in text in any script. Space-delimited scripts
// (Latin, Cyrillic, Korean Hangul …) are segmented by Unicode word boundaries
// (UAX #29, rivo/uniseg); runs of letters in scripts written without spaces
// (Chinese, Japanese, Thai, Lao, Khmer, Burmese), which UAX #29 splits into
// single characters, are counted by their scripts' average word length.
func CountWords(text string) int {
	words := 0
	run := 0.0
	flush := func() {
		if run > 0 {
			words += int(math.Ceil(run - 1e-9))
		}
		run = 0
	}
	state := -1
	rest := text
	for len(rest) > 0 {
		var seg string
		seg, rest, state = uniseg.FirstWordInString(rest, state)
		dense, weight, wordy := false, 0.0, false
		for _, r := range seg {
			if w, ok := denseWeight(r); ok {
				dense = true
				weight += w
			} else if unicode.IsLetter(r) || unicode.IsNumber(r) {
				wordy = true
			}
		}
		switch {
		case dense && !wordy:
			run += weight
		case wordy:
			flush()
			words++
		default:
			// Spaces and punctuation end a dense run; lone combining marks do not.
			if !isMark(seg) {
				flush()
			}
		}
	}
	flush()
	return words
}

// isMark reports whether seg is only combining marks (Thai vowels and tone
// marks segment apart from their consonant in some cases).
func isMark(seg string) bool {
	for _, r := range seg {
		if !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
			return false
		}
	}
	return seg != ""
}
