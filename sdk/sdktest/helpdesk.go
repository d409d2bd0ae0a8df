package sdktest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// HelpdeskSuite configures RunHelpdesk.
type HelpdeskSuite struct {
	Settings      sdk.Settings
	IntegrationID string
	// UnknownTicketID is a ticket id of the vendor's form that no ticket
	// has (default "999999999").
	UnknownTicketID string
	// NotSecret lists settings whose keys look like credentials (a key, a
	// token) but are none, so need not be Secret.
	NotSecret []string
	// Vendor is the test's view of the helpdesk behind the plugin (its
	// fake). Nil skips the checks of what the plugin did in the helpdesk:
	// a change added once per delivery key, an edit and an outcome note
	// really written, the tags, a staff answer read from a signed webhook,
	// the helpdesk's errors classified.
	Vendor HelpdeskVendor
}

// RunHelpdesk checks that a helpdesk plugin honours the protocol's
// contract. h is a launched plugin (LaunchHelpdesk) or one in the test's
// process: a sdk.HelpdeskPlugin, or a sdk.Helpdesk written for SDK v0.1.
func RunHelpdesk(t *testing.T, h sdk.AnyHelpdesk, suite HelpdeskSuite) {
	runHelpdesk(goTest{t}, h, suite)
}

func runHelpdesk(t tester, impl sdk.AnyHelpdesk, suite HelpdeskSuite) {
	h, err := sdk.AsHelpdeskPlugin(impl)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if suite.UnknownTicketID == "" {
		suite.UnknownTicketID = "999999999"
	}
	r := &deskRun{h: h, suite: suite}
	t.Run("info", func(t tester) {
		info, err := h.Info(ctx(t), sdk.InfoRequest{})
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		r.tags = info.Helpdesk != nil && info.Helpdesk.SupportsTags
		for _, f := range info.Settings {
			if f.Secret {
				r.secrets = append(r.secrets, f.Key)
			}
		}
		checkInfo(t, info, sdk.PluginKindHelpdesk, r.suite.NotSecret)
	})
	t.Run("check credentials", func(t tester) {
		if _, err := h.CheckCredentials(ctx(t), sdk.CheckCredentialsRequest{Settings: suite.Settings}); err != nil {
			t.Fatalf("CheckCredentials with working settings: %v", err)
		}
	})
	t.Run("upsert is idempotent by review id", r.upsert)
	t.Run("outcome note is written once", r.outcomeNote)
	t.Run("unknown ticket is NotFound", r.unknownTicket)
	t.Run("staff answer in a signed webhook is one reply", r.webhookAnswer)
	t.Run("malformed webhook is a 4xx, not a failure", func(t tester) {
		res, err := h.HandleWebhook(ctx(t), sdk.WebhookRequest{Settings: suite.Settings, IntegrationID: suite.IntegrationID,
			Method: "POST", Path: "/hooks/x/" + suite.IntegrationID, Body: []byte("{not json")})
		if err != nil {
			t.Fatalf("HandleWebhook: %v (a bad request should be answered, not fail the call)", err)
		}
		if res.Status < 400 || res.Status > 499 || len(res.Replies) != 0 {
			t.Fatalf("HandleWebhook with a malformed body: status %d, %d replies; want 4xx and none", res.Status, len(res.Replies))
		}
	})
	t.Run("helpdesk errors are classified", func(t tester) {
		checkFaults(t, suite.Vendor, func() error {
			_, err := h.UpsertTicket(ctx(t), r.request(SampleChange(nonce("review")), "", nil, "k/1"))
			return err
		})
	})
}

type deskRun struct {
	h     sdk.HelpdeskPlugin
	suite HelpdeskSuite
	tags  bool // the plugin takes tags (SupportsTags)
	// secrets are the keys of the settings the plugin declares Secret.
	secrets []string
}

func (r *deskRun) request(ch sdk.ReviewChange, ticketID string, tags []string, key string) sdk.TicketRequest {
	if !r.tags {
		tags = nil // the hub sends none
	}
	return sdk.TicketRequest{Settings: r.suite.Settings, IntegrationID: r.suite.IntegrationID, TicketID: ticketID,
		Change: ch, Tags: tags, DeliveryKey: key}
}

