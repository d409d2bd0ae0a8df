package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
)

func (e *env) unreadable(t *testing.T, path string) httpapi.UnreadableList {
	t.Helper()
	code, _, raw := e.api(t, "GET", path, adminToken, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, raw)
	}
	var l httpapi.UnreadableList
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, raw)
	}
	return l
}

func (e *env) status(t *testing.T) map[string]any {
	t.Helper()
	code, out, raw := e.api(t, "GET", "/api/integrations/acme/status", adminToken, "")
	if code != 200 {
		t.Fatalf("status: %d %s", code, raw)
	}
	return out
}

// An authentic webhook the helpdesk plugin cannot read is answered, kept
// (redacted) and counted, and the operator finds it through the admin API.
func TestIgnoredWebhookFoundThroughAdminAPI(t *testing.T) {
	e := startWithAdmin(t)
	const path = "/api/integrations/acme/webhooks/ignored"
	if l := e.unreadable(t, path); l.Total != 0 || len(l.Items) != 0 {
		t.Fatalf("before: %+v", l)
	}
	unknown := `{"event":"case_closed","event_id":"ev-1","api_token":"tok-55555555","comment":"Ann's private words"}`
	if code, resp := e.webhook(t, "acme", "secret="+secret, unknown); code != 200 {
		t.Fatalf("unknown shape: %d %s", code, resp)
	}
	// Not authentic: refused, not kept.
	if code, _ := e.webhook(t, "acme", "secret=wrong", unknown); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	// The helpdesk retries the same event: kept once, seen twice.
	e.webhook(t, "acme", "secret="+secret, unknown)
	if code, _ := e.webhook(t, "acme", "secret="+secret, `{"ticket_id":`); code != 400 {
		t.Fatalf("malformed: %d", code)
	}

	l := e.unreadable(t, path)
	if l.Total != 2 || len(l.Items) != 2 {
		t.Fatalf("kept %+v", l)
	}
	newest, first := l.Items[0], l.Items[1]
	if !strings.Contains(newest.Reason, "malformed JSON") || newest.Shape != "not JSON (13 bytes)" {
		t.Errorf("newest first: %+v", newest)
	}
	if first.ItemID != "ev-1" || first.Times != 2 || first.Plugin != "testdesk" || !strings.Contains(first.Reason, "not a staff answer") ||
		!strings.Contains(first.Shape, `"event":string`) || first.Webhook == nil {
		t.Fatalf("ignored webhook %+v", first)
	}
	w := first.Webhook
	if w.Query != "secret=REDACTED" || !strings.Contains(w.Body, `"event":"case_closed"`) || !strings.Contains(w.Body, `"api_token":"REDACTED"`) {
		t.Errorf("kept call %+v", w)
	}
	_, _, raw := e.api(t, "GET", path, adminToken, "")
	for _, leak := range []string{secret, "tok-5555", "private words"} {
		if strings.Contains(raw, leak) {
			t.Errorf("the list shows %q: %s", leak, raw)
		}
	}
	if st := e.status(t); st["webhooks_ignored"] != float64(2) {
		t.Errorf("status webhooks_ignored = %v", st["webhooks_ignored"])
	}
	if code, _, _ := e.api(t, "GET", path, "", ""); code != 401 {
		t.Errorf("without the token: %d", code)
	}
	if code, _, _ := e.api(t, "GET", "/api/integrations/nope/webhooks/ignored", adminToken, ""); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
}

