package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/apitest"
)

const adminToken = "admin-token-for-tests"

func (e *env) api(t *testing.T, method, path, token, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.hub.Addr()+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := openAPIChecked(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

// openAPIChecked is a client whose every exchange must match the admin
// API's OpenAPI document.
func openAPIChecked(t *testing.T) *http.Client {
	t.Helper()
	spec, err := apitest.Load(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: spec.Transport(t, nil, nil)}
}

func startWithAdmin(t *testing.T) *env {
	t.Helper()
	return startWithAdminAt(t, "")
}

// startWithAdminAt is startWithAdmin with the hub's public_url (when not "").
func startWithAdminAt(t *testing.T, publicURL string) *env {
	t.Helper()
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.AdminToken = adminToken
	if publicURL != "" {
		e.cfg.PublicURL = publicURL
	}
	e.startHub(t)
	return e
}

func TestAdminAPIPartialSaveThenCompletion(t *testing.T) {
	e := startWithAdmin(t)
	url := e.srv.URL
	const deskSecret = "beta-webhook-secret-value"

	if code, _, _ := e.api(t, "GET", "/api/integrations", "", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := e.api(t, "GET", "/api/integrations", "wrong", ""); code != 401 {
		t.Errorf("wrong token: %d", code)
	}

	// Bad input is refused with the field and the reason.
	for _, tc := range []struct{ body, want string }{
		{`{"id":`, "malformed JSON body"},
		{`{"id":"beta","colour":"red"}`, `unknown field "colour"`},
		{`{"id":"Bad Id!"}`, `id: "Bad Id!" must be`},
		{`{"id":"beta","helpdesk":{"plugin":"nodesk"}}`, `helpdesk.plugin: no plugin "nodesk" is installed`},
		{`{"id":"beta","helpdesk":{"plugin":"teststore"}}`, `helpdesk.plugin: "teststore" is a store plugin`},
		{`{"id":"beta","helpdesk":{"plugin":"testdesk","settings":{"nope":"1"}}}`, `helpdesk.settings.nope: plugin "testdesk" has no such setting`},
		{`{"id":"beta","apps":[{"id":"a","store":"teststore","filters":{"ratings":[7]}}]}`, "apps[0].filters.ratings: 7 is outside 1..5"},
		{`{"id":"beta","apps":[{"id":"a","store":"teststore","filters":{"length":"medium"}}]}`, "apps[0].filters.length"},
		{`{"id":"beta","apps":[{"id":"a","store":"teststore","poll_interval":"fast"}]}`, "apps[0].poll_interval"},
	} {
		code, out, raw := e.api(t, "POST", "/api/integrations", adminToken, tc.body)
		if msg, _ := out["detail"].(string); (code != 400 && code != 422) || !strings.Contains(msg, tc.want) { // RFC 9457 problem document
			t.Errorf("POST %s: %d %s, want 400/422 containing %q", tc.body, code, raw, tc.want)
		}
	}

	// Partial save: just an id.
	code, out, raw := e.api(t, "POST", "/api/integrations", adminToken, `{"id":"beta","name":"Beta"}`)
	if code != 201 || out["complete"] != false || !strings.Contains(raw, `"helpdesk.plugin"`) || !strings.Contains(raw, `"apps"`) {
		t.Fatalf("partial create: %d %s", code, raw)
	}
	if code, _, _ := e.api(t, "POST", "/api/integrations", adminToken, `{"id":"beta"}`); code != 409 {
		t.Errorf("duplicate create: %d", code)
	}

	// Helpdesk added, app still missing its store app id.
	body := `{"id":"beta","helpdesk":{"plugin":"testdesk","settings":{"url":"` + url + `","secret":"` + deskSecret + `"}},
		"apps":[{"id":"android","store":"teststore","settings":{"url":"` + url + `"},"filters":{"ratings":[1,2]}}]}`
	code, _, raw = e.api(t, "PUT", "/api/integrations/beta", adminToken, body)
	if code != 200 || strings.Contains(raw, deskSecret) || !strings.Contains(raw, `"secrets_set":["secret"]`) ||
		!strings.Contains(raw, `"missing":["store_app_id"]`) || !strings.Contains(raw, `"complete":false`) {
		t.Fatalf("second save: %d %s", code, raw)
	}

	// Completed without re-sending the secret: it is kept.
	body = `{"helpdesk":{"plugin":"testdesk","settings":{"url":"` + url + `"}},
		"apps":[{"id":"android","store":"teststore","store_app_id":"app2","settings":{"url":"` + url + `"},"filters":{"ratings":[1,2]}}]}`
	code, _, raw = e.api(t, "PUT", "/api/integrations/beta", adminToken, body)
	if code != 200 || !strings.Contains(raw, `"complete":true`) || strings.Contains(raw, deskSecret) {
		t.Fatalf("completion: %d %s", code, raw)
	}
	// Moving the helpdesk URL (an endpoint setting of the test helpdesk)
	// without giving the stored secret again is refused, naming the secret.
	moved := `{"helpdesk":{"plugin":"testdesk","settings":{"url":"http://127.0.0.1:9"}},
		"apps":[{"id":"android","store":"teststore","store_app_id":"app2","settings":{"url":"` + url + `"},"filters":{"ratings":[1,2]}}]}`
	if code, _, raw := e.api(t, "PUT", "/api/integrations/beta", adminToken, moved); code != 422 || !strings.Contains(raw, `"helpdesk.settings.secret"`) {
		t.Fatalf("endpoint moved without the secret: %d %s, want 422 naming helpdesk.settings.secret", code, raw)
	}
	_, _, raw = e.api(t, "GET", "/api/integrations", adminToken, "")
	if strings.Contains(raw, deskSecret) || strings.Contains(raw, secret) {
		t.Fatalf("a secret is echoed by the list: %s", raw)
	}

	// The completed integration runs; the rating filter skips a 5-star review.
	e.backend.PutReview(testbackend.Review{ID: "g1", App: "app2", Rating: 1, Text: "Broken after update"})
	e.backend.PutReview(testbackend.Review{ID: "g2", App: "app2", Rating: 5, Text: "Great"})
	eventually(t, "the 1-star review's ticket", func() bool { _, ok := ticketFor(e.backend, "g1"); return ok })
	eventually(t, "the status view", func() bool {
		_, _, raw := e.api(t, "GET", "/api/integrations/beta/status", adminToken, "")
		return strings.Contains(raw, `"reviews_delivered":1`) && strings.Contains(raw, `"rating":1`)
	})
	if _, ok := ticketFor(e.backend, "g2"); ok {
		t.Error("the 5-star review passed a ratings [1,2] filter")
	}
	// The kept secret still authenticates the webhook.
	tk, _ := ticketFor(e.backend, "g1")
	resp, err := http.Post("http://"+e.hub.Addr()+"/hooks/testdesk/beta?secret="+deskSecret, "application/json",
		strings.NewReader(`{"ticket_id":"`+tk.ID+`","message_id":"bm1","text":"Sorry!"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook with the kept secret: %d", resp.StatusCode)
	}
	eventually(t, "the reply in the store", func() bool { p, _ := e.backend.ReplyPosts(); return p["g1"] == 1 })

	// Config-declared integrations are read-only here.
	if code, _, raw := e.api(t, "PUT", "/api/integrations/acme", adminToken, `{"id":"acme"}`); code != 409 || !strings.Contains(raw, "config file") {
		t.Errorf("PUT config integration: %d %s", code, raw)
	}
	if code, _, _ := e.api(t, "DELETE", "/api/integrations/acme", adminToken, ""); code != 409 {
		t.Errorf("DELETE config integration: %d", code)
	}
	if code, _, _ := e.api(t, "DELETE", "/api/integrations/beta", adminToken, ""); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code, _, _ := e.api(t, "GET", "/api/integrations/beta", adminToken, ""); code != 404 {
		t.Errorf("GET deleted: %d", code)
	}
}

// An app without a store account still gets reviews where the store has a
// public listing, and replies to them are refused with a clear reason.
func TestReplyRefusedWithoutStoreAccount(t *testing.T) {
	e := startWithAdmin(t)
	url := e.srv.URL
	body := `{"id":"nostore","helpdesk":{"plugin":"testdesk","settings":{"url":"` + url + `","secret":"x"}},
		"apps":[{"id":"web","store":"teststore","store_app_id":"app3"}]}`
	code, _, raw := e.api(t, "POST", "/api/integrations", adminToken, body)
	if code != 201 || !strings.Contains(raw, `"complete":true`) || !strings.Contains(raw, `"can_reply":false`) {
		t.Fatalf("create: %d %s", code, raw)
	}
	e.backend.PutReview(testbackend.Review{ID: "n1", App: "app3", Rating: 2, Text: "meh"})
	eventually(t, "the ticket from the public listing", func() bool { _, ok := ticketFor(e.backend, "n1"); return ok })
	tk, _ := ticketFor(e.backend, "n1")
	resp, err := http.Post("http://"+e.hub.Addr()+"/hooks/testdesk/nostore?secret=x", "application/json",
		strings.NewReader(`{"ticket_id":"`+tk.ID+`","message_id":"nm1","text":"Thanks"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, "the refusal note", func() bool { tk, _ := ticketFor(e.backend, "n1"); return len(tk.Notes) == 1 })
	tk, _ = ticketFor(e.backend, "n1")
	if tk.Notes[0] != "refused: connect the store account to reply" {
		t.Errorf("note %q", tk.Notes[0])
	}
	if p, _ := e.backend.ReplyPosts(); p["n1"] != 0 {
		t.Errorf("a reply was posted without a store account: %v", p)
	}
}

// The status view lists the latest reviews with their tickets and the
// latest answers with their outcome.
func TestStatusListsRecentReviewsAndAnswers(t *testing.T) {
	e := startWithAdmin(t)
	eventually(t, "the app connected", func() bool {
		c, err := e.hub.DB.Cursor(context.Background(), "acme", "ios")
		return err == nil && c.Connected
	})
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start"})
	eventually(t, "a ticket", func() bool { _, ok := ticketFor(e.backend, "r1"); return ok })
	tk, _ := ticketFor(e.backend, "r1")
	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m1","text":"Thanks, Ann!","staff":"Sam"}`, tk.ID)
	if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	var status struct {
		Reviews []struct {
			App    string `json:"app_id"`
			Review string `json:"review_id"`
			Ticket string `json:"ticket_id"`
			Rating int    `json:"rating"`
		} `json:"recent_reviews"`
		Replies []struct {
			Message string `json:"message_id"`
			Review  string `json:"review_id"`
			Status  string `json:"status"`
			Text    string `json:"text"`
		} `json:"recent_replies"`
	}
	eventually(t, "the answer published in the status", func() bool {
		code, _, raw := e.api(t, http.MethodGet, "/api/integrations/acme/status", adminToken, "")
		if code != http.StatusOK || json.Unmarshal([]byte(raw), &status) != nil {
			return false
		}
		return len(status.Replies) == 1 && status.Replies[0].Status == "published"
	})
	if len(status.Reviews) != 1 || status.Reviews[0].Review != "r1" || status.Reviews[0].App != "ios" ||
		status.Reviews[0].Ticket != tk.ID || status.Reviews[0].Rating != 2 {
		t.Errorf("recent reviews %+v", status.Reviews)
	}
	if r := status.Replies[0]; r.Message != "m1" || r.Review != "r1" || r.Text != "" {
		t.Errorf("recent replies %+v (the answer's text stays in the ticket)", status.Replies)
	}
}