func (r *deskRun) upsertOK(t tester, what string, req sdk.TicketRequest) sdk.TicketRef {
	t.Helper()
	ref, err := r.h.UpsertTicket(ctx(t), req)
	if err != nil {
		t.Fatalf("UpsertTicket (%s): %v", what, err)
	}
	return ref
}

// ticket is the vendor's ticket id; the test fails when there is none.
func (r *deskRun) ticket(t tester, id string) VendorTicket {
	t.Helper()
	tk, ok, err := r.suite.Vendor.Ticket(ctx(t), id)
	if err != nil {
		t.Fatalf("vendor view: Ticket %s: %v", id, err)
	}
	if !ok {
		t.Fatalf("ticket %s: the helpdesk has no such ticket", id)
	}
	return tk
}

// The hub's tags of a review's first version and of its edit (the same
// form as the hub's: lower case, no spaces).
var (
	tagsNew  = []string{"sdktest", "app:conformance", "rating:2", "change:new", "language:en"}
	tagsEdit = []string{"sdktest", "app:conformance", "rating:4", "change:better", "language:en"}
)

const staffTag = "sdktest_staff"

func (r *deskRun) upsert(t tester) {
	id := nonce("review")
	ch := SampleChange(id)
	req := r.request(ch, "", tagsNew, id+"/1")
	first := r.upsertOK(t, "create", req)
	if first.ID == "" || !first.Created {
		t.Fatalf("first UpsertTicket: %+v, want a created ticket", first)
	}
	v := r.suite.Vendor
	var before VendorTicket
	if v != nil {
		before = r.ticket(t, first.ID)
		if !hasText(texts(before.Comments), ch.Review.Text) {
			t.Errorf("the new ticket does not show the review's text %q: %+v", ch.Review.Text, before.Comments)
		}
		r.expectTags(t, "the new ticket", before.Tags, tagsNew, nil)
	}
	// A retry without the ticket id (the hub crashed before saving it).
	again := r.upsertOK(t, "retry", req)
	if again.ID != first.ID || again.Created {
		t.Fatalf("retried UpsertTicket: %+v, want the same ticket %s, not created", again, first.ID)
	}
	if v != nil {
		if n := len(r.ticket(t, first.ID).Comments) - len(before.Comments); n != 0 {
			t.Errorf("the retry with the same delivery key added %d comments, want none (DeliveryKey ignored)", n)
		}
		if st, ok := v.(StaffTagger); ok && r.tags {
			if err := st.TagAsStaff(ctx(t), first.ID, staffTag); err != nil {
				t.Fatalf("vendor view: TagAsStaff: %v", err)
			}
		}
	}
	// An edit lands in the same ticket, once per delivery key.
	ch.Kind = sdk.ChangeKindBetter
	ch.History = []sdk.ReviewVersion{{Rating: 2, Text: ch.Review.Text, SeenAt: ch.Review.CreatedAt}}
	ch.Review.Rating, ch.Review.Text = 4, "Works now, thanks ("+id+")."
	reported := map[string]bool{}
	for try := 1; try <= 2; try++ {
		edit := r.upsertOK(t, "edit", r.request(ch, first.ID, tagsEdit, id+"/2"))
		if edit.ID != first.ID || edit.Created {
			t.Fatalf("edit (try %d): %+v, want the same ticket %s", try, edit, first.ID)
		}
		if v == nil {
			continue
		}
		after := r.ticket(t, first.ID)
		added := after.Comments[min(len(before.Comments), len(after.Comments)):]
		switch {
		case try == 1 && !hasText(texts(added), ch.Review.Text):
			t.Errorf("the edit added no comment showing the new text %q (added: %+v)", ch.Review.Text, added)
		case try == 2 && len(after.Comments) != len(before.Comments):
			t.Errorf("the edit delivered again with the same key added %d comments, want none (DeliveryKey ignored)", len(after.Comments)-len(before.Comments))
		}
		before = after
		// The tags are checked after either try (a plugin may drop the
		// staff's tags, or bring back the hub's old ones, only on a
		// redelivery), each failure reported once.
		what := "after the edit"
		if try == 2 {
			what = "after the edit delivered again"
		}
		problems := r.tagProblems(what, after.Tags, tagsEdit, []string{"rating:2", "change:new"})
		if _, staff := v.(StaffTagger); staff && r.tags && !slices.Contains(lower(after.Tags), staffTag) {
			problems = append(problems, tagProblem{"staff tag lost",
				fmt.Sprintf("%s the ticket lost the staff's own tag %q (tags %v): replace only the hub's tags", what, staffTag, after.Tags)})
		}
		for _, p := range problems {
			if !reported[p.check] {
				reported[p.check] = true
				t.Errorf("%s", p.msg)
			}
		}
	}
}

