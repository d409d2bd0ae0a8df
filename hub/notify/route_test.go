package notify

import (
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

var at = time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)

func reviewEvent(t *testing.T, kind string, version, rating int, text, lang string) state.Event {
	t.Helper()
	m := busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: version, Change: sdk.ReviewChange{Store: "appstore",
		StoreName: "App Store", AppName: "ACME", Kind: kind, Review: sdk.Review{ID: "r1", Rating: rating, Text: text, Language: lang}}}
	e, err := events.ReviewDelivered(m, "T-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func replyEvent(t *testing.T) state.Event {
	t.Helper()
	e, ok, err := events.ReplyOutcome(state.Reply{IntegrationID: "acme", AppID: "ios", ReviewID: "r1", MessageID: "m1",
		Text: "Fixed in 2.1", Staff: "Ann"}, sdk.OutcomePublished, "", at)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	return e
}

func TestNotifierEventsKeepOneThreadPerReview(t *testing.T) {
	var keys []string
	for _, se := range []state.Event{reviewEvent(t, sdk.ChangeKindNew, 1, 1, "It crashes", "en"),
		reviewEvent(t, sdk.ChangeKindUpdated, 2, 1, "It crashes at start", "en"), replyEvent(t)} {
		e, err := FromOutbox(se)
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != se.ID || e.Type != se.Type || e.IntegrationID != "acme" || e.AppID != "ios" {
			t.Errorf("event %+v from %s", e, se.Type)
		}
		keys = append(keys, e.ThreadKey)
	}
	if keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("thread keys %q: want one, the same for the review's events and its reply", keys)
	}
	e, _ := FromOutbox(reviewEvent(t, sdk.ChangeKindNew, 1, 1, "It crashes", "en"))
	if e.Review == nil || e.Review.Rating != 1 || e.Review.Text != "It crashes" || e.Store != "appstore" || e.StoreName != "App Store" {
		t.Errorf("review event: %+v", e)
	}
	r, _ := FromOutbox(replyEvent(t))
	if r.Reply == nil || r.Reply.Text != "Fixed in 2.1" || r.Reply.Staff != "Ann" {
		t.Errorf("reply event: %+v", r.Event)
	}
	if _, err := FromOutbox(state.Event{ID: "x", Type: "nope", Payload: []byte(`{}`)}); err == nil {
		t.Error("an unknown type is not an error")
	}
}

func TestNotifierRouteExcludingFiveStarsTakesNone(t *testing.T) {
	d, err := Compile(config.NotifyDestination{Name: "bad", Plugin: "slack", When: rules.Conditions{Ratings: []int{1, 2, 3, 4}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		e    state.Event
		want bool
	}{
		{reviewEvent(t, sdk.ChangeKindNew, 1, 5, "Great", "en"), false},
		{reviewEvent(t, sdk.ChangeKindNew, 1, 1, "Bad", "en"), true},
		{replyEvent(t), false}, // its review unknown while the route has conditions
	} {
		e, err := FromOutbox(tc.e)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Takes(e); got != tc.want {
			t.Errorf("%s (%v): Takes = %v, want %v", tc.e.Type, e.Review, got, tc.want)
		}
	}
	r, _ := FromOutbox(replyEvent(t))
	r.Review = &sdk.Review{ID: "r1", Rating: 2}
	if !d.Takes(r) {
		t.Error("a reply to a 2★ review is not taken")
	}
}

func TestNotifierRouteTypesIntegrationAndKeywords(t *testing.T) {
	d, err := Compile(config.NotifyDestination{Name: "kw", Plugin: "telegram", Integration: "acme", Events: []string{events.ReviewCreated},
		When: rules.Conditions{Languages: []string{"EN"}, Keywords: []string{"crash"}}, QuietHours: "22:00-07:00", TimeZone: "Europe/Berlin", MaxPerHour: 3})
	if err != nil {
		t.Fatal(err)
	}
	if d.Policy.MaxPerHour != 3 || d.Policy.Quiet == nil {
		t.Errorf("policy %+v", d.Policy)
	}
	take := func(se state.Event) bool {
		e, err := FromOutbox(se)
		if err != nil {
			t.Fatal(err)
		}
		return d.Takes(e)
	}
	if !take(reviewEvent(t, sdk.ChangeKindNew, 1, 3, "A crash at start", "en-GB")) {
		t.Error("an English review with the keyword is not taken")
	}
	if take(reviewEvent(t, sdk.ChangeKindNew, 1, 3, "A crash at start", "de")) || take(reviewEvent(t, sdk.ChangeKindNew, 1, 3, "Slow", "en")) {
		t.Error("a review of another language or without the keyword is taken")
	}
	if take(reviewEvent(t, sdk.ChangeKindUpdated, 2, 3, "A crash at start", "en")) {
		t.Error("review.updated is taken by a route of review.created only")
	}
	other := reviewEvent(t, sdk.ChangeKindNew, 1, 3, "A crash at start", "en")
	other.IntegrationID = "other"
	if take(other) {
		t.Error("another integration's event is taken")
	}
	if _, err := Compile(config.NotifyDestination{Name: "x", When: rules.Conditions{Ratings: []int{9}}}); err == nil {
		t.Error("a rating of 9 compiles")
	}
}
