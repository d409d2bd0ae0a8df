package sdk

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a vendor's Retry-After: a wait longer than a day is
// more likely a broken header than a plan.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads an HTTP Retry-After value (RFC 9110 10.2.3): delay
// seconds or an HTTP date, relative to now. It reports false when v is
// empty, unreadable or not in the future; the wait is capped at
// MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0, false
		}
		return min(time.Duration(min(s, int64(MaxRetryAfter/time.Second)))*time.Second, MaxRetryAfter), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxRetryAfter), true
		}
	}
	return 0, false
}

// KindFromHTTPStatus is the error kind a vendor's HTTP status means when
// the answer says nothing more precise: 400 and 422 ErrorKindInvalid, 401
// ErrorKindUnauthenticated, 403 ErrorKindPermissionDenied, 404 and 410 ErrorKindNotFound, 409
// ErrorKindRefused, 429 ErrorKindRateLimited, 5xx (and 408) ErrorKindUnavailable; other 4xx ErrorKindInvalid,
// anything else ErrorKindUnknown. Plugins refine it from the answer's body (a
// 403 that names a quota is ErrorKindRateLimited, for example).
func KindFromHTTPStatus(status int) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return ErrorKindUnauthenticated
	case status == http.StatusForbidden:
		return ErrorKindPermissionDenied
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrorKindNotFound
	case status == http.StatusConflict:
		return ErrorKindRefused
	case status == http.StatusTooManyRequests:
		return ErrorKindRateLimited
	case status == http.StatusRequestTimeout || status >= 500 && status <= 599:
		return ErrorKindUnavailable
	case status >= 400 && status <= 499:
		return ErrorKindInvalid
	}
	return ErrorKindUnknown
}
