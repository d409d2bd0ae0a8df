package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/google"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/reviewhub/reviewhub/sdk"
)

const pkg = "com.example.app"

func serve(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := New()
	api := httptest.NewServer(s)
	t.Cleanup(api.Close)
	s.Settings(api.URL) // records the token URL
	return s, api
}

// client is the official client on the fake, as the plugin builds it.
func client(t *testing.T, s *Server, api *httptest.Server) *androidpublisher.Service {
	t.Helper()
	ctx := context.Background()
	creds, err := google.CredentialsFromJSONWithType(ctx, []byte(s.KeyJSON(api.URL+"/token")), google.ServiceAccount, androidpublisher.AndroidpublisherScope)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := androidpublisher.NewService(ctx, option.WithTokenSource(creds.TokenSource), option.WithEndpoint(api.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// assertion signs a JWT-bearer assertion with the fake's key, changed by edit.
func (s *Server) assertion(t *testing.T, tokenURL string, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": ClientEmail, "aud": tokenURL, "scope": scope, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(c)
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func postToken(t *testing.T, tokenURL string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	s, api := serve(t)
	tokenURL := api.URL + "/token"
	grant := "urn:ietf:params:oauth:grant-type:jwt-bearer"
	other := New()
	cases := []struct {
		name  string
		form  url.Values
		error string
	}{
		{"wrong grant", url.Values{"grant_type": {"client_credentials"}, "assertion": {s.assertion(t, tokenURL, nil)}}, "unsupported_grant_type"},
		{"other key", url.Values{"grant_type": {grant}, "assertion": {other.assertion(t, tokenURL, nil)}}, "invalid_grant"},
		{"wrong issuer", url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, func(c jwt.MapClaims) { c["iss"] = "x@y" })}}, "invalid_grant"},
		{"wrong audience", url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, func(c jwt.MapClaims) { c["aud"] = "https://oauth2.googleapis.com/token" })}}, "invalid_grant"},
		{"expired", url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		})}}, "invalid_grant"},
		{"too long", url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(3 * time.Hour).Unix() })}}, "invalid_grant"},
		{"other scope", url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, func(c jwt.MapClaims) { c["scope"] = "https://www.googleapis.com/auth/drive" })}}, "invalid_scope"},
		{"garbage", url.Values{"grant_type": {grant}, "assertion": {"not.a.jwt"}}, "invalid_grant"},
	}
	for _, c := range cases {
		status, body := postToken(t, tokenURL, c.form)
		if status != http.StatusBadRequest || body["error"] != c.error {
			t.Errorf("%s: %d %v, want 400 %s", c.name, status, body, c.error)
		}
	}
	status, body := postToken(t, tokenURL, url.Values{"grant_type": {grant}, "assertion": {s.assertion(t, tokenURL, nil)}})
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["access_token"] == "" || s.TokenCalls() != 1 {
		t.Errorf("good assertion: %d %v", status, body)
	}
}

