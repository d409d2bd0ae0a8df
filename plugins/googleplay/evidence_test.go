package googleplay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/google"
	androidpublisher "google.golang.org/api/androidpublisher/v3"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/plugins/googleplay/gcs"
	"github.com/reviewhub/reviewhub/plugins/googleplay/play"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// docPkg is the package-name placeholder of Google's examples.
const docPkg = "your_package_name"

// gcsBucket is the reports bucket of the Cloud Storage examples (the form
// Play Console's "Copy Cloud Storage URI" gives).
const gcsBucket = "pubsite_prod_rev_01234567890987654321"

// evidenceClient is the plugin, in process, with its API calls sent to the
// server answering ex and its tokens from a fake token endpoint.
func evidenceClient(t *testing.T, ex evidence.Example) (*store, sdk.Settings) {
	t.Helper()
	tokens := fake.New()
	tsrv := httptest.NewServer(tokens)
	t.Cleanup(tsrv.Close)
	settings := tokens.Settings(tsrv.URL)
	settings["base_url"] = evidence.Serve(t, ex).URL
	return newStore(), settings
}

func (s *store) official(t *testing.T, settings sdk.Settings) *androidpublisher.Service {
	t.Helper()
	c, err := s.service(settings)
	if err != nil {
		t.Fatal(err)
	}
	return c.svc
}