// tagProblem is one failed tag check: which (to report it once) and the
// message.
type tagProblem struct{ check, msg string }

// expectTags checks a ticket's tags: every one of want, none of gone.
// Helpdesks lower-case tags, so case is ignored.
func (r *deskRun) expectTags(t tester, what string, have, want, gone []string) {
	t.Helper()
	for _, p := range r.tagProblems(what, have, want, gone) {
		t.Errorf("%s", p.msg)
	}
}

// tagProblems are expectTags' failures.
func (r *deskRun) tagProblems(what string, have, want, gone []string) []tagProblem {
	if !r.tags {
		return nil
	}
	var out []tagProblem
	have = lower(have)
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, tagProblem{"missing " + w, fmt.Sprintf("%s: tag %q missing (tags %v)", what, w, have)})
		}
	}
	for _, g := range gone {
		if slices.Contains(have, g) {
			out = append(out, tagProblem{"stale " + g,
				fmt.Sprintf("%s: the earlier version's tag %q is still there (tags %v): the hub's tags of a review are replaced on an edit", what, g, have)})
		}
	}
	return out
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func texts(cs []VendorComment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Text
	}
	return out
}

// outcomeNote: a reply's outcome becomes one internal note, however often
// it is delivered.
func (r *deskRun) outcomeNote(t tester) {
	id := nonce("review")
	ref := r.upsertOK(t, "create", r.request(SampleChange(id), "", tagsNew, id+"/1"))
	var before VendorTicket
	if r.suite.Vendor != nil {
		before = r.ticket(t, ref.ID)
	}
	result := sdk.ReplyResult{TicketID: ref.ID, ReviewID: id, MessageID: "sdktest-m-" + id, Outcome: sdk.OutcomeRefused,
		Detail: "sdktest: replies are limited to 350 characters, this one has 412 (" + id + ")"}
	tries := 1
	if r.suite.Vendor != nil {
		tries = 2 // delivered twice, written once
	}
	for try := 1; try <= tries; try++ {
		_, err := r.h.WriteReplyResult(ctx(t), sdk.WriteReplyResultRequest{Settings: r.suite.Settings, IntegrationID: r.suite.IntegrationID, Result: result})
		if err != nil {
			t.Fatalf("WriteReplyResult (try %d): %v", try, err)
		}
	}
	if r.suite.Vendor == nil {
		return
	}
	after := r.ticket(t, ref.ID)
	var notes []VendorComment
	for _, c := range after.Comments[min(len(before.Comments), len(after.Comments)):] {
		if strings.Contains(c.Text, result.Detail) {
			notes = append(notes, c)
		}
	}
	switch {
	case len(notes) == 0:
		t.Errorf("WriteReplyResult succeeded, the ticket shows no note with the outcome's detail %q", result.Detail)
	case len(notes) > 1:
		t.Errorf("the outcome delivered twice made %d notes, want one per message id", len(notes))
	case !notes[0].Internal:
		t.Errorf("the outcome note is public: the customer would see it; write it as an internal note")
	}
}