func TestAPIAnswersGoogleErrors(t *testing.T) {
	s, api := serve(t)
	s.AddApp(pkg)
	get := func(auth string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/androidpublisher/v3/applications/"+pkg+"/reviews", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	for _, auth := range []string{"", "Bearer nope", "Basic abc"} {
		code, body := get(auth)
		e, _ := body["error"].(map[string]any)
		if code != 401 || e["status"] != "UNAUTHENTICATED" || e["code"] != 401.0 {
			t.Errorf("auth %q: %d %v", auth, code, body)
		}
	}
	svc := client(t, s, api)
	check := func(name string, err error, code int, reason string) {
		t.Helper()
		var ge *googleapi.Error
		if !asGoogle(err, &ge) || ge.Code != code || len(ge.Errors) != 1 || ge.Errors[0].Reason != reason {
			t.Errorf("%s: %v, want %d %s", name, err, code, reason)
		}
	}
	_, err := svc.Reviews.List("com.unknown").Do()
	check("unknown package", err, 404, "notFound")
	s.Deny("com.denied")
	_, err = svc.Reviews.List("com.denied").Do()
	check("denied", err, 403, "forbidden")
	_, err = svc.Reviews.Get(pkg, "missing").Do()
	check("missing review", err, 404, "notFound")
	_, err = svc.Reviews.List(pkg).Token("%%%").Do()
	check("bad token", err, 400, "invalid")
	s.Quota(1)
	_, err = svc.Reviews.List(pkg).Do()
	check("quota", err, 403, "rateLimitExceeded")
	s.RateLimit(1, 30*time.Second)
	_, err = svc.Reviews.List(pkg).Do()
	check("rate limit", err, 429, "rateLimitExceeded")
	var ge *googleapi.Error
	if asGoogle(err, &ge) && ge.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q", ge.Header.Get("Retry-After"))
	}
	s.Fail(1, 503)
	_, err = svc.Reviews.List(pkg).Do()
	check("503", err, 503, "backendError")
	_, err = svc.Reviews.Reply(pkg, "missing", &androidpublisher.ReviewsReplyRequest{ReplyText: "x"}).Do()
	check("reply to a missing review", err, 404, "notFound")
	s.PutReview(pkg, sdk.Review{ID: "r1", Rating: 3, Text: "ok"})
	_, err = svc.Reviews.Reply(pkg, "r1", &androidpublisher.ReviewsReplyRequest{ReplyText: strings.Repeat("a", 351)}).Do()
	check("351 characters", err, 400, "invalid")
	_, err = svc.Reviews.Reply(pkg, "r1", &androidpublisher.ReviewsReplyRequest{ReplyText: "<b></b>"}).Do()
	check("empty after stripping HTML", err, 400, "required")
	if s.Calls() == 0 {
		t.Error("no calls counted")
	}
}

func asGoogle(err error, ge **googleapi.Error) bool {
	e, ok := err.(*googleapi.Error)
	if ok {
		*ge = e
	}
	return ok
}

func TestReplyGetAndWindow(t *testing.T) {
	s, api := serve(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.SetNow(func() time.Time { return now })
	s.PutReview(pkg, sdk.Review{ID: "old", Rating: 1, Text: "old", UpdatedAt: now.Add(-8 * 24 * time.Hour)})
	s.PutReview(pkg, sdk.Review{ID: "new", Rating: 5, Text: "new", Language: "fr", UpdatedAt: now.Add(-time.Hour)})
	svc := client(t, s, api)
	resp, err := svc.Reviews.List(pkg).TranslationLanguage("en").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Reviews) != 1 || resp.Reviews[0].ReviewId != "new" || resp.TokenPagination != nil {
		t.Fatalf("listing %+v", resp)
	}
	uc := resp.Reviews[0].Comments[0].UserComment
	if uc.Text != "[en] new" || uc.OriginalText != "new" || uc.StarRating != 5 || uc.LastModified.Seconds != now.Add(-time.Hour).Unix() {
		t.Errorf("user comment %+v", uc)
	}
	// The seven-day window hides the old review from the list, not from get.
	if _, err := svc.Reviews.Get(pkg, "old").Do(); err != nil {
		t.Errorf("get old: %v", err)
	}
	out, err := svc.Reviews.Reply(pkg, "new", &androidpublisher.ReviewsReplyRequest{ReplyText: "Merci <b>beaucoup</b>"}).Do()
	if err != nil || out.Result.ReplyText != "Merci beaucoup" || out.Result.LastEdited.Seconds != now.Unix() {
		t.Fatalf("reply: %+v %v", out, err)
	}
	if _, err := svc.Reviews.Reply(pkg, "new", &androidpublisher.ReviewsReplyRequest{ReplyText: "Merci !"}).Do(); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Reviews.Get(pkg, "new").Do()
	if err != nil || len(got.Comments) != 2 || got.Comments[1].DeveloperComment.Text != "Merci !" {
		t.Errorf("get after replacing: %+v %v", got, err)
	}
	if txt, ok := s.ReplyText(pkg, "new"); !ok || txt != "Merci !" || s.ReplyCalls(pkg, "new") != 2 {
		t.Errorf("ReplyText %q %v, %d calls", txt, ok, s.ReplyCalls(pkg, "new"))
	}
}

