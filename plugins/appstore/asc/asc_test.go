package asc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestTerritoryCodes(t *testing.T) {
	for in, want := range map[string]string{"RUS": "RU", "usa": "US", "JP": "JP", "GBR": "GB", "XKS": "XK", "ANT": "AN", "uk": "GB", "XXX": "", "": "", "IR": ""} {
		if got := Alpha2(in); got != want {
			t.Errorf("Alpha2(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"ru": "RUS", "XK": "XKS", "UK": "GBR", "gbr": "GBR", "KP": "", "": ""} {
		if got := Alpha3(in); got != want {
			t.Errorf("Alpha3(%q) = %q, want %q", in, got, want)
		}
	}
	for a3, a2 := range territories {
		if len(a3) != 3 || len(a2) != 2 || Alpha3(a2) != a3 {
			t.Errorf("territory table: %s ↔ %s", a3, a2)
		}
	}
}

func TestTokensAreES256ReusedAndRenewed(t *testing.T) {
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := Key{IssuerID: "iss", KeyID: "KID", Private: pk}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tk := &Tokens{Now: func() time.Time { return now }}
	a, err := tk.Token(k)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.RegisteredClaims{}
	tok, err := jwt.ParseWithClaims(a, &claims, func(*jwt.Token) (any, error) { return &pk.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithAudience(Audience), jwt.WithIssuer("iss"))
	if err != nil || tok.Header["kid"] != "KID" || tok.Method.Alg() != "ES256" || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 20*time.Minute {
		t.Fatalf("token %v %+v %v", tok.Header, claims, err)
	}
	now = now.Add(10 * time.Minute)
	if b, _ := tk.Token(k); b != a {
		t.Error("a token with 10 minutes left was not reused")
	}
	now = now.Add(9 * time.Minute)
	if c, _ := tk.Token(k); c == a {
		t.Error("a token about to expire was reused")
	}
}

func TestParseRateLimit(t *testing.T) {
	rl, ok := ParseRateLimit("user-hour-lim:3600;user-hour-rem:3588;")
	if !ok || rl.Limit != 3600 || rl.Remaining != 3588 {
		t.Errorf("%+v %v", rl, ok)
	}
	if _, ok := ParseRateLimit("garbage"); ok {
		t.Error("garbage accepted")
	}
}

const feedSample = `{"feed":{"author":{"name":{"label":"iTunes Store"}},"entry":[
 {"author":{"name":{"label":"Mia"}},"updated":{"label":"2026-11-01T10:00:00-07:00"},"im:rating":{"label":"5"},"im:version":{"label":"3.2"},
  "id":{"label":"9001"},"title":{"label":"Love it"},"content":{"label":"Great","attributes":{"type":"text"}},"im:voteSum":{"label":"3"},"im:voteCount":{"label":"4"}},
 {"im:name":{"label":"The app itself"},"id":{"label":"app"}}]}}`

func TestParseFeed(t *testing.T) {
	rs, err := ParseFeed("1", "gb", []byte(feedSample))
	if err != nil || len(rs) != 1 {
		t.Fatalf("%v %v", rs, err)
	}
	r := rs[0]
	if r.ID != "9001" || r.Rating != 5 || r.Country != "GB" || r.AppVersion != "3.2" || r.Author != "Mia" || r.ThumbsUp != 3 || r.ThumbsDown != 1 ||
		!r.UpdatedAt.Equal(time.Date(2026, 11, 1, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v", r)
	}
	one := `{"feed":{"entry":{"updated":{"label":"2026-11-01T10:00:00Z"},"im:rating":{"label":"1"},"id":{"label":"7"}}}}`
	if rs, err := ParseFeed("1", "us", []byte(one)); err != nil || len(rs) != 1 {
		t.Errorf("a lone entry object: %v %v", rs, err)
	}
	for _, bad := range []string{`{}`, `[`, `{"feed":{"entry":[{"im:rating":{"label":"9"},"id":{"label":"1"},"updated":{"label":"2026-11-01T10:00:00Z"}}]}}`} {
		if _, err := ParseFeed("1", "us", []byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(feedSample))
	f.Add([]byte(`{"feed":{"entry":{"im:rating":{"label":"3"},"id":{"label":"x"},"updated":{"label":"2026-01-01T00:00:00Z"}}}}`))
	f.Add([]byte(`{"feed":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := ParseFeed("1", "us", body)
		for _, r := range rs {
			if err == nil && (r.Rating < 1 || r.Rating > 5 || r.ID == "") {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

const reviewsSample = `{"data":[{"type":"customerReviews","id":"r1","attributes":{"rating":4,"title":"Good","body":"Nice","reviewerNickname":"N",
 "createdDate":"2026-11-01T10:00:00-07:00","territory":"RUS"},"relationships":{"response":{"data":{"type":"customerReviewResponses","id":"p1"}}}}],
 "included":[{"type":"customerReviewResponses","id":"p1","attributes":{"responseBody":"Thanks","lastModifiedDate":"2026-11-02T10:00:00Z","state":"PUBLISHED"}}],
 "links":{"next":"https://api.appstoreconnect.apple.com/v1/apps/1/customerReviews?cursor=x"}}`

func TestMapReview(t *testing.T) {
	var resp ReviewsResponse
	if err := json.Unmarshal([]byte(reviewsSample), &resp); err != nil {
		t.Fatal(err)
	}
	r, err := MapReview("1", resp.Data[0], resp.Included)
	if err != nil || r.Rating != 4 || r.Country != "RU" || r.Reply == nil || r.Reply.Text != "Thanks" || r.Reply.ID != "p1" || r.Reply.State != "PUBLISHED" {
		t.Errorf("%+v %v", r, err)
	}
}

func FuzzMapReviews(f *testing.F) {
	f.Add([]byte(reviewsSample))
	f.Add([]byte(`{"data":[{"id":"x","attributes":{"rating":"5"}}]}`))
	f.Add([]byte(`{"data":[{"type":"customerReviews","id":"x","attributes":{"rating":2.5,"createdDate":"bad"},"relationships":{"response":{"data":null}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp ReviewsResponse
		if json.Unmarshal(body, &resp) != nil {
			return
		}
		for _, d := range resp.Data {
			r, err := MapReview("1", d, resp.Included)
			if err == nil && (r.Rating < 1 || r.Rating > 5 || r.ID == "") {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

func FuzzParseRateLimit(f *testing.F) {
	f.Add("user-hour-lim:3600;user-hour-rem:0;")
	f.Fuzz(func(t *testing.T, h string) { _, _ = ParseRateLimit(h) })
}

const errorSample = `{"errors":[{"id":"x1","status":"409","code":"ENTITY_ERROR.ATTRIBUTE.INVALID","title":"An attribute value is invalid","detail":"'responseBody' is too long"}]}`

func TestErrorsAreClassifiedWithApplesWords(t *testing.T) {
	c := &Client{Key: Key{IssuerID: "iss", KeyID: "KID"}}
	h := http.Header{}
	for status, want := range map[int]sdk.ErrorKind{401: sdk.Unauthenticated, 403: sdk.PermissionDenied, 404: sdk.NotFound,
		409: sdk.Refused, 400: sdk.Invalid, 500: sdk.Unavailable, 503: sdk.Unavailable} {
		err := c.classify("POST /v1/customerReviewResponses", status, h, []byte(errorSample))
		if sdk.KindOf(err) != want || !strings.Contains(err.Error(), "ENTITY_ERROR.ATTRIBUTE.INVALID: An attribute value is invalid ('responseBody' is too long)") {
			t.Errorf("%d: %v (%v), want %v", status, err, sdk.KindOf(err), want)
		}
	}
	h.Set("Retry-After", "120")
	h.Set("X-Rate-Limit", "user-hour-lim:3500;user-hour-rem:0;")
	err := c.classify("GET /v1/apps/1/customerReviews", 429, h, []byte(`{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED","title":"The request rate limit has been reached."}]}`))
	if sdk.RetryAfterOf(err) != 120*time.Second || !strings.Contains(err.Error(), "3500 requests an hour, 0 left") {
		t.Errorf("429: %v %v", err, sdk.RetryAfterOf(err))
	}
	if err := c.classify("GET /x", 429, http.Header{}, nil); sdk.RetryAfterOf(err) != DefaultRetryAfter {
		t.Errorf("429 without headers: %v", err)
	}
	if msg := ParseError(502, []byte("<html>Bad gateway</html>")); msg != "HTTP 502" {
		t.Errorf("a body that is not Apple's: %q", msg)
	}
	if err := c.classify("GET /x", 401, h, nil); strings.Contains(err.Error(), "PRIVATE KEY") || !strings.Contains(err.Error(), "KID") {
		t.Errorf("401 message: %v", err)
	}
}

func FuzzParseError(f *testing.F) {
	f.Add(409, []byte(errorSample))
	f.Add(429, []byte(`{"errors":[]}`))
	f.Add(500, []byte(`{"errors":[{"code":7}]}`))
	f.Add(401, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if msg := ParseError(status, body); msg == "" {
			t.Fatalf("empty message for %q", body)
		}
	})
}
