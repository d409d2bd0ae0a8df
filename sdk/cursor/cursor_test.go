package cursor

import (
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestListingCarriesTheNewestAcrossPages(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := Start[int](sdk.ListRequest{Cursor: t0.Format(time.RFC3339Nano)})
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
	l2, err := Start[int](sdk.ListRequest{Cursor: t0.Format(time.RFC3339Nano), PageToken: tok})
	if err != nil || l2.State != 2 {
		t.Fatalf("%+v %v", l2, err)
	}
	l2.Keep(t0.Add(time.Minute)) // older than the newest so far
	if got := l2.Cursor(); got != t0.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("cursor %s", got)
	}
	if _, err := Start[int](sdk.ListRequest{PageToken: "!!"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("garbage token: %v", err)
	}
	if _, err := Start[int](sdk.ListRequest{Cursor: "yesterday"}); sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Errorf("garbage cursor: %v", err)
	}
	empty, _ := Start[int](sdk.ListRequest{Cursor: "", PageToken: ""})
	if empty.Cursor() != "" {
		t.Errorf("empty listing cursor %q", empty.Cursor())
	}
}

func FuzzStart(f *testing.F) {
	l, _ := Start[int](sdk.ListRequest{})
	l.Keep(time.Now())
	f.Add("2026-01-01T00:00:00Z", l.Next(3))
	f.Add("", "")
	f.Fuzz(func(t *testing.T, cur, tok string) {
		l, err := Start[int](sdk.ListRequest{Cursor: cur, PageToken: tok})
		if err == nil && l.Cursor() != "" && l.Newest.IsZero() && l.Cursor() != cur {
			t.Fatalf("cursor %q from nothing", l.Cursor())
		}
	})
}
