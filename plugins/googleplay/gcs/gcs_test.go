package gcs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/plugins/googleplay/gcs"
	"github.com/reviewhub/reviewhub/sdk"
)

const bucket = "pubsite_prod_rev_01234567890987654321"

func setup(t *testing.T, scope string) (*fake.Server, *gcs.Client) {
	t.Helper()
	f := fake.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	key := f.Settings(srv.URL)["service_account_json"]
	creds, err := google.CredentialsFromJSONWithType(context.Background(), []byte(key), google.ServiceAccount, scope)
	if err != nil {
		t.Fatal(err)
	}
	hc := sdk.NewHTTPClient(sdk.HTTPOptions{Base: &oauth2.Transport{Source: creds.TokenSource, Base: http.DefaultTransport},
		Retry: &sdk.RetryOptions{Sleep: func(context.Context, time.Duration) error { return nil }}})
	return f, gcs.New(hc, srv.URL, bucket)
}

func TestReportsBucketListPagesAndDownloadRanges(t *testing.T) {
	f, c := setup(t, gcs.Scope)
	ctx := context.Background()
	f.PutObject(bucket, "reviews/reviews_com.x_202611.csv", "text/csv", []byte("0123456789"))
	f.PutObject(bucket, "reviews/reviews_com.x_202612.csv", "text/csv", []byte("abc"))
	f.PutObject(bucket, "reviews/reviews_com.xy_202612.csv", "text/csv", []byte("other app"))
	f.PutObject(bucket, "stats/installs/installs_com.x_202612_overview.csv", "text/csv", []byte("stats"))
	f.StoragePageSize(1) // every object on a page of its own: nextPageToken followed
	objs, err := c.List(ctx, "reviews/reviews_com.x_")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Name != "reviews/reviews_com.x_202611.csv" || objs[1].Name != "reviews/reviews_com.x_202612.csv" ||
		objs[0].Size != "10" || objs[0].Generation == "" || objs[0].Bucket != bucket || objs[0].Updated.IsZero() {
		t.Fatalf("listed %+v", objs)
	}
	calls := f.StorageCalls()
	if calls != 2 { // two pages, the last without nextPageToken
		t.Errorf("%d calls for two objects on pages of one", calls)
	}
	read := func(name, gen string, off int64) (string, error) {
		rc, err := c.Open(ctx, name, gen, off)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	for off, want := range map[int64]string{0: "0123456789", 4: "456789", 10: "", 99: ""} {
		if got, err := read(objs[0].Name, objs[0].Generation, off); err != nil || got != want {
			t.Errorf("offset %d: %q %v, want %q", off, got, err, want)
		}
	}
	// The report was rewritten: the pinned generation is gone.
	f.PutObject(bucket, objs[0].Name, "text/csv", []byte("new"))
	if _, err := read(objs[0].Name, objs[0].Generation, 0); !gcs.IsGenerationGone(err) || !strings.Contains(err.Error(), objs[0].Name) {
		t.Errorf("old generation: %v", err)
	}
	if got, err := read(objs[0].Name, "", 0); err != nil || got != "new" {
		t.Errorf("newest: %q %v", got, err)
	}
	// A 503 is retried inside the call (the SDK's retry transport).
	f.Fail(1, http.StatusServiceUnavailable)
	if objs, err := c.List(ctx, "reviews/reviews_com.x_2026"); err != nil || len(objs) != 2 {
		t.Errorf("after a 503: %v %v", objs, err)
	}
}

func TestReportsBucketErrorsNameBucketAndPermission(t *testing.T) {
	f, c := setup(t, gcs.Scope)
	ctx := context.Background()
	_, err := c.List(ctx, "reviews/")
	if sdk.KindOf(err) != sdk.ErrorKindNotFound || !strings.Contains(err.Error(), "no bucket "+bucket) || !strings.Contains(err.Error(), "Copy Cloud Storage URI") {
		t.Errorf("missing bucket: %v", err)
	}
	f.PutObject(bucket, "reviews/reviews_com.x_202611.csv", "text/csv", []byte("x"))
	if _, err := c.Open(ctx, "reviews/reviews_com.x_209901.csv", "", 0); sdk.KindOf(err) != sdk.ErrorKindNotFound ||
		!strings.Contains(err.Error(), "reviews/reviews_com.x_209901.csv") {
		t.Errorf("missing object: %v", err)
	}
	f.DenyBucket(bucket)
	_, err = c.List(ctx, "reviews/")
	if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), "View app information and download bulk reports") ||
		!strings.Contains(err.Error(), bucket) || !strings.Contains(err.Error(), "storage.objects.list") {
		t.Errorf("denied: %v", err)
	}
	if _, err := c.Open(ctx, "reviews/reviews_com.x_202611.csv", "", 0); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied {
		t.Errorf("denied download: %v", err)
	}
	f.RateLimit(1, 30*time.Second)
	if _, err := c.List(ctx, "reviews/"); sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
		t.Errorf("429: %v", err)
	}
	// A token of the Android Publisher scope only is refused by Cloud
	// Storage: the plugin must ask for devstorage.read_only.
	_, c2 := setup(t, "https://www.googleapis.com/auth/androidpublisher")
	if _, err := c2.List(ctx, "reviews/"); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied {
		t.Errorf("wrong scope: %v", err)
	}
}