// TestVendorExamplesAgainstClient plays Google's documented answers to the
// plugin and checks what it makes of them.
func TestVendorExamplesAgainstClient(t *testing.T) {
	examples := evidence.Load(t, "testdata/vendor")
	ctx := context.Background()
	t.Run("list", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "list"))
		page, err := s.ListReviews(ctx, sdk.ListReviewsRequest{Settings: settings, AppID: docPkg})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Reviews) != 2 || len(page.Unreadable) != 0 || page.NextPageToken == "" {
			t.Fatalf("page %+v", page)
		}
		jane, john := page.Reviews[0], page.Reviews[1]
		if jane.ID != "12345678" || jane.Author != "Jane Bloggs" || jane.Text != "This is the best app ever!" || jane.Title != "" || jane.Rating != 5 ||
			!jane.UpdatedAt.Equal(time.Unix(1443676826, 713000000)) || jane.Reply != nil ||
			jane.URL != "https://play.google.com/store/apps/details?id=your_package_name&reviewId=12345678" {
			t.Errorf("first review %+v", jane)
		}
		if john.Language != "en" || john.Device != "trltecan" || john.OSVersion != "API 21" || john.AppVersion != "1.2.3" ||
			john.Extra["app_version_code"] != "12345" || john.ThumbsUp != 10 || john.ThumbsDown != 3 || john.Extra["device_manufacturer"] != "Sony" ||
			john.Extra["cpu_model"] != "MT6752" || john.Reply == nil || john.Reply.Text != "That's great to hear!" ||
			!john.Reply.UpdatedAt.Equal(time.Unix(1423101467, 813000000)) {
			t.Errorf("second review %+v, reply %+v", john, john.Reply)
		}
	})
	t.Run("get", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "get"))
		r, err := s.official(t, settings).Reviews.Get(docPkg, "review_id").Do()
		if err != nil {
			t.Fatal(err)
		}
		rv, err := play.Review(docPkg, r)
		if err != nil || rv.ID != "87654321" || rv.Author != "Joan Smith" || rv.Text != "This app is awesome!" || rv.Rating != 5 {
			t.Errorf("review %+v %v", rv, err)
		}
	})
	t.Run("get-translated", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "get-translated"))
		r, err := s.official(t, settings).Reviews.Get(docPkg, "review_id").TranslationLanguage("en").Do()
		if err != nil {
			t.Fatal(err)
		}
		rv, err := play.Review(docPkg, r)
		if err != nil || rv.Text != "This is the best app ever!" || rv.Extra["original_text"] != "Dies ist die beste App überhaupt!" {
			t.Errorf("review %+v %v", rv, err)
		}
	})
	t.Run("reply", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "reply"))
		res, err := s.PostReply(ctx, sdk.PostReplyRequest{Settings: settings, AppID: docPkg, ReviewID: "review_id", Text: "Thanks for your feedback!"})
		rep := res.Reply
		if err != nil || rep.Text != "Thanks for your feedback!" || !rep.UpdatedAt.Equal(time.Unix(1453978803, 796000000)) {
			t.Errorf("reply %+v %v", rep, err)
		}
	})
	t.Run("reply-too-long", func(t *testing.T) {
		ex := evidence.Find(t, examples, "reply-too-long")
		s, settings := evidenceClient(t, ex)
		text := "Thank you for the detailed feedback! "
		text = strings.Repeat(text, 10)
		// The plugin (with the SDK's checks, as the hub reaches it) refuses
		// it before any call…
		checked, err := sdk.CheckedStore(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checked.PostReply(ctx, sdk.PostReplyRequest{Settings: settings, AppID: docPkg, ReviewID: "review_id", Text: text}); sdk.KindOf(err) != sdk.ErrorKindRefused {
			t.Errorf("plugin: %v", err)
		}
		// …and Google's 400 for it is Invalid.
		_, err = s.official(t, settings).Reviews.Reply(docPkg, "review_id", &androidpublisher.ReviewsReplyRequest{ReplyText: text}).Do()
		if err := play.Classify("reviews.reply", docPkg, err); sdk.KindOf(err) != sdk.ErrorKindInvalid {
			t.Errorf("400: %v", err)
		}
	})
	t.Run("reply-missing-review", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "reply-missing-review"))
		_, err := s.PostReply(ctx, sdk.PostReplyRequest{Settings: settings, AppID: docPkg, ReviewID: "no_such_review", Text: "Thanks for your feedback!"})
		if sdk.KindOf(err) != sdk.ErrorKindNotFound {
			t.Errorf("404: %v", err)
		}
	})
	t.Run("error-quota", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "error-quota"))
		_, err := s.ListReviews(ctx, sdk.ListReviewsRequest{Settings: settings, AppID: docPkg})
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != time.Hour || !strings.Contains(err.Error(), "Queries per day") {
			t.Errorf("quota: %v (%v, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
	})
	t.Run("error-forbidden", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "error-forbidden"))
		_, err := s.ListReviews(ctx, sdk.ListReviewsRequest{Settings: settings, AppID: docPkg})
		if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "no access to package your_package_name") {
			t.Errorf("forbidden: %v", err)
		}
	})
	t.Run("gcs-objects-list", func(t *testing.T) {
		ex := evidence.Find(t, examples, "gcs-objects-list")
		objs, err := gcs.New(http.DefaultClient, evidence.Serve(t, ex).URL, gcsBucket).List(ctx, "reviews/reviews_com.example.app_")
		if err != nil || len(objs) != 1 || objs[0].Name != "reviews/reviews_com.example.app_202611.csv" || objs[0].Generation != "1764547200000000" ||
			objs[0].Size != "48230" || !objs[0].Updated.Equal(time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("listed %+v %v", objs, err)
		}
	})
	t.Run("gcs-error-forbidden", func(t *testing.T) {
		ex := evidence.Find(t, examples, "gcs-error-forbidden")
		_, err := gcs.New(http.DefaultClient, evidence.Serve(t, ex).URL, gcsBucket).List(ctx, "reviews/reviews_com.example.app_")
		if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), gcs.Permission) || !strings.Contains(err.Error(), gcsBucket) {
			t.Errorf("forbidden: %v", err)
		}
	})
	t.Run("reply-old-review", func(t *testing.T) {
		s, settings := evidenceClient(t, evidence.Find(t, examples, "reply-old-review"))
		_, err := s.official(t, settings).Reviews.Reply(docPkg, "review_id", &androidpublisher.ReviewsReplyRequest{ReplyText: "Thanks for your feedback!"}).Do()
		if err != nil {
			t.Errorf("reply to an old review: %v", err)
		}
	})
	t.Run("reply-old-review-500", func(t *testing.T) {
		// One 500 alone is transient (retried); PostReply's explanation of
		// it is tested against the fake (TestReplyFailuresExplained).
		s, settings := evidenceClient(t, evidence.Find(t, examples, "reply-old-review-500"))
		_, err := s.official(t, settings).Reviews.Reply(docPkg, "review_id", &androidpublisher.ReviewsReplyRequest{ReplyText: "Thanks for your feedback!"}).Do()
		if err := play.Classify("reviews.reply", docPkg, err); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
			t.Errorf("500: %v", err)
		}
	})
}

