// Package telegram is the Telegram plugin's client of the Bot API
// (https://core.telegram.org/bots/api): sendMessage with MarkdownV2 and a
// reply for the thread, getMe and getChatMember for the settings check, and
// the API's answers ({"ok": false, "error_code", "description",
// "parameters": {"retry_after"}}) turned into classified errors.
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// MaxTextLength is sendMessage's limit: "Text of the message to be sent,
// 1-4096 characters after entities parsing"
// (https://core.telegram.org/bots/api#sendmessage).
const MaxTextLength = 4096

// reserved are the characters MarkdownV2 reserves outside entities: "In
// all other places characters '_', '*', '[', ']', '(', ')', '~', '`', '>',
// '#', '+', '-', '=', '|', '{', '}', '.', '!' must be escaped with the
// preceding character '\'" (https://core.telegram.org/bots/api#markdownv2-style).
// The backslash itself is escaped too ("any character with code between 1
// and 126 inclusively can be escaped anywhere with a preceding '\'").
const reserved = "_*[]()~`>#+-=|{}.!\\"

// Escape escapes text for MarkdownV2, outside code and links.
func Escape(text string) string {
	var b strings.Builder
	for _, r := range text {
		if strings.ContainsRune(reserved, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// EscapeURL escapes the (...) part of an inline link: "Inside the (...)
// part of the inline link and custom emoji definition, all ')' and '\'
// must be escaped with a preceding '\' character."
func EscapeURL(u string) string {
	return strings.NewReplacer(`\`, `\\`, `)`, `\)`).Replace(u)
}

// Client talks to the Bot API.
type Client struct {
	HTTP  *http.Client
	Base  string // https://api.telegram.org
	Token string
}

// Response is the Bot API's answer: "The response contains a JSON object,
// which always has a Boolean field 'ok' and may have an optional String
// field 'description' … If 'ok' equals False … an Integer 'error_code'
// field is also returned" and "parameters" (ResponseParameters)
// (https://core.telegram.org/bots/api#making-requests).
type Response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
		RetryAfter      int   `json:"retry_after"`
	} `json:"parameters"`
}

// Message is the part of a Message the plugin reads.
type Message struct {
	MessageID int64  `json:"message_id"`
	Date      int64  `json:"date"`
	Chat      Chat   `json:"chat"`
	Text      string `json:"text"`
	ReplyTo   *struct {
		MessageID int64 `json:"message_id"`
	} `json:"reply_to_message"`
}

// Chat is the part of a Chat the plugin reads.
type Chat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title"`
}

// User is the part of a User the plugin reads.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username"`
}

// ChatMember is the part of a ChatMember the plugin reads.
type ChatMember struct {
	Status          string `json:"status"` // creator, administrator, member, restricted, left, kicked
	CanPostMessages *bool  `json:"can_post_messages"`
	CanSendMessages *bool  `json:"can_send_messages"`
}

// SendMessage sends text (MarkdownV2) to chatID, as a reply to message
// replyTo when it is not 0, and returns the message.
func (c *Client) SendMessage(ctx context.Context, chatID, text string, replyTo int64) (Message, error) {
	args := map[string]any{"chat_id": chatID, "text": text, "parse_mode": "MarkdownV2",
		"link_preview_options": map[string]any{"is_disabled": true}}
	if replyTo != 0 {
		// Bot API 7.0: reply_parameters replaces reply_to_message_id; a
		// thread whose first message was deleted still gets the message.
		args["reply_parameters"] = map[string]any{"message_id": replyTo, "allow_sending_without_reply": true}
	}
	var m Message
	err := c.call(ctx, "sendMessage", args, &m)
	return m, err
}

// GetMe is the bot (https://core.telegram.org/bots/api#getme).
func (c *Client) GetMe(ctx context.Context) (User, error) {
	var u User
	err := c.call(ctx, "getMe", map[string]any{}, &u)
	return u, err
}

// GetChatMember is user's membership of chatID
// (https://core.telegram.org/bots/api#getchatmember).
func (c *Client) GetChatMember(ctx context.Context, chatID string, userID int64) (ChatMember, error) {
	var m ChatMember
	err := c.call(ctx, "getChatMember", map[string]any{"chat_id": chatID, "user_id": userID}, &m)
	return m, err
}

func (c *Client) call(ctx context.Context, method string, args any, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("telegram: encode %s: %w", method, err)
	}
	// The token is part of the path: never in an error (the HTTP client's
	// logs and spans show the path as REDACTED, sdk.HTTPOptions.SecretPath).
	u := strings.TrimSuffix(c.Base, "/") + "/bot" + c.Token + "/" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "telegram %s: the base URL or token cannot make a request", method)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which holds the token
		}
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Telegram's %s did not answer: %v", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Telegram's %s answer broke off: %v", method, err)
	}
	var r Response
	if json.Unmarshal(raw, &r) != nil {
		return sdk.HTTPError(resp.StatusCode, resp.Header, "Telegram's %s answered %d with no Bot API answer", method, resp.StatusCode)
	}
	if !r.OK {
		return apiError(method, resp.StatusCode, r)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "Telegram's %s result cannot be read: %v", method, err)
	}
	return nil
}

// apiError classifies an "ok": false answer by its error_code (the HTTP
// status when it has none) and description.
func apiError(method string, status int, r Response) error {
	code := r.ErrorCode
	if code == 0 {
		code = status
	}
	what := fmt.Sprintf("Telegram's %s answered %d %s", method, code, r.Description)
	desc := strings.ToLower(r.Description)
	switch {
	case code == http.StatusTooManyRequests:
		d := sdk.DefaultRetryAfter
		if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
			d = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
		return sdk.RetryAfterError(d, "%s", what)
	case r.Parameters != nil && r.Parameters.MigrateToChatID != 0:
		return sdk.RefusedError("%s: the group became a supergroup; set chat_id to %s", what, strconv.FormatInt(r.Parameters.MigrateToChatID, 10))
	case code == http.StatusBadRequest && strings.Contains(desc, "chat not found"):
		return sdk.Errorf(sdk.ErrorKindNotFound, "%s: check chat_id, and that the bot was added to the chat", what)
	case code == http.StatusForbidden && (strings.Contains(desc, "kicked") || strings.Contains(desc, "blocked") ||
		strings.Contains(desc, "not a member") || strings.Contains(desc, "not enough rights")):
		return sdk.RefusedError("%s: add the bot to the chat again (with the right to post)", what)
	}
	return sdk.Errorf(sdk.KindFromHTTPStatus(code), "%s", what)
}