// A listed review the store plugin cannot map is kept, counted per app and
// listed; the readable ones still become tickets.
func TestUnreadableReviewFoundThroughAdminAPI(t *testing.T) {
	e := startWithAdmin(t)
	e.backend.PutReview(testbackend.Review{ID: "bad1", App: "app1", Author: "Eve", Rating: 0, Text: "secret text"})
	e.backend.PutReview(testbackend.Review{ID: "good1", App: "app1", Author: "Ann", Rating: 3, Text: "fine"})
	eventually(t, "the good review's ticket", func() bool { _, ok := ticketFor(e.backend, "good1"); return ok })
	const path = "/api/integrations/acme/reviews/unreadable"
	eventually(t, "the unreadable review listed", func() bool { return len(e.unreadable(t, path).Items) == 1 })
	l := e.unreadable(t, path)
	u := l.Items[0]
	if l.Total != 1 || u.ItemID != "bad1" || u.AppID != "ios" || u.Plugin != "teststore" || u.Reason != "rating 0 is outside 1..5" ||
		!strings.Contains(u.Shape, `"rating":number`) || strings.Contains(u.Shape, "Eve") {
		t.Errorf("unreadable %+v", l)
	}
	if _, ok := ticketFor(e.backend, "bad1"); ok {
		t.Error("the unreadable review became a ticket")
	}
	if l := e.unreadable(t, path+"?app=ios"); len(l.Items) != 1 || l.Total != 1 {
		t.Errorf("?app=ios: %+v", l)
	}
	if code, _, _ := e.api(t, "GET", path+"?app=nope", adminToken, ""); code != 404 {
		t.Errorf("unknown app: %d", code)
	}
	st := e.status(t)
	apps, _ := st["apps"].([]any)
	if len(apps) != 1 {
		t.Fatalf("status %v", st)
	}
	counters, _ := apps[0].(map[string]any)["counters"].(map[string]any)
	if counters["reviews_unreadable"] != float64(1) {
		t.Errorf("status counters %v", counters)
	}
}

func (e *env) check(t *testing.T, id string) (check.Report, string) {
	t.Helper()
	code, _, raw := e.api(t, "POST", "/api/integrations/"+id+"/check", adminToken, "")
	if code != 200 {
		t.Fatalf("check: %d %s", code, raw)
	}
	var rep check.Report
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatalf("check: %v\n%s", err, raw)
	}
	return rep, raw
}

