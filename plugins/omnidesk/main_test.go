package omnidesk

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/helpdesktest"
	"github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const secret = "s3cret"

type env struct {
	fake *fake.Server
	helpdesktest.Plugin
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New(fake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "key-1"})
	return &env{fake: f, Plugin: helpdesktest.Launch(t, f, secret)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func TestConformance(t *testing.T) {
	e := start(t)
	hooks := helpdesktest.NewCapture(t)
	e.fake.SetWebhookURL(hooks.URL + "/hooks/omnidesk/acme?secret=" + secret)
	sdktest.RunHelpdesk(t, e.Desk, sdktest.HelpdeskSuite{Settings: e.Settings, IntegrationID: "acme",
		Vendor: vendor{Server: e.fake, hooks: hooks}})
}

// vendor is the conformance kit's view of the fake Omnidesk (Fail comes
// with the fake's faults).
type vendor struct {
	*fake.Server
	hooks *helpdesktest.Capture
}

func (v vendor) Ticket(_ context.Context, id string) (sdktest.VendorTicket, bool, error) {
	for _, c := range v.Cases() {
		if c.ID != id {
			continue
		}
		msgs := append(append([]fake.Message(nil), c.Messages...), c.Notes...)
		slices.SortFunc(msgs, func(a, b fake.Message) int { return cmp.Compare(a.ID, b.ID) })
		out := sdktest.VendorTicket{Tags: c.Labels}
		for _, m := range msgs {
			out.Comments = append(out.Comments, sdktest.VendorComment{Text: m.Content, Internal: m.Note})
		}
		return out, true, nil
	}
	return sdktest.VendorTicket{}, false, nil
}

func (v vendor) TagAsStaff(_ context.Context, id, tag string) error { return v.LabelCase(id, tag) }

func (v vendor) SignedWebhook(ctx context.Context, id, text string) (sdk.HandleWebhookRequest, error) {
	return v.hooks.Take(func() error { _, err := v.Answer(ctx, id, text); return err })
}

var change = helpdesktest.Change

// A review becomes a case with labels, history and the case field; an edit
// lands in the same case; a retried create makes no duplicate.
func TestReviewBecomesCaseAndEditLandsInIt(t *testing.T) {
	e := start(t)
	tags := []string{"googleplay", "rating:1", "language:ja"}
	first, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
		Change: change(sdk.ChangeKindNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if err != nil || !first.Created {
		t.Fatalf("create: %+v, %v", first, err)
	}
	c, ok := e.fake.CaseByReviewID("gp-1")
	if !ok || c.ID != first.ID {
		t.Fatalf("case by review id: %+v %v, want %s", c, ok, first.ID)
	}
	if c.Channel != fake.ChannelCode || c.CustomFields[fake.FieldKey] != "gp-1" {
		t.Errorf("channel %q fields %v", c.Channel, c.CustomFields)
	}
	if strings.Join(c.Labels, ",") != strings.Join(tags, ",") {
		t.Errorf("labels %v, want %v", c.Labels, tags)
	}
	if !strings.Contains(c.Subject, "★☆☆☆☆ Kenji on Google Play") || !strings.Contains(c.Messages[0].Content, "アプリが起動しません") {
		t.Errorf("subject %q content %q", c.Subject, c.Messages[0].Content)
	}
	// The hub crashed after the create: the retry (no ticket id) finds the case.
	again, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
		Change: change(sdk.ChangeKindNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if err != nil || again.ID != first.ID || again.Created {
		t.Fatalf("retried create: %+v, %v", again, err)
	}
	edit := change(sdk.ChangeKindBetter, 4, "直りました", sdk.ReviewVersion{Rating: 1, Text: "アプリが起動しません", Reply: &sdk.DeveloperReply{Text: "We are on it"}})
	for range 2 { // delivered twice, added once
		ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
			TicketID: first.ID, Change: edit, Tags: []string{"googleplay", "rating:4"}, DeliveryKey: "gp-1/2"})
		if err != nil || ref.ID != first.ID || ref.Created {
			t.Fatalf("edit: %+v, %v", ref, err)
		}
	}
	if n := e.fake.CaseCount(); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	c, _ = e.fake.CaseByReviewID("gp-1")
	if len(c.Messages) != 2 {
		t.Fatalf("%d messages, want 2", len(c.Messages))
	}
	// The edit is the case's user's message, never a staff reply.
	if m := c.Messages[1]; m.UserID == 0 || m.UserID != c.UserID || m.StaffID != 0 {
		t.Errorf("edit written by user %d staff %d, want the case's user %d", m.UserID, m.StaffID, c.UserID)
	}
	for _, want := range []string{"rating 1 → 4", "直りました", "Earlier versions", "アプリが起動しません", "developer reply: We are on it"} {
		if !strings.Contains(c.Messages[1].Content, want) {
			t.Errorf("edit message lacks %q:\n%s", want, c.Messages[1].Content)
		}
	}
	if strings.Join(c.Labels, ",") != "googleplay,language:ja,rating:4" {
		t.Errorf("labels after edit %v: want rating:1 replaced, the rest kept", c.Labels)
	}
}

// Label ids are cached; when labels were deleted in Omnidesk the plugin
// reads them again instead of failing.
func TestDeletedLabelsAreRecreated(t *testing.T) {
	e := start(t)
	tags := []string{"googleplay", "rating:1"}
	req := func(id string) sdk.UpsertTicketRequest {
		ch := change(sdk.ChangeKindNew, 1, "x")
		ch.Review.ID = id
		return sdk.UpsertTicketRequest{Settings: e.Settings, Change: ch, Tags: tags, DeliveryKey: id + "/1"}
	}
	if _, err := e.Desk.UpsertTicket(ctx(t), req("a")); err != nil {
		t.Fatal(err)
	}
	e.fake.DeleteLabels()
	if _, err := e.Desk.UpsertTicket(ctx(t), req("b")); err != nil {
		t.Fatalf("after labels were deleted: %v", err)
	}
	c, _ := e.fake.CaseByReviewID("b")
	if strings.Join(c.Labels, ",") != strings.Join(tags, ",") {
		t.Errorf("labels %v", c.Labels)
	}
	// The same on an edit of the case: its labels are changed with ids read again.
	e.fake.DeleteLabels()
	update := req("b")
	update.TicketID, update.DeliveryKey = c.ID, "b/2"
	update.Change.Kind, update.Change.Review.Text = sdk.ChangeKindUpdated, "y"
	tags = []string{"googleplay", "rating:2"}
	update.Tags = tags
	if _, err := e.Desk.UpsertTicket(ctx(t), update); err != nil {
		t.Fatalf("edit after labels were deleted: %v", err)
	}
	if c, _ := e.fake.CaseByReviewID("b"); strings.Join(c.Labels, ",") != strings.Join(tags, ",") {
		t.Errorf("labels after the edit %v, want %v", c.Labels, tags)
	}
}

func TestWebhookAnswerAndOutcomeNote(t *testing.T) {
	e := start(t)
	ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
		Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")

	// A bad secret is refused with 401.
	e.fake.SetWebhookURL(h.URL + "/hooks/omnidesk/acme?secret=wrong")
	if _, err := e.fake.Answer(ctx(t), ref.ID, "Thanks!"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("answer with a wrong secret: %v, want a 401", err)
	}
	e.fake.SetWebhookURL(h.URL + "/hooks/omnidesk/acme?secret=" + secret)
	msgID, err := e.fake.Answer(ctx(t), ref.ID, "Thanks, we fixed it!")
	if err != nil {
		t.Fatal(err)
	}
	last := h.Last(t)
	if len(last.Replies) != 1 {
		t.Fatalf("%d reply requests, want 1", len(last.Replies))
	}
	rr := last.Replies[0]
	if rr.TicketID != ref.ID || rr.MessageID != "omnidesk:"+msgID || rr.Text != "Thanks, we fixed it!" || rr.ReviewID != "gp-1" || rr.Staff != "Omnidesk staff #1" {
		t.Errorf("reply request %+v", rr)
	}
	// The same call delivered twice carries the same message id (the hub
	// publishes a message id once).
	c, _ := e.fake.CaseByReviewID("gp-1")
	replay := `{"type":"message_new","object":{"case_id":` + c.ID + `,"custom_user_id":"googleplay:gp-1","message_id":` + msgID + `,"staff_id":1,"content":"Thanks, we fixed it!","note":false,"sent_via_rule":false}}`
	res, err := e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Method: "POST", Query: "secret=" + secret, Body: []byte(replay)})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].MessageID != rr.MessageID {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// The secret may come in a header instead.
	res, err = e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Method: "POST",
		Headers: []sdk.Header{{Name: "X-Reviewhub-Secret", Values: []string{secret}}}, Body: []byte(replay)})
	if err != nil || res.Status != 200 {
		t.Fatalf("header secret: %+v %v", res, err)
	}
	// A body of an unexpected shape is answered 200 (Omnidesk would retry a
	// failure) and kept for the operator with its reason and shape.
	res, err = e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Query: "secret=" + secret, Body: []byte(`{"case_id": {}}`)})
	if err != nil || res.Status != 200 || len(res.Replies) != 0 || res.Ignored == nil ||
		!strings.Contains(res.Ignored.Reason, "case_id") || !strings.Contains(res.Ignored.Shape, "case_id") {
		t.Fatalf("unexpected shape: %d %s %+v %v", res.Status, res.Body, res.Ignored, err)
	}

	// The outcome is written back as a note, once.
	result := sdk.ReplyResult{TicketID: ref.ID, MessageID: rr.MessageID, Outcome: sdk.OutcomeRefused,
		Detail: "Google Play answers are limited to 350 characters, this one has 412"}
	for range 2 {
		if _, err := e.Desk.WriteReplyResult(ctx(t), sdk.WriteReplyResultRequest{Settings: e.Settings, Result: result}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = e.fake.CaseByReviewID("gp-1")
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0].Content, "limited to 350 characters, this one has 412") {
		t.Fatalf("notes %+v", c.Notes)
	}
}

