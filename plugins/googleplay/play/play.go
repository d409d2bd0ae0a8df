// Package play maps Google Play's Android Publisher API (reviews.list,
// reviews.get, reviews.reply through the official Go client) to the
// Reviewhub SDK: review fields, errors and paging state. Facts and sources
// are in plugins/googleplay/README.md.
package play

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"

	"github.com/reviewhub/reviewhub/sdk"
)

// ReplyMaxLength is Google Play's limit on a developer reply, in characters.
const ReplyMaxLength = 350

// Time converts an API timestamp.
func Time(ts *androidpublisher.Timestamp) time.Time {
	if ts == nil || (ts.Seconds == 0 && ts.Nanos == 0) {
		return time.Time{}
	}
	return time.Unix(ts.Seconds, ts.Nanos).UTC()
}

// Review maps one API review. The API puts the user's comment and the
// developer's reply in "comments"; the newest user comment is the review as
// it is now.
func Review(pkg string, r *androidpublisher.Review) (sdk.Review, error) {
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
	out.Text = strings.TrimSpace(user.Text)
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
	out.URL = "https://play.google.com/console/developers/app/reviews?reviewId=" + r.ReviewId // GUESS: console deep link
	if len(out.Extra) == 0 {
		out.Extra = nil
	}
	return out, nil
}

// DefaultRetryAfter is used when a quota error carries no Retry-After and
// does not name its period (Google's per-minute bucket quota).
const DefaultRetryAfter = time.Minute

// quotaReasons are the errors[].reason values Google gives for spent quota
// and rate limits.
var quotaReasons = map[string]bool{
	"rateLimitExceeded": true, "userRateLimitExceeded": true, "quotaExceeded": true, "dailyLimitExceeded": true,
}

// retryAfter is how long to wait after a quota error: the Retry-After header
// when there is one, else by the period the message names ("Queries per
// day" waits an hour and is retried, "per minute" a minute).
func retryAfter(ge *googleapi.Error, reasons map[string]bool) time.Duration {
	if v := strings.TrimSpace(ge.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(min(s, 24*3600)) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return min(d, 24*time.Hour)
			}
		}
	}
	msg := strings.ToLower(ge.Message)
	switch {
	case reasons["dailyLimitExceeded"] || strings.Contains(msg, "per day"):
		return time.Hour
	case strings.Contains(msg, "per hour"):
		return 10 * time.Minute
	}
	return DefaultRetryAfter
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
			return sdk.Errorf(sdk.Unavailable, "google play: the token endpoint is unavailable (%s)", code)
		}
		return sdk.Errorf(sdk.Unauthenticated, "google play: the token endpoint refused the service-account key (%s %s): check that the key is current, not deleted, and its service account is enabled",
			code, re.ErrorDescription)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return sdk.Errorf(sdk.Unavailable, "google play %s: %v", op, err)
	}
	reasons := map[string]bool{}
	quota := ge.Code == http.StatusTooManyRequests
	for _, e := range ge.Errors {
		reasons[e.Reason] = true
		quota = quota || quotaReasons[e.Reason]
	}
	msg := ge.Message
	if msg == "" {
		msg = http.StatusText(ge.Code)
	}
	switch {
	case quota:
		return sdk.RetryAfterError(retryAfter(ge, reasons), "google play %s: quota exceeded (%s): %s", op, strings.Join(keys(reasons), ", "), msg)
	case ge.Code == http.StatusUnauthorized:
		return sdk.Errorf(sdk.Unauthenticated, "google play %s: the access token was refused: %s", op, msg)
	case ge.Code == http.StatusForbidden:
		return sdk.Errorf(sdk.PermissionDenied, "google play %s: the service account has no access to package %s in Play Console (invite it with the \"Reply to reviews\" permission): %s", op, pkg, msg)
	case ge.Code == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "google play %s: no app with package name %s in this developer account, or no such review: %s", op, pkg, msg)
	case ge.Code == http.StatusBadRequest:
		return sdk.Errorf(sdk.Invalid, "google play %s: %s", op, msg)
	default:
		return sdk.Errorf(sdk.Unavailable, "google play %s: %d %s", op, ge.Code, msg)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = []string{"429"}
	}
	return out
}
