// Package agc is a client of Huawei AppGallery Connect's Comments API for
// an API client (client ID and key): it obtains the access token
// (POST /api/oauth2/v1/token, 48 hours), caches it and renews it before it
// expires, lists and reads reviews and posts developer replies on the
// HarmonyOS (v2) or the Android (v1) endpoints of one site's host, and
// reads the API's {"rtnCode", "rtnDesc"} envelope. Facts, sources and
// guesses are in plugins/appgallery/README.md; every guess is marked GUESS.
package agc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Sites are AppGallery Connect's data sites and their API hosts. The token
// must be obtained from the same host as the API it is used on.
var Sites = map[string]string{
	"cn": "https://connect-api.cloud.huawei.com",      // China
	"de": "https://connect-api-dre.cloud.huawei.com",  // Germany (Europe)
	"ru": "https://connect-api-drru.cloud.huawei.com", // Russia
	"sg": "https://connect-api-dra.cloud.huawei.com",  // Singapore (Asia, Africa, Latin America)
}

// Platforms and their Comments API paths: HarmonyOS apps (v2, the
// "marketing-api") and Android apps (v1).
const (
	PlatformHarmonyOS = "harmonyos"
	PlatformAndroid   = "android"
)

// ReviewsPath is the path of the list (GET), the reply (POST) and, with
// /{reviewId}, the detail (GET) of a platform.
func ReviewsPath(platform string) string {
	if platform == PlatformAndroid {
		return "/api/reviews/v1/manage/dev/reviews"
	}
	return "/api/marketing-api/v2/reviews/manage/dev/reviews"
}

// TokenPath is the API client's token endpoint.
const TokenPath = "/api/oauth2/v1/token"

// Limits Huawei documents (or a third party does, see README).
const (
	// MaxPageSize is the largest "limit" of a list call (third party:
	// "每页条数，最大 100，默认 20").
	MaxPageSize = 100
	// Window is the longest time window of one list call: 6 months
	// (rtnCode 50010034 "开始时间和结束时间之间超过6个月"). GUESS: 180 days.
	Window = 180 * 24 * time.Hour
	// ReplyMaxLength is the longest reply the plugin sends, in characters.
	// GUESS: Huawei documents no limit for devReplyContent; 500 is the
	// limit the project's earlier trial assumed and the safe side of what
	// the console accepts.
	ReplyMaxLength = 500
	// TokenRenewBefore is how long before its expiry a cached token is
	// replaced (tokens live expires_in seconds, 172800 in Huawei's example).
	TokenRenewBefore = 30 * time.Minute
	// MaxResponseBytes bounds an answer of the API.
	MaxResponseBytes = 16 << 20
)

// Return codes of the Comments API (rtnCode), from Huawei's table.
const (
	CodeOK             = 0
	CodeDuplicate      = 50010015 // 请求重复
	CodePageTooLong    = 50010016 // 查分页超长
	CodeBadParameter   = 50010003 // 请求参数错误
	CodeBeginAfterEnd  = 50010035
	CodeWindowTooLong  = 50010034
	CodeNoApp          = 50010027 // 应用信息不存在
	CodeNotYourApp     = 50010028 // 当前应用不属于该开发者
	CodeReplyIllegal   = 50010029 // 回复内容不合法
	CodeReplyFailed    = 50010030 // 创建回复内容失败
	CodeNoReview       = 50010037 // 评论不存在
	CodeUnknown        = 50010059 // 未知异常
	CodeReplyRejected  = 50010074 // 回复内容未审核通过
	CodeAlreadyReplied = 50010077 // 评论下已存在开发者回复
	CodeBadRating      = 50010146
	CodeNeverRated     = 50010025
	CodeBadCountryCode = 50010040
	// devReplyState: 0 not replied, 1 replied, 3 the reply was answered,
	// 6 the user added a reply (third party, see README).
	replyStateReplied  = 1
	replyStateAnswered = 3
	replyStateFollowUp = 6
)

// Tokens caches access tokens per API client and host. The zero value is ready.
type Tokens struct {
	mu    sync.Mutex
	cache map[string]token
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

type token struct {
	value string
	exp   time.Time // when to stop using it (before Huawei's expiry)
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Client calls the Comments API of one site with one API client.
type Client struct {
	BaseURL      string // a host of Sites, or a test server
	Platform     string // PlatformHarmonyOS or PlatformAndroid
	ClientID     string
	ClientSecret string
	Tokens       *Tokens
	HTTP         *http.Client
}

func (c *Client) hc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: MaxResponseBytes})
}

