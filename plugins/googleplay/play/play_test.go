package play

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"

	"github.com/reviewhub/reviewhub/sdk"
)

const sample = `{"reviews":[{"reviewId":"gp:1","authorName":"Ann","comments":[
 {"userComment":{"text":"\tGreat","lastModified":{"seconds":"1700000000","nanos":5},"starRating":5,"reviewerLanguage":"en_GB",
  "device":"a51","androidOsVersion":33,"appVersionCode":42,"appVersionName":"4.2","thumbsUpCount":3,"thumbsDownCount":1,
  "deviceMetadata":{"manufacturer":"Samsung","ramMb":4096}}},
 {"developerComment":{"text":"Thanks!","lastModified":{"seconds":"1700000100"}}}]}],
 "tokenPagination":{"nextPageToken":"abc"}}`

func TestReviewMapsEveryField(t *testing.T) {
	var resp androidpublisher.ReviewsListResponse
	if err := json.Unmarshal([]byte(sample), &resp); err != nil {
		t.Fatal(err)
	}
	r, err := Review("com.x", resp.Reviews[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "gp:1" || r.Author != "Ann" || r.Rating != 5 || r.Text != "Great" || r.Language != "en-GB" || r.Device != "a51" ||
		r.OSVersion != "API 33" || r.AppVersion != "4.2" || r.Extra["app_version_code"] != "42" || r.ThumbsUp != 3 || r.ThumbsDown != 1 ||
		!r.UpdatedAt.Equal(time.Unix(1700000000, 5)) || r.Extra["device_manufacturer"] != "Samsung" {
		t.Errorf("mapped %+v", r)
	}
	if r.Reply == nil || r.Reply.Text != "Thanks!" || !r.Reply.UpdatedAt.Equal(time.Unix(1700000100, 0)) {
		t.Errorf("reply %+v", r.Reply)
	}
	if r.Title != "" || r.URL != "https://play.google.com/store/apps/details?id=com.x&reviewId=gp%3A1" {
		t.Errorf("title %q, URL %s", r.Title, r.URL)
	}
	// A titled review: "title and body are concatenated and separated by a
	// tab character" (discovery document, UserComment.text).
	titled := &androidpublisher.Review{ReviewId: "gp:2", Comments: []*androidpublisher.Comment{{UserComment: &androidpublisher.UserComment{
		StarRating: 4, Text: "Great app\tBut the widget\tcrashes"}}}}
	if r, err := ReviewWithLink("com.x", titled, "5166846112789481453", "4974525787948290123"); err != nil || r.Title != "Great app" || r.Text != "But the widget\tcrashes" ||
		r.URL != "https://play.google.com/console/developers/5166846112789481453/app/4974525787948290123/user-feedback/review-details?reviewId=gp%3A2&corpus=PUBLIC_REVIEWS" {
		t.Errorf("titled review %+v %v", r, err)
	}
	for _, bad := range []string{`{"reviewId":"x"}`, `{"comments":[{"userComment":{"starRating":3}}]}`, `{"reviewId":"x","comments":[{"userComment":{"starRating":9}}]}`} {
		var rv androidpublisher.Review
		_ = json.Unmarshal([]byte(bad), &rv)
		if _, err := Review("p", &rv); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func FuzzReviewMapping(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"reviews":[{"reviewId":"1","comments":[null,{"userComment":null},{"developerComment":{"text":""}}]}]}`))
	f.Add([]byte(`{"reviews":[{"reviewId":"1","comments":[{"userComment":{"starRating":1,"lastModified":{"seconds":"-99999999999"}}}]}]}`))
	f.Add([]byte(`{"reviews":[{"reviewId":"gp:AOqpTOH8ZUv5em6","comments":[{"userComment":{"starRating":2,"text":"Slow\tTakes ages to start\t!"}}]}]}`))
	f.Add([]byte(`{"reviews":[{"reviewId":"1","comments":[{"userComment":{"starRating":2,"text":"\t"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp androidpublisher.ReviewsListResponse
		if json.Unmarshal(body, &resp) != nil {
			return
		}
		for _, r := range resp.Reviews {
			rv, err := Review("p", r)
			if err != nil {
				continue
			}
			if rv.Rating < 1 || rv.Rating > 5 || rv.ID == "" {
				t.Fatalf("accepted %+v", rv)
			}
			if strings.Contains(rv.Title, "\t") {
				t.Fatalf("title %q holds the separator", rv.Title)
			}
			tab := false
			for _, c := range r.Comments {
				tab = tab || (c != nil && c.UserComment != nil && strings.Contains(c.UserComment.Text, "\t"))
			}
			if !tab && rv.Title != "" {
				t.Fatalf("title %q from a text without a tab", rv.Title)
			}
		}
	})
}

// apiError is the client's error for an HTTP answer, as the official client
// builds it (googleapi.CheckResponse).
func apiError(status int, header http.Header, body string) error {
	if header == nil {
		header = http.Header{}
	}
	return googleapi.CheckResponse(&http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))})
}

func body(code int, status, reason, msg string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"status":%q,"errors":[{"message":%q,"domain":"usageLimits","reason":%q}]}}`,
		code, msg, status, msg, reason)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		kind  sdk.ErrorKind
		retry time.Duration
		text  string
	}{
		{"429 with Retry-After", apiError(429, http.Header{"Retry-After": {"17"}}, body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Rate limit exceeded.")), sdk.ErrorKindRateLimited, 17 * time.Second, "quota exceeded"},
		{"429 bare", apiError(429, nil, "Too Many Requests"), sdk.ErrorKindRateLimited, time.Minute, "quota exceeded"},
		{"403 daily quota", apiError(403, nil, body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'")), sdk.ErrorKindRateLimited, time.Hour, "Queries per day"},
		{"403 quotaExceeded", apiError(403, nil, body(403, "PERMISSION_DENIED", "quotaExceeded", "Quota exceeded.")), sdk.ErrorKindRateLimited, time.Hour, "quotaExceeded"},
		{"403 per-minute bucket", apiError(403, nil, body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'")), sdk.ErrorKindRateLimited, time.Minute, "per minute"},
		{"per hour", apiError(429, nil, body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Quota exceeded: requests per hour")), sdk.ErrorKindRateLimited, time.Hour, "per hour"},
		{"403 other quota reason", apiError(403, nil, body(403, "PERMISSION_DENIED", "publishingDailySaveQuotaExceeded", "Daily save quota exceeded.")), sdk.ErrorKindRateLimited, time.Hour, "publishingDailySaveQuotaExceeded"},
		{"403 RESOURCE_EXHAUSTED", apiError(403, nil, body(403, "RESOURCE_EXHAUSTED", "somethingNew", "Too many requests for this app.")), sdk.ErrorKindRateLimited, time.Minute, "somethingNew"},
		{"403 message only", apiError(403, nil, body(403, "PERMISSION_DENIED", "forbidden", "Quota exceeded for this app.")), sdk.ErrorKindRateLimited, time.Hour, "Quota exceeded for this app"},
		{"403 userRateLimitExceeded", apiError(403, nil, body(403, "PERMISSION_DENIED", "userRateLimitExceeded", "User rate limit exceeded.")), sdk.ErrorKindRateLimited, time.Minute, "userRateLimitExceeded"},
		{"403 no access", apiError(403, nil, body(403, "PERMISSION_DENIED", "forbidden", "The caller does not have permission")), sdk.ErrorKindPermissionDenied, 0, "no access to package com.x in Play Console"},
		{"401", apiError(401, nil, body(401, "UNAUTHENTICATED", "authError", "Invalid Credentials")), sdk.ErrorKindUnauthenticated, 0, "access token was refused"},
		{"404", apiError(404, nil, body(404, "NOT_FOUND", "notFound", "Package not found: com.x.")), sdk.ErrorKindNotFound, 0, "no app with package name com.x"},
		{"400", apiError(400, nil, body(400, "INVALID_ARGUMENT", "invalid", "Invalid pagination token.")), sdk.ErrorKindInvalid, 0, "Invalid pagination token"},
		{"503", apiError(503, nil, "<html>oops</html>"), sdk.ErrorKindUnavailable, 0, "503"},
		{"token refused", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant", ErrorDescription: "Invalid JWT Signature."}, sdk.ErrorKindUnauthenticated, 0, "refused the service-account key (invalid_grant"},
		{"token endpoint down", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 502, Status: "502 Bad Gateway"}}, sdk.ErrorKindUnavailable, 0, "token endpoint is unavailable"},
		{"network", errors.New("dial tcp: connection refused"), sdk.ErrorKindUnavailable, 0, "connection refused"},
	}
	for _, c := range cases {
		err := Classify("reviews.list", "com.x", c.err)
		if sdk.KindOf(err) != c.kind || sdk.RetryAfterOf(err) != c.retry || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v (%v, %v); want %v, %v, %q", c.name, err, sdk.KindOf(err), sdk.RetryAfterOf(err), c.kind, c.retry, c.text)
		}
	}
	if Classify("x", "p", nil) != nil {
		t.Error("nil error classified")
	}
}

func TestReplyRefusedAndForbidden(t *testing.T) {
	denied := apiError(403, nil, body(403, "PERMISSION_DENIED", "forbidden", "The caller does not have permission"))
	quota := apiError(403, nil, body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded"))
	if !Forbidden(denied) || Forbidden(quota) || Forbidden(apiError(404, nil, "")) || Forbidden(errors.New("x")) {
		t.Error("Forbidden")
	}
	if c, ok := ServerError(apiError(500, nil, `{"error":{"code":500,"message":null}}`)); !ok || c != 500 {
		t.Errorf("ServerError %d %v", c, ok)
	}
	err := ReplyRefused("com.x", "gp:1", true, denied)
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "Google refused the reply to this review (403) although the account can reply to others of com.x: The caller does not have permission") {
		t.Errorf("after earlier replies: %v", err)
	}
	err = ReplyRefused("com.x", "gp:1", false, denied)
	if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "refused the reply to review gp:1 (403) although the account can read the reviews of com.x") ||
		!strings.Contains(err.Error(), "Reply to reviews") {
		t.Errorf("listing works: %v", err)
	}
}

func TestStripTagsAndLength(t *testing.T) {
	for _, c := range []struct {
		in, stored string
		n          int
	}{
		{"Thanks!", "Thanks!", 7},
		{"<b>Thanks</b> a <i>lot</i><br/>", "Thanks a lot", 12},
		{`<a href="https://x.example">here</a>`, "here", 4},
		{"a < b > c", "a < b > c", 9},
		{"1 <2", "1 <2", 4},
		{"😀", "😀", 2}, // outside the BMP: two UTF-16 units, counted on the safe side
		{"Спасибо", "Спасибо", 7},
		{"  <p></p>  ", "", 4}, // space is counted: Google may keep it
	} {
		if got := StripTags(c.in); got != c.stored {
			t.Errorf("StripTags(%q) = %q, want %q", c.in, got, c.stored)
		}
		if got := ReplyLength(c.in); got != c.n {
			t.Errorf("ReplyLength(%q) = %d, want %d", c.in, got, c.n)
		}
	}
}

func TestSplitText(t *testing.T) {
	for _, c := range [][3]string{
		{"Body only", "", "Body only"},
		{"\tBun", "", "Bun"},
		{"Title\tBody", "Title", "Body"},
		{" Title \t Body\twith tab ", "Title", "Body\twith tab"},
		{"Title\t", "Title", ""},
	} {
		if title, body := SplitText(c[0]); title != c[1] || body != c[2] {
			t.Errorf("SplitText(%q) = %q, %q; want %q, %q", c[0], title, body, c[1], c[2])
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(429, "17", body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Rate limit exceeded."))
	f.Add(403, "", body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'"))
	f.Add(404, "", body(404, "NOT_FOUND", "notFound", "Package not found"))
	f.Add(500, "Wed, 21 Oct 2015 07:28:00 GMT", `{"error":"backend"}`)
	f.Add(400, "-5", `{"error":{"errors":[null,{}]}}`)
	f.Add(403, "", body(403, "RESOURCE_EXHAUSTED", "somethingNew", "x"))
	f.Add(403, "", body(403, "PERMISSION_DENIED", "publishingDailySaveQuotaExceeded", "Daily save quota exceeded."))
	f.Add(500, "", `{"error":{"code":500,"message":null}}`)
	f.Fuzz(func(t *testing.T, status int, retry, body string) {
		if status < 400 || status > 599 {
			return
		}
		err := Classify("reviews.list", "com.x", apiError(status, http.Header{"Retry-After": {retry}}, body))
		k := sdk.KindOf(err)
		if k == sdk.ErrorKindUnknown {
			t.Fatalf("%d %q: unclassified %v", status, body, err)
		}
		if d := sdk.RetryAfterOf(err); (k == sdk.ErrorKindRateLimited) != (d > 0) || d > 24*time.Hour {
			t.Fatalf("%d %q: %v with retry-after %v", status, body, k, d)
		}
		if status == 429 && k != sdk.ErrorKindRateLimited {
			t.Fatalf("429 classified %v", k)
		}
	})
}
