package fake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/plugins/appgallery/fake"
	"github.com/reviewhub/reviewhub/sdk"
)

// The fake enforces limits of its own (literal, not the plugin's): pages
// of 100, a 180-day window, replies of 500 characters.
func TestOwnLimits(t *testing.T) {
	if fake.MaxPageSize != 100 || fake.Window != 180*24*time.Hour || fake.ReplyMaxLength != 500 {
		t.Fatalf("fake limits %d, %s, %d; want 100, 180 days, 500", fake.MaxPageSize, fake.Window, fake.ReplyMaxLength)
	}
	f := fake.New()
	srv := httptest.NewServer(f)
	defer srv.Close()
	now := time.Now()
	f.PutReview("1", sdk.Review{ID: "r", Rating: 3, Country: "CN", UpdatedAt: now.Add(-time.Hour)})
	tok := f.Token()
	call := func(method string, q url.Values, body any) int64 {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+agc.ReviewsPath(agc.PlatformHarmonyOS)+"?"+q.Encode(), bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("client_id", f.ClientID())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct{ RtnCode int64 }
		_ = json.NewDecoder(resp.Body).Decode(&env)
		return env.RtnCode
	}
	list := func(limit int, window time.Duration) int64 {
		end := now.UnixMilli()
		return call(http.MethodGet, url.Values{"appId": {"1"}, "countries": {"CN"}, "limit": {strconv.Itoa(limit)},
			"beginTime": {strconv.FormatInt(end-window.Milliseconds(), 10)}, "endTime": {strconv.FormatInt(end, 10)}}, nil)
	}
	if c := list(100, 180*24*time.Hour); c != agc.CodeOK {
		t.Errorf("limit 100 over 180 days: rtnCode %d", c)
	}
	if c := list(101, time.Hour); c != agc.CodePageTooLong {
		t.Errorf("limit 101: rtnCode %d, want %d", c, agc.CodePageTooLong)
	}
	if c := list(10, 180*24*time.Hour+time.Millisecond); c != agc.CodeWindowTooLong {
		t.Errorf("180 days and 1 ms: rtnCode %d, want %d", c, agc.CodeWindowTooLong)
	}
	reply := func(text string) int64 {
		return call(http.MethodPost, nil, map[string]string{"lang": "zh", "appId": "1", "reviewId": "r", "devReplyContent": text, "countryCode": "CN"})
	}
	if c := reply(strings.Repeat("好", 501)); c != agc.CodeReplyIllegal {
		t.Errorf("501 characters: rtnCode %d, want %d", c, agc.CodeReplyIllegal)
	}
	if c := reply(strings.Repeat("好", 500)); c != agc.CodeOK {
		t.Errorf("500 characters: rtnCode %d", c)
	}
}
