package sdktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// dateStore is an in-memory app store that lists by date, as most real
// ones do: newest change first, pages by offset, one developer reply per
// review (a second POST is refused, as AppGallery does), replies up to
// dateReplyLimit characters. It is the vendor, and its own vendor view.
type dateStore struct {
	faults.Faults
	mu      sync.Mutex
	apps    map[string]map[string]sdk.Review
	replies map[string]string // app/review → text
	// viewBug names a mistake of the fake itself: "ignores faults" (its
	// API never calls faults.Next, so it neither counts calls nor fails),
	// "stamps the time of the call" (PutReview ignores the kit's dates).
	viewBug string
}

const dateReplyLimit = 100

var (
	_ StoreVendor       = (*dateStore)(nil)
	_ FaultInjector     = (*dateStore)(nil)
	_ StoreReplyLimiter = (*dateStore)(nil)
	_ sdk.StorePlugin   = datePlugin{}
)

func newDateStore() *dateStore {
	return &dateStore{apps: map[string]map[string]sdk.Review{}, replies: map[string]string{}}
}

func (s *dateStore) PutReview(_ context.Context, app string, r sdk.Review) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.UpdatedAt.IsZero() || s.viewBug == "stamps the time of the call" {
		r.UpdatedAt = time.Now().UTC()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = r.UpdatedAt
	}
	if s.apps[app] == nil {
		s.apps[app] = map[string]sdk.Review{}
	}
	r.AppID = app
	s.apps[app][r.ID] = r
	return r.ID, nil
}

func (s *dateStore) Reply(_ context.Context, app, id string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	text, ok := s.replies[app+"/"+id]
	return text, ok, nil
}

func (s *dateStore) ReplyMaxLength() int { return dateReplyLimit }

// apiError is the store's HTTP answer.
type apiError struct{ status int }

func (e apiError) Error() string { return "store answered " + strconv.Itoa(e.status) }

// call is one API call: counted, and failed when a fault is asked for.
func (s *dateStore) call() error {
	if s.viewBug == "ignores faults" {
		return nil
	}
	if f, ok := s.Next(); ok {
		return apiError{f.Status}
	}
	return nil
}

// list is the store's list endpoint: size reviews from offset, newest
// change first, and how many there are.
func (s *dateStore) list(app string, offset, size int) ([]sdk.Review, int, error) {
	if err := s.call(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reviews, ok := s.apps[app]
	if !ok {
		return nil, 0, apiError{404}
	}
	all := make([]sdk.Review, 0, len(reviews))
	for _, r := range reviews {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b sdk.Review) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	offset = min(offset, len(all))
	return all[offset:min(offset+size, len(all))], len(all), nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *dateStore) getReply(app, id string) (string, bool, error) {
	if err := s.call(); err != nil {
		return "", false, err
	}
	text, ok, _ := s.Reply(context.Background(), app, id)
	return text, ok, nil
}

// postReply adds the one reply of a review; update replaces it.
func (s *dateStore) postReply(app, id, text string, update bool) error {
	if err := s.call(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[app][id]; !ok {
		return apiError{404}
	}
	if utf8.RuneCountInString(text) > dateReplyLimit {
		return apiError{400}
	}
	if _, exists := s.replies[app+"/"+id]; exists && !update {
		return apiError{409}
	}
	s.replies[app+"/"+id] = text
	return nil
}

// datePlugin is a store plugin over dateStore written with the SDK's
// helpers (sdk/cursor, sdk.ReadReplyFirst, sdk.HTTPError), correct unless
// bug names one mistake.
type datePlugin struct {
	s   *dateStore
	bug string
}

func (p datePlugin) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	info := sdk.Info{Kind: sdk.PluginKindStore, Name: "datestore", Version: "1.0.0",
		Settings: []sdk.SettingField{{Key: "api_key", Label: "API key", Secret: true}},
		Store:    &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: dateReplyLimit, ListingWindow: 30 * 24 * time.Hour}}
	switch p.bug {
	case "no reply limit":
		info.Store.ReplyMaxLength = 0
	case "reply limit larger than the store's":
		info.Store.ReplyMaxLength = 2 * dateReplyLimit
	}
	return info, nil
}