// A full listing of 10,000 reviews, newest-modified first, while others
// write: every review unchanged during the listing is seen exactly once.
func TestTenThousandReviewsPagedWhileEdited(t *testing.T) {
	s, api := serve(t)
	base := time.Now().Add(-time.Hour)
	const n = 10000
	for i := range n {
		s.PutReview(pkg, sdk.Review{ID: fmt.Sprintf("r%05d", i), Rating: 1 + i%5, Text: "t", UpdatedAt: base.Add(time.Duration(i) * time.Millisecond)})
	}
	svc := client(t, s, api)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // edits move reviews r0xxxx to the front while we page
		defer wg.Done()
		for i := 0; i < 3000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.PutReview(pkg, sdk.Review{ID: fmt.Sprintf("r%05d", i%100), Rating: 5, Text: "edited"})
		}
	}()
	seen := map[string]int{}
	var prev time.Time
	token, pages := "", 0
	for {
		call := svc.Reviews.List(pkg).MaxResults(100)
		if token != "" {
			call = call.Token(token)
		}
		resp, err := call.Do()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range resp.Reviews {
			seen[r.ReviewId]++
			m := time.Unix(r.Comments[0].UserComment.LastModified.Seconds, r.Comments[0].UserComment.LastModified.Nanos)
			if pages > 1 && m.After(prev) {
				t.Fatalf("%s out of order", r.ReviewId)
			}
			prev = m
		}
		if resp.TokenPagination == nil {
			break
		}
		token = resp.TokenPagination.NextPageToken
	}
	close(stop)
	wg.Wait()
	for i := 100; i < n; i++ {
		if id := fmt.Sprintf("r%05d", i); seen[id] != 1 {
			t.Fatalf("%s seen %d times", id, seen[id])
		}
	}
	if pages < n/100 || pages > n/100+1 {
		t.Errorf("%d pages", pages)
	}
}

func TestDefaultPageSizeAndCap(t *testing.T) {
	s, api := serve(t)
	for i := range 150 {
		s.PutReview(pkg, sdk.Review{ID: fmt.Sprint(i), Rating: 3, Text: "t"})
	}
	svc := client(t, s, api)
	resp, err := svc.Reviews.List(pkg).Do()
	if err != nil || len(resp.Reviews) != DefaultPageSize || resp.TokenPagination == nil {
		t.Fatalf("default page: %d %v", len(resp.Reviews), err)
	}
	resp, err = svc.Reviews.List(pkg).MaxResults(1000).Do()
	if err != nil || len(resp.Reviews) != MaxPageSize {
		t.Fatalf("capped page: %d %v", len(resp.Reviews), err)
	}
}

// Review ids like gp:AOqpTOH8ZUv5em6 hold ':' (and the client escapes it):
// reviews.get routes for any id, the ':reply' verb is split off POSTs only.
func TestReviewIDsWithColons(t *testing.T) {
	s, api := serve(t)
	svc := client(t, s, api)
	for _, id := range []string{"gp:AOqpTOH8ZUv5em6", "a:b:c", "with/slash", "reply:reply"} {
		s.PutReview(pkg, sdk.Review{ID: id, Rating: 4, Text: "fine"})
		got, err := svc.Reviews.Get(pkg, id).Do()
		if err != nil || got.ReviewId != id {
			t.Errorf("get %s: %+v %v", id, got, err)
		}
		out, err := svc.Reviews.Reply(pkg, id, &androidpublisher.ReviewsReplyRequest{ReplyText: "Thanks"}).Do()
		if err != nil || out.Result.ReplyText != "Thanks" || s.ReplyCalls(pkg, id) != 1 {
			t.Errorf("reply %s: %+v %v", id, out, err)
		}
	}
	// The verb alone, or a GET of it, is no method.
	_, tok := postToken(t, api.URL+"/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {s.assertion(t, api.URL+"/token", nil)}})
	for _, c := range [][2]string{{http.MethodPost, "/reviews/:reply"}, {http.MethodPost, "/reviews/gp:AOqpTOH8ZUv5em6"}} {
		req, _ := http.NewRequest(c[0], api.URL+"/androidpublisher/v3/applications/"+pkg+c[1], strings.NewReader(`{"replyText":"x"}`))
		req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c[0], c[1], resp.StatusCode)
		}
	}
}

