package slack

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/slack/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

type env struct {
	fake *fake.Server
	url  string
	n    sdk.NotifierPlugin
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &env{fake: f, url: srv.URL, n: sdktest.LaunchNotifier(t, sdktest.Build(t, "./cmd/hub-plugin-slack"))}
}

// view is the conformance kit's view of the fake Slack: each message's
// texts are its blocks' (a header, a section, a context's elements), as
// Slack limits them; the fallback text too when there are no blocks.
type view struct{ *fake.Server }

func (v view) Messages(context.Context) ([]sdktest.VendorMessage, error) {
	var out []sdktest.VendorMessage
	for _, m := range v.Server.Messages() {
		vm := sdktest.VendorMessage{Ref: m.TS, ThreadRef: m.ThreadTS}
		if m.ByHook {
			vm.Ref = "" // a webhook's message has no ts the plugin could learn
		}
		for _, b := range m.Blocks {
			if b.Text != nil {
				vm.Texts = append(vm.Texts, unescape(b.Text.Text))
			}
			for _, e := range b.Elements {
				vm.Texts = append(vm.Texts, unescape(e.Text))
			}
		}
		if len(m.Blocks) == 0 {
			vm.Texts = append(vm.Texts, unescape(m.Text))
		}
		out = append(out, vm)
	}
	return out, nil
}

func (v view) MaxTextLength() int { return fake.SectionTextMax }

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func TestNotifierConformanceBotToken(t *testing.T) {
	e := start(t)
	sdktest.RunNotifier(t, e.n, sdktest.NotifierSuite{Settings: e.fake.BotSettings(e.url), DestinationID: "slack-bot", Vendor: view{e.fake}})
}

func TestNotifierConformanceIncomingWebhook(t *testing.T) {
	e := start(t)
	sdktest.RunNotifier(t, e.n, sdktest.NotifierSuite{Settings: e.fake.WebhookSettings(e.url), DestinationID: "slack-hook",
		NoThreads: true, Vendor: view{e.fake}})
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func review(id, text string, rating int) *sdk.Review {
	return &sdk.Review{ID: id, AppID: "com.acme", Author: "Kenji <admin> & co", Rating: rating, Text: text, Language: "ja",
		AppVersion: "2.3", URL: "https://play.google.com/store/apps/details?id=com.acme&reviewId=" + id}
}

// A review, its edit and the reply make one thread: the first message in
// the channel with Block Kit blocks, the others in its thread.
func TestNotifierThreadPerReviewWithBlocks(t *testing.T) {
	e := start(t)
	s := e.fake.BotSettings(e.url)
	ev := sdk.Event{Type: sdk.EventReviewCreated, Store: "googleplay", StoreName: "Google Play", AppName: "Acme",
		Review: review("gp-1", "アプリが起動しません <b>", 1)}
	first, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev, ThreadKey: "googleplay/com.acme/gp-1"})
	if err != nil || first.MessageRef == "" {
		t.Fatalf("first: %+v %v", first, err)
	}
	edit := ev
	edit.Type, edit.Review, edit.History = sdk.EventReviewUpdated, review("gp-1", "直りました", 4), []sdk.ReviewVersion{{Rating: 1}}
	reply := ev
	reply.Type, reply.Reply = sdk.EventReplyPublished, &sdk.EventReply{Text: "Thanks!", Staff: "Ann"}
	for _, later := range []sdk.Event{edit, reply} {
		if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: later, ThreadKey: "googleplay/com.acme/gp-1",
			ThreadRef: first.MessageRef}); err != nil {
			t.Fatal(err)
		}
	}
	ms := e.fake.Messages()
	if len(ms) != 3 || ms[0].ThreadTS != "" || ms[1].ThreadTS != first.MessageRef || ms[2].ThreadTS != first.MessageRef {
		t.Fatalf("messages %+v", ms)
	}
	b := ms[0].Blocks
	if len(b) != 3 || b[0].Type != "header" || b[1].Type != "section" || b[2].Type != "context" {
		t.Fatalf("blocks %+v", b)
	}
	if !strings.HasPrefix(b[0].Text.Text, "★☆☆☆☆ New review of Acme on Google Play") {
		t.Errorf("header %q", b[0].Text.Text)
	}
	// mrkdwn: &, < and > escaped, so a review cannot mention @channel or forge a link.
	if want := "Kenji &lt;admin&gt; &amp; co\nアプリが起動しません &lt;b&gt;"; b[1].Text.Text != want {
		t.Errorf("section %q, want %q", b[1].Text.Text, want)
	}
	var ctxText []string
	for _, el := range b[2].Elements {
		ctxText = append(ctxText, el.Text)
	}
	if got := strings.Join(ctxText, " | "); !strings.Contains(got, "language: ja") ||
		!strings.Contains(got, "<https://play.google.com/store/apps/details?id=com.acme&reviewId=gp-1|Open the review>") {
		t.Errorf("context %q", got)
	}
	if !strings.Contains(ms[1].Blocks[0].Text.Text, "rating 1 → 4") || !strings.Contains(ms[2].Blocks[1].Text.Text, "Reply by Ann: Thanks!") {
		t.Errorf("edit %+v reply %+v", ms[1].Blocks, ms[2].Blocks)
	}
}