func TestErrorsAreClearAndClassified(t *testing.T) {
	e := start(t)
	with := func(k, v string) sdk.Settings { return helpdesktest.With(e.Settings, k, v) }
	helpdesktest.ExpectRefusals(t, e.Desk, []helpdesktest.Refusal{
		{Settings: with("api_key", "wrong"), Kind: sdk.ErrorKindUnauthenticated, Want: "refused the API key"},
		{Settings: with("staff_email", "someone@else.example"), Kind: sdk.ErrorKindUnauthenticated, Want: "refused the API key"},
		{Settings: with("channel", "cch999"), Kind: sdk.ErrorKindNotFound, Want: `custom channel "cch999" does not exist`},
		{Settings: with("case_field", "cf_6002"), Kind: sdk.ErrorKindInvalid, Want: "must be a case field"},
		{Settings: with("case_field", "cf_7777"), Kind: sdk.ErrorKindNotFound, Want: "case field cf_7777 does not exist"},
		{Settings: with("base_url", e.API.URL+"/nowhere"), Kind: sdk.ErrorKindNotFound, Want: "no Omnidesk account"},
		{Settings: helpdesktest.BadSubdomain(e.Settings), Kind: sdk.ErrorKindInvalid, Want: "subdomain"},
	})
	// Not an active staff member: the key works for the main administrator
	// only in the fake, so check the listing logic with a disabled member.
	e.fake.Fail(10, 503)
	_, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k"})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("503: %v (kind %v)", err, sdk.KindOf(err))
	}
	e.fake.Fail(0, 0)
	// A write that fails with a 5xx is not sent again inside the call (its
	// outcome is unknown): the hub retries, looking the case up.
	e.fake.Fail(1, 503)
	calls := e.fake.Calls()
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k", FirstAttempt: true})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable || e.fake.Calls()-calls != 1 {
		t.Errorf("503 on a create: %v (kind %v), %d calls; want Unavailable after one call", err, sdk.KindOf(err), e.fake.Calls()-calls)
	}
	// A read (the lookup) that fails once with a 5xx is retried inside the call.
	e.fake.Fail(1, 502)
	if _, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k"}); err != nil {
		t.Errorf("one 502 then success: %v", err)
	}
	// Last: a 429 holds the account in this plugin process.
	e.fake.RateLimit(1, 7*time.Second)
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k"})
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 7*time.Second {
		t.Errorf("429: %v (kind %v, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	// Until Omnidesk's wait is over, calls fail with the rest of it and
	// reach no API (no 429 storm).
	calls = e.fake.Calls()
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 2, "y"), DeliveryKey: "k2"})
	if d := sdk.RetryAfterOf(err); sdk.KindOf(err) != sdk.ErrorKindRateLimited || d <= 0 || d > 7*time.Second {
		t.Errorf("call while held: %v (kind %v, retry after %v), want rate limited with the rest of 7s", err, sdk.KindOf(err), d)
	}
	if n := e.fake.Calls(); n != calls {
		t.Errorf("a call while held reached Omnidesk (%d calls, %d before)", n, calls)
	}
}

