package asc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
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
	rs, bad, err := ParseFeed("1", "gb", []byte(feedSample))
	if err != nil || len(rs) != 1 || len(bad) != 0 {
		t.Fatalf("%v %v %v", rs, bad, err)
	}
	r := rs[0]
	if r.ID != "9001" || r.Rating != 5 || r.Country != "GB" || r.AppVersion != "3.2" || r.Author != "Mia" || r.ThumbsUp != 3 || r.ThumbsDown != 1 ||
		!r.UpdatedAt.Equal(time.Date(2026, 11, 1, 17, 0, 0, 0, time.UTC)) || r.Extra["date_from"] != "" {
		t.Errorf("%+v", r)
	}
	one := `{"feed":{"entry":{"updated":{"label":"2026-11-01T10:00:00Z"},"im:rating":{"label":"1"},"id":{"label":"7"}}}}`
	if rs, _, err := ParseFeed("1", "us", []byte(one)); err != nil || len(rs) != 1 {
		t.Errorf("a lone entry object: %v %v", rs, err)
	}
	for _, bad := range []string{`{}`, `[`, `{"feed":{"entry":7}}`} {
		if _, _, err := ParseFeed("1", "us", []byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// One odd entry never fails the page: it is kept with the feed's date, or
// reported as unreadable with its shape, and the good entries still come.
func TestParseFeedKeepsWhatItCanAndReportsTheRest(t *testing.T) {
	body := `{"feed":{"updated":{"label":"2026-11-02T08:00:00-07:00"},"entry":[
	 {"im:rating":{"label":"4"},"id":{"label":"nodate"},"content":{"label":"no date of its own"}},
	 {"im:rating":{"label":"9"},"id":{"label":"badrating"},"updated":{"label":"2026-11-01T10:00:00Z"}},
	 {"im:rating":{"label":"3"},"updated":{"label":"2026-11-01T10:00:00Z"}},
	 {"im:rating":{"label":"3"},"id":{"label":"garbled"},"updated":{"label":"yesterday"}},
	 {"im:rating":5},
	 {"im:name":{"label":"The app itself"},"id":{"label":"app"}},
	 {"im:rating":{"label":"2"},"id":{"label":"good"},"updated":{"label":"2026-11-01T09:00:00Z"}}]}}`
	rs, bad, err := ParseFeed("1", "us", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]sdk.Review{}
	for _, r := range rs {
		ids[r.ID] = r
	}
	feedDate := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	if len(rs) != 3 || ids["good"].Rating != 2 || !ids["nodate"].UpdatedAt.Equal(feedDate) || ids["nodate"].Extra["date_from"] != "feed" ||
		!ids["garbled"].UpdatedAt.Equal(feedDate) {
		t.Errorf("kept %+v", rs)
	}
	if len(bad) != 3 || bad[0].ID != "badrating" || !strings.Contains(bad[0].Reason, `rating "9"`) || !strings.Contains(bad[1].Reason, "no id") ||
		!strings.Contains(bad[2].Shape, "im:rating") || strings.Contains(bad[0].Shape, "badrating") {
		t.Errorf("unreadable %+v", bad)
	}
	// Without the feed's date too, the dateless entry is unreadable.
	noFeedDate := strings.Replace(body, `"updated":{"label":"2026-11-02T08:00:00-07:00"},`, "", 1)
	rs, bad, err = ParseFeed("1", "us", []byte(noFeedDate))
	if err != nil || len(rs) != 1 || len(bad) != 5 || !strings.Contains(bad[0].Reason, "no usable date") {
		t.Errorf("without any date: %+v %+v %v", rs, bad, err)
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(feedSample))
	f.Add([]byte(`{"feed":{"entry":{"im:rating":{"label":"3"},"id":{"label":"x"},"updated":{"label":"2026-01-01T00:00:00Z"}}}}`))
	f.Add([]byte(`{"feed":{"updated":{"label":"2026-01-01T00:00:00Z"},"entry":[{"im:rating":{"label":"3"},"id":{"label":"x"}}]}}`))
	f.Add([]byte(`{"feed":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, bad, err := ParseFeed("1", "us", body)
		if err != nil && (len(rs) > 0 || len(bad) > 0) {
			t.Fatalf("an error with results: %v", err)
		}
		for _, r := range rs {
			if r.Rating < 1 || r.Rating > 5 || r.ID == "" || r.UpdatedAt.IsZero() {
				t.Fatalf("accepted %+v", r)
			}
		}
		for _, u := range bad {
			if u.Reason == "" || u.Shape == "" {
				t.Fatalf("unreadable without reason or shape: %+v", u)
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

func appleErr(status int, code string) []byte {
	return []byte(fmt.Sprintf(`{"errors":[{"id":"x","status":"%d","code":%q,"title":"T","detail":"D"}]}`, status, code))
}

// The kind and the words follow Apple's error code; Apple's own words are
// always quoted.
func TestErrorsAreClassifiedByApplesCode(t *testing.T) {
	c := &Client{Key: Key{IssuerID: "iss", KeyID: "KID"}}
	for _, tc := range []struct {
		status int
		code   string
		kind   sdk.ErrorKind
		words  string
	}{
		{401, "NOT_AUTHORIZED", sdk.ErrorKindUnauthenticated, "refused the API key KID of issuer iss"},
		{403, "FORBIDDEN_ERROR", sdk.ErrorKindPermissionDenied, "role lacks the right (answering reviews needs Account Holder, Admin, App Manager or Customer Support)"},
		{403, "FORBIDDEN_ERROR.SOMETHING", sdk.ErrorKindPermissionDenied, "role lacks the right"},
		{403, "NOT_AUTHORIZED", sdk.ErrorKindUnauthenticated, "may be revoked or the token malformed"},
		{403, "", sdk.ErrorKindUnauthenticated, "may be revoked or the token malformed"},
		{404, "NOT_FOUND", sdk.ErrorKindNotFound, "NOT_FOUND: T (D)"},
		{409, "ENTITY_ERROR.ATTRIBUTE.INVALID", sdk.ErrorKindRefused, "refused the data"},
		{422, "ENTITY_UNPROCESSABLE", sdk.ErrorKindInvalid, "could not read the request body"},
		{400, "ENTITY_INVALID", sdk.ErrorKindInvalid, "could not read the request body"},
		{400, "PARAMETER_ERROR.ILLEGAL", sdk.ErrorKindInvalid, "refused a parameter"},
		{400, "PARAMETER_ERROR.INVALID", sdk.ErrorKindInvalid, "refused a parameter"},
		{500, "UNEXPECTED_ERROR", sdk.ErrorKindUnavailable, "UNEXPECTED_ERROR: T (D)"},
		{503, "ENTITY_ERROR", sdk.ErrorKindUnavailable, "ENTITY_ERROR: T (D)"},
	} {
		err := c.classify("POST /v1/customerReviewResponses", tc.status, http.Header{}, appleErr(tc.status, tc.code))
		if sdk.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%d %s: %v (%v), want %v with %q", tc.status, tc.code, err, sdk.KindOf(err), tc.kind, tc.words)
		}
	}
	if err := c.classify("POST /x", 409, http.Header{}, []byte(errorSample)); !strings.Contains(err.Error(), "ENTITY_ERROR.ATTRIBUTE.INVALID: An attribute value is invalid ('responseBody' is too long)") {
		t.Errorf("Apple's words not quoted: %v", err)
	}
	if msg := ParseError(502, []byte("<html>Bad gateway</html>")); msg != "HTTP 502" {
		t.Errorf("a body that is not Apple's: %q", msg)
	}
	if err := c.classify("GET /x", 401, http.Header{}, nil); strings.Contains(err.Error(), "PRIVATE KEY") || !strings.Contains(err.Error(), "KID") {
		t.Errorf("401 message: %v", err)
	}
}

// A 429 waits as Retry-After says; without it, as X-Rate-Limit's rolling
// hour says: a spent allowance waits the hour, not a minute.
func TestRateLimitWait(t *testing.T) {
	c := &Client{Key: Key{IssuerID: "iss", KeyID: "KID"}}
	body := []byte(`{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED","title":"The request rate limit has been reached."}]}`)
	for _, tc := range []struct {
		retryAfter, rateLimit string
		want                  time.Duration
	}{
		{"", "user-hour-lim:3500;user-hour-rem:0;", time.Hour},
		{"", "user-hour-lim:3500;user-hour-rem:12;", DefaultRetryAfter},
		{"", "", DefaultRetryAfter},
		{"", "garbage", DefaultRetryAfter},
		{"120", "user-hour-lim:3500;user-hour-rem:0;", 2 * time.Minute},
	} {
		h := http.Header{}
		if tc.retryAfter != "" {
			h.Set("Retry-After", tc.retryAfter)
		}
		if tc.rateLimit != "" {
			h.Set("X-Rate-Limit", tc.rateLimit)
		}
		err := c.classify("GET /v1/apps/1/customerReviews", 429, h, body)
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != tc.want {
			t.Errorf("%+v: %v waits %v, want %v", tc, err, sdk.RetryAfterOf(err), tc.want)
		}
	}
	if got := RateLimitWait(RateLimit{Limit: 0}); got != DefaultRetryAfter {
		t.Errorf("no limit: %v", got)
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

// An individual key (no issuer id) signs sub "user" and no iss (Apple,
// "Create the JWT Payload for Individual Keys"); its token is not the team
// key's even for the same key id and private key.
func TestIndividualKeyToken(t *testing.T) {
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tk := &Tokens{Now: func() time.Time { return now }}
	ind := Key{KeyID: "KID", Private: pk}
	if !ind.Individual() || (Key{IssuerID: "iss"}).Individual() {
		t.Fatal("Individual: an empty issuer id makes an individual key, and only that")
	}
	a, err := tk.Token(ind)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(a, &claims, func(*jwt.Token) (any, error) { return &pk.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithAudience(Audience), jwt.WithSubject("user"), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil || tok.Header["kid"] != "KID" || tok.Method.Alg() != "ES256" {
		t.Fatalf("token %v %v %v", tok.Header, claims, err)
	}
	if _, has := claims["iss"]; has {
		t.Errorf("an individual key's token has iss: %v", claims)
	}
	team, _ := tk.Token(Key{IssuerID: "iss", KeyID: "KID", Private: pk})
	if team == a {
		t.Error("the team key's token is the individual key's")
	}
	teamClaims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(team, &teamClaims); err != nil || teamClaims["iss"] != "iss" || teamClaims["sub"] != nil {
		t.Errorf("team token claims %v %v", teamClaims, err)
	}
}
