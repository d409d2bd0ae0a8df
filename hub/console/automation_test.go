package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
)

// automationState is reviewsState with automation on acme (a tag rule
// and a reply rule) and two drafts waiting: gp-2's (acme) and as-1's
// (beta).
func automationState(t *testing.T) (*state.DB, *httpapi.Admin) {
	t.Helper()
	db := reviewsState(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	b, err := bus.NewSQLite(ctx, db.SQL(), log, bus.SubscriberConfig{WriteGate: db.WriteGate()})
	if err != nil {
		t.Fatal(err)
	}
	api := reviewsAdminOver(db)
	api.DraftOps = &deliver.Deliverer{DB: db, Bus: b, Logger: log}
	admin := auth.With(ctx, auth.Principal{Subject: "admin", Name: "admin", Role: auth.RoleAdmin})
	if _, err := api.SetAutomation(admin, "acme", 0, rules.Automation{
		Templates: []rules.Template{{ID: "thanks", Text: "Thank you, {{reviewer_name|friend}}!"}, {ID: "sorry", Text: "Sorry, {{reviewer_name}}."}},
		Rules: []rules.Rule{
			{ID: "low", When: rules.Conditions{Ratings: []int{1, 2}}, Tags: []string{"low"}},
			{ID: "praise", When: rules.Conditions{Ratings: []int{5}}, Reply: "thanks"},
		}}); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *state.Tx) error {
		for _, d := range []state.Reply{
			{IntegrationID: "acme", MessageID: "rule:sorry:android:gp-2:1", AppID: "android", ReviewID: "gp-2", Text: "Sorry, Иван.", Rule: "sorry", Status: state.ReplyDraft},
			{IntegrationID: "beta", MessageID: "rule:thanks:ios:as-1:1", AppID: "ios", ReviewID: "as-1", Text: "ขอบคุณ Somchai", Rule: "thanks", Status: state.ReplyDraft},
		} {
			if _, err := tx.AddReply(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, api
}

// signedInPost is signedIn with a poster of forms (the CSRF token added).
func signedInPost(t *testing.T, admin Admin) (get func(string) (int, string), postForm func(string, url.Values) (int, string, string)) {
	t.Helper()
	srv, cl := newTestServerWith(t, admin)
	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	if r := post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	get = func(path string) (int, string) {
		resp, err := cl.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		readBody(&b, resp)
		return resp.StatusCode, b.String()
	}
	postForm = func(path string, v url.Values) (int, string, string) {
		v.Set("csrf", getCSRF(t, cl, srv.URL+"/console/integrations"))
		resp, err := cl.PostForm(srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		readBody(&b, resp)
		return resp.StatusCode, resp.Header.Get("Location"), b.String()
	}
	return get, postForm
}

var asAdmin = auth.With(context.Background(), auth.Principal{Subject: "admin", Name: "admin", Role: auth.RoleAdmin})

func ruleIDs(t *testing.T, api *httpapi.Admin) []string {
	t.Helper()
	a, err := api.Automation(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range a.Rules {
		id := r.ID
		if r.Enabled != nil && !*r.Enabled {
			id += "(off)"
		}
		ids = append(ids, id)
	}
	return ids
}

func version(t *testing.T, api *httpapi.Admin) string {
	t.Helper()
	a, err := api.Automation(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(a.Version)
}

// The automation editor: the list, a failed save that names each wrong
// field beside it and keeps what was typed, a save, the preview by the
// hub's engine, reorder, switch off, delete (after a question), a stale
// page refused, the kill switch, Russian.
func TestAutomationEditor(t *testing.T) {
	_, api := automationState(t)
	get, postForm := signedInPost(t, api)

	code, body := get("/console/integrations/acme/automation")
	if code != 200 {
		t.Fatalf("automation: %d %s", code, body)
	}
	for _, want := range []string{`data-rule="low"`, `data-rule="praise"`, "1★, 2★", "replies with <code>thanks</code>", "Stop every rule now",
		`href="/console/integrations/acme/automation/new"`, "Thank you, {{reviewer_name|friend}}!"} {
		if !strings.Contains(body, want) {
			t.Errorf("automation page lacks %q", want)
		}
	}
	if code, body = get("/console/integrations/acme/automation/new"); code != 200 || !strings.Contains(body, `name="keywords"`) ||
		!strings.Contains(body, `<option value="thanks">thanks</option>`) || !strings.Contains(body, `value="android"`) {
		t.Fatalf("new rule form: %d", code)
	}

	// A failed save: every wrong field named beside it, what was typed kept, nothing saved.
	bad := url.Values{"id": {"Bad Id"}, "enabled": {"on"}, "ratings": {"2", "9"}, "min_words": {"many"}, "languages": {"en, klingon!"},
		"keywords": {"crash\nкраш"}, "reply": {"thanks"}, "mode": {"auto"}, "tags": {"bug, crash"}, "version": {version(t, api)}, "action": {"save"}}
	code, _, body = postForm("/console/integrations/acme/automation/new", bad)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad rule: %d %s", code, body)
	}
	for _, want := range []string{`id="r-min_words-error"`, "not a whole number", `value="Bad Id"`, "crash\nкраш", `value="many"`, `value="bug, crash"`,
		`value="en, klingon!"`, "Nothing was saved", `id="r-rating-2" name="ratings" value="2" checked`, `id="r-mode-auto" name="mode" value="auto" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("failed save lacks %q", want)
		}
	}
	// The number fixed, the rules' own checks speak, each beside its field.
	bad.Set("min_words", "3")
	code, _, body = postForm("/console/integrations/acme/automation/new", bad)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad rule: %d", code)
	}
	for _, want := range []string{`id="r-id-error"`, "lower-case letters", `id="r-ratings-error"`, "9 is outside 1..5", `id="r-languages-error"`,
		`aria-invalid="true"`, `value="Bad Id"`} {
		if !strings.Contains(body, want) {
			t.Errorf("failed save lacks %q", want)
		}
	}
	if got := ruleIDs(t, api); !slices.Equal(got, []string{"low", "praise"}) {
		t.Fatalf("a failed save changed the rules: %v", got)
	}

	// The preview: the hub's engine on the newest reviews; nothing saved.
	try := url.Values{"id": {"sorry"}, "enabled": {"on"}, "ratings": {"2", "3"}, "reply": {"sorry"}, "mode": {"approval"},
		"version": {version(t, api)}, "action": {"preview"}}
	code, _, body = postForm("/console/integrations/acme/automation/new", try)
	if code != 200 {
		t.Fatalf("preview: %d %s", code, body)
	}
	for _, want := range []string{"It matches 2 of the last 2 reviews.", `data-review="gp-2"`, "Sorry, Иван.", `data-review="gp-1"`,
		"staff answered this review", `value="sorry"`} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if got := ruleIDs(t, api); len(got) != 2 {
		t.Fatalf("a preview saved: %v", got)
	}

	// A save.
	good := url.Values{"id": {"crash"}, "enabled": {"on"}, "ratings": {"1", "2"}, "keywords": {"crash\nкраш"}, "languages": {"en, ru"},
		"reply": {"sorry"}, "mode": {"approval"}, "tags": {"bug, crash"}, "min_words": {"2"}, "changes": {"new", "edited"},
		"version": {version(t, api)}, "action": {"save"}}
	code, loc, body := postForm("/console/integrations/acme/automation/new", good)
	if code != http.StatusSeeOther || loc != "/console/integrations/acme/automation?done=saved" {
		t.Fatalf("save: %d %s %s", code, loc, body)
	}
	a, _ := api.Automation(context.Background(), "acme")
	r := a.Rules[2]
	if r.ID != "crash" || !slices.Equal(r.When.Ratings, []int{1, 2}) || !slices.Equal(r.When.Keywords, []string{"crash", "краш"}) ||
		!slices.Equal(r.Tags, []string{"bug", "crash"}) || r.Reply != "sorry" || r.Mode != rules.ModeApproval || *r.When.MinWords != 2 ||
		!slices.Equal(r.When.Changes, []string{"new", "edited"}) || !slices.Equal(r.When.Languages, []string{"en", "ru"}) {
		t.Errorf("saved rule: %+v", r)
	}
	// Edited: its form shows what is stored.
	if code, body = get("/console/integrations/acme/automation/rules/crash"); code != 200 || !strings.Contains(body, "crash\nкраш") ||
		!strings.Contains(body, `value="bug, crash"`) || !strings.Contains(body, `id="r-change-edited" name="changes" value="edited" checked`) {
		t.Errorf("edit form: %d", code)
	}

	// Reorder, switch off, delete.
	if code, _, _ = postForm("/console/integrations/acme/automation/rules/crash/move", url.Values{"dir": {"up"}, "version": {version(t, api)}}); code != http.StatusSeeOther {
		t.Fatalf("move: %d", code)
	}
	if got := ruleIDs(t, api); !slices.Equal(got, []string{"low", "crash", "praise"}) {
		t.Errorf("after move: %v", got)
	}
	if code, _, _ = postForm("/console/integrations/acme/automation/rules/low/toggle", url.Values{"version": {version(t, api)}}); code != http.StatusSeeOther {
		t.Fatalf("toggle: %d", code)
	}
	if got := ruleIDs(t, api); !slices.Equal(got, []string{"low(off)", "crash", "praise"}) {
		t.Errorf("after toggle: %v", got)
	}
	// A page that went stale is refused, not overwritten.
	code, _, body = postForm("/console/integrations/acme/automation/rules/crash/move", url.Values{"dir": {"down"}, "version": {"1"}})
	if code != http.StatusPreconditionFailed {
		t.Errorf("stale move: %d %s", code, body)
	}
	if code, body = get("/console/integrations/acme/automation/rules/praise/delete"); code != 200 || !strings.Contains(body, "Delete rule praise") {
		t.Errorf("delete question: %d", code)
	}
	if code, _, _ = postForm("/console/integrations/acme/automation/rules/praise/delete", url.Values{"version": {version(t, api)}}); code != http.StatusSeeOther {
		t.Fatalf("delete: %d", code)
	}
	if got := ruleIDs(t, api); !slices.Equal(got, []string{"low(off)", "crash"}) {
		t.Errorf("after delete: %v", got)
	}

	// The kill switch, audited.
	if code, _, _ = postForm("/console/integrations/acme/automation/stop", url.Values{"reason": {"a bad template"}}); code != http.StatusSeeOther {
		t.Fatalf("stop: %d", code)
	}
	if a, _ = api.Automation(context.Background(), "acme"); !a.Stopped {
		t.Error("not stopped")
	}
	code, body = get("/console/integrations/acme/automation?done=stopped")
	if code != 200 || !strings.Contains(body, "Stopped: no rule runs") || !strings.Contains(body, "Let the rules run again") {
		t.Errorf("stopped page: %d", code)
	}
	page, err := api.Audit(asAdmin, state.AuditFilter{Kind: httpapi.KindAutomation})
	if err != nil || len(page.Entries) == 0 || page.Entries[0].Action != "stop" {
		t.Errorf("audit: %v %+v", err, page.Entries)
	}

	// Russian.
	code, body = getLang(t, get, "/console/integrations/acme/automation", "ru")
	if code != 200 || !strings.Contains(body, "Аварийный выключатель") || !strings.Contains(body, "Новое правило") {
		t.Errorf("ru: %d", code)
	}
}

// The approvals page: the drafts waiting with their review and rule,
// counted in the navigation; approve with an edited text (published as
// the person's answer, audited), reject (nothing published), a second
// decision on the same draft refused with its reason; viewers read only.
func TestApprovalsPage(t *testing.T) {
	db, api := automationState(t)
	get, postForm := signedInPost(t, api)

	code, body := get("/console/approvals")
	if code != 200 {
		t.Fatalf("approvals: %d %s", code, body)
	}
	for _, want := range []string{`data-message="rule:sorry:android:gp-2:1"`, `data-message="rule:thanks:ios:as-1:1"`, "Не хватает тёмной темы",
		"Sorry, Иван.", "<code>sorry</code>", `id="drafts-waiting">2`, "Approve", "Reject", `aria-current="page">Approvals`} {
		if !strings.Contains(body, want) {
			t.Errorf("approvals page lacks %q", want)
		}
	}
	code, loc, body := postForm("/console/approvals/approve", url.Values{"integration": {"acme"}, "message": {"rule:sorry:android:gp-2:1"},
		"text": {"Sorry, Иван: the dark theme comes in 3.3."}})
	if code != http.StatusSeeOther || loc != "/console/approvals?done=approved" {
		t.Fatalf("approve: %d %s %s", code, loc, body)
	}
	ctx := context.Background()
	rp, err := db.Reply(ctx, "acme", "console:rule:sorry:android:gp-2:1")
	if err != nil || rp.Text != "Sorry, Иван: the dark theme comes in 3.3." || rp.Staff != AdminSubject || rp.Status != state.ReplyPending {
		t.Errorf("the approved answer: %v %+v", err, rp)
	}
	if d, _ := db.Reply(ctx, "acme", "rule:sorry:android:gp-2:1"); d.Status != state.ReplyApproved {
		t.Errorf("the draft: %s", d.Status)
	}
	audit, err := api.Audit(asAdmin, state.AuditFilter{Kind: httpapi.KindApproval})
	if err != nil || len(audit.Entries) != 1 || audit.Entries[0].Action != "edit_approve" || audit.Entries[0].Target != "android/gp-2" {
		t.Errorf("audit: %v %+v", err, audit.Entries)
	}

	code, body = get("/console/approvals?done=approved")
	if code != 200 || !strings.Contains(body, "The draft is approved") || !strings.Contains(body, `id="drafts-waiting">1`) ||
		strings.Contains(body, "gp-2:1") {
		t.Errorf("after approving: %d", code)
	}
	// Decided already: refused, with the reason.
	code, _, body = postForm("/console/approvals/approve", url.Values{"integration": {"acme"}, "message": {"rule:sorry:android:gp-2:1"}, "text": {"again"}})
	if code != http.StatusConflict || !strings.Contains(body, "not a draft waiting") {
		t.Errorf("second approval: %d %s", code, body)
	}
	// Too long a text: refused beside the draft, the text kept.
	long := strings.Repeat("ข", rules.MaxTemplateLength+1)
	code, _, body = postForm("/console/approvals/approve", url.Values{"integration": {"beta"}, "message": {"rule:thanks:ios:as-1:1"}, "text": {long}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, long) || !strings.Contains(body, `class="field-error" role="alert"`) {
		t.Errorf("too long: %d", code)
	}
	code, loc, _ = postForm("/console/approvals/reject", url.Values{"integration": {"beta"}, "message": {"rule:thanks:ios:as-1:1"}, "text": {"x"}})
	if code != http.StatusSeeOther || loc != "/console/approvals?done=rejected" {
		t.Fatalf("reject: %d %s", code, loc)
	}
	if d, _ := db.Reply(ctx, "beta", "rule:thanks:ios:as-1:1"); d.Status != state.ReplyRejected {
		t.Errorf("the rejected draft: %s", d.Status)
	}
	if _, err := db.Reply(ctx, "beta", "console:rule:thanks:ios:as-1:1"); err == nil {
		t.Error("a rejected draft was published")
	}
	if code, body = get("/console/approvals"); code != 200 || !strings.Contains(body, "No draft is waiting") || strings.Contains(body, `id="drafts-waiting"`) {
		t.Errorf("none left: %d", code)
	}
	if code, body = getLang(t, get, "/console/approvals", "ru"); code != 200 || !strings.Contains(body, "Черновиков, ждущих одобрения, нет") {
		t.Errorf("ru: %d", code)
	}
}

// Viewers read the drafts and the rules but get no form to change them.
func TestApprovalsReadOnlyForViewers(t *testing.T) {
	_, api := automationState(t)
	c, err := New(Options{Token: testToken, Admin: api})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.newSession(auth.Principal{Subject: "test:viewer", Name: "viewer person", Role: auth.RoleViewer, Via: auth.ViaSession})
	req := httptest.NewRequest(http.MethodGet, "/console/approvals", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "Sorry, Иван.") || strings.Contains(body, `action="/console/approvals/approve"`) ||
		!strings.Contains(body, "an agent or admin approves them") {
		t.Errorf("viewer: %d %s", rec.Code, body)
	}
	// The rules too: read, with no control that changes them.
	req = httptest.NewRequest(http.MethodGet, "/console/integrations/acme/automation", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	body = rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `data-rule="praise"`) || strings.Contains(body, "New rule") ||
		strings.Contains(body, `action="/console/integrations/acme/automation/stop"`) || strings.Contains(body, "/toggle") {
		t.Errorf("viewer's automation page: %d %s", rec.Code, body)
	}
}

// AutomationTestServer serves the console over automationState (for the
// browser test of package console_test); it returns the console's URL.
func AutomationTestServer(t *testing.T) string {
	t.Helper()
	_, api := automationState(t)
	c, err := New(Options{Token: testToken, Admin: api, Access: api})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}