// cacheKey names the credential and host without keeping the secret.
func (c *Client) cacheKey() string {
	sum := sha256.Sum256([]byte(c.BaseURL + "\x00" + c.ClientID + "\x00" + c.ClientSecret))
	return hex.EncodeToString(sum[:])
}

// TokenInfo is what a token request reported.
type TokenInfo struct {
	TTL time.Duration
}

// NewToken obtains a fresh token and caches it (CheckCredentials).
func (c *Client) NewToken(ctx context.Context) (TokenInfo, error) {
	_, ttl, err := c.newToken(ctx)
	return TokenInfo{TTL: ttl}, err
}

func (c *Client) token(ctx context.Context) (string, error) {
	t := c.Tokens
	t.mu.Lock()
	tk, ok := t.cache[c.cacheKey()]
	t.mu.Unlock()
	if ok && t.now().Before(tk.exp) {
		return tk.value, nil
	}
	v, _, err := c.newToken(ctx)
	return v, err
}

func (c *Client) forget() {
	c.Tokens.mu.Lock()
	delete(c.Tokens.cache, c.cacheKey())
	c.Tokens.mu.Unlock()
}

func (c *Client) newToken(ctx context.Context) (string, time.Duration, error) {
	raw, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": c.ClientID, "client_secret": c.ClientSecret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+TokenPath, bytes.NewReader(raw))
	if err != nil {
		return "", 0, sdk.Errorf(sdk.ErrorKindInvalid, "appgallery: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, data, err := c.do(req)
	if err != nil {
		return "", 0, err
	}
	var body struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
		Ret         *ret        `json:"ret"`
	}
	_ = json.Unmarshal(data, &body)
	if resp.StatusCode/100 != 2 || body.AccessToken == "" {
		msg := "no access_token in the answer"
		if body.Ret != nil {
			msg = fmt.Sprintf("ret %d %s", body.Ret.Code, body.Ret.Msg)
		}
		status := resp.StatusCode
		if status/100 == 2 {
			// GUESS: a refused client answered 200 with a "ret" error and no token.
			status = http.StatusUnauthorized
		}
		return "", 0, sdk.HTTPError(status, resp.Header, "appgallery refused the API client's ID and key when asked for a token (%d: %s); check the client in AppGallery Connect → Users and permissions → API key → Connect API, and that its site is this account's", resp.StatusCode, msg)
	}
	secs, err := body.ExpiresIn.Int64()
	if err != nil || secs <= 0 {
		secs = 3600 // GUESS: an answer without a usable lifetime is trusted for an hour
	}
	ttl := time.Duration(secs) * time.Second
	keep := ttl - min(TokenRenewBefore, ttl/4)
	t := c.Tokens
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[string]token{}
	}
	t.cache[c.cacheKey()] = token{value: body.AccessToken, exp: t.now().Add(keep)}
	t.mu.Unlock()
	return body.AccessToken, ttl, nil
}

// ret is the error form of the gateway ({"ret": {"code", "msg"}}) and,
// in the form a third-party v1 client reports from the live API, the
// Comments API's own result ({"ret": {"rtnCode", "rtnDesc"}, "data"}).
type ret struct {
	Code    int64  `json:"code"`
	Msg     string `json:"msg"`
	RtnCode *int64 `json:"rtnCode"`
	RtnDesc string `json:"rtnDesc"`
}

// Envelope is the Comments API's answer: rtnCode 0 is success. Huawei's
// examples put rtnCode and rtnDesc at the top; a third-party client of v1
// reads them inside "ret" (GUESS: both forms occur; either is taken).
type Envelope struct {
	RtnCode *int64          `json:"rtnCode"`
	RtnDesc string          `json:"rtnDesc"`
	Data    json.RawMessage `json:"data"`
	Ret     *ret            `json:"ret"`
}

func (c *Client) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.hc().Do(req)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "appgallery %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "appgallery %s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	return resp, data, nil
}

