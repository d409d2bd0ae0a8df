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

// entries is "entry": an array, or a single object when there is one.
type entries []feedEntry

func (e *entries) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one feedEntry
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*e = entries{one}
		return nil
	}
	var many []feedEntry
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*e = many
	return nil
}

// ParseFeed reads one page of the public feed. Entries that are not
// reviews (the feed once listed the app itself first) are skipped; a
// review that cannot be read is an error.
func ParseFeed(appID, country string, body []byte) ([]sdk.Review, error) {
	var doc struct {
		Feed *struct {
			Entry entries `json:"entry"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the feed is not JSON: %w", err)
	}
	if doc.Feed == nil {
		return nil, errors.New("the answer has no feed")
	}
	var out []sdk.Review
	for _, e := range doc.Feed.Entry {
		if e.Rating.Label == "" {
			continue
		}
		rating, err := strconv.Atoi(e.Rating.Label)
		if err != nil || rating < 1 || rating > 5 {
			return nil, fmt.Errorf("feed entry %s: rating %q is not 1..5", e.ID.Label, e.Rating.Label)
		}
		if e.ID.Label == "" {
			return nil, errors.New("a feed entry without id")
		}
		updated, err := time.Parse(time.RFC3339, e.Updated.Label)
		if err != nil {
			return nil, fmt.Errorf("feed entry %s: updated: %w", e.ID.Label, err)
		}
		cc := strings.ToUpper(country)
		r := sdk.Review{ID: e.ID.Label, AppID: appID, Author: e.Author.Name.Label, Rating: rating, Title: e.Title.Label,
			Text: e.Content.Label, Country: cc, AppVersion: e.Version.Label, CreatedAt: updated.UTC(), UpdatedAt: updated.UTC(),
			URL: fmt.Sprintf("https://apps.apple.com/%s/app/id%s?see-all=reviews", strings.ToLower(cc), appID)}
		if n, err := strconv.Atoi(e.VoteSum.Label); err == nil && n > 0 {
			r.ThumbsUp = n
		}
		if total, err := strconv.Atoi(e.VoteCount.Label); err == nil && total >= r.ThumbsUp {
			r.ThumbsDown = total - r.ThumbsUp
		}
		out = append(out, r)
	}
	return out, nil
}
