package sdk

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Ellipsis ends a text that Truncate or FitText shortened.
const Ellipsis = "…"

// Stars shows a rating as five stars, "★★☆☆☆" for 2; a rating outside
// 1..5 is clamped (0 and below: five empty stars).
func Stars(rating int) string {
	rating = min(max(rating, 0), 5)
	return strings.Repeat("★", rating) + strings.Repeat("☆", 5-rating)
}

// RuneLength is the length of s in Unicode code points (what
// NotifierCapabilities.MaxTextLength counts).
func RuneLength(s string) int { return utf8.RuneCountInString(s) }

// UTF16Length is the length of s in UTF-16 code units (an emoji outside
// the Basic Multilingual Plane counts two), for destinations that count so.
func UTF16Length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Truncate shortens s to at most max code points, Ellipsis included, cut
// between two grapheme clusters (never inside a character, nor between a
// letter and its accent, nor inside an emoji sequence or a flag), with
// trailing spaces dropped before the Ellipsis. s itself is returned when
// it fits; "" when max is below 1.
func Truncate(s string, max int) string { return TruncateBy(s, max, RuneLength) }

// TruncateBy is Truncate with the length as the destination counts it
// (RuneLength, UTF16Length, or a function of your own).
func TruncateBy(s string, max int, length func(string) int) string {
	if length(s) <= max {
		return s
	}
	if max < length(Ellipsis) {
		return ""
	}
	budget := max - length(Ellipsis)
	var b strings.Builder
	n := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		c := g.Str()
		l := length(c)
		if n+l > budget {
			break
		}
		b.WriteString(c)
		n += l
	}
	return strings.TrimRight(b.String(), " \t\n") + Ellipsis
}

// FitText returns the longest t, text itself or text shortened by
// TruncateBy, whose rendering is at most max long: length(render(t)) <=
// max. Use it where the text is escaped or framed after it is cut
// (Slack's &amp;, a title line around it, the parts of a Telegram message
// that count once its markup is parsed), so neither the cut nor the
// escaping breaks the limit; then render t yourself. It fails when even an
// empty text does not fit.
func FitText(text string, max int, length func(string) int, render func(string) string) (string, error) {
	if length(render(text)) <= max {
		return text, nil
	}
	// Binary search over the number of grapheme clusters kept.
	clusters := graphemes(text)
	cut := func(n int) string {
		if n == 0 {
			return Ellipsis
		}
		return strings.TrimRight(strings.Join(clusters[:n], ""), " \t\n") + Ellipsis
	}
	if length(render(cut(0))) > max {
		return "", fmt.Errorf("the message does not fit into %d characters even without its text", max)
	}
	lo, hi := 0, len(clusters)-1 // cut(lo) fits; cut(hi+1) is the whole text, which does not
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if length(render(cut(mid))) <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return cut(lo), nil
}

func graphemes(s string) []string {
	var out []string
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		out = append(out, g.Str())
	}
	return out
}

// EventTitle is a one-line plain-text title of an event, the same words
// the first-party notifiers use: "★★☆☆☆ New review of Acme on Google Play".
func EventTitle(e Event) string {
	app := firstNonEmpty(e.AppName, e.AppID)
	where := app
	if s := e.DisplayStore(); s != "" {
		where += " on " + s
	}
	stars := ""
	if e.Review != nil {
		stars = Stars(e.Review.Rating) + " "
	}
	switch e.Type {
	case EventReviewCreated:
		return stars + "New review of " + where
	case EventReviewUpdated:
		if e.Review != nil && len(e.History) > 0 {
			if old := e.History[len(e.History)-1].Rating; old != e.Review.Rating && old > 0 {
				return fmt.Sprintf("%sReview of %s edited (rating %d → %d)", stars, where, old, e.Review.Rating)
			}
		}
		return stars + "Review of " + where + " edited"
	case EventReplyPublished:
		return "Reply published on " + where
	case EventReplyRefused:
		return "Reply refused by " + firstNonEmpty(e.DisplayStore(), "the store") + " for " + app
	case EventReplyFailed:
		return "Reply failed for " + where
	case EventAppHealthChanged:
		if h := e.Health; h != nil {
			if h.Recovered {
				return "Reviews of " + where + " flow again"
			}
			return "Reviews of " + where + ": " + h.Health
		}
		return "Health of " + where + " changed"
	case EventDigest:
		return fmt.Sprintf("%d events held back", len(e.Events))
	case EventSpike:
		if s := e.Spike; s != nil {
			return fmt.Sprintf("Spike of bad reviews of %s: %d in %s (usually %.1f)", where, s.Count, s.Window, s.Usual)
		}
		return "Spike of bad reviews of " + where
	}
	return e.Type + " at " + where
}

// EventLines are an event's plain-text details below its title, one
// string each (the review's text, the reply, the reason; a digest's or
// spike's events one line each): a plugin escapes each for its markup
// and fits the whole into its limit (FitText).
func EventLines(e Event) []string {
	var out []string
	if r := e.Review; r != nil && e.Type != EventDigest && e.Type != EventSpike {
		head := r.Author
		if r.Title != "" {
			head = strings.TrimSpace(head + ": " + r.Title)
		}
		if head != "" {
			out = append(out, head)
		}
		if r.Text != "" {
			out = append(out, r.Text)
		}
	}
	if rp := e.Reply; rp != nil {
		line := "Reply"
		if rp.Staff != "" {
			line += " by " + rp.Staff
		}
		out = append(out, line+": "+rp.Text)
		if rp.Detail != "" {
			out = append(out, "Why: "+rp.Detail)
		}
	}
	if h := e.Health; h != nil && h.Reason != "" {
		out = append(out, h.Reason)
	}
	for _, sub := range e.Events {
		line := EventTitle(sub)
		if sub.Review != nil && sub.Review.Text != "" {
			line += ": " + sub.Review.Text
		}
		out = append(out, line)
	}
	return out
}

// EventFacts are short "key: value" facts of an event for a footer
// (language, app version, the review's link), empty ones left out.
func EventFacts(e Event) []string {
	var out []string
	if r := e.Review; r != nil {
		if r.Language != "" {
			out = append(out, "language: "+r.Language)
		}
		if r.AppVersion != "" {
			out = append(out, "version: "+r.AppVersion)
		}
	}
	if s := e.Spike; s != nil && s.AfterVersion != "" {
		out = append(out, "after version: "+s.AfterVersion)
	}
	return out
}

// EventLink is the link to show with an event (the review's URL), or "".
func EventLink(e Event) string {
	if e.Review != nil {
		return e.Review.URL
	}
	return ""
}

// PlainLink writes a link for a destination without markup: "label (url)",
// or the url alone when the label is empty or the url itself.
func PlainLink(url, label string) string {
	if label == "" || label == url {
		return url
	}
	return label + " (" + url + ")"
}
