// Package telegram is Reviewhub's Telegram notifier plugin: it posts the
// hub's events to a chat through the Bot API's sendMessage, written in
// MarkdownV2, each later event of a review as a reply to its first
// message. See README.md.
package telegram

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/reviewhub/reviewhub/plugins/telegram/telegram"
	"github.com/reviewhub/reviewhub/sdk"
)

const (
	version     = "1.0.0"
	defaultBase = "https://api.telegram.org"
	linkLabel   = "Open the review"
)

type notifier struct{ http *http.Client }

var _ sdk.NotifierPlugin = (*notifier)(nil)

func (*notifier) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "telegram", DisplayName: "Telegram", Version: version,
		Description: "Telegram: events as MarkdownV2 messages through a bot, a review's later events as replies to its first message.",
		Settings: []sdk.SettingField{
			{Key: "bot_token", Label: "Bot token", Required: true, Secret: true, Example: "123456:ABC-DEF…",
				Description: "the token @BotFather gave the bot"},
			{Key: "chat_id", Label: "Chat ID", Required: true, Example: "-1001234567890 or @channelname",
				Description: "the group, supergroup or channel the bot posts to (the bot must be a member; an administrator in a channel)"},
			{Key: "base_url", Label: "Bot API base URL override", Endpoint: true, Default: defaultBase, Type: sdk.SettingURL,
				Description: "for tests or a local Bot API server; default " + defaultBase},
		},
		Notifier: &sdk.NotifierCapabilities{MaxTextLength: telegram.MaxTextLength, Formatting: sdk.FormatMarkdownV2, Threads: true},
	}, nil
}

func (n *notifier) client(s sdk.Settings) (*telegram.Client, error) {
	base, err := s.URL("base_url")
	if err != nil {
		return nil, err
	}
	tok := s.Get("bot_token")
	if strings.ContainsAny(tok, "/?# ") {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting bot_token (Bot token) is not a bot token (it holds a /, ?, # or space)")
	}
	return &telegram.Client{HTTP: n.http, Base: base, Token: tok}, nil
}

func (n *notifier) CheckSettings(ctx context.Context, req sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	cl, err := n.client(req.Settings)
	if err != nil {
		return sdk.CheckSettingsResponse{}, err
	}
	me, err := cl.GetMe(ctx)
	if err != nil {
		return sdk.CheckSettingsResponse{}, err
	}
	rep := sdk.CheckSettingsResponse{Detail: "@" + me.Username}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "token", Status: sdk.CheckOK, Detail: "the token is the bot @" + me.Username + "'s"})
	chat := req.Settings.Get("chat_id")
	m, err := cl.GetChatMember(ctx, chat, me.ID)
	if err != nil {
		return sdk.CheckSettingsResponse{}, err
	}
	switch {
	case m.Status == "left" || m.Status == "kicked":
		rep.Checks = append(rep.Checks, sdk.Check{Name: "chat", Status: sdk.CheckFail, Detail: "the bot is not in chat " + chat + " (" + m.Status + "): add it"})
	case m.CanPostMessages != nil && !*m.CanPostMessages, m.CanSendMessages != nil && !*m.CanSendMessages:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "chat", Status: sdk.CheckFail, Detail: "the bot may not post in chat " + chat + ": give it the right"})
	default:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "chat", Status: sdk.CheckOK, Detail: "the bot is " + m.Status + " of chat " + chat})
	}
	return rep, nil
}

func (n *notifier) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	cl, err := n.client(req.Settings)
	if err != nil {
		return sdk.NotifyResponse{}, err
	}
	var replyTo int64
	if req.ThreadRef != "" {
		if replyTo, err = strconv.ParseInt(req.ThreadRef, 10, 64); err != nil {
			return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "thread reference %q is not a Telegram message id", req.ThreadRef)
		}
	}
	text, err := Render(req.Event)
	if err != nil {
		return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
	}
	m, err := cl.SendMessage(ctx, req.Settings.Get("chat_id"), text, replyTo)
	if err != nil {
		return sdk.NotifyResponse{}, err
	}
	return sdk.NotifyResponse{MessageRef: strconv.FormatInt(m.MessageID, 10)}, nil
}

// message is an event's parts: a bold title, the details, italic facts
// and the review's link.
type message struct {
	title, body, facts, link string
}

// plain is the message as Telegram counts it: its text once the markup is
// parsed.
func (m message) plain() string {
	parts := []string{m.title}
	for _, p := range []string{m.body, m.facts} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if m.link != "" {
		parts = append(parts, linkLabel)
	}
	return strings.Join(parts, "\n")
}

// markdown is the message in MarkdownV2.
func (m message) markdown() string {
	parts := []string{"*" + telegram.Escape(m.title) + "*"}
	if m.body != "" {
		parts = append(parts, telegram.Escape(m.body))
	}
	if m.facts != "" {
		parts = append(parts, "_"+telegram.Escape(m.facts)+"_")
	}
	if m.link != "" {
		parts = append(parts, "["+telegram.Escape(linkLabel)+"]("+telegram.EscapeURL(m.link)+")")
	}
	return strings.Join(parts, "\n")
}

// Render is an event as one MarkdownV2 text whose parsed length fits
// Telegram's 4,096 characters, counted in UTF-16 units (GUESS: Telegram
// says "characters"; its entity offsets count UTF-16 units, so this is
// the stricter reading), the details cut between grapheme clusters.
func Render(e sdk.Event) (string, error) {
	facts := sdk.EventFacts(e)
	if s := e.DisplayStore(); s != "" {
		facts = append([]string{s + " · " + firstNonEmpty(e.AppName, e.AppID)}, facts...)
	}
	m := message{title: sdk.Truncate(sdk.EventTitle(e), 200), facts: sdk.Truncate(strings.Join(facts, " · "), 300), link: sdk.EventLink(e)}
	if len(m.link) > 1000 {
		m.link = "" // not worth the message's room
	}
	body, err := sdk.FitText(strings.Join(sdk.EventLines(e), "\n"), telegram.MaxTextLength, sdk.UTF16Length,
		func(b string) string { m.body = b; return m.plain() })
	if err != nil {
		return "", err
	}
	m.body = body
	return m.markdown(), nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Main serves the plugin (the hub starts it as hub-plugin-telegram).
func Main() {
	// The token is in every request's path: SecretPath keeps it out of the
	// debug log and the trace spans.
	n := &notifier{http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 1 << 20, SecretPath: true})}
	if err := sdk.ServeNotifier(n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
