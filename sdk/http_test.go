package sdk_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"999999999999", sdk.MaxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), sdk.MaxRetryAfter, true},
		{"Wed, 02 Dec 2026 12:00:30 GMT", 30 * time.Second, true},
	} {
		got, ok := sdk.ParseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestKindFromHTTPStatus(t *testing.T) {
	for status, want := range map[int]sdk.ErrorKind{
		400: sdk.ErrorKindInvalid, 401: sdk.ErrorKindUnauthenticated, 403: sdk.ErrorKindPermissionDenied, 404: sdk.ErrorKindNotFound, 410: sdk.ErrorKindNotFound,
		408: sdk.ErrorKindUnavailable, 409: sdk.ErrorKindRefused, 422: sdk.ErrorKindInvalid, 429: sdk.ErrorKindRateLimited, 500: sdk.ErrorKindUnavailable,
		503: sdk.ErrorKindUnavailable, 200: sdk.ErrorKindUnknown, 302: sdk.ErrorKindUnknown,
	} {
		if got := sdk.KindFromHTTPStatus(status); got != want {
			t.Errorf("KindFromHTTPStatus(%d) = %s, want %s", status, got, want)
		}
	}
}
