package googleplay

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/gcs"
	"github.com/reviewhub/reviewhub/plugins/googleplay/reports"
	"github.com/reviewhub/reviewhub/sdk"
)

const bucket = "pubsite_prod_rev_01234567890987654321"

// withReports gives the account the reports bucket, whose reports the fake
// generates from its reviews lag behind.
func (e *env) withReports(lag time.Duration) {
	e.fake.ServeReports(bucket, lag)
	e.settings["reports_bucket"] = "gs://" + bucket + "/"
	e.settings["reports_base_url"] = e.api.URL
}

// historyAll reads History over [from, to) to its end, pageSize a page.
func (e *env) historyAll(t *testing.T, from, to time.Time, pageSize int) ([]sdk.Review, []sdk.HistoryResponse) {
	t.Helper()
	var all []sdk.Review
	var pages []sdk.HistoryResponse
	req := sdk.HistoryRequest{Settings: e.settings, AppID: pkg, From: from, To: to, PageSize: pageSize}
	for range 1000 {
		page, err := sdk.History(ctx(t), e.store, req)
		if err != nil {
			t.Fatalf("history page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, page)
		all = append(all, page.Reviews...)
		if page.NextCursor == "" {
			return all, pages
		}
		req.Cursor = page.NextCursor
	}
	t.Fatal("history did not end")
	return nil, nil
}

// TestHistoryReportsMergedWithAPI: a hub down for 40 days asks for them;
// the reports give what the API no longer lists, the API's version wins in
// its 7 days, a review in both comes once with the API's id, ratings without
// text are counted, not returned (unless asked for).
func TestHistoryReportsMergedWithAPI(t *testing.T) {
	e := start(t)
	e.withReports(24 * time.Hour)
	now := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	put := func(id string, rating int, title, text string, created, updated time.Time) {
		e.fake.PutReview(pkg, sdk.Review{ID: id, Author: "A", Rating: rating, Title: title, Text: text, Language: "de_DE",
			AppVersion: "2.0", Extra: map[string]string{"app_version_code": "20"}, CreatedAt: created, UpdatedAt: updated})
	}
	for i := range 30 { // one a day, 10 to 39 days ago: only in the reports
		at := now.Add(-time.Duration(10+i) * day)
		put(fmt.Sprintf("gp:AOqpTO-old-%02d", i), 1+i%5, "", fmt.Sprintf("old review %d", i), at, at)
	}
	put("gp:AOqpTO-titled", 2, "Crashes", "on start", now.Add(-20*day), now.Add(-20*day))
	put("gp:AOqpTO-stars", 5, "", "", now.Add(-15*day), now.Add(-15*day)) // a rating alone
	put("gp:AOqpTO-both", 4, "", "in both", now.Add(-3*day), now.Add(-3*day))
	// Written 30 days ago, edited 2 days ago: the API has the edit.
	put("gp:AOqpTO-edited", 1, "", "first version", now.Add(-30*day), now.Add(-30*day))
	put("gp:AOqpTO-edited", 4, "", "second version", now.Add(-30*day), now.Add(-2*day))
	put("gp:AOqpTO-outside", 3, "", "before the range", now.Add(-50*day), now.Add(-50*day))

	from, to := now.Add(-40*day), now
	all, pages := e.historyAll(t, from, to, 7)
	byID := map[string]sdk.Review{}
	for _, r := range all {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("%s returned twice", r.ID)
		}
		byID[r.ID] = r
	}
	if len(byID) != 30+3 || len(pages) < 5 {
		t.Errorf("%d reviews in %d pages, want 33 in several", len(byID), len(pages))
	}
	if r := byID["gp:AOqpTO-edited"]; r.Text != "second version" || r.Rating != 4 || r.Extra["source"] == "reports" {
		t.Errorf("edited review %+v: want the API's version", r)
	}
	if r := byID["gp:AOqpTO-titled"]; r.Title != "Crashes" || r.Text != "on start" || r.Language != "de-DE" || r.AppVersion != "2.0" ||
		r.Extra["app_version_code"] != "20" || !r.UpdatedAt.Equal(now.Add(-20*day)) || r.Extra["source"] != "reports" ||
		r.URL != "https://play.google.com/store/apps/details?id=com.example.app&reviewId=gp%3AAOqpTO-titled" {
		t.Errorf("report review %+v", r)
	}
	if _, ok := byID["gp:AOqpTO-stars"]; ok {
		t.Error("a rating without text was returned without reports_rating_only")
	}
	if _, ok := byID["gp:AOqpTO-outside"]; ok {
		t.Error("a review changed before the range was returned")
	}
	var ratingOnly int64
	for _, p := range pages {
		ratingOnly += p.RatingOnly
	}
	last := pages[len(pages)-1]
	if ratingOnly != 1 || last.Done != last.Total || last.Total == 0 || !last.CompleteUntil.IsZero() {
		t.Errorf("rating-only %d, progress %d/%d, complete until %v", ratingOnly, last.Done, last.Total, last.CompleteUntil)
	}
	// The same id as the live listing gives.
	live, _, _ := e.listAll(t, "")
	for _, r := range live {
		if h, ok := byID[r.ID]; ok && (h.Text != r.Text || h.Rating != r.Rating) {
			t.Errorf("%s: history %q/%d, listing %q/%d", r.ID, h.Text, h.Rating, r.Text, r.Rating)
		}
	}
	// With reports_rating_only, the rating alone is returned too.
	e.settings["reports_rating_only"] = "true"
	all, _ = e.historyAll(t, from, to, 100)
	found := false
	for _, r := range all {
		found = found || r.ID == "gp:AOqpTO-stars" && r.Rating == 5 && r.Text == ""
	}
	if !found {
		t.Error("reports_rating_only: the rating without text is missing")
	}
}

// TestHistoryReportsOlderLayoutMalformedRowsAndResume: an older file, bad
// rows reported with their line, a page's cursor resumed mid-file.
func TestHistoryReportsOlderLayoutMalformedRowsAndResume(t *testing.T) {
	e := start(t)
	e.withReports(24 * time.Hour)
	var buf bytes.Buffer
	w, err := reports.NewWriter(&buf, reports.HeaderOlder)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Hour)
		rec := reports.Record{Package: pkg, VersionName: "1.0", Device: "hammerhead", Submitted: at, Updated: at, Rating: 3,
			Text: fmt.Sprintf("old layout %d", i), Link: reports.OlderLink("8170000000000000000", pkg, fmt.Sprintf("gp:AOqpTO-2019-%d", i))}
		if i == 4 {
			rec.Link = "https://play.google.com/apps/publish?account=1#ReviewDetailsPlace:p=" + pkg // no id: line 6
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e.fake.PutObject(bucket, "reviews/reviews_"+pkg+"_201903.csv", "text/csv; charset=utf-16le", buf.Bytes())
	from, to := base, base.AddDate(0, 1, 0)
	all, pages := e.historyAll(t, from, to, 3)
	var ids []string
	for _, r := range all {
		ids = append(ids, strings.TrimPrefix(r.ID, "gp:AOqpTO-2019-"))
	}
	if strings.Join(ids, ",") != "0,1,2,3,5,6,7,8,9" {
		t.Errorf("ids %v", ids)
	}
	var bad []string
	for _, p := range pages {
		for _, u := range p.Unreadable {
			bad = append(bad, u.Reason)
		}
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "reviews_com.example.app_201903.csv line 6") || !strings.Contains(bad[0], "no reviewId") {
		t.Errorf("unreadable %q", bad)
	}
	if len(pages) < 4 {
		t.Errorf("%d pages of at most 3", len(pages))
	}
}

func TestHistoryNeedsBucketAndPermission(t *testing.T) {
	e := start(t)
	now := time.Now()
	req := sdk.HistoryRequest{Settings: e.settings, AppID: pkg, From: now.Add(-30 * 24 * time.Hour), To: now}
	if _, err := sdk.History(ctx(t), e.store, req); !sdk.IsUnsupported(err) || !strings.Contains(err.Error(), "reports_bucket") {
		t.Errorf("without a bucket: %v", err)
	}
	e.withReports(time.Hour)
	reportsCheck := func() sdk.Check {
		t.Helper()
		rep, err := e.store.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.settings, AppID: pkg})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Checks {
			if c.Name == "review reports" {
				return c
			}
		}
		t.Fatalf("no reports check in %+v", rep.Checks)
		return sdk.Check{}
	}
	if c := reportsCheck(); c.Status != sdk.CheckWarn || !strings.Contains(c.Detail, "no review report") {
		t.Errorf("empty bucket: %+v", c)
	}
	e.fake.DenyBucket(bucket)
	if c := reportsCheck(); c.Status != sdk.CheckFail || !strings.Contains(c.Detail, gcs.Permission) {
		t.Errorf("denied bucket: %+v", c)
	}
	req.Settings = e.settings
	var err error
	for range 3 { // the API phase first, then the bucket
		var page sdk.HistoryResponse
		if page, err = sdk.History(ctx(t), e.store, req); err != nil {
			break
		}
		req.Cursor = page.NextCursor
	}
	if sdk.KindOf(err) != sdk.ErrorKindPermissionDenied || !strings.Contains(err.Error(), gcs.Permission) || !strings.Contains(err.Error(), bucket) {
		t.Errorf("denied bucket: %v", err)
	}
	req.Settings["reports_bucket"] = "Not A Bucket!"
	if _, err := sdk.History(ctx(t), e.store, req); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("bad bucket name: %v", err)
	}
	req.From = req.To
	req.Settings["reports_bucket"] = bucket
	if _, err := sdk.History(ctx(t), e.store, req); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("empty range: %v", err)
	}
}

// TestHistoryReportsSayHowFarTheyReach: without any report of the app the
// range is not complete (CompleteUntil is its start); with the app's
// reports, an old range is complete.
func TestHistoryReportsSayHowFarTheyReach(t *testing.T) {
	e := start(t)
	e.withReports(24 * time.Hour)
	now := time.Now().UTC().Truncate(time.Second)
	from, to := now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour)
	_, pages := e.historyAll(t, from, to, 100)
	if last := pages[len(pages)-1]; !last.CompleteUntil.Equal(from) {
		t.Errorf("no reports: complete until %v, want the range's start %v", last.CompleteUntil, from)
	}
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:old", Rating: 3, Text: "old", UpdatedAt: from.Add(time.Hour)})
	e.fake.PutReview(pkg, sdk.Review{ID: "gp:new", Rating: 3, Text: "new", UpdatedAt: now.Add(-2 * 24 * time.Hour)})
	all, pages := e.historyAll(t, from, to, 100)
	if last := pages[len(pages)-1]; !last.CompleteUntil.IsZero() || len(all) != 1 || all[0].ID != "gp:old" {
		t.Errorf("reports current: complete until %v, reviews %v", last.CompleteUntil, all)
	}
}
