package cursor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestListingCarriesTheNewestAcrossPages(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := Start[int](sdk.ListReviewsRequest{Cursor: t0.Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	if l.Keep(t0.Add(-time.Second)) {
		t.Error("kept a review older than the cursor")
	}
	if !l.Keep(t0) || !l.Keep(t0.Add(time.Hour)) {
		t.Error("dropped a review at or after the cursor")
	}
	tok := l.Next(2)
	l2, err := Start[int](sdk.ListReviewsRequest{Cursor: t0.Format(time.RFC3339Nano), PageToken: tok})
	if err != nil || l2.State != 2 {
		t.Fatalf("%+v %v", l2, err)
	}
	l2.Keep(t0.Add(time.Minute)) // older than the newest so far
	if got := l2.Cursor(); got != t0.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("cursor %s", got)
	}
	if _, err := Start[int](sdk.ListReviewsRequest{PageToken: "!!"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("garbage token: %v", err)
	}
	if _, err := Start[int](sdk.ListReviewsRequest{Cursor: "yesterday"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("garbage cursor: %v", err)
	}
	empty, _ := Start[int](sdk.ListReviewsRequest{Cursor: "", PageToken: ""})
	if empty.Cursor() != "" {
		t.Errorf("empty listing cursor %q", empty.Cursor())
	}
}

func FuzzStart(f *testing.F) {
	l, _ := Start[int](sdk.ListReviewsRequest{})
	l.Keep(time.Now())
	f.Add("2026-01-01T00:00:00Z", l.Next(3))
	f.Add("", "")
	f.Fuzz(func(t *testing.T, cur, tok string) {
		l, err := Start[int](sdk.ListReviewsRequest{Cursor: cur, PageToken: tok})
		if err == nil && l.Cursor() != "" && l.Newest.IsZero() && l.Cursor() != cur {
			t.Fatalf("cursor %q from nothing", l.Cursor())
		}
	})
}

func TestCollect(t *testing.T) {
	since := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	l, err := Start[int](sdk.ListReviewsRequest{Cursor: since.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		id  string
		at  time.Time
		bad bool
	}
	items := []item{
		{id: "new", at: since.Add(2 * time.Hour)},
		{id: "broken-new", at: since.Add(time.Hour), bad: true},
		{id: "at-cursor", at: since},
		{id: "old", at: since.Add(-time.Hour)},
		{id: "broken-old", at: since.Add(-time.Hour), bad: true},
	}
	mapItem := func(it item) (sdk.Review, error) {
		if it.bad {
			return sdk.Review{}, errors.New("unreadable")
		}
		return sdk.Review{ID: it.id, UpdatedAt: it.at}, nil
	}
	unreadable := func(it item, err error) (sdk.Unreadable, bool) {
		return sdk.Unreadable{ID: it.id, Reason: err.Error()}, !it.at.Before(since)
	}
	reviews, bad, reached := Collect(l, items, mapItem, unreadable)
	var ids []string
	for _, r := range reviews {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "new,at-cursor" {
		t.Errorf("kept %v, want [new at-cursor]", ids)
	}
	if len(bad) != 1 || bad[0].ID != "broken-new" || bad[0].Reason != "unreadable" {
		t.Errorf("unreadable %+v, want only broken-new", bad)
	}
	if !reached {
		t.Error("an item older than the cursor was listed: reachedCursor must be true")
	}
	if got := l.Cursor(); got != since.Add(2*time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("cursor %s, want the newest change", got)
	}
}
