// Package redact turns what a vendor sent into something safe to keep and
// show an operator: the structure stays (JSON keys, form keys, URL paths),
// secrets and personal text do not. It is used for webhook calls the hub
// keeps because their plugin could not read them, and for URLs shown by
// `hub check`.
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Secret replaces the value of a secret-looking key.
const Secret = "REDACTED"

// MaxBody bounds the redacted text of a body; a longer one is cut and ends
// in "…".
const MaxBody = 8 << 10

// Bounds of the walk: nesting depth and array elements kept.
const (
	maxDepth = 16
	maxItems = 5
)

// secretWords mark keys whose values are never kept, whatever they look like.
var secretWords = []string{"secret", "token", "key", "password", "passwd", "pwd", "signature", "sign", "auth",
	"credential", "cookie", "session", "bearer", "private", "hmac", "salt"}

// SecretKey reports whether a key name looks like it holds a secret.
func SecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// enumLike matches short identifiers worth keeping: event names, statuses,
// types ("new_staff_message", "case.closed", "v2").
var enumLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,31}$`)

// shortNumber matches small counts and flags ("1", "20").
var shortNumber = regexp.MustCompile(`^[0-9]{1,4}$`)

// keepString reports whether a string value may be kept as it is: an
// identifier-like word with few digits (not an id, token or key), a
// number of at most 4 digits, or a timestamp. Everything else (texts, names, e-mails, phone numbers, ids,
// tokens) is replaced by its length.
func keepString(s string) bool {
	if shortNumber.MatchString(s) {
		return true
	}
	if enumLike.MatchString(s) {
		digits := 0
		for _, r := range s {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		return digits <= 3
	}
	if len(s) <= 40 {
		for _, layout := range []string{time.RFC3339Nano, time.DateTime, time.DateOnly} {
			if _, err := time.Parse(layout, s); err == nil {
				return true
			}
		}
	}
	return false
}

// Placeholder is what replaces a string value: only its length survives.
func Placeholder(s string) string {
	return fmt.Sprintf("<%d chars>", utf8.RuneCountInString(s))
}

func redactString(s string) string {
	if keepString(s) {
		return s
	}
	return Placeholder(s)
}

// Body redacts a webhook body for keeping. JSON keeps its keys and
// structure: values of secret-looking keys become "REDACTED", strings
// become "<N chars>" unless they are short identifiers or timestamps,
// numbers of more than 12 digits become "<N digits>", arrays keep their
// first elements and say how many more there were. A form-encoded body
// keeps its keys the same way. Anything else is described by its length.
// The result is at most MaxBody bytes (plus "…").
func Body(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		if _, err := dec.Token(); err != nil { // exactly one JSON value
			out, err := json.Marshal(redactJSON(v, 0))
			if err == nil {
				return bound(string(out))
			}
		}
	}
	if form, ok := formValues(body); ok {
		return bound(Form(form))
	}
	return fmt.Sprintf("<%d bytes, not JSON>", len(body))
}

func redactJSON(v any, depth int) any {
	if depth > maxDepth {
		return "<too deep>"
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if SecretKey(k) {
				out[k] = Secret
				continue
			}
			out[k] = redactJSON(val, depth+1)
		}
		return out
	case []any:
		n := min(len(t), maxItems)
		out := make([]any, 0, n+1)
		for _, e := range t[:n] {
			out = append(out, redactJSON(e, depth+1))
		}
		if len(t) > n {
			out = append(out, fmt.Sprintf("<%d more>", len(t)-n))
		}
		return out
	case string:
		return redactString(t)
	case json.Number:
		digits := strings.TrimLeft(string(t), "-")
		if len(digits) > 12 {
			return fmt.Sprintf("<%d digits>", len(digits))
		}
		return t
	default: // bool, nil
		return t
	}
}

// formValues parses an application/x-www-form-urlencoded body; ok is false
// when it does not look like one.
func formValues(body []byte) (url.Values, bool) {
	s := string(body)
	if !utf8.ValidString(s) || !strings.Contains(s, "=") || strings.ContainsAny(s, " \n\r\t{}[]\"") {
		return nil, false
	}
	v, err := url.ParseQuery(s)
	return v, err == nil && len(v) > 0
}

// Form redacts form or query values: keys stay, values of secret-looking
// keys become "REDACTED", other values are kept only when they are short
// identifiers or timestamps. Keys are sorted.
func Form(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			if SecretKey(k) {
				b.WriteString(Secret)
			} else if keepString(val) {
				b.WriteString(url.QueryEscape(val))
			} else {
				b.WriteString(url.QueryEscape(Placeholder(val)))
			}
		}
	}
	return b.String()
}

// Query redacts a raw query string (see Form); an unparsable one is
// described by its length.
func Query(raw string) string {
	if raw == "" {
		return ""
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Sprintf("<%d chars, not a query string>", len(raw))
	}
	return bound(Form(v))
}

// URL redacts a URL for display: any password in it and the values of
// secret-looking query keys become "REDACTED"; other query values are
// kept (a URL's query is configuration, not personal text). An unparsable
// URL is described by its length.
func URL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("<%d chars, not a URL>", len(raw))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Secret)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = Secret
		} else {
			for k := range q {
				if SecretKey(k) {
					for i := range q[k] {
						q[k][i] = Secret
					}
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	u.Fragment = ""
	return u.String()
}

func bound(s string) string { return Cut(s, MaxBody) }

// Cut shortens s to at most n bytes, on a rune boundary, marking the cut
// with "…".
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Header bounds a header value shown to an operator (a content type) to
// 200 bytes.
func Header(v string) string { return Cut(v, 200) }