// A first attempt (the hub has recorded it and linked no case) creates the
// case without looking it up: one case call. A later attempt looks first
// and finds it: no second case.
func TestFirstAttemptSkipsTheLookup(t *testing.T) {
	e := start(t)
	req := sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme", Change: change(sdk.ChangeKindNew, 2, "Crashes"),
		DeliveryKey: "gp-1/1", FirstAttempt: true}
	before := e.fake.Routes()
	ref, err := e.Desk.UpsertTicket(ctx(t), req)
	if err != nil || !ref.Created {
		t.Fatalf("first attempt: %+v, %v", ref, err)
	}
	after := e.fake.Routes()
	if n := after["GET /api/cases.json"] - before["GET /api/cases.json"]; n != 0 {
		t.Errorf("first attempt looked the case up %d times", n)
	}
	if n := after["POST /api/cases.json"] - before["POST /api/cases.json"]; n != 1 {
		t.Errorf("first attempt created %d cases, want 1", n)
	}
	req.FirstAttempt = false // a retry: the hub may have crashed after the create
	again, err := e.Desk.UpsertTicket(ctx(t), req)
	if err != nil || again.ID != ref.ID || again.Created {
		t.Fatalf("retry: %+v, %v; want case %s found, not created", again, err, ref.ID)
	}
	if n := e.fake.CaseCount(); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
}

