package state

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The reviews' search (issue 25) works on the hub's own tokens, the same
// on SQLite (an FTS4 table) and PostgreSQL (a tsvector built from a
// literal), so both dialects find the same reviews:
//
//   - text is folded (NFKC, so full-width Latin and half-width katakana
//     match their usual forms; lower case);
//   - in scripts written with spaces between words (Latin, Cyrillic,
//     Greek, Arabic …) a token is a word, and a search term matches the
//     words it begins ("crash" finds "crashes");
//   - in scripts written without them (Han, Hiragana, Katakana, Hangul,
//     Thai, Lao, Khmer, Myanmar …) a run of characters gives every pair of
//     neighbouring characters and its last character alone ("日本語" gives
//     "日本", "本語", "語"), and a search term matches anywhere inside:
//     one character as the prefix of a token, two as a token, three or
//     more as the phrase of their pairs. Terms of one or two characters
//     are as exact and as fast as longer ones (a trigram index cannot
//     look up fewer than three).

// maxTokenRunes bounds a word token (a longer word is cut; a search term
// is cut the same way, and matches it as a prefix).
const maxTokenRunes = 40

// maxTokens bounds the tokens indexed per review (PostgreSQL keeps
// positions up to 16383).
const maxTokens = 16000

// noSpaceScripts are written without spaces between words.
var noSpaceScripts = []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
	unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan, unicode.Bopomofo, unicode.Yi}

const (
	sepClass = iota
	wordClass
	gramClass
)

func runeClass(r rune) int {
	switch {
	case r == 'ー' || r == '々' || r == '〆' || r == 'ゝ' || r == 'ゞ' || r == 'ヽ' || r == 'ヾ':
		return gramClass // Japanese marks of the Common script, inside words
	case unicode.IsOneOf(noSpaceScripts, r):
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) {
			return gramClass
		}
		return sepClass
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		return wordClass
	}
	return sepClass
}

// searchRun is a run of characters of one class.
type searchRun struct {
	gram  bool
	runes []rune
}

func searchRuns(s string) []searchRun {
	s = strings.ToLower(norm.NFKC.String(s))
	var out []searchRun
	cur := searchRun{}
	class := sepClass
	flush := func() {
		if len(cur.runes) > 0 {
			out = append(out, cur)
		}
		cur = searchRun{}
	}
	for _, r := range s {
		c := runeClass(r)
		if c != class {
			flush()
			class = c
		}
		if c == sepClass {
			continue
		}
		cur.gram = c == gramClass
		cur.runes = append(cur.runes, r)
	}
	flush()
	return out
}

// searchTokens are the tokens of a review's text, in order.
func searchTokens(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, run := range searchRuns(t) {
			if !run.gram {
				out = append(out, string(clipRunes(run.runes)))
				continue
			}
			for i := 0; i+1 < len(run.runes); i++ {
				out = append(out, string(run.runes[i:i+2]))
			}
			out = append(out, string(run.runes[len(run.runes)-1:]))
		}
		if len(out) >= maxTokens {
			return out[:maxTokens]
		}
	}
	return out
}

func clipRunes(r []rune) []rune {
	if len(r) > maxTokenRunes {
		return r[:maxTokenRunes]
	}
	return r
}

// searchTerm is one term of a search: a prefix, one token, or a phrase of
// tokens.
type searchTerm struct {
	tokens []string
	prefix bool
}

// maxSearchTerms bounds the terms of one search (all must match).
const maxSearchTerms = 16

// searchTerms reads a search box's text: every term must match.
func searchTerms(q string) []searchTerm {
	var out []searchTerm
	for _, run := range searchRuns(q) {
		switch {
		case !run.gram:
			out = append(out, searchTerm{tokens: []string{string(clipRunes(run.runes))}, prefix: true})
		case len(run.runes) == 1:
			out = append(out, searchTerm{tokens: []string{string(run.runes)}, prefix: true})
		default:
			t := searchTerm{}
			for i := 0; i+1 < len(run.runes); i++ {
				t.tokens = append(t.tokens, string(run.runes[i:i+2]))
			}
			out = append(out, t)
		}
		if len(out) == maxSearchTerms {
			break
		}
	}
	return out
}

// ftsMatch is terms as an FTS4 MATCH expression: every term quoted (the
// tokens hold no quote: they are letters, digits and marks), a prefix
// ending in *, terms ANDed by juxtaposition.
func ftsMatch(terms []searchTerm) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.Join(t.tokens, " "))
		if t.prefix {
			b.WriteByte('*')
		}
		b.WriteByte('"')
	}
	return b.String()
}

// tsQuery is terms as a PostgreSQL tsquery literal ('tok':* for a prefix,
// 'a' <-> 'b' for a phrase, terms joined by &).
func tsQuery(terms []searchTerm) string {
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		lex := make([]string, len(t.tokens))
		for i, tok := range t.tokens {
			lex[i] = tsLexeme(tok)
		}
		p := strings.Join(lex, " <-> ")
		if t.prefix {
			p += ":*"
		}
		if len(lex) > 1 {
			p = "(" + p + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " & ")
}

// tsVector is tokens as a PostgreSQL tsvector literal with positions.
func tsVector(tokens []string) string {
	var b strings.Builder
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tsLexeme(t))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(min(i+1, 16383)))
	}
	return b.String()
}

// tsLexeme quotes a token for a tsvector or tsquery literal.
func tsLexeme(t string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t) + "'"
}
