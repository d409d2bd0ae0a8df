// Package play maps Google Play's Android Publisher API (reviews.list,
// reviews.get, reviews.reply through the official Go client) to the
// Reviewhub SDK: review fields, errors and paging state. Facts and sources
// are in plugins/googleplay/README.md.
package play

import (
	"errors"
	"fmt"
	"net/http"
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

// DefaultRetryAfter is used when a quota error carries no Retry-After.
const DefaultRetryAfter = time.Minute

// Classify turns a client error into an SDK error with a clear message.
func Classify(op, pkg string, err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return sdk.Errorf(sdk.Unauthenticated, "google play: the token endpoint refused the service-account key (%s %s): check that the key is current and not deleted",
			re.ErrorCode, re.ErrorDescription)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return sdk.Errorf(sdk.Unavailable, "google play %s: %v", op, err)
	}
	reasons := map[string]bool{}
	for _, e := range ge.Errors {
		reasons[e.Reason] = true
	}
	msg := ge.Message
	switch {
	case ge.Code == http.StatusTooManyRequests || reasons["rateLimitExceeded"] || reasons["quotaExceeded"] ||
		reasons["userRateLimitExceeded"] || reasons["dailyLimitExceeded"]:
		ra := DefaultRetryAfter
		if s, err := strconv.Atoi(ge.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		} else if reasons["dailyLimitExceeded"] {
			ra = time.Hour
		}
		return sdk.RetryAfterError(ra, "google play %s: quota exceeded (%s): %s", op, strings.Join(keys(reasons), ", "), msg)
	case ge.Code == http.StatusUnauthorized:
		return sdk.Errorf(sdk.Unauthenticated, "google play %s: the access token was refused: %s", op, msg)
	case ge.Code == http.StatusForbidden:
		return sdk.Errorf(sdk.PermissionDenied, "google play %s: the service account has no access to %s in Play Console (grant it \"Reply to reviews\"): %s", op, pkg, msg)
	case ge.Code == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "google play %s: no app with package name %s, or no such review: %s", op, pkg, msg)
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
	if len(out) == 0 {
		out = []string{"429"}
	}
	return out
}
