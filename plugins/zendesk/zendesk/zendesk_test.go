package zendesk_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/rategate"
	"github.com/reviewhub/reviewhub/plugins/zendesk/fake"
	"github.com/reviewhub/reviewhub/plugins/zendesk/zendesk"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

func client(t *testing.T) (*zendesk.Client, *fake.Server) {
	t.Helper()
	f := fake.New(fake.Options{Subdomain: "acme", Email: "agent@acme.example", Token: "token-1"})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &zendesk.Client{BaseURL: srv.URL, Email: "agent@acme.example", Token: "token-1", Gate: &rategate.Gate{}}, f
}

// Lists that span pages are read whole: tickets by offset pages, comments
// by cursor.
func TestPagination(t *testing.T) {
	c, f := client(t)
	f.SetPageSize(2)
	var want []int64
	for i := range 5 {
		want = append(want, f.AddTicket(fake.Ticket{ExternalID: "reviewhub:appstore:1", Status: "open",
			Comments: []fake.Comment{{Body: "c" + strconv.Itoa(i), Public: true}}}))
		f.AddTicket(fake.Ticket{ExternalID: "reviewhub:appstore:10", Status: "open"}) // not this review
	}
	got, err := c.TicketsByExternalID(sdktest.Context(t), "reviewhub:appstore:1")
	if err != nil || len(got) != 5 {
		t.Fatalf("TicketsByExternalID: %d tickets, %v; want 5", len(got), err)
	}
	for i, tk := range got {
		if tk.ID != want[i] {
			t.Errorf("ticket %d: %d, want %d (oldest first)", i, tk.ID, want[i])
		}
	}
	for range 6 {
		if _, err := c.UpdateTicket(sdktest.Context(t), want[0], zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: "more", Public: ptr(false)}}); err != nil {
			t.Fatal(err)
		}
	}
	comments, err := c.Comments(sdktest.Context(t), want[0])
	if err != nil || len(comments) != 7 || comments[0].Body != "c0" || !comments[0].IsPublic() || comments[6].IsPublic() {
		t.Fatalf("Comments: %+v, %v; want 7, the first public", comments, err)
	}
	if n := f.Routes()["GET /api/v2/tickets/{id}/comments"]; n != 4 {
		t.Errorf("%d comment pages read, want 4 of 2", n)
	}
}

// Errors name what is wrong and are classified for the hub.
func TestErrors(t *testing.T) {
	c, f := client(t)
	_, err := c.GetTicket(sdktest.Context(t), 42)
	if sdk.KindOf(err) != sdk.ErrorKindNotFound || !zendesk.IsNotFound(err) || !strings.Contains(err.Error(), "RecordNotFound") {
		t.Errorf("missing ticket: %v", err)
	}
	_, err = c.CreateTicket(sdktest.Context(t), zendesk.NewTicket{Subject: "s", Comment: zendesk.Comment{Body: "b"}, Tags: []string{"two words"}})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), `tags: tag "two words"`) {
		t.Errorf("tag with a space: %v (kind %v)", err, sdk.KindOf(err))
	}
	_, err = c.CreateTicket(sdktest.Context(t), zendesk.NewTicket{Subject: "s", Comment: zendesk.Comment{Body: "b"},
		CustomFields: []zendesk.FieldValue{{ID: 7, Value: "x"}}})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "custom_fields: ticket field 7 does not exist") {
		t.Errorf("unknown field: %v", err)
	}
	id := f.AddTicket(fake.Ticket{Status: "open", Comments: []fake.Comment{{Body: "x", Public: true}}})
	_, err = c.UpdateTicket(sdktest.Context(t), id, zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: "y"}, SafeUpdate: true, UpdatedStamp: "2001-01-01T00:00:00Z"})
	if !zendesk.IsConflict(err) {
		t.Errorf("stale safe update: %v, want a 409", err)
	}
	bad := *c
	bad.Token = "wrong"
	if _, err := bad.Me(sdktest.Context(t)); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: %v (the token must not show)", err)
	}
	f.Fail(3, 500)
	if _, err := c.Me(sdktest.Context(t)); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("three 500s: %v, want Unavailable", err)
	}
}