// unknownTicket: a linked ticket that is gone (deleted in the helpdesk)
// is NotFound, so the hub shows the operator instead of retrying forever.
func (r *deskRun) unknownTicket(t tester) {
	id := nonce("review")
	_, err := r.h.UpsertTicket(ctx(t), r.request(SampleChange(id), r.suite.UnknownTicketID, tagsNew, id+"/1"))
	if k := sdk.KindOf(err); k != sdk.ErrorKindNotFound {
		t.Errorf("UpsertTicket of ticket %s, which does not exist: %v (kind %v), want NotFound", r.suite.UnknownTicketID, err, k)
	}
	_, err = r.h.WriteReplyResult(ctx(t), sdk.WriteReplyResultRequest{Settings: r.suite.Settings, IntegrationID: r.suite.IntegrationID,
		Result: sdk.ReplyResult{TicketID: r.suite.UnknownTicketID, ReviewID: id, MessageID: "sdktest-m-" + id, Outcome: sdk.OutcomePublished}})
	if k := sdk.KindOf(err); k != sdk.ErrorKindNotFound {
		t.Errorf("WriteReplyResult to ticket %s, which does not exist: %v (kind %v), want NotFound", r.suite.UnknownTicketID, err, k)
	}
}

// webhookAnswer: staff answer a ticket in the helpdesk; the plugin reads
// the vendor's signed webhook as one reply with a stable message id, the
// same when the vendor sends it again, another for another answer.
func (r *deskRun) webhookAnswer(t tester) {
	if r.suite.Vendor == nil {
		t.Skip("no vendor view (HelpdeskSuite.Vendor)")
	}
	id := nonce("review")
	ref := r.upsertOK(t, "create", r.request(SampleChange(id), "", tagsNew, id+"/1"))
	answer := func(text string) sdk.WebhookRequest {
		req, err := r.suite.Vendor.SignedWebhook(ctx(t), ref.ID, text)
		if err != nil {
			t.Fatalf("vendor view: SignedWebhook: %v", err)
		}
		if req.Settings == nil {
			req.Settings = r.suite.Settings
		}
		if req.IntegrationID == "" {
			req.IntegrationID = r.suite.IntegrationID
		}
		return req
	}
	reply := func(what string, req sdk.WebhookRequest) sdk.ReplyRequest {
		res, err := r.h.HandleWebhook(ctx(t), req)
		if err != nil {
			t.Fatalf("HandleWebhook (%s): %v", what, err)
		}
		if res.Status < 200 || res.Status > 299 || len(res.Replies) != 1 {
			t.Fatalf("HandleWebhook (%s): status %d, %d replies (%s); want 2xx and one reply", what, res.Status, len(res.Replies), res.Body)
		}
		return res.Replies[0]
	}
	text := "Thanks, fixed in 1.1 (" + id + ")"
	req := answer(text)
	rr := reply("a staff answer", req)
	if rr.TicketID != ref.ID || strings.TrimSpace(rr.Text) != text || rr.MessageID == "" || (rr.ReviewID != "" && rr.ReviewID != id) {
		t.Errorf("reply %+v: want ticket %s, text %q, a message id, review id %q or none", rr, ref.ID, text, id)
	}
	if again := reply("the same webhook again", req); again.MessageID != rr.MessageID {
		t.Errorf("the same webhook sent again gave message id %q, first %q: the hub would publish the answer twice", again.MessageID, rr.MessageID)
	}
	if other := reply("a second answer", answer("And 1.2 is out ("+id+")")); other.MessageID == rr.MessageID {
		t.Errorf("two answers gave the same message id %q: the hub would drop the second", rr.MessageID)
	}
	// The same request checked against other secrets (every Secret
	// setting changed) is a forgery: refused, nothing taken from it.
	forged := req
	forged.Settings = maps.Clone(req.Settings)
	changed := false
	for _, k := range r.secrets {
		if v, ok := forged.Settings[k]; ok && v != "" {
			forged.Settings[k], changed = "not-"+v, true
		}
	}
	if !changed {
		return // no secret to check a webhook against
	}
	res, err := r.h.HandleWebhook(ctx(t), forged)
	if err != nil {
		t.Fatalf("HandleWebhook (a forged webhook): %v (a refused request should be answered, not fail the call)", err)
	}
	if res.Status < 400 || res.Status > 499 || len(res.Replies) != 0 {
		t.Errorf("a webhook that does not match the account's secrets: status %d, %d replies; want 4xx and none (anyone could post answers)", res.Status, len(res.Replies))
	}
}
