package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// The status page shows each review's reply status and a Retry button for
// failed answers; the button retries through the admin API.
func TestStatusShowsReplyStatusAndRetries(t *testing.T) {
	now := time.Now()
	admin := &fakeAdmin{
		integrations: []httpapi.IntegrationJSON{{ID: "acme", Apps: []httpapi.AppJSON{{ID: "ios", Name: "ACME iOS"}}}},
		status: map[string]httpapi.IntegrationStatus{"acme": {ID: "acme", Complete: true,
			Apps: []httpapi.AppStatus{{ID: "ios", Running: true, Connected: true, ReadOnly: true, ReplyStatuses: map[string]int{"failed": 1, "outdated": 2}, AutoRepliesToday: 7,
				Health: &httpapi.HealthStatus{State: sdk.HealthDegraded, Reason: "the helpdesk answered 503 twice in a row"}}},
			RecentReviews: []state.RecentReview{{AppID: "ios", ReviewID: "r1", Version: 2, Rating: 3, SeenAt: now, ReplyStatus: "outdated"},
				{AppID: "ios", ReviewID: "r9", Rating: 1, SeenAt: now, DeliveryError: "omnidesk answered 400: channel_not_found"}},
			RecentReplies: []httpapi.RecentReply{
				{MessageID: "omnidesk:7", AppID: "ios", ReviewID: "r2", Status: "failed", Detail: "gave up after 12 attempts", UpdatedAt: now,
					Retry: "/api/integrations/acme/replies/omnidesk:7/retry"},
				{MessageID: "omnidesk:8", AppID: "ios", ReviewID: "r3", Status: "published", Rule: "thanks", UpdatedAt: now},
				{MessageID: "omnidesk:9", AppID: "ios", ReviewID: "r4", Status: "refused", Refusal: "text", Detail: "too long", UpdatedAt: now}},
			Automation: httpapi.AutomationStatus{On: true, Rules: 2}}},
	}
	srv, cl := newTestServerWith(t, admin)
	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	if r := post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	resp, err := cl.Get(srv.URL + "/console/integrations/acme/status")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	readBody(&b, resp)
	resp.Body.Close()
	page := b.String()
	for _, want := range []string{
		`<span class="badge fail">outdated</span>`, // the review's reply status
		`action="/console/integrations/acme/replies/omnidesk:7/retry"`,
		`<span class="muted small">thanks</span>`, // the rule of an automatic reply
		"Automatic replies today", ">7<", "Automation: on",
		// A review whose delivery failed says so, with the helpdesk's reason.
		`<span class="badge fail">delivery failed</span> <span class="small">omnidesk answered 400: channel_not_found</span>`,
		// A feed-only app (no store account to reply with) says read-only.
		"read-only (no store account to reply with)",
		// A refusal that needs a new text says so instead of a Retry button.
		"needs a new text: answer again in the ticket",
		// The app's health, read from its typed field.
		`<span class="badge degraded">degraded</span> the helpdesk answered 503 twice in a row`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(page, "omnidesk:8/retry") {
		t.Error("a published answer has a Retry button")
	}
	if strings.Contains(page, "omnidesk:9/retry") {
		t.Error("an answer that needs a new text has a Retry button")
	}
	csrf = csrfField.FindStringSubmatch(page)[1]
	r := post(t, cl, srv.URL+"/console/integrations/acme/replies/omnidesk:7/retry", url.Values{"csrf": {csrf}})
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "retried=omnidesk%3A7") {
		t.Fatalf("retry: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if got := admin.retried; len(got) != 1 || got[0] != "acme/omnidesk:7" {
		t.Errorf("the admin API retried %q", got)
	}
}