// Notes, rule-sent messages, the user's messages and the plugin's own
// messages come back through the webhook as Omnidesk sends them (form or
// JSON) and are never answers: a quiet 200, no reply, nothing ignored.
func TestWebhookNeverAnswersForNotesRulesUsersOrItself(t *testing.T) {
	e := start(t)
	ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
		Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "gp-1/1"})
	if err != nil {
		t.Fatal(err)
	}
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")
	e.fake.SetWebhookURL(h.URL + "/hooks/omnidesk/acme?secret=" + secret)
	c, _ := e.fake.CaseByReviewID("gp-1")
	own := c.Messages[0].Content // the case body the plugin wrote, with its marker
	for _, asJSON := range []bool{false, true} {
		e.fake.SetWebhookJSON(asJSON)
		for _, tc := range []struct {
			name, text string
			ev         fake.Event
		}{
			{"note", "internal remark", fake.Event{Note: true}},
			{"rule", "We got your request", fake.Event{SentViaRule: true}},
			{"user message", "One more thing", fake.Event{FromUser: true}},
			{"own message sent back as staff", own, fake.Event{}},
		} {
			if _, err := e.fake.Post(ctx(t), ref.ID, tc.text, tc.ev); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			res := h.Last(t)
			if res.Status != 200 || len(res.Replies) != 0 || res.Ignored != nil {
				t.Errorf("%s (json %v): status %d, %d replies, ignored %+v; want a quiet 200", tc.name, asJSON, res.Status, len(res.Replies), res.Ignored)
			}
		}
		// A real answer in the same encoding still gets through.
		if _, err := e.fake.Answer(ctx(t), ref.ID, "Fixed in 3.3"); err != nil {
			t.Fatal(err)
		}
		if res := h.Last(t); len(res.Replies) != 1 || res.Replies[0].Text != "Fixed in 3.3" {
			t.Errorf("answer (json %v): %+v", asJSON, res.Replies)
		}
	}
}

