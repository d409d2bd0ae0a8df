package sdk_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const example = "github.com/reviewhub/reviewhub/sdk/examples/echostore"

func TestErrorsCrossTheProcessBoundary(t *testing.T) {
	store := sdktest.LaunchStore(t, sdktest.Build(t, example))
	ctx := context.Background()
	_, err := store.ListReviews(ctx, sdk.ListRequest{Settings: sdk.Settings{"reviews": "not json"}, AppID: "x"})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "setting reviews is not a JSON array") {
		t.Errorf("got %v (kind %s), want Invalid naming the setting", err, sdk.KindOf(err))
	}
	var e *sdk.Error
	if !errors.As(err, &e) || e.Op != "list reviews" || sdk.MessageOf(err) != e.Message || strings.HasPrefix(e.Message, "list reviews") {
		t.Errorf("operation and message not kept apart: %#v", e)
	}
	_, err = store.PostReply(ctx, sdk.PostReplyRequest{Text: strings.Repeat("x", 101)})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "limited to 100 characters, this one has 101") {
		t.Errorf("got %v, want Refused with the limit", err)
	}
	_, err = store.DeleteReply(ctx, sdk.DeleteReplyRequest{Settings: sdk.Settings{"reviews": "[]"}})
	if sdk.KindOf(err) != sdk.ErrorKindUnsupported {
		t.Errorf("got %v, want Unsupported", err)
	}
	// Required settings are checked by the SDK before the plugin is called.
	_, err = store.DeleteReply(ctx, sdk.DeleteReplyRequest{Settings: sdk.Settings{"reviews": "  "}})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "settings missing: reviews (Reviews (JSON array))") {
		t.Errorf("got %v, want Invalid naming the missing setting", err)
	}
}

func TestPluginRefusesToRunByHand(t *testing.T) {
	out, err := exec.Command(sdktest.Build(t, example)).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "not meant to be run by hand") {
		t.Errorf("run by hand: %v %s", err, out)
	}
}

func TestErrorHelpers(t *testing.T) {
	e := sdk.RetryAfterError(3*time.Second, "slow down: %s", "quota")
	if sdk.KindOf(e) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(e) != 3*time.Second || e.Error() != "slow down: quota" {
		t.Errorf("RetryAfterError: %v", e)
	}
	wrapped := errors.Join(errors.New("ctx"), e)
	if sdk.KindOf(wrapped) != sdk.ErrorKindRateLimited {
		t.Error("kind lost through wrapping")
	}
	if sdk.KindOf(errors.New("x")) != sdk.ErrorKindUnknown || sdk.ErrorKindUnknown.Permanent() || !sdk.ErrorKindRefused.Permanent() {
		t.Error("unknown errors must be retried, refused ones not")
	}
}
