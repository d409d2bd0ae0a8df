package zendesk

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/helpdesktest"
	"github.com/reviewhub/reviewhub/plugins/zendesk/fake"
	"github.com/reviewhub/reviewhub/plugins/zendesk/zendesk"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const secret = "s3cret-signing-key"

type env struct {
	fake *fake.Server
	helpdesktest.Plugin
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New(fake.Options{Subdomain: "acme", Email: "agent@acme.example", Token: "token-1"})
	return &env{fake: f, Plugin: helpdesktest.Launch(t, f, secret)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func TestConformance(t *testing.T) {
	e := start(t)
	hooks := helpdesktest.NewCapture(t)
	e.fake.SetWebhook(hooks.URL+"/hooks/zendesk/acme", secret)
	sdktest.RunHelpdesk(t, e.Desk, sdktest.HelpdeskSuite{Settings: e.Settings, IntegrationID: "acme",
		Vendor: vendor{Server: e.fake, hooks: hooks}})
}

// vendor is the conformance kit's view of the fake Zendesk (Fail comes
// with the fake's faults).
type vendor struct {
	*fake.Server
	hooks *helpdesktest.Capture
}

func (v vendor) Ticket(_ context.Context, id string) (sdktest.VendorTicket, bool, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return sdktest.VendorTicket{}, false, nil
	}
	tk, ok := v.TicketByID(n)
	out := sdktest.VendorTicket{Tags: tk.Tags}
	for _, c := range tk.Comments {
		out.Comments = append(out.Comments, sdktest.VendorComment{Text: c.Body, Internal: !c.Public})
	}
	return out, ok, nil
}

func (v vendor) TagAsStaff(_ context.Context, id, tag string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return err
	}
	return v.AddTag(n, tag)
}

func (v vendor) SignedWebhook(ctx context.Context, id, text string) (sdk.HandleWebhookRequest, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return sdk.HandleWebhookRequest{}, err
	}
	return v.hooks.Take(func() error { _, err := v.Answer(ctx, n, text); return err })
}

var change = helpdesktest.Change

func (e *env) upsert(t *testing.T, req sdk.UpsertTicketRequest) sdk.UpsertTicketResponse {
	t.Helper()
	req.Settings, req.IntegrationID = e.Settings, "acme"
	ref, err := e.Desk.UpsertTicket(ctx(t), req)
	if err != nil {
		t.Fatalf("UpsertTicket %s: %v", req.DeliveryKey, err)
	}
	return ref
}

func id(t *testing.T, ref sdk.UpsertTicketResponse) int64 {
	t.Helper()
	n, err := strconv.ParseInt(ref.ID, 10, 64)
	if err != nil {
		t.Fatalf("ticket id %q: %v", ref.ID, err)
	}
	return n
}

