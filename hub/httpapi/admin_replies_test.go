package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// retryOps retries in the state (the deliverer also queues the answer).
type retryOps struct {
	db    *state.DB
	calls int
}

func (o *retryOps) RetryReply(ctx context.Context, integrationID, messageID string) (state.Reply, error) {
	o.calls++
	var r state.Reply
	err := o.db.InTx(ctx, func(tx *state.Tx) error {
		var err error
		r, err = tx.RetryReply(ctx, integrationID, messageID)
		return err
	})
	return r, err
}

func newRepliesServer(t *testing.T) (*testServer, *retryOps) {
	t.Helper()
	db := openDB(t, state.SQLite)
	ops := &retryOps{db: db}
	admin := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return []string{"desk", "st"} },
		PublicURL: "http://hub.example", Replies: ops}
	r := mux.NewRouter()
	admin.Register(r.PathPrefix("/api").Subrouter())
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	checkAgainstOpenAPI(t, ts)
	return &testServer{Server: ts, db: db}, ops
}

const autoJSON = `{"daily_cap":10,"delay":"5m","exceptions":["refund"],
 "templates":[{"id":"thanks","text":"Thanks, {{reviewer_name|friend}}!","variants":{"ru":"Спасибо!"}}],
 "rules":[{"id":"five","when":{"ratings":[5],"text":"without"},"reply":"thanks","mode":"auto","ticket":false},
          {"id":"bugs","when":{"keywords":["bug"]},"tags":["bug"]}]}`