// Slack's documented error answers become classified errors.
func TestNotifierSlackErrorsAreClassified(t *testing.T) {
	e := start(t)
	ev := sdk.Event{Type: sdk.EventReviewCreated, AppName: "Acme", Review: review("1", "x", 2)}
	bad := e.fake.BotSettings(e.url)
	bad["bot_token"] = "xoxb-wrong"
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: bad, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated ||
		!strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("wrong token: %v", err)
	}
	e.fake.SetMember(fake.Channel, false)
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: e.fake.BotSettings(e.url), Event: ev}); sdk.KindOf(err) != sdk.ErrorKindRefused ||
		!strings.Contains(err.Error(), "not_in_channel") {
		t.Errorf("bot not in channel: %v", err)
	}
	rep, err := e.n.CheckSettings(ctx(t), sdk.CheckSettingsRequest{Settings: e.fake.BotSettings(e.url)})
	if err != nil || len(rep.Checks) != 2 || rep.Checks[1].Status != sdk.CheckWarn || !strings.Contains(rep.Checks[1].Detail, "invite") {
		t.Errorf("check with the bot out of the channel: %+v %v", rep, err)
	}
	e.fake.Archive(fake.Channel)
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: e.fake.WebhookSettings(e.url), Event: ev}); sdk.KindOf(err) != sdk.ErrorKindRefused ||
		!strings.Contains(err.Error(), "channel_is_archived") {
		t.Errorf("webhook to an archived channel: %v", err)
	}
	gone := sdk.Settings{"webhook_url": e.url + "/services/T0/B0/revoked"}
	_, err = e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: gone, Event: ev})
	if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || strings.Contains(err.Error(), "revoked") {
		t.Errorf("removed webhook: %v (kind %v; the URL must not show)", err, sdk.KindOf(err))
	}
	e.fake.RateLimit(1, 30*time.Second)
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: e.fake.BotSettings(e.url), Event: ev}); sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("429: %v", err)
	}
}

// Neither or both of the two ways is a clear error before any call.
func TestNotifierSettingsMustNameOneWay(t *testing.T) {
	e := start(t)
	ev := sdk.Event{Type: sdk.EventReviewCreated, Review: review("1", "x", 2)}
	both := e.fake.BotSettings(e.url)
	both["webhook_url"] = e.url + e.fake.HookPath()
	for name, s := range map[string]sdk.Settings{"none": {}, "both": both, "no channel": {"bot_token": "xoxb-1"}} {
		if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := e.fake.Calls(); n != 0 {
		t.Errorf("%d calls reached Slack", n)
	}
}
