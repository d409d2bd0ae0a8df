// Package slack is Reviewhub's Slack notifier plugin: it posts the hub's
// events to a Slack channel with Block Kit blocks, through an incoming
// webhook or, with a bot token, chat.postMessage, keeping one thread per
// review. See README.md.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/reviewhub/reviewhub/plugins/slack/slack"
	"github.com/reviewhub/reviewhub/sdk"
)

const (
	version     = "1.0.0"
	defaultBase = "https://slack.com/api"
)

type notifier struct {
	api     *http.Client // the Web API (the token travels in a header)
	webhook *http.Client // incoming webhooks (the URL is the credential)
}

var _ sdk.NotifierPlugin = (*notifier)(nil)

func (*notifier) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "slack", DisplayName: "Slack", Version: version,
		Description: "Slack: events as Block Kit messages through an incoming webhook, or chat.postMessage with one thread per review.",
		Settings: []sdk.SettingField{
			{Key: "webhook_url", Label: "Incoming webhook URL", Secret: true, Endpoint: true, Type: sdk.SettingURL,
				Description: "https://hooks.slack.com/services/…; posts to the webhook's channel, without threads. Leave empty with a bot token"},
			{Key: "bot_token", Label: "Bot token", Secret: true, Example: "xoxb-…",
				Description: "a Slack app's bot token with the scope chat:write (channels:read for the check); keeps one thread per review"},
			{Key: "channel", Label: "Channel ID", Example: "C0123456789", Description: "the channel the bot posts to (with a bot token)"},
			{Key: "base_url", Label: "Web API base URL override", Endpoint: true, Default: defaultBase, Type: sdk.SettingURL,
				Description: "for tests; default " + defaultBase},
		},
		Notifier: &sdk.NotifierCapabilities{MaxTextLength: slack.SectionTextMax, Formatting: sdk.FormatSlackMrkdwn, Threads: true},
	}, nil
}

// client is the account's client: a webhook, or a bot token and channel.
func (n *notifier) client(s sdk.Settings) (*slack.Client, string, error) {
	hook, token, channel := s.Get("webhook_url"), s.Get("bot_token"), s.Get("channel")
	switch {
	case hook != "" && token != "":
		return nil, "", sdk.Errorf(sdk.ErrorKindInvalid, "settings webhook_url and bot_token are both set: give one (a bot token keeps threads)")
	case hook != "":
		u, err := s.URL("webhook_url")
		if err != nil {
			return nil, "", err
		}
		return &slack.Client{HTTP: n.webhook, WebhookURL: u}, "", nil
	case token != "" && channel == "":
		return nil, "", sdk.Errorf(sdk.ErrorKindInvalid, "setting channel (Channel ID) is missing: the bot token needs the channel to post to")
	case token != "":
		base, err := s.URL("base_url")
		if err != nil {
			return nil, "", err
		}
		return &slack.Client{HTTP: n.api, APIBase: base, Token: token}, channel, nil
	}
	return nil, "", sdk.Errorf(sdk.ErrorKindInvalid, "settings missing: webhook_url (Incoming webhook URL) or bot_token (Bot token) with channel")
}

func (n *notifier) CheckSettings(ctx context.Context, req sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	cl, channel, err := n.client(req.Settings)
	if err != nil {
		return sdk.CheckSettingsResponse{}, err
	}
	var rep sdk.CheckSettingsResponse
	if cl.WebhookURL != "" {
		u, _ := url.Parse(cl.WebhookURL)
		status, detail := sdk.CheckOK, "an incoming webhook of "+u.Host
		if u.Host != "hooks.slack.com" {
			status, detail = sdk.CheckWarn, "the webhook's host is "+u.Host+", not hooks.slack.com"
		}
		rep.Checks = append(rep.Checks,
			sdk.Check{Name: "webhook", Status: status, Detail: detail},
			sdk.Check{Name: "posting", Status: sdk.CheckWarn, Detail: "not checked: an incoming webhook has no read-only call, only a posted message shows it works"},
			sdk.Check{Name: "threads", Status: sdk.CheckWarn, Detail: "an incoming webhook returns no message id: events of one review are not threaded (use a bot token for threads)"})
		rep.Detail = "incoming webhook (no threads)"
		return rep, nil
	}
	who, err := cl.AuthTest(ctx)
	if err != nil {
		return sdk.CheckSettingsResponse{}, err
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "token", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("the token is %s's in workspace %s", who.User, who.Team)})
	ch, err := cl.ChannelInfo(ctx, channel)
	switch {
	case err != nil && sdk.KindOf(err) == sdk.ErrorKindPermissionDenied:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "channel", Status: sdk.CheckWarn,
			Detail: "not checked: the app lacks channels:read (" + sdk.MessageOf(err) + ")"})
	case err != nil:
		return sdk.CheckSettingsResponse{}, err
	case ch.IsArchived:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "channel", Status: sdk.CheckFail, Detail: "#" + ch.Name + " is archived"})
	case !ch.IsMember:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "channel", Status: sdk.CheckWarn,
			Detail: "the bot is not a member of #" + ch.Name + ": invite it (/invite), or give the app chat:write.public for a public channel"})
	default:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "channel", Status: sdk.CheckOK, Detail: "the bot is a member of #" + ch.Name})
	}
	rep.Detail = "bot token, one thread per review"
	return rep, nil
}

