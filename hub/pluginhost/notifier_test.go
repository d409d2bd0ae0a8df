//go:build unix

package pluginhost

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/reviewhub/reviewhub/plugins/telegram/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// The hub starts a notifier plugin, reads its capabilities and calls it;
// calling it as a store fails Invalid.
func TestNotifierPluginIsStartedAndCalled(t *testing.T) {
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	bin := sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/telegram/cmd/hub-plugin-telegram")
	h := start(t, map[string]string{"telegram": bin}, Options{})
	p, ok := h.Plugin("telegram")
	if !ok {
		t.Fatal("no plugin telegram")
	}
	eventually(t, "the plugin to start", func() bool { return p.Status().Running })
	info := p.Info()
	if info.Kind != sdk.PluginKindNotifier || info.Notifier == nil || info.Notifier.MaxTextLength != 4096 ||
		!info.Notifier.Threads || info.Notifier.Formatting != sdk.FormatMarkdownV2 {
		t.Fatalf("info %+v, notifier %+v", info, info.Notifier)
	}
	ctx := context.Background()
	if _, err := p.Notifier().CheckSettings(ctx, sdk.CheckSettingsRequest{Settings: f.Settings(srv.URL)}); err != nil {
		t.Fatal(err)
	}
	ev := sdk.Event{Type: sdk.EventReviewCreated, AppName: "Acme", Review: &sdk.Review{ID: "1", Rating: 1, Text: "Crashes."}}
	res, err := p.Notifier().Notify(ctx, sdk.NotifyRequest{Settings: f.Settings(srv.URL), Event: ev, ThreadKey: "k"})
	if err != nil || res.MessageRef == "" {
		t.Fatalf("Notify: %+v %v", res, err)
	}
	if ms := f.Messages(); len(ms) != 1 || ms[0].Text == "" {
		t.Fatalf("messages %+v", ms)
	}
	if _, err := p.Store().ListReviews(ctx, sdk.ListReviewsRequest{}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("a notifier called as a store: %v", err)
	}
	if _, err := p.Notifier().Notify(ctx, sdk.NotifyRequest{Settings: sdk.Settings{}, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("Notify without the required settings: %v", err)
	}
}