// What the plugin cannot read is answered 200 and handed to the hub with a
// reason and the body's shape (no values); a call without the secret is a 401.
func TestWebhookUnreadableIsKept(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		name, body, reason string
		status             int
	}{
		{"unknown type", `{"type":"case_closed","object":{"case_id":1,"content":"private words"}}`, `"case_closed" is not message_new`, 200},
		{"no content", `type=message_new&object[message_id]=4&object[case_id]=1&object[staff_id]=2&object[content]=`, "no content", 200},
		{"unknown shape", `{"hello":{"world":"private words"}}`, "no content", 200},
		{"not JSON or a form", `{"oops`, "not a JSON object", 400},
	} {
		res, err := e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Method: "POST", Query: "secret=" + secret, Body: []byte(tc.body)})
		if err != nil || res.Status != tc.status || len(res.Replies) != 0 || res.Ignored == nil ||
			!strings.Contains(res.Ignored.Reason, tc.reason) || res.Ignored.Shape == "" || strings.Contains(res.Ignored.Shape, "private") {
			t.Errorf("%s: %d %s %+v %v", tc.name, res.Status, res.Body, res.Ignored, err)
		}
	}
	res, err := e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Method: "POST", Body: []byte(`{"type":"case_closed"}`)})
	if err != nil || res.Status != 401 || res.Ignored != nil {
		t.Errorf("without the secret: %d %+v %v", res.Status, res.Ignored, err)
	}
}

// The case lookup after a crash takes only the case whose field holds
// exactly this review id: not a case of a user whose id merely contains
// this one (Omnidesk filters by substring), not one without the field.
func TestLookupTakesOnlyTheReviewsOwnCase(t *testing.T) {
	e := start(t)
	req := func(id string) sdk.UpsertTicketRequest {
		ch := change(sdk.ChangeKindNew, 1, "x")
		ch.Review.ID = id
		return sdk.UpsertTicketRequest{Settings: e.Settings, Change: ch, DeliveryKey: id + "/1"}
	}
	long, err := e.Desk.UpsertTicket(ctx(t), req("12"))
	if err != nil {
		t.Fatal(err)
	}
	// A case of the same custom-channel user without the case field (made
	// by hand in Omnidesk, say).
	body := `{"case":{"user_custom_id":"googleplay:1","subject":"by hand","content":"by hand","channel":"cch101"}}`
	r, _ := http.NewRequest("POST", e.API.URL+"/api/cases.json", strings.NewReader(body))
	r.SetBasicAuth("admin@acme.example", "key-1")
	resp, err := http.DefaultClient.Do(r)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("hand-made case: %v %v", resp, err)
	}
	resp.Body.Close()
	short, err := e.Desk.UpsertTicket(ctx(t), req("1"))
	if err != nil || !short.Created || short.ID == long.ID {
		t.Fatalf("review 1: %+v %v; want its own new case, not %s or the hand-made one", short, err, long.ID)
	}
	if again, err := e.Desk.UpsertTicket(ctx(t), req("1")); err != nil || again.ID != short.ID || again.Created {
		t.Fatalf("retried review 1: %+v %v, want %s", again, err, short.ID)
	}
	if n := e.fake.CaseCount(); n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
}

