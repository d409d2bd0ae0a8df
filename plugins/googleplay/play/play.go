// Package play maps Google Play's Android Publisher API (reviews.list,
// reviews.get, reviews.reply through the official Go client) to the
// Reviewhub SDK: review fields, errors and paging state. Facts and sources
// are in plugins/googleplay/README.md.
package play

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/oauth2"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"

	"github.com/reviewhub/reviewhub/sdk"
)

// ReplyMaxLength is Google Play's limit on a developer reply, in characters:
// "Replies of more than approximately 350 characters will be rejected. HTML
// tags will be stripped." (discovery document, ReviewsReplyRequest.replyText);
// "well-formed HTML tags are removed and are not included in the character
// count" (developers.google.com/android-publisher/reply-to-reviews).
const ReplyMaxLength = 350

// htmlTag matches a well-formed HTML tag: <b>, </b>, <br/>, <a href="x">.
// A lone "<" or "a < b > c" is text, not a tag.
var htmlTag = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>`)

// StripTags is the reply as Google stores it: well-formed HTML tags removed
// (their content kept), surrounding space trimmed.
func StripTags(text string) string {
	return strings.TrimSpace(htmlTag.ReplaceAllString(text, ""))
}

// ReplyLength is the length Google's limit is checked against, counted on
// the safe side: tags removed (Google does not count them), surrounding
// space still counted, in UTF-16 code units (an emoji outside the Basic
// Multilingual Plane counts twice), since Google says only "approximately
// 350 characters" and names no unit.
func ReplyLength(text string) int {
	return len(utf16.Encode([]rune(htmlTag.ReplaceAllString(text, ""))))
}

// Time converts an API timestamp.
func Time(ts *androidpublisher.Timestamp) time.Time {
	if ts == nil || (ts.Seconds == 0 && ts.Nanos == 0) {
		return time.Time{}
	}
	return time.Unix(ts.Seconds, ts.Nanos).UTC()
}

// SplitText splits UserComment.text into title and body: "In some cases
// users have been able to write a review with separate title and body; in
// those cases the title and body are concatenated and separated by a tab
// character" (discovery document, UserComment.text). Without a tab the whole
// text is the body.
func SplitText(text string) (title, body string) {
	if t, b, ok := strings.Cut(text, "\t"); ok {
		return strings.TrimSpace(t), strings.TrimSpace(b)
	}
	return "", strings.TrimSpace(text)
}

// ReviewURL is a link to the review. With the developer account id and the
// app id of Play Console (both numeric, in the Console's own address
// play.google.com/console/developers/{account}/app/{app}/...) it is the
// review's page in Play Console; without them it is the app's public store
// page with the reviewId parameter, the form integrators link reviews with
// (the Console link cannot be built without both ids).
func ReviewURL(pkg, reviewID, developerAccount, consoleApp string) string {
	if developerAccount != "" && consoleApp != "" {
		return "https://play.google.com/console/developers/" + url.PathEscape(developerAccount) + "/app/" + url.PathEscape(consoleApp) +
			"/user-feedback/review-details?reviewId=" + url.QueryEscape(reviewID) + "&corpus=PUBLIC_REVIEWS"
	}
	return "https://play.google.com/store/apps/details?id=" + url.QueryEscape(pkg) + "&reviewId=" + url.QueryEscape(reviewID)
}

// Review maps one API review. The API puts the user's comment and the
// developer's reply in "comments"; the newest user comment is the review as
// it is now. An error means the review cannot be mapped (no id, no user
// comment, a rating outside 1..5); the caller reports it as unreadable.
func Review(pkg string, r *androidpublisher.Review) (sdk.Review, error) {
	return ReviewWithLink(pkg, r, "", "")
}

// ReviewWithLink is Review with Play Console ids for the link (ReviewURL).
func ReviewWithLink(pkg string, r *androidpublisher.Review, developerAccount, consoleApp string) (sdk.Review, error) {
	if r == nil || r.ReviewId == "" {
		return sdk.Review{}, errors.New("a review without reviewId")
	}
	out := sdk.Review{ID: r.ReviewId, AppID: pkg, Author: r.AuthorName, Extra: map[string]string{}}
	var user *androidpublisher.UserComment
	for _, c := range r.Comments {
		if c == nil {
			continue
		}
		if c.UserComment != nil && (user == nil || Time(c.UserComment.LastModified).After(Time(user.LastModified))) {
			user = c.UserComment
		}
		if d := c.DeveloperComment; d != nil && d.Text != "" {
			out.Reply = &sdk.DeveloperReply{Text: d.Text, UpdatedAt: Time(d.LastModified), State: "PUBLISHED"}
		}
	}
	if user == nil {
		return sdk.Review{}, fmt.Errorf("review %s has no user comment", r.ReviewId)
	}
	if user.StarRating < 1 || user.StarRating > 5 {
		return sdk.Review{}, fmt.Errorf("review %s has star rating %d, want 1..5", r.ReviewId, user.StarRating)
	}
	out.Rating = int(user.StarRating)
	out.Title, out.Text = SplitText(user.Text)
	out.Language = strings.ReplaceAll(user.ReviewerLanguage, "_", "-")
	out.Device = user.Device
	if user.AndroidOsVersion > 0 {
		out.OSVersion = "API " + strconv.FormatInt(user.AndroidOsVersion, 10)
	}
	out.AppVersion = user.AppVersionName
	if user.AppVersionCode > 0 {
		out.Extra["app_version_code"] = strconv.FormatInt(user.AppVersionCode, 10)
	}
	if user.OriginalText != "" && user.OriginalText != user.Text {
		out.Extra["original_text"] = user.OriginalText
	}
	out.ThumbsUp, out.ThumbsDown = int(user.ThumbsUpCount), int(user.ThumbsDownCount)
	out.UpdatedAt = Time(user.LastModified)
	out.CreatedAt = out.UpdatedAt // the API does not give the creation time
	if m := user.DeviceMetadata; m != nil {
		for k, v := range map[string]string{"device_manufacturer": m.Manufacturer, "device_product": m.ProductName,
			"device_class": m.DeviceClass, "cpu_make": m.CpuMake, "cpu_model": m.CpuModel, "gl_es_version": strconv.FormatInt(m.GlEsVersion, 10),
			"ram_mb": strconv.FormatInt(m.RamMb, 10), "screen_density_dpi": strconv.FormatInt(m.ScreenDensityDpi, 10)} {
			if v != "" && v != "0" {
				out.Extra[k] = v
			}
		}
	}
	out.URL = ReviewURL(pkg, r.ReviewId, developerAccount, consoleApp)
	if len(out.Extra) == 0 {
		out.Extra = nil
	}
	return out, nil
}

// DefaultRetryAfter is used for a rate limit (429 or a rate-limit reason)
// that carries no Retry-After, names no period and does not say "quota":
// Google's per-minute bucket of 3,000 queries per project.
const DefaultRetryAfter = time.Minute

// QuotaRetryAfter is used for a spent quota that names no period: the
// per-app Reply to Reviews quotas are 200 GET an hour and 2,000 POST a day
// (developers.google.com/android-publisher/reply-to-reviews#quotas), so
// asking again within the hour only spends more of it.
const QuotaRetryAfter = time.Hour

// rateLimitReasons are the errors[].reason values Google gives for rate
// limits and spent quota (besides any reason mentioning "quota").
var rateLimitReasons = map[string]bool{
	"rateLimitExceeded": true, "userRateLimitExceeded": true, "quotaExceeded": true, "dailyLimitExceeded": true,
	"rateLimitExceededUnreg": true, "userRateLimitExceededUnreg": true, "variableTermLimitExceeded": true,
}

// apiStatus is error.status of Google's error body (PERMISSION_DENIED,
// RESOURCE_EXHAUSTED…), which the client does not parse.
func apiStatus(ge *googleapi.Error) string {
	var body struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(ge.Body), &body) != nil {
		return ""
	}
	return body.Error.Status
}

// quotaKind tells whether ge is a rate limit or a spent quota: a 429,
// status RESOURCE_EXHAUSTED, a reason of the rateLimitExceeded family or
// mentioning quota (Google also sends e.g. publishingDailySaveQuotaExceeded),
// or the message "Quota exceeded". quotaWord reports whether the answer says
// "quota" (a quota rather than a rate).
func quotaKind(ge *googleapi.Error) (limited, quotaWord bool) {
	limited = ge.Code == http.StatusTooManyRequests || apiStatus(ge) == "RESOURCE_EXHAUSTED"
	for _, e := range ge.Errors {
		r := strings.ToLower(e.Reason)
		if strings.Contains(r, "quota") {
			limited, quotaWord = true, true
		}
		if rateLimitReasons[e.Reason] || strings.HasSuffix(r, "limitexceeded") {
			limited = true
		}
		if strings.Contains(strings.ToLower(e.Message), "quota exceeded") {
			limited, quotaWord = true, true
		}
	}
	if strings.Contains(strings.ToLower(ge.Message), "quota exceeded") {
		limited, quotaWord = true, true
	}
	return limited, quotaWord
}

// retryAfter is how long to wait after a quota error: the Retry-After header
// when there is one; else by the period the answer names ("per minute" a
// minute, "per hour" or "per day" an hour); else an hour for a spent quota
// (QuotaRetryAfter) and a minute for a rate limit (DefaultRetryAfter).
func retryAfter(ge *googleapi.Error, reasons map[string]bool, quotaWord bool) time.Duration {
	if d, ok := sdk.ParseRetryAfter(ge.Header.Get("Retry-After"), time.Now()); ok {
		return d
	}
	msg := strings.ToLower(ge.Message)
	switch {
	case reasons["dailyLimitExceeded"] || strings.Contains(msg, "per day") || strings.Contains(msg, "per hour"):
		return time.Hour
	case strings.Contains(msg, "per minute"):
		return time.Minute
	case quotaWord:
		return QuotaRetryAfter
	}
	return DefaultRetryAfter
}

// Forbidden reports whether err is a 403 that is not a quota answer: the
// service account may not do this (whole package, or one review).
func Forbidden(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusForbidden {
		return false
	}
	limited, _ := quotaKind(ge)
	return !limited
}

// ServerError reports whether err is a 5xx answer of the API, and its code.
func ServerError(err error) (int, bool) {
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code >= 500 {
		return ge.Code, true
	}
	return 0, false
}

// message is Google's message of err, or the status text.
func message(ge *googleapi.Error) string {
	if ge.Message != "" {
		return ge.Message
	}
	return http.StatusText(ge.Code)
}

// ReplyRefused is the error for a 403 on reviews.reply when the package
// itself is readable (listing works): Google refused the reply to this one
// review. Such refusals are reported for a share of reviews with credentials
// that reply to the others (github.com/googleapis/google-api-python-client
// issue 748). repliedBefore says whether this account's replies to other
// reviews of the app went through (then the permission is certainly there).
// Refused: a person must look at the review; retrying changes nothing.
func ReplyRefused(pkg, reviewID string, repliedBefore bool, err error) error {
	msg := err.Error()
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		msg = message(ge)
	}
	if repliedBefore {
		return sdk.Errorf(sdk.ErrorKindRefused, "google play reviews.reply: Google refused the reply to this review (403) although the account can reply to others of %s: %s", pkg, msg)
	}
	return sdk.Errorf(sdk.ErrorKindRefused, "google play reviews.reply: Google refused the reply to review %s (403) although the account can read the reviews of %s; "+
		"Google refuses single reviews at times, but if every reply fails this way, check that the service account has the \"Reply to reviews\" permission in Play Console: %s", reviewID, pkg, msg)
}

// Classify turns a client error into an SDK error with a clear message.
func Classify(op, pkg string, err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = re.Response.Status
		}
		if re.Response != nil && (re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500) {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "google play: the token endpoint is unavailable (%s)", code)
		}
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "google play: the token endpoint refused the service-account key (%s %s): check that the key is current, not deleted, and its service account is enabled",
			code, re.ErrorDescription)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "google play %s: %v", op, err)
	}
	reasons := map[string]bool{}
	for _, e := range ge.Errors {
		reasons[e.Reason] = true
	}
	limited, quotaWord := quotaKind(ge)
	msg := message(ge)
	switch {
	case limited:
		return sdk.RetryAfterError(retryAfter(ge, reasons, quotaWord), "google play %s: quota exceeded (%s): %s", op, strings.Join(keys(reasons, ge.Code), ", "), msg)
	case ge.Code == http.StatusUnauthorized:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "google play %s: the access token was refused: %s", op, msg)
	case ge.Code == http.StatusForbidden:
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "google play %s: the service account has no access to package %s in Play Console (invite it with the \"Reply to reviews\" permission): %s", op, pkg, msg)
	case ge.Code == http.StatusNotFound:
		return sdk.Errorf(sdk.ErrorKindNotFound, "google play %s: no app with package name %s in this developer account, or no such review: %s", op, pkg, msg)
	case ge.Code == http.StatusBadRequest:
		return sdk.Errorf(sdk.ErrorKindInvalid, "google play %s: %s", op, msg)
	default:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "google play %s: %d %s", op, ge.Code, msg)
	}
}

func keys(m map[string]bool, code int) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = []string{strconv.Itoa(code)}
	}
	return out
}