// Titled reviews come as "title\tbody"; reviews without text are neither
// listed nor served; pages may be shorter than maxResults; no pageInfo.
func TestTitlesTextlessShortPagesAndNoPageInfo(t *testing.T) {
	s, api := serve(t)
	s.PutReview(pkg, sdk.Review{ID: "titled", Rating: 2, Title: "Crashes", Text: "Since 3.2 it crashes at start"})
	s.PutReview(pkg, sdk.Review{ID: "stars-only", Rating: 5})
	for i := range 7 {
		s.PutReview(pkg, sdk.Review{ID: fmt.Sprint("r", i), Rating: 3, Text: "t"})
	}
	svc := client(t, s, api)
	got, err := svc.Reviews.Get(pkg, "titled").Do()
	if err != nil || got.Comments[0].UserComment.Text != "Crashes\tSince 3.2 it crashes at start" {
		t.Errorf("titled: %+v %v", got, err)
	}
	if _, err := svc.Reviews.Get(pkg, "stars-only").Do(); err == nil {
		t.Error("a review without text was served")
	}
	s.ShortPages(3)
	seen, pages, token := map[string]bool{}, 0, ""
	for pages < 10 {
		call := svc.Reviews.List(pkg).MaxResults(100)
		if token != "" {
			call = call.Token(token)
		}
		resp, err := call.Do()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if resp.PageInfo != nil || len(resp.Reviews) > 3 {
			t.Errorf("page %d: pageInfo %+v, %d reviews", pages, resp.PageInfo, len(resp.Reviews))
		}
		for _, r := range resp.Reviews {
			seen[r.ReviewId] = true
		}
		if resp.TokenPagination == nil {
			break
		}
		token = resp.TokenPagination.NextPageToken
	}
	if len(seen) != 8 || seen["stars-only"] || pages != 3 {
		t.Errorf("listed %v in %d pages, want the 8 reviews with text in 3", seen, pages)
	}
}

func TestReplyRefusalsAndOldReviews(t *testing.T) {
	s, api := serve(t)
	now := time.Now().UTC()
	s.PutReview(pkg, sdk.Review{ID: "ok", Rating: 3, Text: "ok"})
	s.PutReview(pkg, sdk.Review{ID: "blocked", Rating: 1, Text: "bad"})
	s.PutReview(pkg, sdk.Review{ID: "old", Rating: 1, Text: "old", UpdatedAt: now.Add(-8 * 24 * time.Hour)})
	s.RefuseReply(pkg, "blocked")
	svc := client(t, s, api)
	reply := func(id string) error {
		_, err := svc.Reviews.Reply(pkg, id, &androidpublisher.ReviewsReplyRequest{ReplyText: "Thanks"}).Do()
		return err
	}
	if err := reply("ok"); err != nil {
		t.Fatal(err)
	}
	var ge *googleapi.Error
	if err := reply("blocked"); !asGoogle(err, &ge) || ge.Code != 403 {
		t.Errorf("blocked review: %v", err)
	}
	if _, err := svc.Reviews.List(pkg).Do(); err != nil {
		t.Errorf("the package stays readable: %v", err)
	}
	if err := reply("old"); !asGoogle(err, &ge) || ge.Code != 500 || ge.Body != `{"error":{"code":500,"message":null}}`+"\n" {
		t.Errorf("old review: %v %q", err, ge.Body)
	}
	if _, err := svc.Reviews.Get(pkg, "old").Do(); err != nil {
		t.Errorf("get old: %v", err)
	}
	if s.ReplyCalls(pkg, "blocked")+s.ReplyCalls(pkg, "old") != 0 {
		t.Error("refused replies counted as posted")
	}
	if n := s.GetCalls(pkg); n != 2 {
		t.Errorf("%d GET calls, want 2", n)
	}
	s.QuotaLimit(1, "Queries per day")
	if _, err := svc.Reviews.List(pkg).Do(); !asGoogle(err, &ge) || ge.Code != 403 || !strings.Contains(ge.Message, "'Queries per day'") {
		t.Errorf("daily quota: %v", err)
	}
}

func FuzzPageToken(f *testing.F) {
	f.Add(pageToken{time.Unix(1700000000, 5), "gp:AOqpTOE"}.String())
	f.Add("")
	f.Add("MTIzOg")
	f.Fuzz(func(t *testing.T, s string) {
		tk, ok := parsePageToken(s)
		if !ok {
			return
		}
		back, ok := parsePageToken(tk.String())
		if !ok || back.id != tk.id || !back.modified.Equal(tk.modified) {
			t.Fatalf("%q: %+v does not round-trip (%+v)", s, tk, back)
		}
	})
}
