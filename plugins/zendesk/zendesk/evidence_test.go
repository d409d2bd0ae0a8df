package zendesk_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/helpdesktest"
	"github.com/reviewhub/reviewhub/plugins/zendesk/fake"
	"github.com/reviewhub/reviewhub/plugins/zendesk/zendesk"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

const vendorDir = "../testdata/vendor"

func ptr[T any](v T) *T { return &v }

// clientChecks call the client against evidence.Serve and check what it parsed.
var clientChecks = map[string]func(t *testing.T, c *zendesk.Client){
	"create_ticket": func(t *testing.T, c *zendesk.Client) {
		got, err := c.CreateTicket(sdktest.Context(t), zendesk.NewTicket{Subject: "★★☆☆☆ Ann on Google Play: Crashes",
			Comment: zendesk.Comment{Body: "It crashes on start.", Public: ptr(true)}, ExternalID: "reviewhub:googleplay:gp-1",
			Tags: []string{"googleplay", "rating:2"}, CustomFields: []zendesk.FieldValue{{ID: 360000000001, Value: "gp-1"}}})
		if err != nil || got.ID != 4 || got.Status != "new" || got.ExternalID != "" || got.RequesterID != 377922500012 {
			t.Errorf("CreateTicket: %+v, %v", got, err)
		}
	},
	"list_tickets_by_external_id": func(t *testing.T, c *zendesk.Client) {
		// The recorded tickets have no external_id: none is this review's.
		got, err := c.TicketsByExternalID(sdktest.Context(t), "reviewhub:googleplay:gp-1")
		if err != nil || len(got) != 0 {
			t.Errorf("TicketsByExternalID: %+v, %v; want no ticket of this external_id", got, err)
		}
	},
	"show_ticket": func(t *testing.T, c *zendesk.Client) {
		got, err := c.GetTicket(sdktest.Context(t), 2)
		if err != nil || got.ID != 2 || got.Status != "solved" || got.UpdatedAt != "2019-06-05T01:13:24Z" || got.Tags == nil {
			t.Errorf("GetTicket: %+v, %v", got, err)
		}
	},
	"update_ticket_comment": func(t *testing.T, c *zendesk.Client) {
		tags := []string{"googleplay", "rating:4"}
		got, err := c.UpdateTicket(sdktest.Context(t), 2, zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: "The review was edited (better): rating 2 → 4", Public: ptr(true)},
			Tags: &tags, CustomFields: []zendesk.FieldValue{{ID: 360000000001, Value: "gp-1"}}, SafeUpdate: true, UpdatedStamp: "2019-06-05T01:13:24Z"})
		if err != nil || got.ID != 2 {
			t.Errorf("UpdateTicket: %+v, %v", got, err)
		}
	},
	"internal_note": func(t *testing.T, c *zendesk.Client) {
		_, err := c.UpdateTicket(sdktest.Context(t), 2, zendesk.TicketUpdate{Comment: &zendesk.Comment{
			Body: "Reviewhub: the answer was published in the store as the developer response.\n[reviewhub:result:zendesk:7]", Public: ptr(false)}})
		if err != nil {
			t.Errorf("UpdateTicket with a note: %v", err)
		}
	},
	"list_comments": func(t *testing.T, c *zendesk.Client) {
		// The recorded page says has_more with a placeholder cursor ("xxx"),
		// and the example answers every page alike: the client asks for the
		// next page once and stops when the cursor does not advance.
		got, err := c.Comments(sdktest.Context(t), 2)
		if err == nil || !strings.Contains(err.Error(), `cursor "xxx" does not advance`) || got != nil {
			t.Errorf("Comments: %+v, %v; want the cursor that does not advance named", got, err)
		}
	},
	"show_current_user": func(t *testing.T, c *zendesk.Client) {
		got, err := c.Me(sdktest.Context(t))
		if err != nil || got.ID != 369531345753 || got.Role != "agent" || got.Email != "customer@example.com" || !got.Active {
			t.Errorf("Me: %+v, %v", got, err)
		}
	},
	"show_ticket_field": func(t *testing.T, c *zendesk.Client) {
		got, err := c.TicketField(sdktest.Context(t), 360011737434)
		if err != nil || got.ID != 360011737434 || got.Type != "subject" || !got.Active {
			t.Errorf("TicketField: %+v, %v", got, err)
		}
	},
	"rate_limit": func(t *testing.T, c *zendesk.Client) {
		_, err := c.Me(sdktest.Context(t))
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 93*time.Second || !strings.Contains(err.Error(), "per minute exceeded") {
			t.Errorf("rate limit: %v (kind %v, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
	},
	"error_not_found": func(t *testing.T, c *zendesk.Client) {
		_, err := c.GetTicket(sdktest.Context(t), 999999)
		var apiErr *zendesk.APIError
		if sdk.KindOf(err) != sdk.ErrorKindNotFound || !errors.As(err, &apiErr) || apiErr.Code != "RecordNotFound" || !zendesk.IsNotFound(err) {
			t.Errorf("missing ticket: %v (kind %v)", err, sdk.KindOf(err))
		}
	},
	"error_unauthorized": func(t *testing.T, c *zendesk.Client) {
		_, err := c.Me(sdktest.Context(t))
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "Couldn't authenticate you") {
			t.Errorf("401: %v (kind %v)", err, sdk.KindOf(err))
		}
	},
	"error_closed_ticket": func(t *testing.T, c *zendesk.Client) {
		_, err := c.UpdateTicket(sdktest.Context(t), 2, zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: "late", Public: ptr(true)}})
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "closed prevents ticket update") {
			t.Errorf("closed ticket: %v (kind %v)", err, sdk.KindOf(err))
		}
	},
}

