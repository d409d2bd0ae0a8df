package sdktest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// memStore is an in-memory app store (the vendor) with its vendor view.
// Every put (an edit too) gets the next sequence number, the store's
// "last modified".
type memStore struct {
	faults.Faults
	mu      sync.Mutex
	apps    map[string][]*memReview // in the order put
	seq     int
	replies map[string]string
}

type memReview struct {
	r                sdk.Review
	created, updated int
}

const memReplyLimit = 100

func newMemStore() *memStore {
	return &memStore{apps: map[string][]*memReview{}, replies: map[string]string{}}
}

func (s *memStore) PutReview(_ context.Context, app string, r sdk.Review) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	for _, old := range s.apps[app] {
		if old.r.ID == r.ID {
			old.r, old.updated = r, s.seq
			return r.ID, nil
		}
	}
	s.apps[app] = append(s.apps[app], &memReview{r: r, created: s.seq, updated: s.seq})
	return r.ID, nil
}

func (s *memStore) Reply(_ context.Context, app, id string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	text, ok := s.replies[app+"/"+id]
	return text, ok, nil
}

// storePlugin is a store plugin over memStore, correct unless bug names
// one mistake.
type storePlugin struct {
	s   *memStore
	bug string
}

func (p storePlugin) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	info := sdk.Info{Kind: sdk.PluginKindStore, Name: "memstore", Version: "1.0.0",
		Settings: []sdk.SettingField{{Key: "key_id", Label: "Key ID"}, {Key: "private_key", Label: "Private key", Secret: p.bug != "key not Secret"}},
		Store:    &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: memReplyLimit}}
	switch p.bug {
	case "no reply limit":
		info.Store.ReplyMaxLength = 0
	case "HelpdeskCapabilities on a store":
		info.Helpdesk = &sdk.HelpdeskCapabilities{}
	}
	return info, nil
}

func (p storePlugin) call() error {
	f, ok := p.s.Next()
	switch {
	case !ok:
		return nil
	case p.bug == "unclassified errors":
		return fmt.Errorf("memstore answered %d", f.Status)
	case p.bug == "5xx is permanent" && f.Status >= 500:
		return sdk.Errorf(sdk.ErrorKindInvalid, "memstore answered %d", f.Status)
	}
	return sdk.HTTPError(f.Status, nil, "memstore answered %d", f.Status)
}

func (p storePlugin) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, p.call()
}

// ListReviews lists the reviews changed after the cursor (a sequence
// number), PageSize a page.
func (p storePlugin) ListReviews(_ context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	if err := p.call(); err != nil {
		return sdk.ReviewPage{}, err
	}
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	all, ok := s.apps[req.AppID]
	if !ok {
		return sdk.ReviewPage{}, sdk.Errorf(sdk.ErrorKindNotFound, "no app %q", req.AppID)
	}
	after, _ := strconv.Atoi(req.Cursor)
	from, _ := strconv.Atoi(req.PageToken)
	var match []sdk.Review
	for _, rv := range all {
		changed := rv.updated
		if p.bug == "edits not listed" {
			changed = rv.created
		}
		if changed > after {
			match = append(match, rv.r)
		}
	}
	size := max(req.PageSize, 1)
	to := min(from+size, len(match))
	page := sdk.ReviewPage{Reviews: match[from:to], Cursor: strconv.Itoa(s.seq)}
	if to < len(match) {
		page.NextPageToken = strconv.Itoa(to)
	}
	return page, nil
}

func (p storePlugin) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	r, err := p.reply(ctx, req)
	return sdk.PostReplyResponse{Reply: r}, err
}

func (p storePlugin) reply(_ context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	n := utf8.RuneCountInString(req.Text)
	tooLong := sdk.Errorf(sdk.ErrorKindRefused, "replies are limited to %d characters, this one has %d", memReplyLimit, n)
	if n > memReplyLimit && p.bug != "over-long reply sent" {
		return sdk.DeveloperReply{}, tooLong
	}
	if p.bug == "reply not posted" {
		return sdk.DeveloperReply{Text: req.Text}, nil
	}
	if err := p.call(); err != nil {
		return sdk.DeveloperReply{}, err
	}
	if n > memReplyLimit { // the store refuses it, after the call
		return sdk.DeveloperReply{}, tooLong
	}
	p.s.mu.Lock()
	p.s.replies[req.AppID+"/"+req.ReviewID] = req.Text
	p.s.mu.Unlock()
	return sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: req.Text}, nil
}

func (p storePlugin) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, errors.ErrUnsupported
}
