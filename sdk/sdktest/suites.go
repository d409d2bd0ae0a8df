package sdktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// StoreSuite configures RunStore.
type StoreSuite struct {
	// Settings of a working account against the test backend.
	Settings sdk.Settings
	// AppID of an app with at least one review.
	AppID string
	// ReviewID of a review that may be replied to (empty skips reply checks).
	ReviewID string
	// MaxPages bounds the listing (default 50).
	MaxPages int
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// RunStore checks that a store plugin honours the protocol's contract.
func RunStore(t *testing.T, s sdk.Store, suite StoreSuite) {
	if suite.MaxPages == 0 {
		suite.MaxPages = 50
	}
	var info sdk.Info
	t.Run("info", func(t *testing.T) {
		var err error
		info, err = s.Info(ctx(t))
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.Kind != sdk.PluginKindStore || info.Name == "" || info.Version == "" {
			t.Errorf("Info: kind %q, name %q, version %q: want store with a name and version", info.Kind, info.Name, info.Version)
		}
		if info.Store == nil {
			t.Fatalf("Info: no store capabilities")
		}
		checkSettingsSchema(t, info.Settings)
		if info.Store.ReplyMaxLength < 0 {
			t.Errorf("ReplyMaxLength %d < 0", info.Store.ReplyMaxLength)
		}
		for _, f := range info.Store.SourceFilters {
			if f != sdk.FilterCountry && f != sdk.FilterLanguage {
				t.Errorf("unknown source filter %q", f)
			}
		}
	})
	t.Run("check credentials", func(t *testing.T) {
		if _, err := s.CheckCredentials(ctx(t), suite.Settings, suite.AppID); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("list reviews", func(t *testing.T) {
		seen := map[string]bool{}
		req := sdk.ListRequest{Settings: suite.Settings, AppID: suite.AppID, PageSize: 10}
		var cursor string
		for page := 0; ; page++ {
			if page >= suite.MaxPages {
				t.Fatalf("listing did not end within %d pages", suite.MaxPages)
			}
			p, err := s.ListReviews(ctx(t), req)
			if err != nil {
				t.Fatalf("ListReviews page %d: %v", page, err)
			}
			for _, r := range p.Reviews {
				if r.ID == "" {
					t.Errorf("review without id: %+v", r)
				}
				if r.Rating < 1 || r.Rating > 5 {
					t.Errorf("review %s: rating %d outside 1..5", r.ID, r.Rating)
				}
				if seen[r.ID] {
					t.Errorf("review %s listed twice in one listing", r.ID)
				}
				seen[r.ID] = true
			}
			cursor = p.Cursor
			if p.NextPageToken == "" {
				break
			}
			req.PageToken = p.NextPageToken
		}
		if len(seen) == 0 {
			t.Fatalf("the app has no reviews; the suite needs at least one")
		}
		if cursor == "" {
			t.Errorf("the listing returned no cursor for the next poll")
		}
	})
	t.Run("unknown app is classified", func(t *testing.T) {
		_, err := s.ListReviews(ctx(t), sdk.ListRequest{Settings: suite.Settings, AppID: "reviewhub-sdktest-no-such-app"})
		if err == nil {
			return // stores with a public listing may answer an empty list
		}
		if k := sdk.KindOf(err); k == sdk.ErrorKindUnknown {
			t.Errorf("error for an unknown app is not classified: %v", err)
		}
	})
	t.Run("over-long reply is refused before any call", func(t *testing.T) {
		if info.Store == nil || !info.Store.CanReply || info.Store.ReplyMaxLength == 0 || suite.ReviewID == "" {
			t.Skip("no reply limit declared or no review to reply to")
		}
		text := strings.Repeat("a", info.Store.ReplyMaxLength+1)
		_, err := s.PostReply(ctx(t), sdk.PostReplyRequest{Settings: suite.Settings, AppID: suite.AppID, ReviewID: suite.ReviewID, Text: text})
		if sdk.KindOf(err) != sdk.ErrorKindRefused {
			t.Errorf("reply of %d characters: got %v, want a Refused error", len(text), err)
		}
	})
}

// HelpdeskSuite configures RunHelpdesk.
type HelpdeskSuite struct {
	Settings      sdk.Settings
	IntegrationID string
}

// SampleChange is a review change the suites deliver.
func SampleChange(id string) sdk.ReviewChange {
	return sdk.ReviewChange{
		Store: "sdktest", AppName: "Conformance App", Kind: sdk.ChangeKindNew,
		Review: sdk.Review{
			ID: id, AppID: "app", Author: "Tester", Rating: 2, Title: "Crashes", Text: "It crashes on start.",
			Language: "en", Country: "US", AppVersion: "1.0", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		CanReply: true, ReplyMaxLength: 350,
	}
}

// RunHelpdesk checks that a helpdesk plugin honours the protocol's contract.
func RunHelpdesk(t *testing.T, h sdk.Helpdesk, suite HelpdeskSuite) {
	t.Run("info", func(t *testing.T) {
		info, err := h.Info(ctx(t))
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.Kind != sdk.PluginKindHelpdesk || info.Name == "" || info.Version == "" {
			t.Errorf("Info: kind %q, name %q, version %q: want helpdesk with a name and version", info.Kind, info.Name, info.Version)
		}
		checkSettingsSchema(t, info.Settings)
	})
	t.Run("check credentials", func(t *testing.T) {
		if _, err := h.CheckCredentials(ctx(t), suite.Settings); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("upsert is idempotent by review id", func(t *testing.T) {
		id := "sdktest-" + time.Now().UTC().Format("20060102150405.000000000")
		ch := SampleChange(id)
		req := sdk.TicketRequest{Settings: suite.Settings, IntegrationID: suite.IntegrationID, Change: ch, DeliveryKey: id + "/1"}
		first, err := h.UpsertTicket(ctx(t), req)
		if err != nil {
			t.Fatalf("UpsertTicket: %v", err)
		}
		if first.ID == "" || !first.Created {
			t.Fatalf("first UpsertTicket: %+v, want a created ticket", first)
		}
		// A retry without the ticket id (the hub crashed before saving it).
		again, err := h.UpsertTicket(ctx(t), req)
		if err != nil {
			t.Fatalf("UpsertTicket retry: %v", err)
		}
		if again.ID != first.ID || again.Created {
			t.Fatalf("retried UpsertTicket: %+v, want the same ticket %s, not created", again, first.ID)
		}
		// An edit lands in the same ticket.
		ch.Kind = sdk.ChangeKindBetter
		ch.History = []sdk.ReviewVersion{{Rating: 2, Text: ch.Review.Text}}
		ch.Review.Rating = 4
		edit, err := h.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: suite.Settings, IntegrationID: suite.IntegrationID, TicketID: first.ID, Change: ch, DeliveryKey: id + "/2"})
		if err != nil {
			t.Fatalf("UpsertTicket edit: %v", err)
		}
		if edit.ID != first.ID || edit.Created {
			t.Fatalf("edit: %+v, want the same ticket %s", edit, first.ID)
		}
		err = h.WriteReplyResult(ctx(t), sdk.ReplyResultRequest{Settings: suite.Settings, IntegrationID: suite.IntegrationID,
			Result: sdk.ReplyResult{TicketID: first.ID, ReviewID: id, MessageID: "m1", Outcome: sdk.OutcomeRefused, Detail: "sdktest: refused"}})
		if err != nil {
			t.Fatalf("WriteReplyResult: %v", err)
		}
	})
	t.Run("malformed webhook is a 4xx, not a failure", func(t *testing.T) {
		res, err := h.HandleWebhook(ctx(t), sdk.WebhookRequest{Settings: suite.Settings, IntegrationID: suite.IntegrationID,
			Method: "POST", Path: "/hooks/x/" + suite.IntegrationID, Body: []byte("{not json")})
		if err != nil {
			t.Fatalf("HandleWebhook: %v (a bad request should be answered, not fail the call)", err)
		}
		if res.Status < 400 || res.Status > 499 || len(res.Replies) != 0 {
			t.Fatalf("HandleWebhook with a malformed body: status %d, %d replies; want 4xx and none", res.Status, len(res.Replies))
		}
	})
}

func checkSettingsSchema(t *testing.T, fields []sdk.SettingField) {
	t.Helper()
	keys := map[string]bool{}
	for _, f := range fields {
		if f.Key == "" || f.Label == "" {
			t.Errorf("setting field without key or label: %+v", f)
		}
		if keys[f.Key] {
			t.Errorf("setting %q declared twice", f.Key)
		}
		keys[f.Key] = true
	}
}
