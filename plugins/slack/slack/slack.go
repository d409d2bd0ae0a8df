// Package slack is the Slack plugin's client: messages with Block Kit
// blocks through an incoming webhook or the Web API's chat.postMessage (in
// a thread with thread_ts), auth.test and conversations.info for the
// settings check, and Slack's answers turned into classified errors.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Limits Slack documents (README, "Limits").
const (
	// SectionTextMax is the longest text of a section block
	// (https://docs.slack.dev/reference/block-kit/blocks/section-block).
	SectionTextMax = 3000
	// HeaderTextMax is the longest text of a header block
	// (https://docs.slack.dev/reference/block-kit/blocks/header-block).
	HeaderTextMax = 150
	// ContextElementsMax is the most elements a context block holds.
	ContextElementsMax = 10
	// MaxBlocks is the most blocks a message holds.
	MaxBlocks = 50
	// FallbackTextMax bounds the message's top-level text, the
	// notification's fallback (Slack truncates beyond 40,000 characters;
	// the plugin keeps it short).
	FallbackTextMax = 40000
)

// Text is a text object of a block.
type Text struct {
	Type  string `json:"type"` // "plain_text" or "mrkdwn"
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Block is one Block Kit block (the kinds the plugin writes).
type Block struct {
	Type      string  `json:"type"` // "header", "section", "context"
	Text      *Text   `json:"text,omitempty"`
	Elements  []Text  `json:"elements,omitempty"`
	BlockID   string  `json:"block_id,omitempty"`
	Accessory *Button `json:"accessory,omitempty"`
}

// Button is a link button (a section's accessory).
type Button struct {
	Type string `json:"type"` // "button"
	Text Text   `json:"text"`
	URL  string `json:"url"`
}

// Message is what the plugin posts: the fallback text and the blocks.
type Message struct {
	Channel  string  `json:"channel,omitempty"`
	Text     string  `json:"text"`
	Blocks   []Block `json:"blocks,omitempty"`
	ThreadTS string  `json:"thread_ts,omitempty"`
	// UnfurlLinks false: the review's link gets no preview.
	UnfurlLinks *bool `json:"unfurl_links,omitempty"`
}

// EscapeMrkdwn escapes the three characters Slack's mrkdwn gives a meaning
// (https://docs.slack.dev/messaging/formatting-message-text#escaping):
// &, < and >.
func EscapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Link is a mrkdwn link, <url|label>.
func Link(url, label string) string {
	return "<" + strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(url) + "|" + EscapeMrkdwn(label) + ">"
}

// Client talks to Slack. Exactly one of WebhookURL and Token is set.
type Client struct {
	HTTP *http.Client
	// WebhookURL is an incoming webhook's URL (a secret: it is the
	// credential).
	WebhookURL string
	// APIBase is the Web API's base ("https://slack.com/api") and Token
	// the bot token (xoxb-…).
	APIBase string
	Token   string
}

// APIResponse is the Web API's answer envelope.
type APIResponse struct {
	OK      bool            `json:"ok"`
	Error   string          `json:"error,omitempty"`
	Warning string          `json:"warning,omitempty"`
	TS      string          `json:"ts,omitempty"`
	Channel json.RawMessage `json:"channel,omitempty"`
	// auth.test
	Team   string `json:"team,omitempty"`
	User   string `json:"user,omitempty"`
	TeamID string `json:"team_id,omitempty"`
	BotID  string `json:"bot_id,omitempty"`
	URL    string `json:"url,omitempty"`
}

// ChannelInfo is conversations.info's channel.
type ChannelInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	IsArchived bool   `json:"is_archived"`
	IsMember   bool   `json:"is_member"`
}

// PostWebhook posts m through the incoming webhook. Slack answers 200 with
// the body "ok", or an error status with a short error string
// (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling_errors).
// A webhook posts to its own channel and returns no message id: no threads.
func (c *Client) PostWebhook(ctx context.Context, m Message) error {
	m.Channel, m.ThreadTS = "", ""
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("slack: encode message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "the incoming webhook URL cannot be used: %v", redactErr(err, c.WebhookURL))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Slack's incoming webhook did not answer: %v", redactErr(err, c.WebhookURL))
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	answer := strings.TrimSpace(string(text))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return webhookError(resp.StatusCode, resp.Header, answer)
}

func webhookError(status int, h http.Header, answer string) error {
	what := fmt.Sprintf("Slack's incoming webhook answered %d %s", status, firstLine(answer))
	switch answer {
	case "channel_is_archived":
		return sdk.RefusedError("%s: the webhook's channel is archived; make a webhook for another channel", what)
	case "action_prohibited", "posting_to_general_channel_denied":
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "%s: the workspace does not let this webhook post there", what)
	case "no_service", "no_service_id", "no_team", "team_disabled", "invalid_token":
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "%s: the webhook was removed or disabled; make a new one", what)
	case "invalid_payload", "no_text", "invalid_blocks", "invalid_blocks_format", "too_many_attachments":
		return sdk.Errorf(sdk.ErrorKindInvalid, "%s: Slack could not read the message", what)
	}
	return sdk.HTTPError(status, h, "%s", what)
}

