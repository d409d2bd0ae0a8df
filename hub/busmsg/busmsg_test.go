package busmsg

import (
	"slices"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func TestTags(t *testing.T) {
	c := sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "r1", Rating: 2, Country: "us", Language: "EN", AppVersion: "1.2"}}
	got := Tags("appstore", state.App{ID: "ios", Name: "Acme"}, c)
	want := []string{"appstore", "app:Acme", "rating:2", "change:" + sdk.ChangeKindNew, "country:US", "language:en", "version:1.2"}
	if !slices.Equal(got, want) {
		t.Errorf("tags %q, want %q", got, want)
	}
	// Unnamed app: its id; no country, language or version: no such tags.
	got = Tags("rustore", state.App{ID: "ru"}, sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5}})
	want = []string{"rustore", "app:ru", "rating:5", "change:" + sdk.ChangeKindNew}
	if !slices.Equal(got, want) {
		t.Errorf("tags %q, want %q", got, want)
	}
}

// The delivery key tells versions of one review apart; the order key does
// not (the versions of one review are delivered in order).
func TestReviewKeys(t *testing.T) {
	v1 := Review{IntegrationID: "acme", AppID: "ios", Version: 1, Change: sdk.ReviewChange{Review: sdk.Review{ID: "r1"}}}
	v2 := v1
	v2.Version = 2
	if v1.DeliveryKey() == v2.DeliveryKey() {
		t.Errorf("two versions share the delivery key %q", v1.DeliveryKey())
	}
	if v1.OrderKey() != v2.OrderKey() || v1.OrderKey() != "acme/ios/r1" {
		t.Errorf("order keys %q and %q, want both acme/ios/r1", v1.OrderKey(), v2.OrderKey())
	}
}