// Call sends one API request with the token and the client_id header and
// returns the envelope's data; a token refused with 401 is renewed once.
// A non-zero rtnCode is an *RtnError (CodeOf).
func (c *Client) Call(ctx context.Context, method, path string, q url.Values, body any) (json.RawMessage, error) {
	return c.call(ctx, method, path, q, body, nil)
}

// RtnError is a non-zero rtnCode; it unwraps to the SDK error Classify
// made of it.
type RtnError struct {
	Code int64
	Err  error
}

func (e *RtnError) Error() string { return e.Err.Error() }
func (e *RtnError) Unwrap() error { return e.Err }

// CodeOf is the rtnCode of an error of Call (0: none).
func CodeOf(err error) int64 {
	var e *RtnError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func (c *Client) call(ctx context.Context, method, path string, q url.Values, body any, header map[string]string) (json.RawMessage, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(raw))
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "appgallery: %v", err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		req.Header.Set("client_id", c.ClientID)
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, data, err := c.do(req)
		if err != nil {
			return nil, err
		}
		var env Envelope
		jsonErr := json.Unmarshal(data, &env)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.forget()
			continue
		}
		what := "appgallery " + method + " " + path
		if resp.StatusCode/100 != 2 {
			msg := env.RtnDesc
			if env.Ret != nil {
				msg = fmt.Sprintf("ret %d %s", env.Ret.Code, env.Ret.Msg)
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				return nil, sdk.HTTPError(resp.StatusCode, resp.Header, "AppGallery rate limit: %s", msg)
			}
			return nil, sdk.HTTPError(resp.StatusCode, resp.Header, "%s: %d %s", what, resp.StatusCode, msg)
		}
		code, desc := env.RtnCode, env.RtnDesc
		if code == nil && env.Ret != nil {
			code, desc = env.Ret.RtnCode, env.Ret.RtnDesc
		}
		if jsonErr != nil || code == nil {
			return nil, sdk.Errorf(sdk.ErrorKindUnavailable, "%s: the answer is not the Comments API's {rtnCode, rtnDesc} nor {ret: {rtnCode, rtnDesc}} (%s)", what, sdk.ShapeOf(data))
		}
		if *code != CodeOK {
			return nil, &RtnError{Code: *code, Err: Classify(*code, desc, what)}
		}
		return env.Data, nil
	}
}

// Classify turns a non-zero rtnCode into the SDK's error kinds.
func Classify(code int64, desc, what string) error {
	kind := sdk.ErrorKindUnavailable // 50010059 unknown, 50010030 create failed, codes not in the table
	hint := ""
	switch code {
	case CodeNoApp:
		kind, hint = sdk.ErrorKindNotFound, "the app does not exist (check the app ID: AppGallery Connect → My apps → App information)"
	case CodeNoReview:
		kind, hint = sdk.ErrorKindNotFound, "the review does not exist"
	case CodeNotYourApp:
		kind, hint = sdk.ErrorKindPermissionDenied, "the app does not belong to this API client's team"
	case CodeAlreadyReplied:
		kind, hint = sdk.ErrorKindRefused, "the review already has a developer reply; AppGallery takes one per review"
	case CodeReplyIllegal, CodeReplyRejected:
		kind, hint = sdk.ErrorKindRefused, "AppGallery refused the reply's content"
	case CodeBadParameter, CodeBeginAfterEnd, CodeWindowTooLong, CodePageTooLong, CodeBadRating, CodeBadCountryCode, CodeDuplicate:
		kind, hint = sdk.ErrorKindInvalid, "the request was refused as invalid"
	case CodeNeverRated:
		kind, hint = sdk.ErrorKindNotFound, "the app has not been rated"
	}
	msg := fmt.Sprintf("%s: rtnCode %d %s", what, code, desc)
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return sdk.Errorf(kind, "%s", msg)
}

// Item is a review as the list shows it (third party, see README; GUESS:
// the same fields on v2).
type Item struct {
	ReviewID      flexString `json:"reviewId"`
	Content       string     `json:"content"`
	Rating        flexInt    `json:"rating"`
	Dateline      flexInt    `json:"dateline"` // ms
	Lang          string     `json:"lang"`
	CountryCode   string     `json:"countryCode"`
	VersionName   string     `json:"versionName"`
	PhoneName     string     `json:"phoneName"`
	DevReplyState flexInt    `json:"devReplyState"`
	// GUESS: the detail adds the developer's reply.
	DevReplyContent string     `json:"devReplyContent,omitempty"`
	DevReplyTime    flexInt    `json:"devReplyTime,omitempty"`
	DevReplyID      flexString `json:"devReplyId,omitempty"`
}

