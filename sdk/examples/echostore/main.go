// Command echostore is the smallest complete Reviewhub store plugin: it
// serves the reviews given in its "reviews" setting (JSON) and accepts
// replies of up to 100 characters. sdk/README.md walks through it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/reviewhub/reviewhub/sdk"
)

type store struct{}

var _ sdk.StorePlugin = store{}

func (store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "echostore", Version: "1.0.0", Description: "Serves the reviews given in its settings.",
		Settings: []sdk.SettingField{{Key: "reviews", Label: "Reviews (JSON array)", Required: true, Multiline: true}},
		// The SDK refuses a reply over 100 characters before PostReply is called.
		Store: &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: 100, LocaleKind: sdk.FilterLanguage},
	}, nil
}

func reviews(s sdk.Settings) ([]sdk.Review, error) {
	var out []sdk.Review
	if err := json.Unmarshal([]byte(s.Get("reviews")), &out); err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting reviews is not a JSON array of reviews: %v", err)
	}
	return out, nil
}

func (store) CheckCredentials(_ context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	_, err := reviews(req.Settings)
	return sdk.CheckCredentialsResponse{CanReply: err == nil}, err
}

func (store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	all, err := reviews(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	page := sdk.ListReviewsResponse{Cursor: "all"}
	for _, r := range all {
		if r.AppID == req.AppID {
			page.Reviews = append(page.Reviews, r)
		}
	}
	if len(page.Reviews) == 0 {
		return sdk.ListReviewsResponse{}, sdk.Errorf(sdk.ErrorKindNotFound, "no app %q", req.AppID)
	}
	sdk.Log(ctx).Info("listed", "app", req.AppID, "reviews", len(page.Reviews))
	return page, nil
}

func (store) PostReply(_ context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: req.Text, State: "PUBLISHED"}}, nil
}

func (store) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "echostore cannot delete replies")
}

func main() {
	if err := sdk.ServeStore(store{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