// A review becomes a ticket with its external_id, tags and fields; a
// retried create finds it; an edit is a further public comment of the same
// ticket, delivered twice and added once; the hub's keyed tags are
// replaced, others kept.
func TestReviewBecomesTicketAndEditLandsInIt(t *testing.T) {
	e := start(t)
	tags := []string{"googleplay", "app:ACME iOS", "rating:1", "language:ja"}
	first := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if !first.Created {
		t.Fatalf("create: %+v", first)
	}
	tk, ok := e.fake.TicketByReview("googleplay", "gp-1")
	if !ok || strconv.FormatInt(tk.ID, 10) != first.ID {
		t.Fatalf("ticket by review: %+v %v, want %s", tk, ok, first.ID)
	}
	if got := strings.Join(tk.Tags, ","); got != "googleplay,app:acme_ios,rating:1,language:ja" {
		t.Errorf("tags %s", got)
	}
	if tk.CustomFields[fake.FieldReviewID] != "gp-1" || tk.CustomFields[fake.FieldRating] != "1" {
		t.Errorf("custom fields %v", tk.CustomFields)
	}
	if len(tk.Comments) != 1 || !tk.Comments[0].Public || !strings.Contains(tk.Comments[0].Body, "アプリが起動しません") ||
		!strings.Contains(tk.Subject, "★☆☆☆☆ Kenji on Google Play") {
		t.Errorf("subject %q comments %+v", tk.Subject, tk.Comments)
	}
	// The hub crashed after the create: the retry (no ticket id) finds it.
	again := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if again.ID != first.ID || again.Created {
		t.Fatalf("retried create: %+v, want %s", again, first.ID)
	}
	e.fake.Touch(id(t, first)) // staff changed the ticket before the edit was read: no conflict
	e.fake.ConflictNext(2)     // and twice between the plugin's read and its update: read again
	edit := change(sdk.ChangeKindBetter, 4, "直りました", sdk.ReviewVersion{Rating: 1, Text: "アプリが起動しません", Reply: &sdk.DeveloperReply{Text: "We are on it"}})
	for range 2 { // delivered twice, added once
		ref := e.upsert(t, sdk.UpsertTicketRequest{TicketID: first.ID, Change: edit, Tags: []string{"googleplay", "rating:4"}, DeliveryKey: "gp-1/2"})
		if ref.ID != first.ID || ref.Created {
			t.Fatalf("edit: %+v", ref)
		}
	}
	if n := e.fake.TicketCount(); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	tk, _ = e.fake.TicketByReview("googleplay", "gp-1")
	if len(tk.Comments) != 2 || !tk.Comments[1].Public {
		t.Fatalf("comments %+v, want the review and one public edit", tk.Comments)
	}
	for _, want := range []string{"rating 1 → 4", "直りました", "Earlier versions", "developer reply: We are on it"} {
		if !strings.Contains(tk.Comments[1].Body, want) {
			t.Errorf("edit comment lacks %q:\n%s", want, tk.Comments[1].Body)
		}
	}
	if got := strings.Join(tk.Tags, ","); got != "googleplay,app:acme_ios,language:ja,rating:4" {
		t.Errorf("tags after the edit %s: want rating:1 replaced, the rest kept", got)
	}
	if tk.CustomFields[fake.FieldRating] != "4" {
		t.Errorf("rating field %v", tk.CustomFields[fake.FieldRating])
	}
}

// A first attempt creates without a lookup; a later attempt looks first.
func TestFirstAttemptSkipsTheLookup(t *testing.T) {
	e := start(t)
	req := sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "gp-1/1", FirstAttempt: true}
	before := e.fake.Routes()
	ref := e.upsert(t, req)
	after := e.fake.Routes()
	if n := after["GET /api/v2/tickets"] - before["GET /api/v2/tickets"]; n != 0 {
		t.Errorf("first attempt looked the ticket up %d times", n)
	}
	if n := after["POST /api/v2/tickets"] - before["POST /api/v2/tickets"]; n != 1 || !ref.Created {
		t.Errorf("first attempt created %d tickets (%+v), want 1", n, ref)
	}
	req.FirstAttempt = false
	if again := e.upsert(t, req); again.ID != ref.ID || again.Created {
		t.Fatalf("retry: %+v, want %s found", again, ref.ID)
	}
	if n := e.fake.TicketCount(); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
}

// An edit of a review whose ticket Zendesk closed goes to a follow-up
// ticket, made once; the hub links the follow-up.
func TestEditOfAClosedTicketMakesOneFollowUp(t *testing.T) {
	e := start(t)
	first := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "gp-1/1"})
	e.fake.SetStatus(id(t, first), "closed")
	edit := change(sdk.ChangeKindWorse, 1, "Still crashes", sdk.ReviewVersion{Rating: 2, Text: "Crashes"})
	var refs []sdk.UpsertTicketResponse
	for range 2 { // the hub retries with the old link: the follow-up is found
		refs = append(refs, e.upsert(t, sdk.UpsertTicketRequest{TicketID: first.ID, Change: edit, DeliveryKey: "gp-1/2"}))
	}
	if refs[0].ID == first.ID || !refs[0].Created || refs[1].ID != refs[0].ID || refs[1].Created {
		t.Fatalf("edits of a closed ticket: %+v, want one new follow-up", refs)
	}
	tickets := e.fake.Tickets()
	if len(tickets) != 2 || tickets[1].FollowupOf != id(t, first) || tickets[1].ExternalID != tickets[0].ExternalID {
		t.Fatalf("tickets %+v", tickets)
	}
	// A later edit with the follow-up linked lands in it.
	ref := e.upsert(t, sdk.UpsertTicketRequest{TicketID: refs[0].ID, Change: change(sdk.ChangeKindBetter, 5, "Fixed"), DeliveryKey: "gp-1/3"})
	if ref.ID != refs[0].ID {
		t.Fatalf("edit after the follow-up: %+v", ref)
	}
}