// Time is when the review was written or last edited.
func (it Item) Time() time.Time { return time.UnixMilli(int64(it.Dateline)).UTC() }

// MayHaveReply reports whether the review may carry a developer reply, so
// its detail must be read: devReplyState 1 (replied), 3 (the reply was
// answered) or 6 (the user added a follow-up). GUESS: whether 6 implies a
// developer reply is not documented (a third-party client counts only 1
// and 3; a third-party tool reads 6 as "用户追加回复"); the detail tells,
// and a review listed without its reply would tell the hub the reply was
// removed.
func (it Item) MayHaveReply() bool {
	switch int(it.DevReplyState) {
	case replyStateReplied, replyStateAnswered, replyStateFollowUp:
		return true
	}
	return false
}

// Page is one page of the list.
type Page struct {
	Items   []json.RawMessage
	HasNext bool
	Total   int64
}

// ListParams are a list call's filters.
type ListParams struct {
	AppID      string
	Begin, End time.Time // inclusive, ms
	Countries  []string
	Page       int // from 1
	Limit      int // ≤ MaxPageSize
}

// List reads one page of reviews, newest first (sort 0). GUESS: "sort 0 按时间"
// lists the newest first.
func (c *Client) List(ctx context.Context, p ListParams) (Page, error) {
	q := url.Values{
		"appId":     {p.AppID},
		"beginTime": {strconv.FormatInt(p.Begin.UnixMilli(), 10)},
		"endTime":   {strconv.FormatInt(p.End.UnixMilli(), 10)},
		"countries": {strings.Join(p.Countries, ",")},
		"page":      {strconv.Itoa(max(p.Page, 1))},
		"limit":     {strconv.Itoa(p.Limit)},
		"sort":      {"0"},
	}
	data, err := c.Call(ctx, http.MethodGet, ReviewsPath(c.Platform), q, nil)
	if err != nil {
		return Page{}, err
	}
	var body struct {
		ReviewList []json.RawMessage `json:"reviewList"`
		HasNext    flexBool          `json:"hasNext"`
		Total      flexInt           `json:"total"`
	}
	if len(data) > 0 && string(data) != "null" {
		if err := json.Unmarshal(data, &body); err != nil {
			return Page{}, sdk.Errorf(sdk.ErrorKindUnavailable, "appgallery list: data is not {reviewList, hasNext} (%s)", sdk.ShapeOf(data))
		}
	}
	return Page{Items: body.ReviewList, HasNext: bool(body.HasNext), Total: int64(body.Total)}, nil
}

// Get reads one review with the developer's reply.
func (c *Client) Get(ctx context.Context, appID, reviewID string) (Item, error) {
	data, err := c.Call(ctx, http.MethodGet, ReviewsPath(c.Platform)+"/"+url.PathEscape(reviewID), url.Values{"appId": {appID}}, nil)
	if err != nil {
		return Item{}, err
	}
	var it Item
	if err := json.Unmarshal(data, &it); err != nil || it.ReviewID == "" {
		return Item{}, sdk.Errorf(sdk.ErrorKindUnavailable, "appgallery detail of review %s: data is not a review (%s)", reviewID, sdk.ShapeOf(data))
	}
	return it, nil
}

// ReplyParams are the body of a reply, and its request id.
type ReplyParams struct {
	Lang        string `json:"lang"`
	AppID       string `json:"appId"`
	ReviewID    string `json:"reviewId"`
	Content     string `json:"devReplyContent"`
	CountryCode string `json:"countryCode"`
	// RequestID goes in the requestId header when set (ReplyRequestID).
	RequestID string `json:"-"`
}

// RequestIDHeader is the header a reply's request id goes in. GUESS:
// Huawei's reply reference names only client_id and Authorization; a
// third-party v1 client sends a requestId header with every reply ("the
// unique request id the Reviews API expects"), and the return codes have
// 50010015 "请求重复" (duplicate request).
const RequestIDHeader = "requestId"

