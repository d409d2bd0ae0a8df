// Command echostore is the smallest complete Reviewhub store plugin: it
// serves the reviews given in its "reviews" setting (JSON) and accepts
// replies of up to 100 characters. sdk/README.md walks through it.
package main

import (
	"context"
	"encoding/json"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

type store struct{}

func (store) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "echostore", Version: "1.0.0", Description: "Serves the reviews given in its settings.",
		Settings: []sdk.SettingField{{Key: "reviews", Label: "Reviews (JSON array)", Required: true, Multiline: true}},
		Store:    &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: 100, LocaleKind: sdk.FilterLanguage},
	}, nil
}

func reviews(s sdk.Settings) ([]sdk.Review, error) {
	var out []sdk.Review
	if err := json.Unmarshal([]byte(s["reviews"]), &out); err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "setting reviews is not a JSON array of reviews: %v", err)
	}
	return out, nil
}

func (store) CheckCredentials(_ context.Context, s sdk.Settings, _ string) (sdk.CredentialsReport, error) {
	_, err := reviews(s)
	return sdk.CredentialsReport{CanReply: err == nil}, err
}

func (store) ListReviews(_ context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	all, err := reviews(req.Settings)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	page := sdk.ReviewPage{Cursor: "all"}
	for _, r := range all {
		if r.AppID == req.AppID {
			page.Reviews = append(page.Reviews, r)
		}
	}
	if len(page.Reviews) == 0 {
		return sdk.ReviewPage{}, sdk.Errorf(sdk.NotFound, "no app %q", req.AppID)
	}
	return page, nil
}

func (store) PostReply(_ context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	if n := utf8.RuneCountInString(req.Text); n > 100 {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "echostore answers are limited to 100 characters, this one has %d", n)
	}
	return sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: req.Text, State: "PUBLISHED"}, nil
}

func (store) DeleteReply(context.Context, sdk.DeleteReplyRequest) error {
	return sdk.Errorf(sdk.Unsupported, "echostore cannot delete replies")
}

func main() { sdk.ServeStore(store{}) }
