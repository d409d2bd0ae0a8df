package filter

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/text/cases"
)

// Keyword is a word or phrase looked for in a review's text, in any
// script. Space-delimited scripts (Latin, Cyrillic, Hangul …) match whole
// words, case-folded, split by Unicode word boundaries like CountWords: "app"
// does not match "happy", "crash app" matches "Crash, app!". A trailing '*'
// matches any ending of the last word ("crash*" matches "crashes"; Russian
// "возврат*" matches "возврата"). A keyword with letters of a script written
// without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese) matches as a
// case-folded substring: such text has no word boundaries to match on.
type Keyword struct {
	raw    string
	words  []string // folded words (space-delimited scripts)
	prefix bool     // the last word may continue
	dense  string   // folded substring (dense scripts)
}

var folder = cases.Fold()

// ParseKeyword checks and prepares a keyword.
func ParseKeyword(s string) (Keyword, error) {
	k := Keyword{raw: s}
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutSuffix(t, "*"); ok {
		k.prefix = true
		t = strings.TrimSpace(rest)
	}
	if t == "" {
		return k, fmt.Errorf("%q has no letters or digits to look for", s)
	}
	for _, r := range t {
		if _, ok := denseWeight(r); ok {
			if k.prefix {
				return k, fmt.Errorf("%q: a trailing * is for space-delimited words; text in %s has no word ends to match", s, "scripts written without spaces")
			}
			k.dense = folder.String(t)
			return k, nil
		}
	}
	k.words = words(t)
	if len(k.words) == 0 {
		return k, fmt.Errorf("%q has no letters or digits to look for", s)
	}
	return k, nil
}

// String is the keyword as it was given.
func (k Keyword) String() string { return k.raw }

// Text is a review text prepared for keyword matching (fold and split once,
// match many keywords).
type Text struct {
	folded string
	words  []string
}

// PrepareText folds and splits text for Keyword.In.
func PrepareText(text string) Text {
	return Text{folded: folder.String(text), words: words(text)}
}

// In reports whether the keyword occurs in t.
func (k Keyword) In(t Text) bool {
	if k.dense != "" {
		return strings.Contains(t.folded, k.dense)
	}
	n := len(k.words)
	if n == 0 {
		return false
	}
	for i := 0; i+n <= len(t.words); i++ {
		ok := true
		for j, w := range k.words {
			got := t.words[i+j]
			if j == n-1 && k.prefix {
				ok = strings.HasPrefix(got, w)
			} else {
				ok = got == w
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// words splits text at Unicode word boundaries (UAX #29) and keeps the
// case-folded segments that hold a letter or digit.
func words(text string) []string {
	var out []string
	state := -1
	rest := text
	for len(rest) > 0 {
		var seg string
		seg, rest, state = uniseg.FirstWordInString(rest, state)
		for _, r := range seg {
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				out = append(out, folder.String(seg))
				break
			}
		}
	}
	return out
}
