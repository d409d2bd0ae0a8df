package asc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// FeedPages is how many pages the public feed serves per country (50 reviews each).
const FeedPages = 10

// FeedURL is the JSON form of the public customer-reviews feed.
func FeedURL(base, country, appID string, page int) string {
	return fmt.Sprintf("%s/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/json",
		strings.TrimRight(base, "/"), strings.ToLower(country), page, appID)
}

type label struct {
	Label string `json:"label"`
}

type feedEntry struct {
	Author struct {
		Name label `json:"name"`
	} `json:"author"`
	Updated   label `json:"updated"`
	Rating    label `json:"im:rating"`
	Version   label `json:"im:version"`
	ID        label `json:"id"`
	Title     label `json:"title"`
	Content   label `json:"content"`
	VoteSum   label `json:"im:voteSum"`
	VoteCount label `json:"im:voteCount"`
}

// rawEntries is "entry": an array, or a single object when there is one.
type rawEntries []json.RawMessage

func (e *rawEntries) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		*e = rawEntries{append(json.RawMessage(nil), b...)}
		return nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*e = many
	return nil
}

// ParseFeed reads one page of the public feed. Entries that are not
// reviews (the feed once listed the app itself first, with "im:name") are
// skipped; a review that cannot be read is returned as Unreadable, so one
// odd entry never fails the page. An entry without a usable "updated" (the
// feed has carried no per-entry dates for years at a time) takes the
// feed's own "updated"; only when that is missing too is it unreadable.
func ParseFeed(appID, country string, body []byte) ([]sdk.Review, []sdk.Unreadable, error) {
	var doc struct {
		Feed *struct {
			Entry   rawEntries `json:"entry"`
			Updated label      `json:"updated"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("the feed is not JSON of the expected form: %w", err)
	}
	if doc.Feed == nil {
		return nil, nil, errors.New("the answer has no feed")
	}
	feedUpdated, feedErr := time.Parse(time.RFC3339, doc.Feed.Updated.Label)
	var out []sdk.Review
	var bad []sdk.Unreadable
	cc := strings.ToUpper(country)
	for _, raw := range doc.Feed.Entry {
		var e feedEntry
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &e); err != nil || json.Unmarshal(raw, &probe) != nil {
			bad = append(bad, sdk.Unreadable{Reason: fmt.Sprintf("feed %s: an entry of an unexpected form: %v", cc, err), Shape: sdk.ShapeOf(raw)})
			continue
		}
		if _, isApp := probe["im:name"]; isApp && e.Rating.Label == "" {
			continue // the app itself, not a review
		}
		unreadable := func(why string) {
			bad = append(bad, sdk.Unreadable{ID: e.ID.Label, Reason: fmt.Sprintf("feed %s entry %q: %s", cc, e.ID.Label, why), Shape: sdk.ShapeOf(raw)})
		}
		rating, err := strconv.Atoi(e.Rating.Label)
		if err != nil || rating < 1 || rating > 5 {
			unreadable(fmt.Sprintf("rating %q is not 1..5", e.Rating.Label))
			continue
		}
		if e.ID.Label == "" {
			unreadable("no id")
			continue
		}
		updated, err := time.Parse(time.RFC3339, e.Updated.Label)
		dateFrom := ""
		if err != nil {
			if feedErr != nil {
				unreadable(fmt.Sprintf("no usable date: entry updated %q, feed updated %q", e.Updated.Label, doc.Feed.Updated.Label))
				continue
			}
			updated, dateFrom = feedUpdated, "feed"
		}
		r := sdk.Review{ID: e.ID.Label, AppID: appID, Author: e.Author.Name.Label, Rating: rating, Title: e.Title.Label,
			Text: e.Content.Label, Country: cc, AppVersion: e.Version.Label, CreatedAt: updated.UTC(), UpdatedAt: updated.UTC(),
			URL: fmt.Sprintf("https://apps.apple.com/%s/app/id%s?see-all=reviews", strings.ToLower(cc), appID)}
		if dateFrom != "" {
			// The entry has no date of its own: the feed's is when Apple
			// served the page, not when the customer wrote.
			r.Extra = map[string]string{"date_from": dateFrom}
		}
		if n, err := strconv.Atoi(e.VoteSum.Label); err == nil && n > 0 {
			r.ThumbsUp = n
		}
		if total, err := strconv.Atoi(e.VoteCount.Label); err == nil && total >= r.ThumbsUp {
			r.ThumbsDown = total - r.ThumbsUp
		}
		out = append(out, r)
	}
	return out, bad, nil
}