// An empty filtered list may come as a 404 with an error code: no case.
func TestEmptyListAnsweredNotFound(t *testing.T) {
	e := start(t)
	e.fake.SetEmptyListNotFound(true)
	ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "gp-1/1"})
	if err != nil || !ref.Created {
		t.Fatalf("create with a 404 empty list: %+v %v", ref, err)
	}
}

// Labels on an edit change by add_labels / delete_labels against the
// case's current labels (the fake ignores "labels" on PUT, as no source
// shows it); the API is told to add and delete only the difference.
func TestEditLabelsByDiff(t *testing.T) {
	e := start(t)
	ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"),
		Tags: []string{"googleplay", "rating:1"}, DeliveryKey: "gp-1/1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, TicketID: ref.ID, Change: change(sdk.ChangeKindBetter, 5, "y"),
		Tags: []string{"googleplay", "rating:5", "fixed"}, DeliveryKey: "gp-1/2"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.fake.CaseByReviewID("gp-1")
	if strings.Join(c.Labels, ",") != "googleplay,rating:5,fixed" {
		t.Errorf("labels %v", c.Labels)
	}
}

func TestCheckCredentialsReport(t *testing.T) {
	e := start(t)
	e.fake.SetWebhookURL("https://hub.example/hooks/omnidesk/acme?secret=" + secret)
	rep, err := e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.Settings})
	if err != nil {
		t.Fatal(err)
	}
	if rep.WebhookURL != "https://hub.example/hooks/omnidesk/acme?secret=REDACTED" || strings.Contains(rep.WebhookURL, secret) {
		t.Errorf("webhook URL %q", rep.WebhookURL)
	}
	status := map[string]string{}
	for _, c := range rep.Checks {
		status[c.Name] = c.Status + ": " + c.Detail
		if strings.Contains(c.Detail, secret) {
			t.Errorf("check %s shows the secret", c.Name)
		}
	}
	for name, want := range map[string]string{"staff": "ok: ", "channel": "ok: ", "webhook": "ok: ", "case field": "ok: ", "rate limit": "ok: 74"} {
		if !strings.HasPrefix(status[name], want) {
			t.Errorf("check %s: %q, want %q…", name, status[name], want)
		}
	}
	// The webhook URL without this integration's secret, and a switched-off channel.
	e.fake.SetWebhookURL("https://hub.example/hooks/omnidesk/acme?secret=old")
	s := sdk.Settings{}
	for k, v := range e.Settings {
		s[k] = v
	}
	s["channel"] = "cch102"
	rep, err = e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	status = map[string]string{}
	for _, c := range rep.Checks {
		status[c.Name] = c.Status
	}
	if status["channel"] != sdk.CheckFail || status["webhook"] != sdk.CheckWarn {
		t.Errorf("switched-off chat channel without a webhook: %+v", rep.Checks)
	}
	if rep, err = e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.Settings}); err != nil || rep.WebhookURL != "https://hub.example/hooks/omnidesk/acme?secret=REDACTED" {
		t.Fatalf("%+v %v", rep, err)
	}
	for _, c := range rep.Checks {
		if c.Name == "webhook" && c.Status != sdk.CheckFail {
			t.Errorf("webhook URL with another secret: %+v", c)
		}
	}
	e.fake.SetStaffActive(false)
	if _, err := e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.Settings}); sdk.KindOf(err) != sdk.ErrorKindPermissionDenied {
		t.Errorf("inactive staff: %v", err)
	}
	if n := e.fake.Writes(); n != 0 {
		t.Errorf("the credentials check wrote %d times", n)
	}
}

func TestEndpointSettings(t *testing.T) {
	helpdesktest.ExpectMarks(t, helpdesk{}, []string{"subdomain", "base_url"}, nil)
}

