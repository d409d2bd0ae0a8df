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

func TestVersionNegotiation(t *testing.T) {
	bin := sdktest.Build(t, example)
	// A hub that also speaks a future version 2 still talks to a v1 plugin.
	conn, err := sdk.Launch(context.Background(), exec.Command(bin), sdk.LaunchOptions{Versions: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.ProtocolVersion() != 1 {
		t.Errorf("negotiated %d, want 1", conn.ProtocolVersion())
	}
	if _, err := conn.Helpdesk(); err == nil {
		t.Error("a store plugin dispensed as a helpdesk")
	}
	if err := conn.Ping(); err != nil {
		t.Errorf("ping: %v", err)
	}
}

func TestErrorsCrossTheProcessBoundary(t *testing.T) {
	store := sdktest.LaunchStore(t, sdktest.Build(t, example))
	ctx := context.Background()
	_, err := store.ListReviews(ctx, sdk.ListRequest{Settings: sdk.Settings{"reviews": "not json"}, AppID: "x"})
	if sdk.KindOf(err) != sdk.Invalid || !strings.Contains(err.Error(), "setting reviews is not a JSON array") {
		t.Errorf("got %v (kind %s), want Invalid naming the setting", err, sdk.KindOf(err))
	}
	var e *sdk.Error
	if !errors.As(err, &e) || e.Op != "list reviews" || sdk.MessageOf(err) != e.Message || strings.HasPrefix(e.Message, "list reviews") {
		t.Errorf("operation and message not kept apart: %#v", e)
	}
	_, err = store.PostReply(ctx, sdk.PostReplyRequest{Text: strings.Repeat("x", 101)})
	if sdk.KindOf(err) != sdk.Refused || !strings.Contains(err.Error(), "limited to 100 characters, this one has 101") {
		t.Errorf("got %v, want Refused with the limit", err)
	}
	err = store.DeleteReply(ctx, sdk.DeleteReplyRequest{})
	if sdk.KindOf(err) != sdk.Unsupported {
		t.Errorf("got %v, want Unsupported", err)
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
	if sdk.KindOf(e) != sdk.RateLimited || sdk.RetryAfterOf(e) != 3*time.Second || e.Error() != "slow down: quota" {
		t.Errorf("RetryAfterError: %v", e)
	}
	wrapped := errors.Join(errors.New("ctx"), e)
	if sdk.KindOf(wrapped) != sdk.RateLimited {
		t.Error("kind lost through wrapping")
	}
	if sdk.KindOf(errors.New("x")) != sdk.KindUnknown || sdk.KindUnknown.Permanent() || !sdk.Refused.Permanent() {
		t.Error("unknown errors must be retried, refused ones not")
	}
}
