// Command legacystore is a store plugin written against SDK v0.1's Store
// interface (positional CheckCredentials, PostReply returning the reply,
// the older names; it uses nothing added since, so it compiles against
// v0.1 too), served by today's ServeStore through AdaptStore. The
// SDK's tests use it to check that such plugins keep compiling and working,
// and that what a plugin logs during a call reaches the hub.
package main

//lint:file-ignore SA1019 this plugin is written against SDK v0.1 on purpose, older names included

import (
	"context"
	"fmt"
	"os"

	"github.com/reviewhub/reviewhub/sdk"
)

type store struct{}

func (store) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "legacystore", Version: "0.1.0",
		Settings: []sdk.SettingField{
			{Key: "token", Label: "Token", Required: true, Secret: true},
			{Key: "base_url", Label: "Base URL"},
		},
		Store: &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: 10, LocaleKind: sdk.FilterCountry},
	}, nil
}

func (store) CheckCredentials(_ context.Context, s sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	return sdk.CredentialsReport{CanReply: true, Detail: "app " + appID + " at " + s["base_url"]}, nil
}

func (store) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	// What a plugin logs inside a call must reach the hub's log.
	sdk.Log(ctx).Warn("listing from the plugin", "app", req.AppID)
	fmt.Fprintln(os.Stderr, "a raw stderr line during a call")
	if req.AppID == "missing" {
		return sdk.ReviewPage{}, sdk.Errorf(sdk.NotFound, "no app %q", req.AppID)
	}
	return sdk.ReviewPage{Cursor: "c", Reviews: []sdk.Review{{ID: "r1", AppID: req.AppID, Rating: 5, Text: req.Settings["base_url"]}}}, nil
}

func (store) PostReply(_ context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	return sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: req.Text}, nil
}

func (store) DeleteReply(context.Context, sdk.DeleteReplyRequest) error { return nil }

func main() { sdk.ServeStore(store{}) }