// A 429 without a Retry-After waits a minute; the gate holds the account.
func TestRateLimitWithoutRetryAfter(t *testing.T) {
	c, f := client(t)
	f.RateLimit(1, 0)
	_, err := c.Me(sdktest.Context(t))
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != zendesk.DefaultRetryAfter {
		t.Fatalf("429 without Retry-After: %v (retry after %v)", err, sdk.RetryAfterOf(err))
	}
	calls := f.Calls()
	if _, err := c.Me(sdktest.Context(t)); sdk.KindOf(err) != sdk.ErrorKindRateLimited || f.Calls() != calls {
		t.Errorf("held: %v, %d calls", err, f.Calls()-calls)
	}
	other := &zendesk.Client{BaseURL: c.BaseURL, Email: "other@acme.example", Token: "t", Gate: c.Gate}
	if _, err := other.Me(sdktest.Context(t)); sdk.KindOf(err) == sdk.ErrorKindRateLimited {
		t.Errorf("another account was held too: %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"type":"zen:event-type:ticket.comment_added"}`)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	good := zendesk.Sign("secret", ts, body)
	for _, tc := range []struct {
		name, secret, sig, ts string
		body                  []byte
		want                  string // "" for accepted
	}{
		{"good", "secret", good, ts, body, ""},
		{"unix seconds", "secret", zendesk.Sign("secret", strconv.FormatInt(now.Unix(), 10), body), strconv.FormatInt(now.Unix(), 10), body, ""},
		{"no secret configured", "", good, ts, body, "webhook_secret is not configured"},
		{"unsigned", "secret", "", ts, body, "not signed"},
		{"no timestamp", "secret", good, "", body, "Timestamp header"},
		{"other secret", "other", good, ts, body, "wrong signature"},
		{"body changed", "secret", good, ts, append([]byte(" "), body...), "wrong signature"},
		{"timestamp changed", "secret", good, now.Format(time.RFC3339), body, "wrong signature"},
		{"hex, not base64", "secret", "3f9a", ts, body, "wrong signature"},
		{"stale", "secret", zendesk.Sign("secret", "2026-11-01T11:00:00Z", body), "2026-11-01T11:00:00Z", body, "stale signature"},
		{"from the future", "secret", zendesk.Sign("secret", "2026-11-01T13:00:00Z", body), "2026-11-01T13:00:00Z", body, "stale signature"},
		{"unreadable timestamp", "secret", zendesk.Sign("secret", "yesterday", body), "yesterday", body, "neither an RFC 3339"},
	} {
		err := zendesk.Verify(tc.secret, tc.sig, tc.ts, tc.body, now, 10*time.Minute)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		case err != nil && strings.Contains(err.Error(), good):
			t.Errorf("%s: the error shows the expected signature", tc.name)
		}
	}
}

func TestParseWebhook(t *testing.T) {
	ev := func(comment string) []byte {
		return []byte(`{"type":"zen:event-type:ticket.comment_added","id":"e1","time":"2026-11-01T12:00:00Z",` +
			`"detail":{"id":"35","external_id":"reviewhub:rustore:r-9"},"event":{"comment":` + comment + `}}`)
	}
	a, err := zendesk.ParseWebhook(ev(`{"id":"77","body":" Hi ","is_public":true,"author":{"id":"5","is_staff":true,"name":""}}`))
	if err != nil || a.TicketID != "35" || a.CommentID != "77" || a.Text != "Hi" || a.Staff != "Zendesk agent #5" || a.ExternalID != "reviewhub:rustore:r-9" {
		t.Errorf("answer: %+v %v", a, err)
	}
	for _, tc := range []struct {
		name      string
		body      []byte
		want      string
		notAnswer bool
	}{
		{"note", ev(`{"id":"1","body":"x","is_public":false,"author":{"id":"5","is_staff":true}}`), "internal note", true},
		{"end user", ev(`{"id":"1","body":"x","is_public":true,"author":{"id":"5","is_staff":false}}`), "end user", true},
		{"own", ev(`{"id":"1","body":"text\n[reviewhub:gp-1/1]","is_public":true,"author":{"id":"5","is_staff":true}}`), "Reviewhub wrote itself", true},
		{"other event", []byte(`{"type":"zen:event-type:ticket.priority_changed"}`), "carries no comment", true},
		{"no is_public", ev(`{"id":"1","body":"x","author":{"id":"5","is_staff":true}}`), "is_public is missing", false},
		{"no author", ev(`{"id":"1","body":"x","is_public":true}`), "is_staff is missing", false},
		{"no comment id", ev(`{"body":"x","is_public":true,"author":{"is_staff":true}}`), "no comment id", false},
		{"empty", ev(`{"id":"1","body":"  ","is_public":true,"author":{"id":"5","is_staff":true}}`), "empty comment", false},
		{"unknown type", []byte(`{"type":"ticket.updated"}`), "unknown event type", false},
		{"not an object", []byte(`[1]`), "not a JSON object", false},
	} {
		_, err := zendesk.ParseWebhook(tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) || zendesk.IsNotAnswer(err) != tc.notAnswer {
			t.Errorf("%s: %v (not an answer: %v), want %q (not an answer: %v)", tc.name, err, zendesk.IsNotAnswer(err), tc.want, tc.notAnswer)
		}
	}
	// A quoted marker followed by the agent's own words is an answer.
	if _, err := zendesk.ParseWebhook(ev(`{"id":"1","body":"> [reviewhub:gp-1/1]\nThanks!","is_public":true,"author":{"id":"5","is_staff":true}}`)); err != nil {
		t.Errorf("answer quoting a marker: %v", err)
	}
}

// FuzzParseWebhook: any body either yields an answer with ids and text or
// a *WebhookError; it never panics.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"zen:event-type:ticket.comment_added","detail":{"id":"1"},"event":{"comment":{"id":2,"body":"x","is_public":true,"author":{"id":3,"is_staff":true}}}}`))
	f.Add([]byte(`{"type":"zen:event-type:ticket.comment_added","subject":"zen:ticket:9","detail":{},"event":{"comment":{"id":"2"}}}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`{"type":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := zendesk.ParseWebhook(body)
		if err == nil && (a.TicketID == "" || a.CommentID == "" || a.Text == "") {
			t.Fatalf("an answer without ids or text: %+v", a)
		}
		if err != nil {
			var we *zendesk.WebhookError
			if !asWebhookError(err, &we) || we.Reason == "" {
				t.Fatalf("error %v is not a WebhookError with a reason", err)
			}
		}
		// The signature check never panics either, and only the right
		// signature passes.
		now := time.Unix(1_800_000_000, 0)
		ts := strconv.FormatInt(now.Unix(), 10)
		if zendesk.Verify("k", zendesk.Sign("k", ts, body), ts, body, now, time.Minute) != nil {
			t.Fatal("the right signature was refused")
		}
		if zendesk.Verify("k", string(body), ts, body, now, time.Minute) == nil && string(body) != zendesk.Sign("k", ts, body) {
			t.Fatal("a wrong signature passed")
		}
	})
}

func asWebhookError(err error, we **zendesk.WebhookError) bool {
	e, ok := err.(*zendesk.WebhookError)
	*we = e
	return ok
}
