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
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp androidpublisher.ReviewsListResponse
		if json.Unmarshal(body, &resp) != nil {
			return
		}
		for _, r := range resp.Reviews {
			rv, err := Review("p", r)
			if err == nil && (rv.Rating < 1 || rv.Rating > 5 || rv.ID == "") {
				t.Fatalf("accepted %+v", rv)
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
		{"429 with Retry-After", apiError(429, http.Header{"Retry-After": {"17"}}, body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Rate limit exceeded.")), sdk.RateLimited, 17 * time.Second, "quota exceeded"},
		{"429 bare", apiError(429, nil, "Too Many Requests"), sdk.RateLimited, time.Minute, "quota exceeded"},
		{"403 daily quota", apiError(403, nil, body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'")), sdk.RateLimited, time.Hour, "Queries per day"},
		{"403 quotaExceeded", apiError(403, nil, body(403, "PERMISSION_DENIED", "quotaExceeded", "Quota exceeded.")), sdk.RateLimited, time.Minute, "quotaExceeded"},
		{"403 no access", apiError(403, nil, body(403, "PERMISSION_DENIED", "permissionDenied", "The caller does not have permission")), sdk.PermissionDenied, 0, "no access to package com.x in Play Console"},
		{"401", apiError(401, nil, body(401, "UNAUTHENTICATED", "authError", "Invalid Credentials")), sdk.Unauthenticated, 0, "access token was refused"},
		{"404", apiError(404, nil, body(404, "NOT_FOUND", "notFound", "Package not found: com.x.")), sdk.NotFound, 0, "no app with package name com.x"},
		{"400", apiError(400, nil, body(400, "INVALID_ARGUMENT", "invalid", "Invalid pagination token.")), sdk.Invalid, 0, "Invalid pagination token"},
		{"503", apiError(503, nil, "<html>oops</html>"), sdk.Unavailable, 0, "503"},
		{"token refused", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant", ErrorDescription: "Invalid JWT Signature."}, sdk.Unauthenticated, 0, "refused the service-account key (invalid_grant"},
		{"token endpoint down", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 502, Status: "502 Bad Gateway"}}, sdk.Unavailable, 0, "token endpoint is unavailable"},
		{"network", errors.New("dial tcp: connection refused"), sdk.Unavailable, 0, "connection refused"},
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

func FuzzClassify(f *testing.F) {
	f.Add(429, "17", body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Rate limit exceeded."))
	f.Add(403, "", body(403, "PERMISSION_DENIED", "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'"))
	f.Add(404, "", body(404, "NOT_FOUND", "notFound", "Package not found"))
	f.Add(500, "Wed, 21 Oct 2015 07:28:00 GMT", `{"error":"backend"}`)
	f.Add(400, "-5", `{"error":{"errors":[null,{}]}}`)
	f.Fuzz(func(t *testing.T, status int, retry, body string) {
		if status < 400 || status > 599 {
			return
		}
		err := Classify("reviews.list", "com.x", apiError(status, http.Header{"Retry-After": {retry}}, body))
		k := sdk.KindOf(err)
		if k == sdk.KindUnknown {
			t.Fatalf("%d %q: unclassified %v", status, body, err)
		}
		if d := sdk.RetryAfterOf(err); (k == sdk.RateLimited) != (d > 0) || d > 24*time.Hour {
			t.Fatalf("%d %q: %v with retry-after %v", status, body, k, d)
		}
		if status == 429 && k != sdk.RateLimited {
			t.Fatalf("429 classified %v", k)
		}
	})
}
