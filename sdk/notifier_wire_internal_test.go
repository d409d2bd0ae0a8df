package sdk

import (
	"reflect"
	"testing"
	"time"
)

// Every field of an event crosses the wire unchanged.
func TestNotifierEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)
	ex := Event{ID: "e2", Type: EventReviewCreated, At: at, Review: &Review{ID: "r2", Rating: 1, Text: "bad", CreatedAt: at}}
	e := Event{ID: "e1", Type: EventSpike, At: at, IntegrationID: "i", Store: "googleplay", StoreName: "Google Play",
		AppID: "com.acme", AppName: "Acme",
		Review:  &Review{ID: "r1", AppID: "com.acme", Author: "A", Rating: 2, Title: "T", Text: "X", Language: "en", URL: "https://u", AppVersion: "1.2", CreatedAt: at},
		History: []ReviewVersion{{Rating: 1, Title: "old", Text: "older", SeenAt: at, Reply: &DeveloperReply{Text: "r", UpdatedAt: at}}},
		Reply:   &EventReply{Text: "thanks", Staff: "Ann", Detail: "why"},
		Health:  &EventHealth{Health: "stalled", Previous: "ok", Recovered: true, Reason: "quiet"},
		Spike:   &EventSpikeInfo{Ratings: []int{1, 2}, Count: 9, Usual: 1.5, Window: time.Hour, AfterVersion: "1.2"},
		Events:  []Event{ex},
	}
	if got := eventFromPB(eventToPB(e)); !reflect.DeepEqual(got, e) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
	}
}
