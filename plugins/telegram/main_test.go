package telegram

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/telegram/fake"
	"github.com/reviewhub/reviewhub/plugins/telegram/telegram"
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
	return &env{fake: f, url: srv.URL, n: sdktest.LaunchNotifier(t, sdktest.Build(t, "./cmd/hub-plugin-telegram"))}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

// view is the kit's view of the fake: each message's text as parsed.
type view struct{ *fake.Server }

func (v view) Messages(context.Context) ([]sdktest.VendorMessage, error) {
	var out []sdktest.VendorMessage
	for _, m := range v.Server.Messages() {
		vm := sdktest.VendorMessage{Ref: strconv.FormatInt(m.ID, 10), Texts: []string{m.Text}}
		if m.ReplyTo != 0 {
			vm.ThreadRef = strconv.FormatInt(m.ReplyTo, 10)
		}
		out = append(out, vm)
	}
	return out, nil
}

func (v view) MaxTextLength() int { return fake.MaxTextLength }

func TestNotifierConformanceTelegram(t *testing.T) {
	e := start(t)
	sdktest.RunNotifier(t, e.n, sdktest.NotifierSuite{Settings: e.fake.Settings(e.url), DestinationID: "tg", Vendor: view{e.fake}})
}

// Every character MarkdownV2 reserves, in every part of a message, reaches
// the chat as written: the fake parses MarkdownV2 as the documentation
// says and refuses a reserved character that is not escaped.
func TestNotifierTelegramEscapesEveryReservedCharacter(t *testing.T) {
	e := start(t)
	nasty := "_*[]()~`>#+-=|{}.!\\ and 1.5 - (ok)! <b>&"
	ev := sdk.Event{Type: sdk.EventReviewCreated, Store: "appstore", StoreName: "App Store (US)", AppName: "Acme_App*",
		Review: &sdk.Review{ID: "1", Author: "A-b.c", Rating: 1, Title: nasty, Text: ">" + nasty + "\n> quoted", Language: "en-US",
			AppVersion: "1.2.3", URL: "https://apps.apple.com/app/id1?see=(1)\\x"}}
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: e.fake.Settings(e.url), Event: ev}); err != nil {
		t.Fatal(err)
	}
	m := e.fake.Messages()[0]
	for _, want := range []string{"★☆☆☆☆ New review of Acme_App* on App Store (US)", "A-b.c: " + nasty, ">" + nasty + "\n> quoted",
		"App Store (US) · Acme_App* · language: en-US · version: 1.2.3", "Open the review"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the chat shows %q; it lacks %q", m.Text, want)
		}
	}
	if !strings.Contains(m.Source, "](https://apps.apple.com/app/id1?see=(1\\)\\\\x)") {
		t.Errorf("link not escaped for (...): %q", m.Source)
	}
}

func TestNotifierTelegramEscapeMatchesTheFakesParser(t *testing.T) {
	for _, s := range []string{"", "plain", "_*[]()~`>#+-=|{}.!\\", "ё🇺🇦 👩‍👩‍👧", "a\\b", "1.5!"} {
		got, err := fake.ParseMarkdownV2(telegram.Escape(s))
		if err != nil || got != s {
			t.Errorf("Escape(%q) parses to %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"1.5", "a-b", "(x)", "*open", "[x](y"} {
		if _, err := fake.ParseMarkdownV2(bad); err == nil {
			t.Errorf("the fake accepts %q", bad)
		}
	}
}

// A review's later events are replies to its first message; a thread
// whose first message was deleted still gets the event.
func TestNotifierTelegramRepliesKeepTheThread(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	ev := sdk.Event{Type: sdk.EventReviewCreated, AppName: "Acme", Review: &sdk.Review{ID: "1", Rating: 2, Text: "Crashes"}}
	first, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev, ThreadKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Type, ev.Reply = sdk.EventReplyPublished, &sdk.EventReply{Text: "Fixed in 1.1"}
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev, ThreadKey: "k", ThreadRef: first.MessageRef}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev, ThreadKey: "k", ThreadRef: "99999"}); err != nil {
		t.Fatalf("reply to a deleted message: %v", err)
	}
	ms := e.fake.Messages()
	if len(ms) != 3 || strconv.FormatInt(ms[1].ReplyTo, 10) != first.MessageRef || ms[2].ReplyTo != 0 {
		t.Fatalf("messages %+v", ms)
	}
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev, ThreadRef: "not-a-number"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("bad thread ref: %v", err)
	}
}

// The Bot API's error shape becomes classified errors: 429's
// parameters.retry_after, a kicked bot, a wrong token, a missing chat.
func TestNotifierTelegramErrorsAreClassified(t *testing.T) {
	e := start(t)
	s := e.fake.Settings(e.url)
	ev := sdk.Event{Type: sdk.EventAppHealthChanged, AppName: "Acme", Health: &sdk.EventHealth{Health: "stalled", Reason: "no reviews for a day"}}
	e.fake.RateLimit(1, 17*time.Second)
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 17*time.Second {
		t.Errorf("429: %v", err)
	}
	bad := sdk.Settings{"bot_token": "1:wrong", "chat_id": fake.Chat, "base_url": e.url}
	_, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: bad, Event: ev})
	if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || strings.Contains(err.Error(), "1:wrong") {
		t.Errorf("wrong token: %v (the token must not show)", err)
	}
	other := e.fake.Settings(e.url)
	other["chat_id"] = "-100999"
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: other, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindNotFound {
		t.Errorf("unknown chat: %v", err)
	}
	e.fake.SetMember("kicked")
	if _, err := e.n.Notify(ctx(t), sdk.NotifyRequest{Settings: s, Event: ev}); sdk.KindOf(err) != sdk.ErrorKindRefused {
		t.Errorf("kicked bot: %v", err)
	}
	rep, err := e.n.CheckSettings(ctx(t), sdk.CheckSettingsRequest{Settings: s})
	if err != nil || len(rep.Checks) != 2 || rep.Checks[1].Status != sdk.CheckFail {
		t.Errorf("check with the bot kicked: %+v %v", rep, err)
	}
}

// A text at Telegram's limit in UTF-16 units: astral emoji count two.
func TestNotifierTelegramLimitCountsUTF16(t *testing.T) {
	ev := sdk.Event{Type: sdk.EventReviewCreated, AppName: "Acme", Review: &sdk.Review{ID: "1", Rating: 1, Text: strings.Repeat("😀", 3000)}}
	md, err := Render(ev)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := fake.ParseMarkdownV2(md)
	if err != nil {
		t.Fatal(err)
	}
	if n := sdk.UTF16Length(plain); n > telegram.MaxTextLength || n < telegram.MaxTextLength-10 {
		t.Errorf("%d UTF-16 units, want just under %d", n, telegram.MaxTextLength)
	}
	if !strings.HasSuffix(plain, sdk.Ellipsis) {
		t.Errorf("no ellipsis: %q", plain[len(plain)-20:])
	}
}