// PostMessage posts m with chat.postMessage and returns the message's ts
// (https://docs.slack.dev/reference/methods/chat.postMessage).
func (c *Client) PostMessage(ctx context.Context, m Message) (string, error) {
	var r APIResponse
	if err := c.call(ctx, "chat.postMessage", m, &r); err != nil {
		return "", err
	}
	if r.TS == "" {
		return "", sdk.Errorf(sdk.ErrorKindUnavailable, "Slack's chat.postMessage answered ok without a ts")
	}
	return r.TS, nil
}

// AuthTest checks the token (https://docs.slack.dev/reference/methods/auth.test).
func (c *Client) AuthTest(ctx context.Context) (APIResponse, error) {
	var r APIResponse
	err := c.call(ctx, "auth.test", struct{}{}, &r)
	return r, err
}

// ChannelInfo reads a channel (https://docs.slack.dev/reference/methods/conversations.info).
func (c *Client) ChannelInfo(ctx context.Context, channel string) (ChannelInfo, error) {
	var r struct {
		APIResponse
		Channel ChannelInfo `json:"channel"`
	}
	// conversations.info takes form or query arguments, not JSON.
	if err := c.callForm(ctx, "conversations.info", "channel="+url.QueryEscape(channel), &r); err != nil {
		return ChannelInfo{}, err
	}
	return r.Channel, nil
}

func (c *Client) call(ctx context.Context, method string, args any, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("slack: encode %s: %w", method, err)
	}
	return c.do(ctx, method, "application/json; charset=utf-8", body, out)
}

func (c *Client) callForm(ctx context.Context, method, form string, out any) error {
	return c.do(ctx, method, "application/x-www-form-urlencoded", []byte(form), out)
}

func (c *Client) do(ctx context.Context, method, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIBase, "/")+"/"+method, bytes.NewReader(body))
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "slack %s: %v", method, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Slack's %s did not answer: %v", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Slack's %s answer broke off: %v", method, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// https://docs.slack.dev/apis/web-api/rate-limits: 429 with Retry-After.
		return sdk.HTTPError(resp.StatusCode, resp.Header, "Slack rate-limits %s", method)
	}
	var env APIResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &env) != nil {
		return sdk.HTTPError(resp.StatusCode, resp.Header, "Slack's %s answered %d: %.200s", method, resp.StatusCode, raw)
	}
	if !env.OK {
		return apiError(method, env.Error, resp.Header)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Slack's %s answer cannot be read: %v", method, err)
	}
	return nil
}

// apiError classifies the Web API's "ok": false answers (each method's
// page lists its errors).
func apiError(method, code string, h http.Header) error {
	what := fmt.Sprintf("Slack's %s answered %s", method, code)
	switch code {
	case "ratelimited", "rate_limited":
		d, ok := sdk.RetryAfterHeader(h, time.Now())
		if !ok {
			d = sdk.DefaultRetryAfter
		}
		return sdk.RetryAfterError(d, "%s", what)
	case "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission":
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "%s: check the bot token", what)
	case "missing_scope", "restricted_action", "ekm_access_denied", "team_access_not_granted":
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "%s: the app lacks the scope chat:write (and channels:read for the check)", what)
	case "channel_not_found":
		return sdk.Errorf(sdk.ErrorKindNotFound, "%s: no channel with that id, or the bot cannot see it (invite it to the channel)", what)
	case "not_in_channel", "is_archived", "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
		"restricted_action_non_threadable_channel", "cannot_reply_to_message", "thread_locked":
		return sdk.RefusedError("%s: the bot cannot post there until someone changes the channel or invites the bot", what)
	case "msg_too_long", "msg_blocks_too_long", "no_text", "invalid_blocks", "invalid_blocks_format", "too_many_attachments", "invalid_arguments",
		"invalid_arg_name", "invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type", "invalid_json", "json_not_object":
		return sdk.Errorf(sdk.ErrorKindInvalid, "%s", what)
	case "fatal_error", "internal_error", "service_unavailable", "request_timeout":
		return sdk.Errorf(sdk.ErrorKindUnavailable, "%s", what)
	}
	return sdk.Errorf(sdk.ErrorKindUnavailable, "%s (an error the plugin does not know; retried)", what)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// redactErr removes the webhook's URL (a secret) from a transport error.
func redactErr(err error, secretURL string) string {
	msg := err.Error()
	if secretURL != "" {
		msg = strings.ReplaceAll(msg, secretURL, "REDACTED")
		if i := strings.Index(secretURL, "/services/"); i >= 0 {
			msg = strings.ReplaceAll(msg, secretURL[i:], "/services/REDACTED")
		}
	}
	return msg
}
