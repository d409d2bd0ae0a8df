// Package cursor helps store plugins whose listings run by time. The hub's
// cursor is the newest change the last listing saw (RFC 3339); a listing
// leaves out what is older, and its page tokens carry the plugin's own
// paging state together with the newest change seen so far, so every page
// reports the same cursor — as the SDK's contract asks.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Listing is one listing in progress: the cursor it started from, the
// plugin's paging state S and the newest change seen.
type Listing[S any] struct {
	Since  time.Time // from the hub's cursor; zero on the first listing
	State  S
	Newest time.Time
	old    string
}

type token[S any] struct {
	State  S         `json:"s"`
	Newest time.Time `json:"n"`
}

// Start reads the request's cursor and page token.
func Start[S any](req sdk.ListReviewsRequest) (*Listing[S], error) {
	l := &Listing[S]{old: req.Cursor}
	if req.Cursor != "" {
		t, err := time.Parse(time.RFC3339Nano, req.Cursor)
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "cursor %q is not a time", req.Cursor)
		}
		l.Since, l.Newest = t, t
	}
	if req.PageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.PageToken)
		var tk token[S]
		if err == nil {
			err = json.Unmarshal(raw, &tk)
		}
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "page token is not this plugin's: %v", err)
		}
		l.State = tk.State
		if tk.Newest.After(l.Newest) {
			l.Newest = tk.Newest
		}
	}
	return l, nil
}

// Keep reports whether a review changed at t belongs in this listing (it is
// not older than the cursor; the cursor's own instant is kept, so nothing
// is missed — the hub ignores unchanged reviews) and records t.
func (l *Listing[S]) Keep(t time.Time) bool {
	if !l.Since.IsZero() && t.Before(l.Since) {
		return false
	}
	if t.After(l.Newest) {
		l.Newest = t
	}
	return true
}

// Cursor is the cursor to report with this page.
func (l *Listing[S]) Cursor() string {
	if l.Newest.IsZero() {
		return l.old
	}
	return l.Newest.UTC().Format(time.RFC3339Nano)
}

// Next is the page token that continues the listing with state.
func (l *Listing[S]) Next(state S) string {
	raw, _ := json.Marshal(token[S]{State: state, Newest: l.Newest})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Collect maps a page's items to reviews and keeps those changed since
// the cursor (Keep). An item that does not map is reported as unreadable
// with unreadable's answer, unless that says to leave it out (false: e.g.
// it is older than the cursor, so an earlier listing reported it).
// reachedCursor tells that an item older than the cursor was listed: for
// a store that lists newest first, the rest of the listing was seen.
func Collect[S, T any](l *Listing[S], items []T, mapItem func(T) (sdk.Review, error),
	unreadable func(T, error) (sdk.Unreadable, bool)) (reviews []sdk.Review, bad []sdk.Unreadable, reachedCursor bool) {
	for _, it := range items {
		r, err := mapItem(it)
		if err != nil {
			if u, ok := unreadable(it, err); ok {
				bad = append(bad, u)
			}
			continue
		}
		if !l.Keep(r.UpdatedAt) {
			reachedCursor = true
			continue
		}
		reviews = append(reviews, r)
	}
	return reviews, bad, reachedCursor
}
