package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// automationYAML is the automation of the reply tests, as an operator
// writes it in the config file: app "ios" (store app "app1") has a rule per
// scenario, app "android" (store app "app2") the daily-cap one.
const automationYAML = `
daily_cap: 10
exceptions: [refund, crash*]
templates:
  - id: thanks
    text: "Thank you, {{reviewer_name|friend}}, for the {{rating}} stars for {{app_name}}!"
    variants: {ru: "Спасибо, {{reviewer_name|друг}}!"}
  - id: sorry
    text: "Sorry, {{reviewer_name|friend}}: we are on it."
rules:
  - id: five-no-text
    when: {apps: [ios], ratings: [5], text: without}
    reply: thanks
    mode: auto
  - id: low
    when: {apps: [ios], ratings: [1]}
    reply: sorry
    mode: auto
  - id: four-draft
    when: {apps: [ios], ratings: [4], changes: [new]}
    reply: thanks
  - id: android-five
    when: {apps: [android], ratings: [5]}
    reply: thanks
    mode: auto
    ticket: false
`

// replyEnv is the hub with the real Omnidesk plugin against the fake
// Omnidesk, the test store on the test backend, two apps and the
// automation above.
type replyEnv struct {
	*env
	od *odfake.Server
}

func startReplies(t *testing.T, tune func(*app.Options)) *replyEnv {
	t.Helper()
	od := odfake.New(odfake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "k"})
	api := httptest.NewServer(od)
	t.Cleanup(api.Close)
	e := &env{backend: testbackend.New(), tune: tune}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.AdminToken = adminToken
	e.cfg.Plugins.Paths["omnidesk"] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk")
	in := &e.cfg.Integrations[0]
	in.Helpdesk = config.HelpdeskAccount{Plugin: "omnidesk", Settings: od.Settings(api.URL, secret)}
	android := in.Apps[0]
	android.ID, android.Name, android.StoreAppID = "android", "ACME Android", "app2"
	in.Apps = append(in.Apps, android)
	var auto rules.Automation
	if err := yaml.Unmarshal([]byte(automationYAML), &auto); err != nil {
		t.Fatal(err)
	}
	in.Automation = &auto
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.startHub(t)
	hook := "http://" + e.hub.Addr() + "/hooks/omnidesk/acme?secret=" + secret
	od.SetWebhookURL(hook)
	return &replyEnv{env: e, od: od}
}

func (e *replyEnv) caseOf(t *testing.T, reviewID string) odfake.Case {
	t.Helper()
	var c odfake.Case
	eventually(t, "the case of "+reviewID, func() bool { var ok bool; c, ok = e.od.CaseByReviewID(reviewID); return ok })
	return c
}

// noteWith waits for a note of the case of reviewID that contains s.
func (e *replyEnv) noteWith(t *testing.T, reviewID, s string) string {
	t.Helper()
	var found string
	eventually(t, fmt.Sprintf("a note with %q in the case of %s", s, reviewID), func() bool {
		c, ok := e.od.CaseByReviewID(reviewID)
		if !ok {
			return false
		}
		for _, n := range c.Notes {
			if strings.Contains(n.Content, s) {
				found = n.Content
				return true
			}
		}
		return false
	})
	return found
}

func (e *replyEnv) reviewStatus(t *testing.T, appID, reviewID string) state.ReviewStatus {
	t.Helper()
	code, _, raw := e.api(t, "GET", "/api/integrations/acme/reviews/"+appID+"/"+reviewID, adminToken, "")
	var st state.ReviewStatus
	if code != 200 || json.Unmarshal([]byte(raw), &st) != nil {
		t.Fatalf("review status: %d %s", code, raw)
	}
	return st
}

func (e *replyEnv) posts(reviewID string) (int, string) {
	posts, texts := e.backend.ReplyPosts()
	return posts[reviewID], texts[reviewID]
}

