package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// newDraftsServer is the API with the deliverer's drafts on a SQLite
// state, integration acme with app ios and reviews r1 (1★, English), r2
// (5★, no text), r3 (2★, Russian, a draft waiting).
func newDraftsServer(t *testing.T) *testServer {
	t.Helper()
	db := openDB(t, state.SQLite)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	b, err := bus.NewSQLite(ctx, db.SQL(), log, bus.SubscriberConfig{WriteGate: db.WriteGate()})
	if err != nil {
		t.Fatal(err)
	}
	admin := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return []string{"desk", "st"} },
		PublicURL: "http://hub.example", DraftOps: &deliver.Deliverer{DB: db, Bus: b, Logger: log}}
	r := mux.NewRouter()
	admin.Register(r.PathPrefix("/api").Subrouter())
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	checkAgainstOpenAPI(t, ts)
	s := &testServer{Server: ts, db: db}
	create := `{"id":"acme","helpdesk":` + deskJSON + `,"apps":[{"id":"ios","store":"st","store_app_id":"1"}],"automation":` + autoJSON + `}`
	if a := s.do(t, "POST", "/api/integrations", create); a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	when := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err = db.InTx(ctx, func(tx *state.Tx) error {
		for _, r := range []sdk.Review{
			{ID: "r1", Author: "Ann", Rating: 1, Text: "A bug ate my notes, I want a refund", Language: "en", CreatedAt: when},
			{ID: "r2", Author: "", Rating: 5, CreatedAt: when.AddDate(0, 0, 1)},
			{ID: "r3", Author: "Иван", Rating: 2, Text: "Нет тёмной темы", Language: "ru", CreatedAt: when.AddDate(0, 0, 2)},
		} {
			if _, err := tx.ObserveReview(ctx, "acme", "ios", r); err != nil {
				return err
			}
		}
		_, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "rule:sorry:ios:r3:1", AppID: "ios", ReviewID: "r3",
			TicketID: "T3", Text: "Спасибо, Иван!", Rule: "sorry", Status: state.ReplyDraft})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A rule tried on the newest reviews through the API: the hub's engine
// decides (the template rendered per review, tags), a wrong rule is a 422
// naming its fields as rule.*, nothing is saved.
func TestPreviewRuleOverTheAdminAPI(t *testing.T) {
	ts := newDraftsServer(t)
	a := ts.do(t, "POST", "/api/integrations/acme/automation/preview",
		`{"rule":{"id":"try","when":{"ratings":[5],"text":"without"},"reply":"thanks","mode":"auto","tags":["five"]},"limit":10}`)
	var p PreviewJSON
	if err := json.Unmarshal([]byte(a.body), &p); a.code != 200 || err != nil {
		t.Fatalf("preview: %d %s", a.code, a.body)
	}
	if p.Tried != 3 || len(p.Matched) != 1 || p.Matched[0].ReviewID != "r2" || p.Matched[0].Reply != "Thanks, friend!" ||
		p.Matched[0].Mode != "auto" || len(p.Matched[0].Tags) != 1 {
		t.Errorf("preview: %+v", p)
	}
	// The exception keyword holds a matching reply rule.
	a = ts.do(t, "POST", "/api/integrations/acme/automation/preview", `{"rule":{"id":"low","when":{"ratings":[1]},"reply":"thanks"}}`)
	p = PreviewJSON{}
	if err := json.Unmarshal([]byte(a.body), &p); a.code != 200 || err != nil || len(p.Matched) != 1 || p.Matched[0].Reply != "" ||
		!strings.Contains(p.Matched[0].Held, "exception keyword") {
		t.Errorf("preview: %d %s", a.code, a.body)
	}
	a = ts.do(t, "POST", "/api/integrations/acme/automation/preview", `{"rule":{"id":"Bad","when":{"ratings":[7]},"reply":"nope"}}`)
	for _, want := range []string{`"field":"rule.id"`, `"field":"rule.when.ratings[0]"`, `"field":"rule.reply"`} {
		if a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, want) {
			t.Errorf("bad rule: %d %s lacks %s", a.code, a.body, want)
		}
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/rules", ""); !strings.Contains(a.body, `"five"`) || strings.Contains(a.body, `"try"`) {
		t.Errorf("a preview changed the rules: %s", a.body)
	}
}

// Drafts over the API: listed with their review, approved with an edited
// text (a new answer by the caller, queued; the draft approved; audited),
// a second approval refused 409; rejected: nothing published.
func TestDraftsOverTheAdminAPI(t *testing.T) {
	ts := newDraftsServer(t)
	ctx := context.Background()
	a := ts.do(t, "GET", "/api/approvals", "")
	var page DraftPageJSON
	if err := json.Unmarshal([]byte(a.body), &page); a.code != 200 || err != nil || len(page.Drafts) != 1 {
		t.Fatalf("drafts: %d %s", a.code, a.body)
	}
	d := page.Drafts[0]
	if d.ReviewID != "r3" || d.Text != "Нет тёмной темы" || d.Answer != "Спасибо, Иван!" || d.AnswerRule != "sorry" || d.MessageID != "rule:sorry:ios:r3:1" ||
		d.Approve != "/api/integrations/acme/replies/rule:sorry:ios:r3:1/approve" {
		t.Errorf("draft: %+v", d)
	}
	if a := ts.do(t, "GET", "/api/approvals?reply=none", ""); a.code != http.StatusBadRequest {
		t.Errorf("unknown parameter: %d", a.code)
	}
	a = ts.do(t, "POST", d.Approve, `{"text":"Спасибо, Иван! Тёмная тема будет в 3.3."}`)
	var rp ReplyJSON
	if err := json.Unmarshal([]byte(a.body), &rp); a.code != http.StatusAccepted || err != nil || rp.Status != "pending" ||
		rp.Text != "Спасибо, Иван! Тёмная тема будет в 3.3." || rp.TicketID != "T3" || rp.MessageID != "console:rule:sorry:ios:r3:1" {
		t.Fatalf("approve: %d %s", a.code, a.body)
	}
	if dr, _ := ts.db.Reply(ctx, "acme", d.MessageID); dr.Status != state.ReplyApproved {
		t.Errorf("the draft is %s", dr.Status)
	}
	if a := ts.do(t, "POST", d.Approve, ""); a.code != http.StatusConflict {
		t.Errorf("second approval: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/audit?kind=approval", ""); !strings.Contains(a.body, `"action":"edit_approve"`) || !strings.Contains(a.body, `"target":"ios/r3"`) {
		t.Errorf("audit: %s", a.body)
	}
	// Another draft, rejected.
	if err := ts.db.InTx(ctx, func(tx *state.Tx) error {
		_, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "rule:x:ios:r1:1", AppID: "ios", ReviewID: "r1", Text: "x", Rule: "x",
			Status: state.ReplyDraft})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/rule:x:ios:r1:1/reject", ""); a.code != 200 || !strings.Contains(a.body, `"status":"rejected"`) {
		t.Errorf("reject: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/reviews?reply=rejected", ""); !strings.Contains(a.body, `"review":"r1"`) {
		t.Errorf("the rejected review: %s", a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/nope/reject", ""); a.code != http.StatusNotFound {
		t.Errorf("unknown draft: %d", a.code)
	}
	if a := ts.do(t, "GET", "/api/approvals", ""); !strings.Contains(a.body, `"drafts":[]`) {
		t.Errorf("drafts left: %s", a.body)
	}
}
