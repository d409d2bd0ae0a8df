package sdk_test

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const legacy = "github.com/reviewhub/reviewhub/sdk/internal/testplugins/legacystore"

// A plugin written against SDK v0.1 (positional methods, older names,
// `func main() { sdk.ServeStore(store{}) }`) compiles and works, and gets
// the SDK's checks: trimmed settings, required settings, reply length.
func TestPluginWrittenForTheOlderSDK(t *testing.T) {
	store := sdktest.LaunchStore(t, sdktest.Build(t, legacy))
	ctx := sdktest.Context(t)
	page, err := store.ListReviews(ctx, sdk.ListRequest{Settings: sdk.Settings{"token": " t ", "base_url": " https://vendor.example "}, AppID: "app"})
	if err != nil || len(page.Reviews) != 1 || page.Reviews[0].Text != "https://vendor.example" {
		t.Fatalf("listing: %+v, %v; want one review carrying the trimmed base_url", page, err)
	}
	rep, err := store.CheckCredentials(ctx, sdk.CheckCredentialsRequest{Settings: sdk.Settings{"token": "t", "base_url": "http://127.0.0.1:1"}, AppID: "app"})
	if err != nil || rep.Detail != "app app at http://127.0.0.1:1" {
		t.Errorf("credentials: %+v, %v", rep, err)
	}
	_, err = store.ListReviews(ctx, sdk.ListRequest{Settings: sdk.Settings{}, AppID: "app"})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "settings missing: token (Token)") {
		t.Errorf("missing required setting: %v, want Invalid naming token", err)
	}
	_, err = store.PostReply(ctx, sdk.PostReplyRequest{Settings: sdk.Settings{"token": "t"}, ReviewID: "r1", Text: "ёжик ёжик ёжик"})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "limited to 10 characters, this one has 14") {
		t.Errorf("over-long reply: %v, want Refused naming the limit", err)
	}
	_, err = store.PostReply(ctx, sdk.PostReplyRequest{Settings: sdk.Settings{"token": "t"}, ReviewID: "r1", Text: " \n"})
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty reply: %v, want Refused", err)
	}
	res, err := store.PostReply(ctx, sdk.PostReplyRequest{Settings: sdk.Settings{"token": "t"}, ReviewID: "r1", Text: "ёжик"})
	if r := res.Reply; err != nil || r.ID != "reply-r1" || r.Text != "ёжик" {
		t.Errorf("reply: %+v, %v", r, err)
	}
	if _, err := store.DeleteReply(ctx, sdk.DeleteReplyRequest{Settings: sdk.Settings{"token": "t"}}); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// What a plugin logs during a call (through sdk.Log, and raw lines on its
// stderr) reaches the hub's logger, at the plugin's level, with the hub's
// request id.
func TestPluginLogsDuringACallReachTheHub(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("plugin", "legacystore")
	conn, err := host.Launch(context.Background(), exec.Command(sdktest.Build(t, legacy)), host.LaunchOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	store, err := conn.Store()
	if err != nil {
		t.Fatal(err)
	}
	ctx := sdk.WithRequestID(sdktest.Context(t), "req-42")
	if _, err := store.ListReviews(ctx, sdk.ListRequest{Settings: sdk.Settings{"token": "t"}, AppID: "app"}); err != nil {
		t.Fatal(err)
	}
	// Both lines travel asynchronously (stderr, and go-plugin's stdio
	// stream for the raw line): wait for them, bounded generously.
	want := []string{"level=WARN", `msg="listing from the plugin"`, "plugin=legacystore", "request_id=req-42", "app=app",
		`msg="plugin stderr"`, `line="a raw stderr line during a call"`}
	deadline := time.Now().Add(time.Minute)
	for !containsAll(buf.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close()
	out := buf.String()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("the hub's log lacks %q:\n%s", w, out)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