func TestAutomationOverTheAdminAPI(t *testing.T) {
	ts, _ := newRepliesServer(t)
	create := `{"id":"acme","helpdesk":` + deskJSON + `,"apps":[{"id":"ios","store":"st","store_app_id":"1"}],"automation":` + autoJSON + `}`
	if a := ts.do(t, "POST", "/api/integrations", create); a.code != http.StatusCreated || !strings.Contains(a.body, `"delay":"5m0s"`) {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/templates", ""); a.code != 200 || !strings.Contains(a.body, `"ru":"Спасибо!"`) {
		t.Errorf("templates: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/rules", ""); a.code != 200 || !strings.Contains(a.body, `"id":"five"`) || !strings.Contains(a.body, `"id":"bugs"`) {
		t.Errorf("rules: %d %s", a.code, a.body)
	}
	// A PUT of the integration without automation keeps it.
	if a := ts.do(t, "PUT", "/api/integrations/acme", `{"helpdesk":`+deskJSON+`,"apps":[{"id":"ios","store":"st","store_app_id":"1"}]}`); a.code != 200 || !strings.Contains(a.body, `"id":"five"`) {
		t.Errorf("put without automation: %d %s", a.code, a.body)
	}
	// Removing the app a rule names is refused, naming the field.
	bad := `{"helpdesk":` + deskJSON + `,"apps":[{"id":"android","store":"st","store_app_id":"1"}],"automation":{"rules":[{"id":"r","tags":["x"],"when":{"apps":["ios"]}}]}}`
	if a := ts.do(t, "PUT", "/api/integrations/acme", bad); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"automation.rules[0].when.apps[0]"`) {
		t.Errorf("rule naming a removed app: %d %s", a.code, a.body)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"templates":[{"id":"t","text":"Hi {{nick}}"}]}`, "templates[0].text"},
		{`{"rules":[{"id":"r","reply":"none"}]}`, "rules[0].reply"},
		{`{"rules":[{"id":"r","tags":["x"],"when":{"ratings":[0]}}]}`, "rules[0].when.ratings[0]"},
		{`{"daily_cap":-5}`, "daily_cap"},
	} {
		if a := ts.do(t, "PUT", "/api/integrations/acme/automation", tc.body); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", tc.body, a.code, a.body, tc.field)
		}
	}
	if a := ts.do(t, "PUT", "/api/integrations/acme/automation", `{"delay":"later"}`); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"delay"`) {
		t.Errorf("bad duration: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "PUT", "/api/integrations/acme/automation", `{"templates":[{"id":"t","text":"ok"}],"rules":[{"id":"r","reply":"t"}]}`); a.code != 200 || !strings.Contains(a.body, `"mode":"approval"`) || !strings.Contains(a.body, `"on":true`) {
		t.Errorf("put automation: %d %s", a.code, a.body)
	}
	// The kill switch.
	if a := ts.do(t, "POST", "/api/integrations/acme/automation/stop", `{"reason":"incident 42"}`); a.code != 200 || !strings.Contains(a.body, `"stopped":true`) || !strings.Contains(a.body, `"on":false`) {
		t.Errorf("stop: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/status", ""); !strings.Contains(a.body, `"automation":{"on":false,"stopped":true,"rules":1}`) {
		t.Errorf("status while stopped: %s", a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/automation/start", ""); a.code != 200 || !strings.Contains(a.body, `"on":true`) {
		t.Errorf("start: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/nope/automation/stop", ""); a.code != http.StatusNotFound {
		t.Errorf("stop unknown: %d", a.code)
	}
}

func TestRetryAndReviewStatusOverTheAdminAPI(t *testing.T) {
	ts, ops := newRepliesServer(t)
	ctx := context.Background()
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"acme","helpdesk":`+deskJSON+`,"apps":[{"id":"ios","store":"st","store_app_id":"1"}]}`); a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	err := ts.db.InTx(ctx, func(tx *state.Tx) error {
		if _, err := tx.ObserveReview(ctx, "acme", "ios", sdk.Review{ID: "r1", Rating: 1, Text: "bad"}); err != nil {
			return err
		}
		if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "m1", TicketID: "T1", AppID: "ios", ReviewID: "r1",
			Text: "Sorry", Status: state.ReplyPending}); err != nil {
			return err
		}
		return tx.SetReplyStatus(ctx, "acme", "m1", state.ReplyFailed, "the store answered 503 eight times")
	})
	if err != nil {
		t.Fatal(err)
	}
	a := ts.do(t, "GET", "/api/integrations/acme/reviews/ios/r1", "")
	var st state.ReviewStatus
	if err := json.Unmarshal([]byte(a.body), &st); err != nil || st.Reply.Status != state.ReplyFailed || st.Reply.MessageID != "m1" {
		t.Fatalf("review status: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/replies?status=failed", ""); a.code != 200 ||
		!strings.Contains(a.body, `"retry":"/api/integrations/acme/replies/m1/retry"`) {
		t.Errorf("failed replies: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/status", ""); !strings.Contains(a.body, `"reply_statuses":{"failed":1}`) {
		t.Errorf("status: %s", a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/m1/retry", ""); a.code != http.StatusAccepted || !strings.Contains(a.body, `"status":"pending"`) {
		t.Fatalf("retry: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/m1/retry", ""); a.code != http.StatusConflict {
		t.Errorf("retry of a pending answer: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/nope/retry", ""); a.code != http.StatusNotFound {
		t.Errorf("retry of an unknown answer: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/replies?status=lost", ""); a.code != http.StatusBadRequest {
		t.Errorf("unknown status filter: %d", a.code)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/reviews/ios/none", ""); a.code != http.StatusNotFound {
		t.Errorf("unknown review: %d", a.code)
	}
	if ops.calls != 3 {
		t.Errorf("%d retries reached the deliverer, want 3", ops.calls)
	}

	// A refusal that needs a new text offers no retry, in the list and in
	// the status view, and its retry is refused (issue 24).
	err = ts.db.InTx(ctx, func(tx *state.Tx) error {
		if _, err := tx.AddReply(ctx, state.Reply{IntegrationID: "acme", MessageID: "long", TicketID: "T1", AppID: "ios", ReviewID: "r1",
			Text: "far too long", Status: state.ReplyPending}); err != nil {
			return err
		}
		if err := tx.SetReplyStatus(ctx, "acme", "long", state.ReplyRefused, "replies are limited to 5 characters"); err != nil {
			return err
		}
		return tx.SetReplyRefusal(ctx, "acme", "long", state.RefusalText)
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/replies?status=refused", ""); a.code != 200 ||
		!strings.Contains(a.body, `"refusal":"text"`) || strings.Contains(a.body, `"retry"`) {
		t.Errorf("refused replies: %d %s, want the refusal and no retry", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/status", ""); !strings.Contains(a.body, `"message_id":"long"`) ||
		strings.Contains(a.body, "replies/long/retry") {
		t.Errorf("status offers the retry of an answer that needs a new text: %s", a.body)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/replies/long/retry", ""); a.code != http.StatusConflict || !strings.Contains(a.body, "new text") {
		t.Errorf("retry of an answer that needs a new text: %d %s", a.code, a.body)
	}
}
