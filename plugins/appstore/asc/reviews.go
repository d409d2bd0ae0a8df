package asc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Resource is a JSON:API resource object.
type Resource struct {
	Type          string                  `json:"type"`
	ID            string                  `json:"id"`
	Attributes    map[string]any          `json:"attributes,omitempty"`
	Relationships map[string]Relationship `json:"relationships,omitempty"`
}

// Relationship of a resource.
type Relationship struct {
	Data *Linkage `json:"data"`
}

// Linkage names a related resource.
type Linkage struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ReviewsResponse is the answer of GET /v1/apps/{id}/customerReviews.
type ReviewsResponse struct {
	Data     []Resource `json:"data"`
	Included []Resource `json:"included"`
	Links    struct {
		Self string `json:"self"`
		Next string `json:"next"`
	} `json:"links"`
	Meta struct {
		Paging struct {
			Total      int    `json:"total"`
			Limit      int    `json:"limit"`
			NextCursor string `json:"nextCursor"` // in the OAS, not in Apple's example answer
		} `json:"paging"`
	} `json:"meta"`
}

// ReviewResponse is the answer of GET /v1/customerReviews/{id}.
type ReviewResponse struct {
	Data     Resource   `json:"data"`
	Included []Resource `json:"included"`
}

func str(attrs map[string]any, k string) string {
	v, _ := attrs[k].(string)
	return v
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// MapReview maps a customerReviews resource (and its included response).
func MapReview(appID string, r Resource, included []Resource) (sdk.Review, error) {
	if r.ID == "" {
		return sdk.Review{}, errors.New("a customer review without id")
	}
	if r.Type != "" && r.Type != "customerReviews" {
		return sdk.Review{}, fmt.Errorf("resource %s is a %s, not a customer review", r.ID, r.Type)
	}
	a := r.Attributes
	rating, ok := a["rating"].(float64)
	if !ok || rating < 1 || rating > 5 || rating != float64(int(rating)) {
		return sdk.Review{}, fmt.Errorf("customer review %s: rating %v is not 1..5", r.ID, a["rating"])
	}
	created, err := parseTime(str(a, "createdDate"))
	if err != nil {
		return sdk.Review{}, fmt.Errorf("customer review %s: createdDate: %w", r.ID, err)
	}
	out := sdk.Review{ID: r.ID, AppID: appID, Rating: int(rating), Title: str(a, "title"), Text: str(a, "body"),
		Author: str(a, "reviewerNickname"), CreatedAt: created, UpdatedAt: created}
	if t := str(a, "territory"); t != "" {
		out.Country = Alpha2(t)
		out.Extra = map[string]string{"territory": t}
	}
	if out.Country != "" {
		out.URL = fmt.Sprintf("https://apps.apple.com/%s/app/id%s?see-all=reviews", strings.ToLower(out.Country), appID)
	}
	if rel, ok := r.Relationships["response"]; ok && rel.Data != nil {
		for _, inc := range included {
			if inc.Type == "customerReviewResponses" && inc.ID == rel.Data.ID {
				out.Reply = MapResponse(inc)
			}
		}
	}
	return out, nil
}

// MapResponse maps a customerReviewResponses resource.
func MapResponse(r Resource) *sdk.DeveloperReply {
	rep := &sdk.DeveloperReply{ID: r.ID, Text: str(r.Attributes, "responseBody"), State: str(r.Attributes, "state")}
	if t, err := parseTime(str(r.Attributes, "lastModifiedDate")); err == nil {
		rep.UpdatedAt = t
	}
	return rep
}

// ReviewsURL is the first page of an app's reviews, newest first, with responses.
func ReviewsURL(appID string, territories []string, limit int) string {
	q := url.Values{"sort": {"-createdDate"}, "limit": {fmt.Sprint(limit)}, "include": {"response"}}
	if len(territories) > 0 {
		q.Set("filter[territory]", strings.Join(territories, ","))
	}
	return "/v1/apps/" + url.PathEscape(appID) + "/customerReviews?" + q.Encode()
}

// ListPage reads one page (a path from ReviewsURL or a links.next URL).
func (c *Client) ListPage(ctx context.Context, pageURL string) (ReviewsResponse, error) {
	var out ReviewsResponse
	err := c.Do(ctx, "GET", pageURL, nil, &out)
	return out, err
}

// Review reads one review with its response.
func (c *Client) Review(ctx context.Context, appID, reviewID string) (sdk.Review, error) {
	var out ReviewResponse
	if err := c.Do(ctx, "GET", "/v1/customerReviews/"+url.PathEscape(reviewID)+"?include=response", nil, &out); err != nil {
		return sdk.Review{}, err
	}
	return MapReview(appID, out.Data, out.Included)
}

// Respond creates the developer response (or replaces the existing one).
func (c *Client) Respond(ctx context.Context, reviewID, text string) (*sdk.DeveloperReply, error) {
	body := map[string]any{"data": map[string]any{
		"type":          "customerReviewResponses",
		"attributes":    map[string]any{"responseBody": text},
		"relationships": map[string]any{"review": map[string]any{"data": map[string]any{"type": "customerReviews", "id": reviewID}}},
	}}
	var out struct {
		Data Resource `json:"data"`
	}
	if err := c.Do(ctx, "POST", "/v1/customerReviewResponses", body, &out); err != nil {
		return nil, err
	}
	return MapResponse(out.Data), nil
}

// DeleteResponse deletes a developer response.
func (c *Client) DeleteResponse(ctx context.Context, responseID string) error {
	return c.Do(ctx, "DELETE", "/v1/customerReviewResponses/"+url.PathEscape(responseID), nil, nil)
}