// ReplyRequestID is the request id of a reply: the same for the same app,
// review and text, so a retried reply is recognised as a duplicate
// (rtnCode 50010015) rather than sent twice.
func ReplyRequestID(appID, reviewID, text string) string {
	sum := sha256.Sum256([]byte("appgallery-reply\x00" + appID + "\x00" + reviewID + "\x00" + text))
	return hex.EncodeToString(sum[:16])
}

// Reply posts the developer's reply to a review (one per review).
func (c *Client) Reply(ctx context.Context, p ReplyParams) error {
	var h map[string]string
	if p.RequestID != "" {
		h = map[string]string{RequestIDHeader: p.RequestID}
	}
	_, err := c.call(ctx, http.MethodPost, ReviewsPath(c.Platform), nil, p, h)
	return err
}

// ReplyLang is the lang a reply to a review in lang is sent with. HarmonyOS
// (v2) takes zh, en, bo or ug; GUESS: any other language is sent as en.
// Android (v1) takes the review's own form (zh_CN).
func ReplyLang(platform, lang string) string {
	if platform == PlatformAndroid {
		if lang == "" {
			return "en_US" // GUESS
		}
		return lang
	}
	base := strings.ToLower(lang)
	if i := strings.IndexAny(base, "_-"); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "zh", "en", "bo", "ug":
		return base
	}
	return "en"
}

// flexString reads a JSON string or number (the reply reference types
// reviewId as Long; its example sends a hex string).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*s = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(strings.TrimSpace(v))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id must be a string or a number, not %s", sdk.ShapeOf(b))
	}
	*s = flexString(n.String())
	return nil
}

// flexInt reads a JSON number or a numeric string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not a whole number", sdk.ShapeOf(b))
	}
	*n = flexInt(v)
	return nil
}

// flexBool reads true/false, 1/0 or the same as strings (a third-party
// client of v1 reports the live API answering hasNext as a number).
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch s {
	case "true", "1":
		*v = true
	case "false", "0", "null", "":
		*v = false
	default:
		return fmt.Errorf("hasNext %s is not a boolean", s)
	}
	return nil
}

// Decode reads one listed review.
func Decode(raw json.RawMessage) (Item, error) {
	var it Item
	if err := json.Unmarshal(raw, &it); err != nil {
		return it, fmt.Errorf("the review does not read as AppGallery's review: %w", err)
	}
	return it, nil
}

// IDOf digs the reviewId out of a review that does not decode; "" if none.
func IDOf(raw json.RawMessage) string {
	var probe struct {
		ReviewID flexString `json:"reviewId"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	return string(probe.ReviewID)
}

// Map maps a listed review to the SDK's review; reply is the detail when
// the review was replied to (nil otherwise).
func Map(appID string, it Item, reply *Item) (sdk.Review, error) {
	if it.ReviewID == "" {
		return sdk.Review{}, fmt.Errorf("a review without reviewId")
	}
	if it.Rating < 1 || it.Rating > 5 {
		return sdk.Review{}, fmt.Errorf("review %s: rating %d is not 1..5", it.ReviewID, it.Rating)
	}
	if it.Dateline <= 0 {
		return sdk.Review{}, fmt.Errorf("review %s: no dateline", it.ReviewID)
	}
	t := it.Time()
	r := sdk.Review{ID: string(it.ReviewID), AppID: appID, Rating: int(it.Rating), Text: it.Content,
		Language: strings.ReplaceAll(it.Lang, "_", "-"), Country: strings.ToUpper(it.CountryCode),
		AppVersion: it.VersionName, Device: it.PhoneName, CreatedAt: t, UpdatedAt: t,
		// GUESS: the app's public page; AppGallery's web pages take C + the app ID.
		URL: "https://appgallery.huawei.com/app/C" + url.PathEscape(appID)}
	if reply != nil && reply.DevReplyContent != "" {
		rep := sdk.DeveloperReply{ID: string(reply.DevReplyID), Text: reply.DevReplyContent, State: "PUBLISHED"}
		if reply.DevReplyTime > 0 {
			rep.UpdatedAt = time.UnixMilli(int64(reply.DevReplyTime)).UTC()
		}
		r.Reply = &rep
	}
	return r, nil
}