// Zendesk refuses every comment on a closed ticket (422 RecordInvalid),
// and an outcome note can come weeks after the answer ("answer outdated"):
// it goes to the ticket's follow-up, made once with the note as its first,
// internal comment (and the closed ticket's tags); later notes and edits
// of the review land in that follow-up, the closed ticket stays as it was.
func TestOutcomeNoteOfAClosedTicketGoesToItsFollowUp(t *testing.T) {
	e := start(t)
	first := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "gp-1/1",
		Tags: []string{"rating:2", "store:googleplay"}})
	e.fake.SetStatus(id(t, first), "closed")

	// The fake refuses a note on the closed ticket as Zendesk does; its
	// tags may still be edited.
	cl := &zendesk.Client{BaseURL: e.API.URL, Email: "agent@acme.example", Token: "token-1"}
	_, err := cl.UpdateTicket(ctx(t), id(t, first), zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: "late", Public: ptr(false)}})
	var apiErr *zendesk.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || apiErr.Code != "RecordInvalid" ||
		!strings.Contains(apiErr.Details, fake.ClosedRefusal) || sdk.KindOf(err) != sdk.ErrorKindInvalid {
		t.Fatalf("a note on a closed ticket: %v, want 422 RecordInvalid %q", err, fake.ClosedRefusal)
	}
	tags := []string{"rating:2", "store:googleplay", "audited"}
	if _, err := cl.UpdateTicket(ctx(t), id(t, first), zendesk.TicketUpdate{Tags: &tags}); err != nil {
		t.Fatalf("tags of a closed ticket: %v", err)
	}

	note := func(msg, detail string) {
		t.Helper()
		res := sdk.ReplyResult{TicketID: first.ID, MessageID: msg, Outcome: sdk.OutcomeRefused, Detail: detail}
		for range 2 { // a retry writes nothing twice
			if _, err := e.Desk.WriteReplyResult(ctx(t), sdk.WriteReplyResultRequest{Settings: e.Settings, Result: res}); err != nil {
				t.Fatalf("note %s for a closed ticket: %v", msg, err)
			}
		}
	}
	note("zendesk:1", "the review was deleted in the store")
	tickets := e.fake.Tickets()
	if len(tickets) != 2 {
		t.Fatalf("%d tickets after a note for a closed ticket, want the closed one and one follow-up", len(tickets))
	}
	closed, fu := tickets[0], tickets[1]
	if len(closed.Comments) != 1 {
		t.Errorf("the closed ticket got comments: %+v", closed.Comments)
	}
	if fu.FollowupOf != closed.ID || fu.ExternalID != closed.ExternalID || fu.Subject != closed.Subject ||
		strings.Join(fu.Tags, ",") != strings.Join(tags, ",") {
		t.Errorf("follow-up %+v of %+v", fu, closed)
	}
	if pub, notes := fu.Public(), fu.Notes(); len(pub) != 0 || len(notes) != 1 || !strings.Contains(notes[0].Body, "the review was deleted in the store") {
		t.Errorf("the follow-up's comments: public %+v, notes %+v", pub, notes)
	}
	// A later note, and an edit with the closed ticket still linked, go to
	// the same follow-up.
	note("zendesk:2", "the answer is outdated")
	ref := e.upsert(t, sdk.UpsertTicketRequest{TicketID: first.ID, Change: change(sdk.ChangeKindBetter, 4, "Fixed"), DeliveryKey: "gp-1/2"})
	if ref.ID != strconv.FormatInt(fu.ID, 10) || ref.Created || e.fake.TicketCount() != 2 {
		t.Fatalf("edit after the note: %+v, %d tickets; want the follow-up %d", ref, e.fake.TicketCount(), fu.ID)
	}
	fu, _ = e.fake.TicketByID(fu.ID)
	if n := len(fu.Notes()); n != 2 || len(fu.Public()) != 1 {
		t.Errorf("the follow-up has %d notes and %d public comments, want 2 and 1", n, len(fu.Public()))
	}
}

