package appstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	"github.com/reviewhub/reviewhub/plugins/appstore/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// Apple's documented examples (testdata/vendor) played against the client
// (it sends the documented request and reads the documented answer) and
// against the fake (it answers the documented request with the documented
// status, headers and body shape).

const vendorDir = "testdata/vendor"

func testKey(t *testing.T, f *fake.Server) asc.Key {
	t.Helper()
	k, err := asc.ParseKey(f.IssuerID(), f.KeyID(), f.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vendorClient(t *testing.T, base string) *asc.Client {
	t.Helper()
	f := fake.New() // only for a valid key; the server is evidence.Serve's
	return &asc.Client{BaseURL: base, Key: testKey(t, f), Tokens: &asc.Tokens{}, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

func TestVendorExamplesAgainstTheClient(t *testing.T) {
	exs := evidence.Load(t, vendorDir)
	c := context.Background()

	t.Run("list_version_reviews", func(t *testing.T) {
		ex := evidence.Find(t, exs, "list_version_reviews")
		srv := evidence.Serve(t, ex)
		cl := vendorClient(t, srv.URL)
		resp, err := cl.ListPage(c, ex.Request.Path+"?limit=1&filter%5Bterritory%5D=USA")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 1 || resp.Meta.Paging.Total != 10 || resp.Meta.Paging.Limit != 1 || !strings.Contains(resp.Links.Next, "cursor=AQ.AJJtGDc") {
			t.Fatalf("parsed %+v", resp)
		}
		r, err := asc.MapReview("1", resp.Data[0], resp.Included)
		if err != nil || r.ID != "00000028-b08c-0014-9674-c54800000000" || r.Rating != 5 || r.Title != "Pretty Stellar" || r.Author != "Juan Chavez" ||
			r.Country != "US" || !r.UpdatedAt.Equal(time.Date(2024, 1, 2, 18, 19, 36, 0, time.UTC)) || r.Reply != nil {
			t.Errorf("mapped %+v %v", r, err)
		}
		if rl, ok := cl.LastRateLimit(); !ok || rl.Limit != 3500 || rl.Remaining != 500 {
			t.Errorf("X-Rate-Limit read as %+v %v", rl, ok)
		}
		// links.next points at Apple's host, not the configured one: the
		// client does not follow it there.
		if _, err := cl.ListPage(c, resp.Links.Next); sdk.KindOf(err) != sdk.ErrorKindInvalid {
			t.Errorf("following a link off the API host: %v", err)
		}
	})
	t.Run("post_response", func(t *testing.T) {
		ex := evidence.Find(t, exs, "post_response")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		rep, err := cl.Respond(c, "00000028-b08c-0014-9674-c54800000000", "Thank you! Version 3.3 fixes the crash.")
		if err != nil || rep.ID != "00000050-0000-0000-0000-000000000001" || rep.State != "PENDING_PUBLISH" || rep.Text != "Thank you! Version 3.3 fixes the crash." || rep.UpdatedAt.IsZero() {
			t.Errorf("%+v %v", rep, err)
		}
	})
	t.Run("delete_response", func(t *testing.T) {
		ex := evidence.Find(t, exs, "delete_response")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		if err := cl.DeleteResponse(c, "00000050-0000-0000-0000-000000000001"); err != nil {
			t.Error(err)
		}
	})
	t.Run("error_forbidden_role", func(t *testing.T) {
		ex := evidence.Find(t, exs, "error_forbidden_role")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		_, err := cl.Respond(c, "00000028-b08c-0014-9674-c54800000000", "Thanks!")
		if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "role") || !strings.Contains(err.Error(), "Customer Support") ||
			!strings.Contains(err.Error(), "FORBIDDEN_ERROR: This request is forbidden") {
			t.Errorf("%v (%v)", err, sdk.KindOf(err))
		}
	})
	t.Run("error_rate_limited", func(t *testing.T) {
		ex := evidence.Find(t, exs, "error_rate_limited")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		_, err := cl.ListPage(c, asc.ReviewsURL("1234567890", nil, 200))
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != time.Hour || !strings.Contains(err.Error(), "3500 requests an hour, 0 left") {
			t.Errorf("%v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
	})
	t.Run("error_unknown_parameter", func(t *testing.T) {
		ex := evidence.Find(t, exs, "error_unknown_parameter")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		_, err := cl.ListPage(c, ex.Request.Path+"?foo=1")
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "refused a parameter") || !strings.Contains(err.Error(), "PARAMETER_ERROR.ILLEGAL") {
			t.Errorf("%v (%v)", err, sdk.KindOf(err))
		}
	})
	t.Run("error_body_not_json", func(t *testing.T) {
		ex := evidence.Find(t, exs, "error_body_not_json")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		err := cl.Do(c, "POST", ex.Request.Path, "responseBody=Thanks", nil)
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "could not read the request body") {
			t.Errorf("%v (%v)", err, sdk.KindOf(err))
		}
	})
	t.Run("error_body_wrong_form", func(t *testing.T) {
		ex := evidence.Find(t, exs, "error_body_wrong_form")
		cl := vendorClient(t, evidence.Serve(t, ex).URL)
		err := cl.Do(c, "POST", ex.Request.Path, map[string]any{"data": map[string]any{"type": "customerReviewResponses",
			"atributes":     map[string]any{"responseBody": "Thanks!"},
			"relationships": map[string]any{"review": map[string]any{"data": map[string]any{"type": "customerReviews", "id": "x"}}}}}, nil)
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "ENTITY_UNPROCESSABLE") {
			t.Errorf("%v (%v)", err, sdk.KindOf(err))
		}
	})
	t.Run("feed_page_without_entry_dates", func(t *testing.T) {
		ex := evidence.Find(t, exs, "feed_page_without_entry_dates")
		srv := evidence.Serve(t, ex)
		st := &store{log: sdk.Logger(), tokens: &asc.Tokens{}, http: srv.Client()}
		reviews, bad, err := st.feedPage(c, sdk.Settings{"feed_base_url": srv.URL}, "1404176564", "jp", 1)
		if err != nil || len(bad) != 0 || len(reviews) != 2 {
			t.Fatalf("%d reviews, unreadable %+v, %v", len(reviews), bad, err)
		}
		r := reviews[1]
		// No date of its own: the feed's, marked as such.
		if r.ID != "6281770599" || r.Rating != 1 || r.Text != "アプデ多すぎ" || r.AppVersion != "3.4.3" || r.Country != "JP" ||
			!r.UpdatedAt.Equal(time.Date(2020, 8, 8, 3, 17, 3, 0, time.UTC)) || r.Extra["date_from"] != "feed" {
			t.Errorf("%+v", r)
		}
	})
}

func TestVendorExamplesAgainstTheFake(t *testing.T) {
	exs := evidence.Load(t, vendorDir)
	const appID, reviewID = "1234567890", "00000028-b08c-0014-9674-c54800000000"
	for _, ex := range exs {
		t.Run(ex.Name, func(t *testing.T) {
			f := fake.New()
			srv := httptest.NewServer(f)
			defer srv.Close()
			f.AddApp(appID)
			f.PutReview(appID, sdk.Review{ID: reviewID, Rating: 5, Title: "Pretty Stellar", Text: "I love it", Author: "Juan Chavez", Country: "US", AppVersion: "1.0"})
			tokens := &asc.Tokens{}
			key := testKey(t, f)
			auth := func(r *http.Request) {
				tok, err := tokens.Token(key)
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			switch ex.Name {
			case "list_version_reviews":
				f.AddVersion(appID, "d716c220-3de9-4cf2-a885-8cfb43a11087", "1.0")
				f.PutReview(appID, sdk.Review{ID: "older", Rating: 3, Country: "US", AppVersion: "1.0", UpdatedAt: time.Now().Add(-time.Hour)})
			case "delete_response":
				if !f.PutResponse(appID, reviewID, "00000050-0000-0000-0000-000000000001", "Thanks") {
					t.Fatal("no review for the response")
				}
			case "error_forbidden_role":
				f.ReadOnly(true)
			case "error_rate_limited":
				f.RateLimit(1, 0)
			case "feed_page_without_entry_dates":
				f.FeedWithoutEntryDates(true)
				for _, id := range []string{"6282758619", "6281770599"} {
					f.PutReview("1404176564", sdk.Review{ID: id, Rating: 1, Country: "JP", AppVersion: "3.4.3"})
				}
			}
			body := evidence.Replay(t, srv.Client(), srv.URL, ex, auth)
			switch ex.Name {
			case "post_response":
				if txt, _ := f.ReplyText(appID, reviewID); txt != "Thank you! Version 3.3 fixes the crash." {
					t.Errorf("the fake shows %q", txt)
				}
			case "delete_response":
				if _, ok := f.ReplyText(appID, reviewID); ok {
					t.Error("the response is still there")
				}
			case "list_version_reviews":
				if !strings.Contains(string(body), `"next":"http`) {
					t.Errorf("no links.next with limit=1 and two reviews: %s", body)
				}
			}
		})
	}
}