// A health alert opens a case of its own for the app; the recovery is a
// new message of that case's user; a retried alert (same key) is posted once.
func TestAlertsGoToOneCasePerApp(t *testing.T) {
	e := start(t)
	al := sdk.Alert{IntegrationID: "acme", AppID: "android", AppName: "ACME for Android", Store: "googleplay", StoreName: "Google Play",
		Health: sdk.HealthCredentials, Previous: sdk.HealthOK, Reason: "401", Key: "acme/android/ok>credentials/0",
		Title: "Reviewhub: reviews of ACME for Android (googleplay) are not arriving: credentials", Text: "Renew the key <now>."}
	alerter := helpdesktest.Alerter(t, e.Desk)
	for range 2 {
		if _, err := alerter.PostAlert(ctx(t), sdk.PostAlertRequest{Settings: e.Settings, IntegrationID: "acme", Alert: al}); err != nil {
			t.Fatal(err)
		}
	}
	rec := al
	rec.Health, rec.Previous, rec.Recovered, rec.Key = sdk.HealthOK, sdk.HealthCredentials, true, "acme/android/credentials>ok/1"
	rec.Title = "Reviewhub: reviews of ACME for Android (googleplay) flow again"
	if _, err := alerter.PostAlert(ctx(t), sdk.PostAlertRequest{Settings: e.Settings, IntegrationID: "acme", Alert: rec}); err != nil {
		t.Fatal(err)
	}
	cases := e.fake.Cases()
	if len(cases) != 1 {
		t.Fatalf("%d cases, want 1", len(cases))
	}
	c := cases[0]
	if c.UserCustomID != "reviewhub-alerts:acme/android" || !strings.Contains(c.Subject, "ACME for Android") || c.Channel != fake.ChannelCode {
		t.Errorf("case %+v", c)
	}
	if len(c.Messages) != 2 {
		t.Fatalf("%d messages, want the alert and the recovery", len(c.Messages))
	}
	if !strings.Contains(c.Messages[0].Content, "credentials") || !strings.Contains(c.Messages[0].Content, "&lt;now&gt;") ||
		!strings.Contains(c.Messages[1].Content, "flow again") || c.Messages[1].UserID != c.UserID {
		t.Errorf("messages %+v", c.Messages)
	}
	// Staff answering in the alert case is no answer to a review.
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")
	e.fake.SetWebhookURL(h.URL + "/hooks/omnidesk/acme?secret=" + secret)
	if _, err := e.fake.Answer(ctx(t), c.ID, "On it, renewing the key"); err != nil {
		t.Fatal(err)
	}
	if res := h.Last(t); res.Status != 200 || len(res.Replies) != 0 || res.Ignored != nil {
		t.Errorf("answer in the alert case: status %d, replies %+v, ignored %+v; want a quiet 200", res.Status, res.Replies, res.Ignored)
	}
}

// A base_url or rate_window the account got wrong, which the webhook never
// reads, does not lose a staff answer: the SDK drops them with a warning
// instead of failing the webhook until Omnidesk gives up.
func TestWebhookWithInvalidTypedSettingsStillAnswers(t *testing.T) {
	e := start(t)
	ref, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, IntegrationID: "acme",
		Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	bad := helpdesktest.With(helpdesktest.With(e.Settings, "base_url", "http://proxy.example"), "rate_window", "often")
	body := `{"type":"message_new","object":{"case_id":` + ref.ID + `,"custom_user_id":"googleplay:gp-1","message_id":77,"staff_id":1,"content":"Thanks, we fixed it!","note":false,"sent_via_rule":false}}`
	res, err := e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: bad, IntegrationID: "acme", Method: "POST", Query: "secret=" + secret, Body: []byte(body)})
	if err != nil || res.Status != 200 || len(res.Replies) != 1 || res.Replies[0].Text != "Thanks, we fixed it!" {
		t.Fatalf("webhook with base_url=http://proxy.example, rate_window=often: %+v, %v; want the reply", res, err)
	}
}
