package play

import (
	"encoding/json"
	"testing"
	"time"

	androidpublisher "google.golang.org/api/androidpublisher/v3"
)

const sample = `{"reviews":[{"reviewId":"gp:1","authorName":"Ann","comments":[
 {"userComment":{"text":"\tGreat","lastModified":{"seconds":"1700000000","nanos":5},"starRating":5,"reviewerLanguage":"en_GB",
  "device":"a51","androidOsVersion":33,"appVersionCode":42,"appVersionName":"4.2","thumbsUpCount":3,"thumbsDownCount":1,
  "deviceMetadata":{"manufacturer":"Samsung","ramMb":4096}}},
 {"developerComment":{"text":"Thanks!","lastModified":{"seconds":"1700000100"}}}]}],
 "tokenPagination":{"nextPageToken":"abc"}}`

func TestReviewMapsEveryField(t *testing.T) {
	var resp androidpublisher.ReviewsListResponse
	if err := json.Unmarshal([]byte(sample), &resp); err != nil {
		t.Fatal(err)
	}
	r, err := Review("com.x", resp.Reviews[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "gp:1" || r.Author != "Ann" || r.Rating != 5 || r.Text != "Great" || r.Language != "en-GB" || r.Device != "a51" ||
		r.OSVersion != "API 33" || r.AppVersion != "4.2" || r.Extra["app_version_code"] != "42" || r.ThumbsUp != 3 || r.ThumbsDown != 1 ||
		!r.UpdatedAt.Equal(time.Unix(1700000000, 5)) || r.Extra["device_manufacturer"] != "Samsung" {
		t.Errorf("mapped %+v", r)
	}
	if r.Reply == nil || r.Reply.Text != "Thanks!" || !r.Reply.UpdatedAt.Equal(time.Unix(1700000100, 0)) {
		t.Errorf("reply %+v", r.Reply)
	}
	for _, bad := range []string{`{"reviewId":"x"}`, `{"comments":[{"userComment":{"starRating":3}}]}`, `{"reviewId":"x","comments":[{"userComment":{"starRating":9}}]}`} {
		var rv androidpublisher.Review
		_ = json.Unmarshal([]byte(bad), &rv)
		if _, err := Review("p", &rv); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func FuzzReviewMapping(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"reviews":[{"reviewId":"1","comments":[null,{"userComment":null},{"developerComment":{"text":""}}]}]}`))
	f.Add([]byte(`{"reviews":[{"reviewId":"1","comments":[{"userComment":{"starRating":1,"lastModified":{"seconds":"-99999999999"}}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp androidpublisher.ReviewsListResponse
		if json.Unmarshal(body, &resp) != nil {
			return
		}
		for _, r := range resp.Reviews {
			rv, err := Review("p", r)
			if err == nil && (rv.Rating < 1 || rv.Rating > 5 || rv.ID == "") {
				t.Fatalf("accepted %+v", rv)
			}
		}
	})
}