// appStatus is app id's part of the status API's answer.
func appStatus(t *testing.T, status map[string]any, id string) map[string]any {
	t.Helper()
	apps, _ := status["apps"].([]any)
	for _, a := range apps {
		if m, _ := a.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("no app %s in the status %v", id, status)
	return nil
}

// Done when: a 5-star review with no text is answered by a rule in
// auto-post mode, and the ticket says so.
func TestAutoReplyToFiveStarsWithoutText(t *testing.T) {
	e := startReplies(t, nil)
	e.backend.PutReview(testbackend.Review{ID: "r5", App: "app1", Author: "Ann", Rating: 5, Language: "en"})
	note := e.noteWith(t, "r5", "automatic reply")
	want := "Thank you, Ann, for the 5 stars for ACME iOS!"
	if !strings.Contains(note, "published in the store") || !strings.Contains(note, `rule "five-no-text"`) || !strings.Contains(note, want) {
		t.Errorf("note %q", note)
	}
	if n, text := e.posts("r5"); n != 1 || text != want {
		t.Errorf("store: %d posts, %q", n, text)
	}
	st := e.reviewStatus(t, "ios", "r5")
	if st.Reply.Status != state.ReplyPublished || st.Reply.Rule != "five-no-text" || st.Reply.Version != 1 {
		t.Errorf("review status %+v", st.Reply)
	}
	_, status, _ := e.api(t, "GET", "/api/integrations/acme/status", adminToken, "")
	counters := appStatus(t, status, "ios")["counters"].(map[string]any)
	if counters["auto_replies_published"] != float64(1) || counters["replies_published"] != float64(1) {
		t.Errorf("counters %v", counters)
	}
}

// Done when: a 1-star review with "refund" goes to a person despite a
// matching rule.
func TestExceptionKeywordGoesToAPerson(t *testing.T) {
	e := startReplies(t, nil)
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Bob", Rating: 1, Text: "I want a REFUND now", Language: "en"})
	note := e.noteWith(t, "r1", "no automatic reply")
	if !strings.Contains(note, `rule "low"`) || !strings.Contains(note, `"refund"`) {
		t.Errorf("note %q", note)
	}
	// The rule's answer would have been recorded with the link that
	// queued this note: there is none, and nothing was posted.
	if st := e.reviewStatus(t, "ios", "r1"); st.Reply.Status != "" {
		t.Errorf("review status %+v, want never answered", st.Reply)
	}
	if n, _ := e.posts("r1"); n != 0 {
		t.Errorf("%d store posts", n)
	}
	// A person answers; that is published.
	c := e.caseOf(t, "r1")
	if _, err := e.od.Answer(context.Background(), c.ID, "Refunds go through the store; we wrote to you."); err != nil {
		t.Fatal(err)
	}
	e.noteWith(t, "r1", "published in the store")
	if n, text := e.posts("r1"); n != 1 || !strings.HasPrefix(text, "Refunds go") {
		t.Errorf("store: %d posts, %q", n, text)
	}
}

// Done when: an approval-mode draft is published only after staff approve.
func TestApprovalDraftPublishedOnlyAfterApproval(t *testing.T) {
	e := startReplies(t, nil)
	e.backend.PutReview(testbackend.Review{ID: "r4", App: "app1", Author: "Cleo", Rating: 4, Text: "Nice app", Language: "ru"})
	note := e.noteWith(t, "r4", "draft answer")
	if !strings.Contains(note, "Спасибо, Cleo!") || !strings.Contains(note, rules.ApproveCommand) || !strings.Contains(note, "NOT published") {
		t.Errorf("draft note %q", note)
	}
	if st := e.reviewStatus(t, "ios", "r4"); st.Reply.Status != state.ReplyDraft {
		t.Errorf("review status %+v, want draft", st.Reply)
	}
	// Another review's answer goes through meanwhile; the draft does not.
	e.backend.PutReview(testbackend.Review{ID: "r3", App: "app1", Author: "Dan", Rating: 3, Text: "Meh", Language: "en"})
	c3 := e.caseOf(t, "r3")
	if _, err := e.od.Answer(context.Background(), c3.ID, "What would make it better?"); err != nil {
		t.Fatal(err)
	}
	e.noteWith(t, "r3", "published in the store")
	if n, _ := e.posts("r4"); n != 0 {
		t.Fatalf("the draft was posted %d times before approval", n)
	}
	c := e.caseOf(t, "r4")
	if _, err := e.od.Answer(context.Background(), c.ID, "/approve"); err != nil {
		t.Fatal(err)
	}
	e.noteWith(t, "r4", "published in the store")
	if n, text := e.posts("r4"); n != 1 || text != "Спасибо, Cleo!" {
		t.Errorf("store: %d posts, %q (want the draft, not the command)", n, text)
	}
	if st := e.reviewStatus(t, "ios", "r4"); st.Reply.Status != state.ReplyPublished || st.Reply.Rule != "" {
		t.Errorf("review status %+v, want published by staff", st.Reply)
	}
}

// Done when: the daily cap stops the 11th automatic reply; that review goes
// to a person with the reason. (Which of the eleven is the 11th depends on
// the listing: the first one of an app is read newest first.)
func TestDailyCapStopsTheEleventhAutoReply(t *testing.T) {
	e := startReplies(t, nil)
	for i := 1; i <= 11; i++ {
		e.backend.PutReview(testbackend.Review{ID: fmt.Sprintf("a%02d", i), App: "app2", Author: fmt.Sprintf("User %d", i), Rating: 5,
			Text: "Great", Language: "en"})
	}
	eventually(t, "one case", func() bool { return e.od.CaseCount() == 1 })
	held := e.od.Cases()[0].CustomFields[odfake.FieldKey].(string)
	note := e.noteWith(t, held, "no automatic reply")
	if !strings.Contains(note, "daily cap of 10") {
		t.Errorf("note %q", note)
	}
	eventually(t, "ten automatic replies", func() bool {
		posts, _ := e.backend.ReplyPosts()
		return len(posts) == 10
	})
	posts, _ := e.backend.ReplyPosts()
	for i := 1; i <= 11; i++ {
		id := fmt.Sprintf("a%02d", i)
		want := 1
		if id == held {
			want = 0
		}
		if posts[id] != want {
			t.Errorf("%s posted %d times, want %d", id, posts[id], want)
		}
	}
	// Ticketless rule: only the held review became a case.
	if n := e.od.CaseCount(); n != 1 {
		t.Errorf("%d cases, want only %s's", n, held)
	}
	_, auto, raw := e.api(t, "GET", "/api/integrations/acme/automation", adminToken, "")
	if today, _ := auto["auto_replies_today"].(map[string]any); today["android"] != float64(10) {
		t.Errorf("automation: %s", raw)
	}
}

// Done when: a review edited after its answer shows "outdated" in the
// ticket and in the status API.
func TestEditAfterTheAnswerIsOutdated(t *testing.T) {
	e := startReplies(t, nil)
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Eve", Rating: 2, Text: "Slow sync", Language: "en"})
	c := e.caseOf(t, "r2")
	if _, err := e.od.Answer(context.Background(), c.ID, "Version 2.1 syncs faster."); err != nil {
		t.Fatal(err)
	}
	e.noteWith(t, "r2", "published in the store")
	if st := e.reviewStatus(t, "ios", "r2"); st.Reply.Status != state.ReplyPublished || st.Reply.Version != 1 {
		t.Fatalf("review status %+v", st.Reply)
	}
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Eve", Rating: 3, Text: "Better, but the widget is gone", Language: "en"})
	note := e.noteWith(t, "r2", "may no longer fit")
	c = e.caseOf(t, "r2")
	if len(c.Messages) < 2 || !strings.Contains(c.Messages[len(c.Messages)-1].Content+c.Messages[1].Content, "widget is gone") {
		t.Errorf("the edit is not in the case: %+v", c.Messages)
	}
	if !strings.Contains(note, "changed after the answer was published") {
		t.Errorf("note %q", note)
	}
	st := e.reviewStatus(t, "ios", "r2")
	if st.Reply.Status != state.ReplyOutdated || st.Version != 2 || st.Reply.Version != 1 {
		t.Errorf("review status %+v (version %d)", st.Reply, st.Version)
	}
	_, status, raw := e.api(t, "GET", "/api/integrations/acme/status", adminToken, "")
	if !strings.Contains(raw, `"reply_status":"outdated"`) {
		t.Errorf("status API: %s", raw)
	}
	if rs := appStatus(t, status, "ios")["reply_statuses"].(map[string]any); rs["outdated"] != float64(1) {
		t.Errorf("reply statuses %v", rs)
	}
	// Answering again publishes and replaces the status.
	if _, err := e.od.Answer(context.Background(), c.ID, "The widget is back in 2.2."); err != nil {
		t.Fatal(err)
	}
	eventually(t, "published again", func() bool { return e.reviewStatus(t, "ios", "r2").Reply.Status == state.ReplyPublished })
	if st := e.reviewStatus(t, "ios", "r2"); st.Reply.Version != 2 {
		t.Errorf("the new answer answered version %d, want 2", st.Reply.Version)
	}
}

// Done when: a failed reply is retried from the admin API.
func TestFailedReplyRetriedFromTheAdminAPI(t *testing.T) {
	e := startReplies(t, func(o *app.Options) { o.ReplyAttempts, o.ReplyRetryMin = 3, 50*time.Millisecond })
	e.backend.FailReplies(true)
	e.backend.PutReview(testbackend.Review{ID: "r9", App: "app1", Author: "Fay", Rating: 2, Text: "Login broken", Language: "en"})
	c := e.caseOf(t, "r9")
	msgID, err := e.od.Answer(context.Background(), c.ID, "Fixed in 3.0, sorry!")
	if err != nil {
		t.Fatal(err)
	}
	note := e.noteWith(t, "r9", "publishing the answer failed")
	if !strings.Contains(note, "gave up after 3 attempts") {
		t.Errorf("note %q", note)
	}
	if st := e.reviewStatus(t, "ios", "r9"); st.Reply.Status != state.ReplyFailed {
		t.Fatalf("review status %+v", st.Reply)
	}
	code, _, raw := e.api(t, "GET", "/api/integrations/acme/replies?status=failed", adminToken, "")
	var failed []map[string]any
	if code != 200 || json.Unmarshal([]byte(raw), &failed) != nil || len(failed) != 1 {
		t.Fatalf("failed answers: %d %s", code, raw)
	}
	retry, _ := failed[0]["retry"].(string)
	if failed[0]["message_id"] != "omnidesk:"+msgID || retry == "" {
		t.Fatalf("failed answer %v (message %s)", failed[0], msgID)
	}
	e.backend.FailReplies(false)
	if code, _, raw := e.api(t, "POST", retry, adminToken, ""); code != 202 {
		t.Fatalf("retry: %d %s", code, raw)
	}
	e.noteWith(t, "r9", "published in the store")
	if n, text := e.posts("r9"); n != 1 || text != "Fixed in 3.0, sorry!" {
		t.Errorf("store: %d posts, %q", n, text)
	}
	if st := e.reviewStatus(t, "ios", "r9"); st.Reply.Status != state.ReplyPublished {
		t.Errorf("review status %+v", st.Reply)
	}
	if code, _, _ := e.api(t, "POST", retry, adminToken, ""); code != 409 {
		t.Errorf("retrying a published answer: %d, want 409", code)
	}
}