func TestWebhookAnswerAndOutcomeNote(t *testing.T) {
	e := start(t)
	ref := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "k1"})
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")
	hook := h.URL + "/hooks/zendesk/acme"

	// Signed with another secret: 401 naming why.
	e.fake.SetWebhook(hook, "another-secret")
	if _, err := e.fake.Answer(ctx(t), id(t, ref), "nope"); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "wrong signature") {
		t.Fatalf("answer with a wrong secret: %v, want a 401 naming the signature", err)
	}
	// A stale signature: 401 naming the age.
	e.fake.SetWebhook(hook, secret)
	e.fake.SetClockSkew(-time.Hour)
	if _, err := e.fake.Answer(ctx(t), id(t, ref), "late"); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "stale signature") {
		t.Fatalf("answer signed an hour ago: %v, want a 401 naming the stale timestamp", err)
	}
	e.fake.SetClockSkew(0)
	commentID, err := e.fake.Answer(ctx(t), id(t, ref), "Thanks, we fixed it!")
	if err != nil {
		t.Fatal(err)
	}
	res := h.Last(t)
	if len(res.Replies) != 1 {
		t.Fatalf("%d reply requests, want 1 (%s)", len(res.Replies), res.Body)
	}
	rr := res.Replies[0]
	if rr.TicketID != ref.ID || rr.MessageID != "zendesk:"+strconv.FormatInt(commentID, 10) || rr.Text != "Thanks, we fixed it!" ||
		rr.ReviewID != "gp-1" || rr.Staff != fake.StaffName || rr.SentAt.IsZero() {
		t.Errorf("reply request %+v", rr)
	}
	// The same request delivered again (a retry) carries the same message id.
	if err := e.fake.Replay(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if again := h.Last(t); len(again.Replies) != 1 || again.Replies[0].MessageID != rr.MessageID {
		t.Fatalf("replay: %+v", again)
	}
	// The outcome is written back as an internal note, once.
	result := sdk.ReplyResult{TicketID: ref.ID, MessageID: rr.MessageID, Outcome: sdk.OutcomeRefused,
		Detail: "Google Play answers are limited to 350 characters, this one has 412"}
	for range 2 {
		if _, err := e.Desk.WriteReplyResult(ctx(t), sdk.WriteReplyResultRequest{Settings: e.Settings, Result: result}); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := e.fake.TicketByReview("googleplay", "gp-1")
	if notes := tk.Notes(); len(notes) != 1 || !strings.Contains(notes[0].Body, "limited to 350 characters, this one has 412") {
		t.Fatalf("notes %+v", notes)
	}
}

// Internal notes, end users' comments, Reviewhub's own comments and other
// events are never answers: a quiet 200, no reply, nothing ignored. A body
// of an unknown shape is kept for the operator.
func TestWebhookNeverAnswersForNotesUsersOrItself(t *testing.T) {
	e := start(t)
	ref := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "gp-1/1"})
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")
	e.fake.SetWebhook(h.URL+"/hooks/zendesk/acme", secret)
	tk, _ := e.fake.TicketByReview("googleplay", "gp-1")
	for _, tc := range []struct {
		name, text string
		ev         fake.Event
	}{
		{"internal note", "looking into it", fake.Event{Private: true}},
		{"end user", "One more thing", fake.Event{EndUser: true}},
		{"own comment sent back", tk.Comments[0].Body, fake.Event{}},
	} {
		if _, err := e.fake.Post(ctx(t), id(t, ref), tc.text, tc.ev); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res := h.Last(t); res.Status != 200 || len(res.Replies) != 0 || res.Ignored != nil {
			t.Errorf("%s: status %d, replies %+v, ignored %+v; want a quiet 200", tc.name, res.Status, res.Replies, res.Ignored)
		}
	}
	if err := e.fake.SendSigned(ctx(t), []byte(`{"type":"zen:event-type:ticket.status_changed","id":"e1","detail":{"id":"1"}}`)); err != nil {
		t.Fatal(err)
	}
	if res := h.Last(t); res.Status != 200 || res.Ignored != nil || len(res.Replies) != 0 {
		t.Errorf("another event: %+v", res)
	}
	if err := e.fake.SendSigned(ctx(t), []byte(`{"ticket":{"id":1},"comment":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	if res := h.Last(t); res.Status != 200 || res.Ignored == nil || !strings.Contains(res.Ignored.Reason, "no event type") ||
		!strings.Contains(res.Ignored.Shape, "comment") || strings.Contains(res.Ignored.Shape, "hi") {
		t.Errorf("unknown shape: %d %+v", res.Status, res.Ignored)
	}
	// Not JSON (but signed): 400, kept.
	if err := e.fake.SendSigned(ctx(t), []byte(`not json`)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("not JSON: %v, want 400", err)
	}
	// Unsigned: 401, nothing kept.
	res, err := e.Desk.HandleWebhook(ctx(t), sdk.HandleWebhookRequest{Settings: e.Settings, Method: "POST", Body: []byte(`{}`)})
	if err != nil || res.Status != 401 || res.Ignored != nil || !strings.Contains(string(res.Body), zendesk.SignatureHeader) {
		t.Errorf("unsigned: %d %s %v", res.Status, res.Body, err)
	}
}

func TestErrorsAreClearAndClassified(t *testing.T) {
	e := start(t)
	with := func(k, v string) sdk.Settings { return helpdesktest.With(e.Settings, k, v) }
	helpdesktest.ExpectRefusals(t, e.Desk, []helpdesktest.Refusal{
		{Settings: with("api_token", "wrong"), Kind: sdk.ErrorKindUnauthenticated, Want: "refused the API token"},
		{Settings: with("email", "someone@else.example"), Kind: sdk.ErrorKindUnauthenticated, Want: "refused the API token"},
		{Settings: with("base_url", e.API.URL+"/nowhere"), Kind: sdk.ErrorKindNotFound, Want: "no Zendesk account"},
		{Settings: with("custom_fields", "review_id=360999999999"), Kind: sdk.ErrorKindNotFound, Want: "ticket field 360999999999 (review_id) does not exist"},
		{Settings: with("custom_fields", "colour=1"), Kind: sdk.ErrorKindInvalid, Want: `unknown name "colour"`},
		{Settings: with("custom_fields", "rating=abc"), Kind: sdk.ErrorKindInvalid, Want: `rating="abc" is not a ticket field id`},
		{Settings: with("webhook_tolerance", "forever"), Kind: sdk.ErrorKindInvalid, Want: "webhook_tolerance"},
		{Settings: helpdesktest.BadSubdomain(e.Settings), Kind: sdk.ErrorKindInvalid, Want: "subdomain"},
	})
	// An inactive field is reported, not refused.
	rep, err := e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: with("custom_fields", "review_id="+strconv.Itoa(fake.FieldInactive))})
	if err != nil || len(rep.Checks) < 2 || rep.Checks[1].Status != sdk.CheckFail {
		t.Errorf("inactive field: %+v %v", rep, err)
	}
	if n := e.fake.Writes(); n != 0 {
		t.Errorf("the credentials checks wrote %d times", n)
	}
	// A write that fails with a 5xx is not retried inside the call (its
	// outcome is unknown): the hub retries, looking the ticket up.
	e.fake.Fail(1, 503)
	calls := e.fake.Calls()
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k", FirstAttempt: true})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable || e.fake.Calls()-calls != 1 {
		t.Errorf("503 on a create: %v (kind %v), %d calls; want Unavailable after one call", err, sdk.KindOf(err), e.fake.Calls()-calls)
	}
	// A read that fails once with a 5xx is retried inside the call.
	e.fake.Fail(1, 502)
	if _, err := e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k"}); err != nil {
		t.Errorf("one 502 on the lookup, then success: %v", err)
	}
	// A 429 is RateLimited with Zendesk's Retry-After, and holds the
	// account in this plugin process: calls fail at once with the rest.
	e.fake.RateLimit(1, 7*time.Second)
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 1, "x"), DeliveryKey: "k"})
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 7*time.Second {
		t.Errorf("429: %v (kind %v, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	calls = e.fake.Calls()
	_, err = e.Desk.UpsertTicket(ctx(t), sdk.UpsertTicketRequest{Settings: e.Settings, Change: change(sdk.ChangeKindNew, 2, "y"), DeliveryKey: "k2"})
	if d := sdk.RetryAfterOf(err); sdk.KindOf(err) != sdk.ErrorKindRateLimited || d <= 0 || d > 7*time.Second || e.fake.Calls() != calls {
		t.Errorf("while held: %v (retry after %v), %d calls; want rate limited with no call", err, d, e.fake.Calls()-calls)
	}
}

func TestCheckCredentialsReport(t *testing.T) {
	e := start(t)
	rep, err := e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: e.Settings})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range rep.Checks {
		status[c.Name] = c.Status
		if strings.Contains(c.Detail, secret) || strings.Contains(c.Detail, "token-1") {
			t.Errorf("check %s shows a secret", c.Name)
		}
	}
	for _, name := range []string{"agent", "field review_id", "field rating", "webhook"} {
		if status[name] != sdk.CheckOK {
			t.Errorf("check %s: %q (%+v)", name, status[name], rep.Checks)
		}
	}
}

func TestSettingsSchema(t *testing.T) {
	helpdesktest.ExpectMarks(t, helpdesk{}, []string{"subdomain", "base_url"}, []string{"api_token", "webhook_secret"})
}

// Health alerts go to one ticket per app; a retried alert is posted once;
// an agent's comment in it is no answer to a review.
func TestAlertsGoToOneTicketPerApp(t *testing.T) {
	e := start(t)
	al := sdk.Alert{IntegrationID: "acme", AppID: "android", AppName: "ACME for Android", Store: "googleplay", StoreName: "Google Play",
		Health: sdk.HealthCredentials, Previous: sdk.HealthOK, Key: "acme/android/ok>credentials/0",
		Title: "Reviewhub: reviews of ACME for Android (googleplay) are not arriving: credentials", Text: "Renew the key."}
	alerter := helpdesktest.Alerter(t, e.Desk)
	for range 2 {
		if _, err := alerter.PostAlert(ctx(t), sdk.PostAlertRequest{Settings: e.Settings, IntegrationID: "acme", Alert: al}); err != nil {
			t.Fatal(err)
		}
	}
	rec := al
	rec.Recovered, rec.Key, rec.Title = true, "acme/android/credentials>ok/1", "Reviewhub: reviews of ACME for Android (googleplay) flow again"
	if _, err := alerter.PostAlert(ctx(t), sdk.PostAlertRequest{Settings: e.Settings, IntegrationID: "acme", Alert: rec}); err != nil {
		t.Fatal(err)
	}
	tickets := e.fake.Tickets()
	if len(tickets) != 1 || tickets[0].ExternalID != "reviewhub-alerts:acme/android" || len(tickets[0].Comments) != 2 ||
		!strings.Contains(tickets[0].Comments[1].Body, "flow again") || !strings.Contains(tickets[0].Subject, "ACME for Android") {
		t.Fatalf("alert tickets %+v", tickets)
	}
	h := helpdesktest.ServeWebhooks(t, e.Desk, e.Settings, "acme")
	e.fake.SetWebhook(h.URL, secret)
	if _, err := e.fake.Answer(ctx(t), tickets[0].ID, "On it"); err != nil {
		t.Fatal(err)
	}
	if res := h.Last(t); res.Status != 200 || len(res.Replies) != 0 || res.Ignored != nil {
		t.Errorf("answer in the alert ticket: %+v", res)
	}
}

// The credentials go to base_url as Basic auth: plain http is refused
// there except on loopback.
func TestBaseURLOverrideMustBeHTTPS(t *testing.T) {
	e := start(t)
	s := helpdesktest.With(e.Settings, "base_url", "http://127.attacker.example")
	_, err := e.Desk.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: s})
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "https") {
		t.Fatalf("plain http base_url: %v, want Invalid asking for https", err)
	}
}

// A webhook_tolerance the account got wrong (5s, below the 10s allowed)
// does not lose a staff answer: the SDK drops it with a warning and the
// plugin checks the signature with its default tolerance, instead of the
// webhook failing until Zendesk gives up.
func TestWebhookWithAnInvalidToleranceStillAnswers(t *testing.T) {
	e := start(t)
	ref := e.upsert(t, sdk.UpsertTicketRequest{Change: change(sdk.ChangeKindNew, 2, "Crashes"), DeliveryKey: "k1"})
	h := helpdesktest.ServeWebhooks(t, e.Desk, helpdesktest.With(e.Settings, "webhook_tolerance", "5s"), "acme")
	e.fake.SetWebhook(h.URL+"/hooks/zendesk/acme", secret)
	if _, err := e.fake.Answer(ctx(t), id(t, ref), "Thanks, we fixed it!"); err != nil {
		t.Fatalf("answer with webhook_tolerance=5s: %v, want it delivered", err)
	}
	if res := h.Last(t); res.Status != 200 || len(res.Replies) != 1 || res.Replies[0].Text != "Thanks, we fixed it!" {
		t.Fatalf("answer with webhook_tolerance=5s: %+v, want the reply", res)
	}
}
