package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reviewhub/reviewhub/sdk"
)

type tokenOpts struct {
	kid, iss, aud string
	sub           string
	noIss         bool // an individual key's token: no iss at all
	iat, exp      time.Time
}

func (s *Server) token(t *testing.T, o tokenOpts) string {
	t.Helper()
	if o.kid == "" {
		o.kid = s.keyID
	}
	if o.iss == "" && !o.noIss {
		o.iss = s.issuer
	}
	if o.aud == "" {
		o.aud = "appstoreconnect-v1"
	}
	if o.iat.IsZero() {
		o.iat = time.Now()
	}
	if o.exp.IsZero() {
		o.exp = o.iat.Add(20 * time.Minute)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{Issuer: o.iss, Subject: o.sub, Audience: jwt.ClaimStrings{o.aud},
		IssuedAt: jwt.NewNumericDate(o.iat), ExpiresAt: jwt.NewNumericDate(o.exp)})
	tok.Header["kid"] = o.kid
	signed, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) answer {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = srv.URL + path
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

func errorCode(a answer) string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestTokensAreCheckedAsAppleDoes(t *testing.T) {
	f := New()
	f.AddApp("1")
	srv := httptest.NewServer(f)
	defer srv.Close()
	other := New()
	now := time.Now()
	for name, tok := range map[string]string{
		"none":            "",
		"unknown kid":     f.token(t, tokenOpts{kid: "NOPE"}),
		"other issuer":    f.token(t, tokenOpts{iss: "someone-else"}),
		"wrong audience":  f.token(t, tokenOpts{aud: "appstoreconnect-v2"}),
		"expired":         f.token(t, tokenOpts{iat: now.Add(-30 * time.Minute), exp: now.Add(-10 * time.Minute)}),
		"lives too long":  f.token(t, tokenOpts{exp: now.Add(40 * time.Minute)}),
		"signed by other": other.token(t, tokenOpts{kid: f.keyID, iss: f.issuer}),
	} {
		a := call(t, srv, "GET", "/v1/apps/1/customerReviews", tok, "")
		if a.status != 401 || errorCode(a) != "NOT_AUTHORIZED" {
			t.Errorf("%s: %d %v", name, a.status, a.body)
		}
		if !strings.HasPrefix(a.header.Get("X-Rate-Limit"), "user-hour-lim:3600;user-hour-rem:") {
			t.Errorf("%s: X-Rate-Limit %q", name, a.header.Get("X-Rate-Limit"))
		}
	}
	good := f.token(t, tokenOpts{})
	if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", good, ""); a.status != 200 {
		t.Fatalf("a good token: %d %v", a.status, a.body)
	}
	// The fake's clock moves past exp: the same token is refused.
	f.SetNow(func() time.Time { return now.Add(25 * time.Minute) })
	if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", good, ""); a.status != 401 {
		t.Errorf("a token past exp: %d", a.status)
	}
	f.SetNow(time.Now)
	f.ExpireTokens()
	if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", good, ""); a.status != 401 {
		t.Errorf("an expired token: %d", a.status)
	}
	if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", f.token(t, tokenOpts{iat: now.Add(-time.Second)}), ""); a.status != 200 {
		t.Errorf("a fresh token after expiry: %d", a.status)
	}
}