func (n *notifier) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	cl, channel, err := n.client(req.Settings)
	if err != nil {
		return sdk.NotifyResponse{}, err
	}
	m, err := Render(req.Event)
	if err != nil {
		return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
	}
	if cl.WebhookURL != "" {
		return sdk.NotifyResponse{}, cl.PostWebhook(ctx, m)
	}
	m.Channel, m.ThreadTS = channel, req.ThreadRef
	ts, err := cl.PostMessage(ctx, m)
	if err != nil && req.ThreadRef != "" && strings.Contains(err.Error(), "thread_not_found") {
		// The thread's first message is gone: this event starts a new one.
		m.ThreadTS = ""
		ts, err = cl.PostMessage(ctx, m)
	}
	if err != nil {
		return sdk.NotifyResponse{}, err
	}
	return sdk.NotifyResponse{MessageRef: ts}, nil
}

// Render is an event as a Slack message: the title as the fallback text
// and a header block, the details as one section (mrkdwn, escaped, fitted
// into Slack's 3,000 characters), the facts and the review's link as a
// context block.
func Render(e sdk.Event) (slack.Message, error) {
	title := sdk.EventTitle(e)
	no := false
	m := slack.Message{Text: sdk.Truncate(title, slack.HeaderTextMax), UnfurlLinks: &no}
	m.Blocks = append(m.Blocks, slack.Block{Type: "header",
		Text: &slack.Text{Type: "plain_text", Text: sdk.Truncate(title, slack.HeaderTextMax), Emoji: true}})
	if lines := sdk.EventLines(e); len(lines) > 0 {
		body, err := sdk.FitText(strings.Join(lines, "\n"), slack.SectionTextMax, sdk.RuneLength, slack.EscapeMrkdwn)
		if err != nil {
			return slack.Message{}, err
		}
		m.Blocks = append(m.Blocks, slack.Block{Type: "section", Text: &slack.Text{Type: "mrkdwn", Text: slack.EscapeMrkdwn(body)}})
	}
	var ctxEls []slack.Text
	if s := e.DisplayStore(); s != "" {
		ctxEls = append(ctxEls, slack.Text{Type: "mrkdwn", Text: slack.EscapeMrkdwn(sdk.Truncate(s+" · "+firstNonEmpty(e.AppName, e.AppID), 200))})
	}
	for _, f := range sdk.EventFacts(e) {
		ctxEls = append(ctxEls, slack.Text{Type: "mrkdwn", Text: slack.EscapeMrkdwn(sdk.Truncate(f, 200))})
	}
	if link := sdk.EventLink(e); link != "" && len(link) < 2000 {
		ctxEls = append(ctxEls, slack.Text{Type: "mrkdwn", Text: slack.Link(link, "Open the review")})
	}
	if len(ctxEls) > 0 {
		m.Blocks = append(m.Blocks, slack.Block{Type: "context", Elements: ctxEls[:min(len(ctxEls), slack.ContextElementsMax)]})
	}
	return m, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Main serves the plugin (the hub starts it as hub-plugin-slack).
func Main() {
	n := &notifier{
		api:     sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 1 << 20}),
		webhook: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 1 << 20, SecretPath: true}),
	}
	if err := sdk.ServeNotifier(n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