// classify is the plugin's error for a failed store call.
func (p datePlugin) classify(what string, err error) error {
	var ae apiError
	switch {
	case !errors.As(err, &ae), p.bug == "unclassified errors":
		return fmt.Errorf("datestore %s: %w", what, err)
	case p.bug == "every error Unavailable":
		return sdk.Errorf(sdk.ErrorKindUnavailable, "datestore %s: %v", what, err)
	case p.bug == "5xx is permanent" && ae.status >= 500:
		return sdk.Errorf(sdk.ErrorKindInvalid, "datestore %s: %v", what, err)
	case p.bug == "unknown app unclassified" && ae.status == 404:
		return fmt.Errorf("datestore %s: no such app", what)
	}
	return sdk.HTTPError(ae.status, nil, "datestore %s: %v", what, err)
}

func (p datePlugin) CheckCredentials(_ context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	if _, _, err := p.s.list(req.AppID, 0, 1); err != nil {
		return sdk.CheckCredentialsResponse{}, p.classify("check", err)
	}
	return sdk.CheckCredentialsResponse{CanReply: true, Detail: "reviews are readable"}, nil
}

// pageState is the plugin's paging state: the offset of the next page
// and (for one mistake) the number of reviews the first page announced.
type pageState struct {
	Offset int `json:"o"`
	Total  int `json:"t,omitempty"`
}

func (p datePlugin) ListReviews(_ context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	if p.bug == "cursor ignored" {
		req.Cursor = ""
	}
	l, err := cursor.Start[pageState](req)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	size := req.PageSize
	if size <= 0 || size > 50 {
		size = 50
	}
	items, total, err := p.s.list(req.AppID, l.State.Offset, size)
	if err != nil {
		return sdk.ListReviewsResponse{}, p.classify("list", err)
	}
	if p.bug == "stops at the first page's total" {
		if l.State.Total == 0 {
			l.State.Total = total
		}
		total = l.State.Total
	}
	dayAgo := time.Now().Add(-24 * time.Hour)
	changed := func(r sdk.Review) time.Time {
		if p.bug == "edits not listed" {
			return r.CreatedAt
		}
		return r.UpdatedAt
	}
	var page sdk.ListReviewsResponse
	reachedCursor := false
	for _, r := range items {
		if p.bug == "last day only" && r.UpdatedAt.Before(dayAgo) {
			reachedCursor = true
			continue
		}
		if !l.Keep(changed(r)) {
			reachedCursor = true // newest first: the rest is older
			continue
		}
		page.Reviews = append(page.Reviews, r)
	}
	page.Cursor = l.Cursor()
	if p.bug == "cursor is the listing's time" {
		page.Cursor = time.Now().UTC().Format(time.RFC3339Nano)
	}
	next := l.State
	next.Offset += len(items)
	if p.bug == "page repeated" {
		next.Offset = l.State.Offset
	}
	if next.Offset < total && !reachedCursor && p.bug != "no next page" {
		page.NextPageToken = l.Next(next)
	}
	return page, nil
}

func (p datePlugin) PostReply(_ context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	limit := dateReplyLimit
	if p.bug == "reply limit larger than the store's" {
		limit = 2 * dateReplyLimit
	}
	n := utf8.RuneCountInString(req.Text)
	if p.bug == "reply limit counted in bytes" {
		n = len(req.Text)
	}
	if n > limit && p.bug != "over-long reply sent" {
		return sdk.PostReplyResponse{}, sdk.Errorf(sdk.ErrorKindRefused, "replies are limited to %d characters, this one has %d", limit, n)
	}
	text := req.Text
	if p.bug == "reply cut" {
		text = string([]rune(text)[:min(20, utf8.RuneCountInString(text))])
	}
	if p.bug == "reply not posted" {
		return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{Text: req.Text}}, nil
	}
	var exists bool
	reply, err := sdk.ReadReplyFirst(context.Background(), text,
		func(context.Context) (*sdk.DeveloperReply, error) {
			if p.bug == "PostReply not idempotent" {
				return nil, nil
			}
			cur, ok, err := p.s.getReply(req.AppID, req.ReviewID)
			if err != nil || !ok {
				return nil, err
			}
			exists = true
			return &sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: cur}, nil
		},
		func(context.Context) (sdk.DeveloperReply, error) {
			if err := p.s.postReply(req.AppID, req.ReviewID, text, exists); err != nil {
				return sdk.DeveloperReply{}, err
			}
			return sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: text}, nil
		})
	if err != nil {
		return sdk.PostReplyResponse{}, p.classify("reply", err)
	}
	return sdk.PostReplyResponse{Reply: reply}, nil
}

func (p datePlugin) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "datestore keeps replies")
}