// listAll pages through a listing and returns the ids in order.
func listAll(t *testing.T, srv *httptest.Server, tok, first string, between func(page int)) []string {
	t.Helper()
	var ids []string
	next := first
	for page := 0; next != ""; page++ {
		a := call(t, srv, "GET", next, tok, "")
		if a.status != 200 {
			t.Fatalf("page %d: %d %v", page, a.status, a.body)
		}
		data, _ := a.body["data"].([]any)
		for _, d := range data {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		links, _ := a.body["links"].(map[string]any)
		next, _ = links["next"].(string)
		if between != nil {
			between(page)
		}
		if page > 1000 {
			t.Fatal("paging does not end")
		}
	}
	return ids
}

func TestTenThousandReviewsPagedNewestFirst(t *testing.T) {
	f := New()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	countries := []string{"US", "RU", "JP", "GB"}
	for i := range 10000 {
		f.PutReview("1", sdk.Review{ID: fmt.Sprintf("r%05d", i), Rating: 1 + i%5, Country: countries[i%4],
			UpdatedAt: start.Add(time.Duration(i/3) * time.Minute)}) // three reviews share each minute
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := f.token(t, tokenOpts{})
	added := 0
	ids := listAll(t, srv, tok, "/v1/apps/1/customerReviews?sort=-createdDate&limit=200&include=response", func(page int) {
		if page < 3 { // new reviews arriving while the client pages do not shift the pages ahead
			f.PutReview("1", sdk.Review{ID: fmt.Sprintf("new%d", page), Rating: 5, Country: "US"})
			added++
		}
	})
	if len(ids) != 10000 {
		t.Fatalf("%d reviews listed, want 10000", len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		seen[id] = true
		if i > 0 && id > ids[i-1] {
			t.Fatalf("not newest first at %d: %s after %s", i, id, ids[i-1])
		}
	}
	ru := listAll(t, srv, tok, "/v1/apps/1/customerReviews?limit=200&filter[territory]=RUS,JPN", nil)
	if len(ru) != 5000 {
		t.Errorf("%d reviews in RUS and JPN, want 5000", len(ru))
	}
	byRating := listAll(t, srv, tok, "/v1/apps/1/customerReviews?limit=200&sort=rating", nil)
	if len(byRating) != 10000+added {
		t.Errorf("%d reviews by rating", len(byRating))
	}
}

func TestParametersErrorsAndResponses(t *testing.T) {
	f := New()
	f.PutReview("1", sdk.Review{ID: "a", Rating: 2, Text: "meh", Country: "RU"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := f.token(t, tokenOpts{})
	for _, q := range []string{"limit=201", "limit=0", "sort=date", "filter[territory]=RU", "cursor=%21", "include=app"} {
		if a := call(t, srv, "GET", "/v1/apps/1/customerReviews?"+q, tok, ""); a.status != 400 || errorCode(a) != "PARAMETER_ERROR.INVALID" {
			t.Errorf("%s: %d %v", q, a.status, a.body)
		}
	}
	// Apple: an unknown parameter is 400 PARAMETER_ERROR.ILLEGAL; the
	// parameters Apple documents but the fake does not implement are refused
	// too, never ignored.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/apps/1/customerReviews?foo=1"},
		{"GET", "/v1/apps/1/customerReviews?limit=10&filter[rating]=1,2"},
		{"GET", "/v1/apps/1/customerReviews?exists[publishedResponse]=false"},
		{"GET", "/v1/apps/1/customerReviews?fields[customerReviews]=rating"},
		{"GET", "/v1/apps/1/customerReviews?filter[reviewTerritory]=USA"},
		{"GET", "/v1/customerReviews/a?fields[customerReviewResponses]=state"},
		{"GET", "/v1/customerReviews/a?sort=rating"},
		{"POST", "/v1/customerReviewResponses?include=review"},
		{"DELETE", "/v1/customerReviewResponses/x?force=true"},
	} {
		if a := call(t, srv, c.method, c.path, tok, "{}"); a.status != 400 || errorCode(a) != "PARAMETER_ERROR.ILLEGAL" {
			t.Errorf("%s %s: %d %v", c.method, c.path, a.status, a.body)
		}
	}
	for _, q := range []string{"/v1/apps/1/customerReviews?include=reviewTerritory", "/v1/customerReviews/a?include=app", "/v1/apps/1/customerReviews?limit=1&limit=2"} {
		if a := call(t, srv, "GET", q, tok, ""); a.status != 400 || errorCode(a) != "PARAMETER_ERROR.INVALID" {
			t.Errorf("%s: %d %v", q, a.status, a.body)
		}
	}
	if a := call(t, srv, "GET", "/v1/apps/2/customerReviews", tok, ""); a.status != 404 || errorCode(a) != "NOT_FOUND" {
		t.Errorf("unknown app: %d %v", a.status, a.body)
	}
	post := func(review, text string) answer {
		b, _ := json.Marshal(map[string]any{"data": map[string]any{"type": "customerReviewResponses",
			"attributes":    map[string]any{"responseBody": text},
			"relationships": map[string]any{"review": map[string]any{"data": map[string]any{"type": "customerReviews", "id": review}}}}})
		return call(t, srv, "POST", "/v1/customerReviewResponses", tok, string(b))
	}
	// Apple's entity errors: not JSON 400, JSON of the wrong form 422, the
	// right form with unacceptable data 409.
	for body, want := range map[string]string{
		"responseBody=hi": "400 ENTITY_INVALID",
		`{"data":{"type":"customerReviewResponses","atributes":{"responseBody":"hi"},"relationships":{"review":{"data":{"type":"customerReviews","id":"a"}}}}}`: "422 ENTITY_UNPROCESSABLE",
		`{"data":{"type":"customerReviewResponses","attributes":{"responseBody":7},"relationships":{"review":{"data":{"type":"customerReviews","id":"a"}}}}}`:   "422 ENTITY_UNPROCESSABLE",
		`{"dat":{}}`: "422 ENTITY_UNPROCESSABLE",
		`{"data":{"type":"customerReviewResponses","relationships":{"review":{"data":{"type":"customerReviews","id":"a"}}}}}`:                    "422 ENTITY_UNPROCESSABLE",
		`{"data":{"type":"reviews","attributes":{"responseBody":"hi"},"relationships":{"review":{"data":{"type":"customerReviews","id":"a"}}}}}`: "409 ENTITY_ERROR.INCORRECT_TYPE",
		`{"data":{"type":"customerReviewResponses","attributes":{},"relationships":{"review":{"data":{"type":"customerReviews","id":"a"}}}}}`:    "409 ENTITY_ERROR.ATTRIBUTE.REQUIRED",
	} {
		a := call(t, srv, "POST", "/v1/customerReviewResponses", tok, body)
		if got := fmt.Sprintf("%d %s", a.status, errorCode(a)); got != want {
			t.Errorf("%s: %s, want %s", body, got, want)
		}
	}
	if _, ok := f.ReplyText("1", "a"); ok {
		t.Fatal("a refused body published a response")
	}
	if a := post("nope", "hi"); a.status != 409 {
		t.Errorf("unknown review: %d", a.status)
	}
	if a := post("a", strings.Repeat("é", ResponseMaxLength+1)); a.status != 409 {
		t.Errorf("too long: %d", a.status)
	}
	first := post("a", "Thanks")
	if first.status != 201 {
		t.Fatalf("create: %d %v", first.status, first.body)
	}
	second := post("a", "Fixed now") // create or update: replaces
	if second.status != 201 {
		t.Fatalf("replace: %d", second.status)
	}
	if txt, _ := f.ReplyText("1", "a"); txt != "Fixed now" {
		t.Errorf("reply text %q", txt)
	}
	// "Updates the response by overwriting it": the same response, same id.
	id := second.body["data"].(map[string]any)["id"].(string)
	if oldID := first.body["data"].(map[string]any)["id"].(string); id != oldID || second.header.Get("Location") != srv.URL+"/v1/customerReviewResponses/"+id {
		t.Errorf("replaced response: id %s, first %s; Location %q", id, oldID, second.header.Get("Location"))
	}
	f.ReadOnly(true)
	if a := call(t, srv, "DELETE", "/v1/customerReviewResponses/"+id, tok, ""); a.status != 403 || errorCode(a) != "FORBIDDEN_ERROR" {
		t.Errorf("read-only key deletes: %d %v", a.status, a.body)
	}
	f.ReadOnly(false)
	if a := call(t, srv, "DELETE", "/v1/customerReviewResponses/"+id, tok, ""); a.status != 204 {
		t.Errorf("delete: %d", a.status)
	}
	if _, ok := f.ReplyText("1", "a"); ok {
		t.Error("response still there")
	}
	f.RateLimit(1, 30*time.Second)
	a := call(t, srv, "GET", "/v1/apps/1/customerReviews", tok, "")
	if a.status != 429 || errorCode(a) != "RATE_LIMIT_EXCEEDED" || a.header.Get("Retry-After") != "30" || a.header.Get("X-Rate-Limit") != "user-hour-lim:3600;user-hour-rem:0;" {
		t.Errorf("429: %d %v %v", a.status, a.header, a.body)
	}
	f.Fail(1, 403)
	if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", tok, ""); a.status != 403 || errorCode(a) != "FORBIDDEN_ERROR" {
		t.Errorf("injected 403: %d %v", a.status, a.body)
	}
}

func TestFeed(t *testing.T) {
	f := New()
	for i := range 120 {
		f.PutReview("1", sdk.Review{ID: fmt.Sprintf("g%03d", i), Rating: 4, Country: "GB", AppVersion: "2.0", UpdatedAt: time.Now().Add(time.Duration(-i) * time.Minute)})
	}
	f.PutReview("1", sdk.Review{ID: "solo", Rating: 1, Country: "DE"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	entries := func(cc string, page int) any {
		a := call(t, srv, "GET", fmt.Sprintf("/%s/rss/customerreviews/page=%d/id=1/sortby=mostrecent/json", cc, page), "", "")
		if a.status != 200 {
			t.Fatalf("%s %d: %d", cc, page, a.status)
		}
		return a.body["feed"].(map[string]any)["entry"]
	}
	if e, _ := entries("gb", 1).([]any); len(e) != 50 {
		t.Errorf("page 1: %d entries", len(e))
	}
	if e, _ := entries("gb", 3).([]any); len(e) != 20 {
		t.Errorf("page 3: %d entries", len(e))
	}
	if e := entries("gb", 4); e != nil {
		t.Errorf("page 4: %v", e)
	}
	if e, ok := entries("de", 1).(map[string]any); !ok || e["id"].(map[string]any)["label"] != "solo" {
		t.Errorf("a lone entry: %v", e)
	}
	if a := call(t, srv, "GET", "/gb/rss/customerreviews/page=11/id=1/sortby=mostrecent/json", "", ""); a.status != 400 {
		t.Errorf("page 11: %d", a.status)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := New()
	srv := httptest.NewServer(f)
	defer srv.Close()
	tok := f.token(t, tokenOpts{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 50 {
				f.PutReview("1", sdk.Review{ID: fmt.Sprintf("c%d-%d", g, i), Rating: 3, Country: "US"})
			}
		}()
		go func() {
			defer wg.Done()
			for range 10 {
				call(t, srv, "GET", "/v1/apps/1/customerReviews?limit=20", tok, "")
				call(t, srv, "GET", "/us/rss/customerreviews/page=1/id=1/sortby=mostrecent/json", "", "")
			}
		}()
	}
	wg.Wait()
	if ids := listAll(t, srv, tok, "/v1/apps/1/customerReviews?limit=200", nil); len(ids) != 200 {
		t.Errorf("%d reviews after concurrent writes, want 200", len(ids))
	}
}

// An individual key's token has sub "user" and no iss; a team key's has
// iss. The fake takes the form of its key's kind only.
func TestIndividualKeyTokens(t *testing.T) {
	f := New()
	f.AddApp("1")
	srv := httptest.NewServer(f)
	defer srv.Close()
	team := f.token(t, tokenOpts{})
	individual := f.token(t, tokenOpts{noIss: true, sub: "user"})
	for _, tc := range []struct {
		name       string
		individual bool
		tok        string
		want       int
	}{
		{"team token, team key", false, team, 200},
		{"individual token, team key", false, individual, 401},
		{"individual token, individual key", true, individual, 200},
		{"team token, individual key", true, team, 401},
		{"sub other than user", true, f.token(t, tokenOpts{noIss: true, sub: "someone"}), 401},
		{"no sub", true, f.token(t, tokenOpts{noIss: true}), 401},
		{"sub and iss", true, f.token(t, tokenOpts{sub: "user"}), 401},
	} {
		f.SetIndividual(tc.individual)
		if a := call(t, srv, "GET", "/v1/apps/1/customerReviews", tc.tok, ""); a.status != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, a.status, a.body, tc.want)
		}
	}
}