// Every documented example is played against the client: it sends the
// documented request and reads the documented answer.
func TestVendorExamplesAgainstClient(t *testing.T) {
	helpdesktest.CheckClient(t, vendorDir, clientChecks, func(url string) *zendesk.Client {
		return &zendesk.Client{BaseURL: url, Email: "admin@acme.example", Token: "k"}
	})
}

// emailTicket is the recorded example's ticket (id 2): an e-mail ticket,
// solved and assigned.
func emailTicket(status string) fake.Ticket {
	return fake.Ticket{ID: 2, Subject: "Mail to create fixture ticket for testing", Status: status, RequesterID: 377922500012,
		AssigneeID: 377922500012, Recipient: "support@acme.zendesk.com",
		Via:      fake.Via{Channel: "email", From: &fake.Party{Name: "A customer", Address: "customer@example.com"}, To: &fake.Party{Name: "ACME", Address: "support@acme.zendesk.com"}},
		Comments: []fake.Comment{{Body: "Mail to create fixture ticket for testing", Public: true, AuthorID: 377922500012}}}
}

// fakeSetup prepares the fake's account for an example (its ids are the
// documentation's).
func fakeSetup(f *fake.Server, ex evidence.Example) {
	switch ex.Name {
	case "create_ticket", "update_ticket_comment":
		f.AddTicketField(360000000001, "text", "Review id (example)")
	case "show_ticket_field":
		f.AddTicketField(360011737434, "subject", "Subject")
	case "rate_limit":
		f.RateLimit(1, 93*time.Second)
	}
	switch ex.Name {
	case "update_ticket_comment":
		tk := emailTicket("solved")
		tk.UpdatedAt = time.Date(2019, 6, 5, 1, 13, 24, 0, time.UTC)
		f.AddTicket(tk)
	case "show_ticket", "internal_note", "list_comments":
		f.AddTicket(emailTicket("solved"))
	case "error_closed_ticket":
		f.AddTicket(emailTicket("closed"))
	case "list_tickets_by_external_id":
		tk := emailTicket("solved")
		tk.ExternalID = "reviewhub:googleplay:gp-1"
		f.AddTicket(tk)
	}
}

func auth(r *http.Request) { r.SetBasicAuth("admin@acme.example/token", "token-1") }

// Every documented example is played against the fake: it accepts the
// documented request and answers the documented status, headers and shape.
func TestVendorExamplesAgainstFake(t *testing.T) {
	helpdesktest.EachAPIExample(t, vendorDir, func(t *testing.T, ex evidence.Example) {
		f := fake.New(fake.Options{Subdomain: "acme", Email: "admin@acme.example", Token: "token-1"})
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		fakeSetup(f, ex)
		prepare := auth
		if ex.Name == "error_unauthorized" {
			prepare = func(r *http.Request) { r.SetBasicAuth("admin@acme.example/token", "wrong") }
		}
		evidence.Replay(t, srv.Client(), srv.URL, ex, prepare)
	})
}

// The documented comment event is read as a staff answer.
func TestVendorWebhookExampleIsParsed(t *testing.T) {
	for _, ex := range helpdesktest.WebhookExamples(t, vendorDir, 1) {
		got, err := zendesk.ParseWebhook(ex.Request.Body)
		want := zendesk.StaffAnswer{TicketID: "5158", CommentID: "9876543210", ExternalID: "reviewhub:googleplay:gp-1",
			Text: "We are investigating this issue and will update you shortly.", Staff: "Support Agent",
			SentAt: time.Date(2025, 1, 8, 14, 25, 30, 123456789, time.UTC)}
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", ex.Name, got, err, want)
		}
	}
}