func lineOf(t *testing.T, lines []check.Line, name string) check.Line {
	t.Helper()
	for _, l := range lines {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no line %q in %+v", name, lines)
	return check.Line{}
}

// The live check through the admin API: the helpdesk's webhook URL matches
// this hub's or not, a read-only store account is reported, one page is
// listed, and nothing is written at the vendor or in the hub's state.
func TestCheckThroughAdminAPI(t *testing.T) {
	e := startWithAdminAt(t, "https://hub.example/")
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Rating: 2, Text: "slow"})
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Rating: 5, Text: "good"})
	eventually(t, "two tickets", func() bool { return len(e.backend.Tickets()) == 2 })
	ctx := context.Background()
	cur, err := e.hub.DB.Cursor(ctx, "acme", "ios")
	if err != nil || !cur.Connected {
		t.Fatalf("cursor %+v %v", cur, err)
	}
	writes, tickets, lists := e.backend.Writes(), e.backend.TicketCreates(), e.backend.ListCalls("app1")

	// Match: the helpdesk sends to this hub (its secret does not matter).
	e.backend.SetWebhookURL("https://hub.example/hooks/testdesk/acme?secret=" + secret)
	rep, raw := e.check(t, "acme")
	if !rep.OK || rep.Status != check.OK || rep.Helpdesk.Webhook.Status != check.WebhookMatch ||
		rep.Helpdesk.Webhook.Hub != "https://hub.example/hooks/testdesk/acme" || rep.Helpdesk.Webhook.Helpdesk != "https://hub.example/hooks/testdesk/acme?secret=REDACTED" {
		t.Fatalf("match: %s", raw)
	}
	if l := lineOf(t, rep.Helpdesk.Lines, check.LineWebhookURL); l.Status != check.OK {
		t.Errorf("webhook line %+v", l)
	}
	if l := lineOf(t, rep.Helpdesk.Lines, "backend"); l.Status != check.OK {
		t.Errorf("the plugin's own check %+v", l)
	}
	if len(rep.Apps) != 1 {
		t.Fatalf("apps %s", raw)
	}
	app := rep.Apps[0]
	if app.ID != "ios" || app.CanReply == nil || !*app.CanReply || app.Listing == nil || app.Listing.Reviews != 2 {
		t.Errorf("app %s", raw)
	}
	if l := lineOf(t, app.Lines, check.LineReplies); l.Status != check.OK {
		t.Errorf("replies %+v", l)
	}

	// A read-only account and a helpdesk sending elsewhere.
	e.backend.SetReadOnly("app1", true)
	e.backend.SetWebhookURL("https://old-hub.example/hooks/testdesk/acme?secret=" + secret)
	rep, raw = e.check(t, "acme")
	if rep.OK || rep.Status != check.Fail || rep.Helpdesk.Webhook.Status != check.WebhookMismatch {
		t.Fatalf("mismatch: %s", raw)
	}
	l := lineOf(t, rep.Helpdesk.Lines, check.LineWebhookURL)
	if l.Status != check.Fail || !strings.Contains(l.Detail, "https://old-hub.example/hooks/testdesk/acme?secret=REDACTED") ||
		!strings.Contains(l.Detail, "https://hub.example/hooks/testdesk/acme") {
		t.Errorf("mismatch line %+v", l)
	}
	if strings.Contains(raw, secret) {
		t.Errorf("the report shows the webhook secret: %s", raw)
	}
	app = rep.Apps[0]
	if app.CanReply == nil || *app.CanReply {
		t.Errorf("read-only account can reply: %s", raw)
	}
	if l := lineOf(t, app.Lines, check.LineReplies); l.Status != check.Warn || !strings.Contains(l.Detail, "read-only") {
		t.Errorf("replies %+v", l)
	}
	if l := lineOf(t, app.Lines, "rights"); l.Status != check.Warn {
		t.Errorf("the store's rights check %+v", l)
	}

	// Nothing written at the vendor, nothing in the state, but it did list.
	if e.backend.Writes() != writes || e.backend.TicketCreates() != tickets {
		t.Errorf("the check wrote at the vendor: %d writes, %d tickets (were %d, %d)", e.backend.Writes(), e.backend.TicketCreates(), writes, tickets)
	}
	if e.backend.ListCalls("app1") < lists+2 {
		t.Errorf("the check did not list reviews")
	}
	if after, _ := e.hub.DB.Cursor(ctx, "acme", "ios"); after.Value != cur.Value {
		t.Errorf("cursor changed from %q to %q", cur.Value, after.Value)
	}
	if code, _, _ := e.api(t, "POST", "/api/integrations/nope/check", adminToken, ""); code != 404 {
		t.Errorf("unknown integration: %d", code)
	}
	if code, _, _ := e.api(t, "POST", "/api/integrations/acme/check", "", ""); code != 401 {
		t.Errorf("without the token: %d", code)
	}
}

// The real Omnidesk plugin: an authentic webhook of an unknown shape is
// kept, counted and listed, redacted.
func TestOmnideskUnknownWebhookIsKept(t *testing.T) {
	od := odfake.New(odfake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "k"})
	e := startWithHelpdesk(t, "omnidesk", od, func(c *config.Config) { c.AdminToken = adminToken })
	hook := "http://" + e.hub.Addr() + "/hooks/omnidesk/acme?secret=" + secret
	// The answer's status is the plugin's business; only what is kept is checked.
	_ = od.PostWebhook(context.Background(), hook, []byte(`{"surprise":{"kind":"case_merged","token":"t-123456789"}}`))
	l := e.unreadable(t, "/api/integrations/acme/webhooks/ignored")
	if len(l.Items) == 0 {
		t.Fatal("an unknown webhook shape sent to the omnidesk plugin was not kept")
	}
	u := l.Items[0]
	if u.Plugin != "omnidesk" || u.Reason == "" || !strings.Contains(u.Shape, "surprise") || u.Webhook == nil ||
		strings.Contains(u.Webhook.Body, "t-123456789") || strings.Contains(u.Webhook.Query, secret) {
		t.Errorf("kept %+v %+v", u, u.Webhook)
	}
	if st := e.status(t); st["webhooks_ignored"] != float64(1) {
		t.Errorf("status webhooks_ignored = %v", st["webhooks_ignored"])
	}
}
