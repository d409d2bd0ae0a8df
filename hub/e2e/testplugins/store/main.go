// Command store is a test store plugin backed by testbackend.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk"
)

type store struct{}

// base is the account's URL, or the public listing without an account.
func base(s sdk.Settings) string {
	if s["url"] != "" {
		return s["url"]
	}
	return os.Getenv("TESTSTORE_PUBLIC_URL")
}

func (store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "teststore", DisplayName: "test store", Version: "0.0.1", Description: "test store",
		Settings: []sdk.SettingField{{Key: "url", Label: "Backend URL (empty: the public listing)"},
			{Key: "page_size", Label: "Reviews per page (default 3)"},
			{Key: "key", Label: "Quota key: apps with the same key share TESTSTORE_QUOTA"}},
		Store: &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: 350, CanEditReply: true,
			LocaleKind: sdk.FilterLanguage, PublicListing: true, Quotas: quotas()},
	}, nil
}

// quotas declares TESTSTORE_QUOTA ("LIMIT/WINDOW", e.g. "30/3s") as a
// listing quota per key setting.
func quotas() []sdk.QuotaBucket {
	limit, window, ok := strings.Cut(os.Getenv("TESTSTORE_QUOTA"), "/")
	if !ok {
		return nil
	}
	n, err1 := strconv.Atoi(limit)
	w, err2 := time.ParseDuration(window)
	if err1 != nil || err2 != nil {
		return nil
	}
	return []sdk.QuotaBucket{{Name: "test key", Per: []string{"key"}, Limit: n, Window: w, Ops: []string{sdk.OpList}}}
}

// CheckCredentials asks the backend (read-only) what the account may do:
// a read-only account cannot reply.
func (store) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	s, appID := req.Settings, req.AppID
	var acc struct {
		ReadOnly  bool `json:"read_only"`
		QuotaLeft int  `json:"quota_left"`
	}
	if err := testbackend.Call(ctx, base(s), "GET", "/account?app="+url.QueryEscape(appID), nil, &acc); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	rep := sdk.CheckCredentialsResponse{CanReply: !acc.ReadOnly && s["url"] != "", Detail: "test store account for " + appID,
		Checks: []sdk.Check{{Name: "quota", Status: sdk.CheckOK, Detail: strconv.Itoa(acc.QuotaLeft) + " requests left"}}}
	if acc.ReadOnly {
		rep.Checks = append(rep.Checks, sdk.Check{Name: "rights", Status: sdk.CheckWarn, Detail: "read-only account: cannot reply"})
	} else {
		rep.Checks = append(rep.Checks, sdk.Check{Name: "rights", Status: sdk.CheckOK, Detail: "can reply"})
	}
	return rep, nil
}

// The cursor is the backend's sequence number of the last review listed.
func (store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	// A line logged during a call: it must reach the hub's log
	// (pluginhost's TestPluginLogsReachTheHubsLog).
	sdk.Log(ctx).Debug("listing reviews", "app", req.AppID)
	after := req.Cursor
	next := ""
	if req.PageToken != "" {
		after, next = req.PageToken, "&next=1"
	}
	if after == "" {
		after = "0"
	}
	var out struct {
		Reviews []testbackend.Review
		More    bool
	}
	if err := testbackend.Call(ctx, base(req.Settings), "GET", "/reviews?limit="+pageSize(req.Settings)+"&app="+req.AppID+"&after="+after+next, nil, &out); err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	page := sdk.ListReviewsResponse{Cursor: after}
	for _, r := range out.Reviews {
		page.Cursor = strconv.FormatInt(r.Seq, 10)
		if r.Rating < 1 || r.Rating > 5 {
			// Not a review the hub can use: hand it over to be kept.
			raw, _ := json.Marshal(r)
			page.Unreadable = append(page.Unreadable, sdk.Unreadable{ID: r.ID,
				Reason: fmt.Sprintf("rating %d is outside 1..5", r.Rating), Shape: sdk.ShapeOf(raw)})
			continue
		}
		rv := sdk.Review{ID: r.ID, AppID: r.App, Author: r.Author, Rating: r.Rating, Text: r.Text,
			Country: r.Country, Language: r.Language, CreatedAt: r.UpdatedAt, UpdatedAt: r.UpdatedAt}
		if r.Reply != "" {
			rv.Reply = &sdk.DeveloperReply{Text: r.Reply}
		}
		page.Reviews = append(page.Reviews, rv)
	}
	if out.More {
		page.NextPageToken = page.Cursor
	}
	return page, nil
}

// pageSize keeps pages small (so paging is exercised) unless the account
// sets page_size.
func pageSize(s sdk.Settings) string {
	if s["page_size"] != "" {
		return s["page_size"]
	}
	return "3"
}

func (store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	// Idempotent, as the SDK asks: after a crash the hub may ask again for a
	// reply that was published; the store then already shows this text.
	var cur testbackend.Review
	if err := testbackend.Call(ctx, req.Settings["url"], "GET", "/reviews/"+req.ReviewID, nil, &cur); err != nil {
		return sdk.PostReplyResponse{}, err
	}
	if cur.Reply == req.Text {
		return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{ID: "reply-" + cur.ID, Text: cur.Reply, State: "PUBLISHED"}}, nil
	}
	var out struct{ ID, Text string }
	err := testbackend.Call(ctx, req.Settings["url"], "POST", "/reviews/"+req.ReviewID+"/reply", map[string]string{"text": req.Text}, &out)
	return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{ID: out.ID, Text: out.Text, State: "PUBLISHED"}}, err
}

func (store) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "the test store cannot delete replies")
}

var _ sdk.StorePlugin = store{}

func main() {
	if err := sdk.ServeStore(store{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