// TestVendorExamplesAgainstFake sends Google's documented requests to the
// fake, set up as the example describes, and requires the documented status
// and body shape.
func TestVendorExamplesAgainstFake(t *testing.T) {
	examples := evidence.Load(t, "testdata/vendor")
	now := time.Now().UTC()
	setup := map[string]func(f *fake.Server){
		"list": func(f *fake.Server) {
			f.PutReview(docPkg, sdk.Review{ID: "12345678", Author: "Jane Bloggs", Rating: 5, Text: "This is the best app ever!", UpdatedAt: now.Add(-time.Minute)})
			f.PutReview(docPkg, sdk.Review{ID: "11223344", Author: "John Doe", Rating: 5, Text: "I love using this app!", Language: "en", Device: "trltecan",
				OSVersion: "API 21", AppVersion: "1.2.3", ThumbsUp: 10, ThumbsDown: 3, Extra: map[string]string{"app_version_code": "12345"},
				UpdatedAt: now.Add(-2 * time.Minute), Reply: &sdk.DeveloperReply{Text: "That's great to hear!"}})
			for i := range fake.DefaultPageSize {
				f.PutReview(docPkg, sdk.Review{ID: "older-" + string(rune('a'+i)), Rating: 3, Text: "ok", UpdatedAt: now.Add(-time.Hour)})
			}
		},
		"get": func(f *fake.Server) {
			f.PutReview(docPkg, sdk.Review{ID: "review_id", Author: "Joan Smith", Rating: 5, Text: "This app is awesome!"})
		},
		"get-translated": func(f *fake.Server) {
			f.PutReview(docPkg, sdk.Review{ID: "review_id", Author: "Jane Bloggs", Rating: 5, Text: "Dies ist die beste App überhaupt!"})
		},
		"reply":                func(f *fake.Server) { f.PutReview(docPkg, sdk.Review{ID: "review_id", Rating: 5, Text: "ok"}) },
		"reply-too-long":       func(f *fake.Server) { f.PutReview(docPkg, sdk.Review{ID: "review_id", Rating: 5, Text: "ok"}) },
		"reply-missing-review": func(*fake.Server) {},
		"error-quota":          func(f *fake.Server) { f.QuotaLimit(1, "Queries per day") },
		"error-forbidden":      func(f *fake.Server) { f.Deny(docPkg) },
		"gcs-objects-list": func(f *fake.Server) {
			f.PutObject(gcsBucket, "reviews/reviews_com.example.app_202611.csv", "text/csv; charset=utf-16le", []byte("x"))
		},
		"gcs-error-forbidden": func(f *fake.Server) { f.DenyBucket(gcsBucket) },
		"reply-old-review": func(f *fake.Server) {
			f.AcceptOldReplies()
			f.PutReview(docPkg, sdk.Review{ID: "review_id", Rating: 2, Text: "old", UpdatedAt: now.Add(-30 * 24 * time.Hour)})
		},
		"reply-old-review-500": func(f *fake.Server) {
			f.PutReview(docPkg, sdk.Review{ID: "review_id", Rating: 2, Text: "old", UpdatedAt: now.Add(-8 * 24 * time.Hour)})
		},
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			prepare, ok := setup[ex.Name]
			if !ok {
				t.Fatalf("no fake setup for example %s", ex.Name)
			}
			f := fake.New()
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			f.AddApp(docPkg)
			creds, err := google.CredentialsFromJSONWithType(context.Background(), []byte(f.Settings(srv.URL)["service_account_json"]),
				google.ServiceAccount, androidpublisher.AndroidpublisherScope, gcs.Scope)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := creds.TokenSource.Token()
			if err != nil {
				t.Fatal(err)
			}
			prepare(f)
			evidence.Replay(t, srv.Client(), srv.URL, ex, func(r *http.Request) { tok.SetAuthHeader(r) })
		})
	}
}
