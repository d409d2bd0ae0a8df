package omnidesk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestParseWebhookAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       StaffAnswer
	}{
		{"message_new (palachX)", `{"type":"message_new","object":{"message_id":42577887,"case_id":985687,"staff_id":7235,"user_id":5654846848,"custom_user_id":"googleplay:r1","content":"Help is coming!","note":0,"sent_via_rule":0}}`,
			StaffAnswer{CaseID: "985687", MessageID: "42577887", UserCustomID: "googleplay:r1", Text: "Help is coming!", Staff: "Omnidesk staff #7235"}},
		{"message_new, booleans and user_custom_id", `{"object":{"note":false,"sent_via_rule":false,"content":"Hi","staff_id":"3","case_id":"7","message_id":"9","user_custom_id":"appstore:x"},"type":"message_new"}`,
			StaffAnswer{CaseID: "7", MessageID: "9", UserCustomID: "appstore:x", Text: "Hi", Staff: "Omnidesk staff #3"}},
		{"message_new as a form (GoEdgar)", `type=message_new&object%5Bmessage_id%5D=5&object%5Bcase_id%5D=6&object%5Bstaff_id%5D=7&object%5Buser_id%5D=8&object%5Bcustom_user_id%5D=rustore%3A1&object%5Bcontent%5D=Thanks+a+lot&object%5Bnote%5D=0&object%5Bsent_via_rule%5D=0`,
			StaffAnswer{CaseID: "6", MessageID: "5", UserCustomID: "rustore:1", Text: "Thanks a lot", Staff: "Omnidesk staff #7"}},
		{"older guess: nested", `{"event":"x","case_id":12,"user_custom_id":"googleplay:r1","message":{"message_id":34,"content":"Hi","staff_full_name":"Sam","created_at":"2026-11-01T10:00:00Z"}}`,
			StaffAnswer{CaseID: "12", MessageID: "34", UserCustomID: "googleplay:r1", Text: "Hi", Staff: "Sam", SentAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}},
		{"older guess: under data", `{"data":{"case":{"case_number":"123-456"},"message":{"message_id":5,"content_text":"ok","staff_id":2}}}`,
			StaffAnswer{CaseID: "123-456", MessageID: "5", Text: "ok", Staff: "Omnidesk staff #2"}},
	} {
		got, err := ParseWebhook([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// Notes, rule-sent messages, user messages and Reviewhub's own messages are
// never answers; each is told apart from an unreadable body.
func TestParseWebhookNotAnswers(t *testing.T) {
	obj := func(extra string) string {
		return `{"type":"message_new","object":{"message_id":1,"case_id":2,"user_id":3,"custom_user_id":"googleplay:r1","content":"text"` + extra + `}}`
	}
	for _, tc := range []struct{ name, body, reason string }{
		{"note", obj(`,"staff_id":4,"note":1`), "note"},
		{"note true", obj(`,"staff_id":4,"note":true`), "note"},
		{"sent via rule", obj(`,"staff_id":4,"sent_via_rule":1`), "automation rule"},
		{"sent via rule, form", `type=message_new&object[message_id]=1&object[case_id]=2&object[staff_id]=4&object[content]=hi&object[sent_via_rule]=1`, "automation rule"},
		{"user message: no staff_id", obj(``), "of the user"},
		{"user message: staff_id 0", obj(`,"staff_id":0`), "of the user"},
		{"own edit message", `{"type":"message_new","object":{"message_id":1,"case_id":2,"staff_id":4,"content":"The review was edited\n\n[reviewhub:gp-1/2]"}}`, "Reviewhub wrote itself"},
		{"own outcome note text", `{"type":"message_new","object":{"message_id":1,"case_id":2,"staff_id":4,"content":"Reviewhub: published\n` + Marker("result:omnidesk:9") + `"}}`, "Reviewhub wrote itself"},
	} {
		_, err := ParseWebhook([]byte(tc.body))
		var we *WebhookError
		if !errors.Is(err, ErrNotAnswer) || !errors.As(err, &we) || !strings.Contains(we.Reason, tc.reason) {
			t.Errorf("%s: %v, want not an answer (%s)", tc.name, err, tc.reason)
		}
	}
}

func TestParseWebhookUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name, body, reason string
		malformed          bool
	}{
		{"unknown type", `{"type":"case_closed","object":{"case_id":1}}`, `"case_closed" is not message_new`, false},
		{"type not a string", `{"type":{},"object":{}}`, "an object is not", false},
		{"no object", `{"type":"message_new"}`, "without an object", false},
		{"no content", `{"type":"message_new","object":{"message_id":1,"case_id":2,"staff_id":3,"content":""}}`, "no content", false},
		{"no author", `{"content":"Hello","message_id":"m-9","case_id":"77"}`, "no author", false},
		{"no case", `{"content":"x","message_id":1,"staff_id":2}`, "no case_id", false},
		{"no message id", `{"case_id":1,"content":"x","staff_id":2}`, "no message_id", false},
		{"field of another type", `{"case_id":{},"content":"x","message_id":1}`, "case_id is an object", false},
		{"flag not a boolean", `{"type":"message_new","object":{"note":"maybe"}}`, "note is neither", false},
		{"status change", `{"case_id":1,"event":"status_changed"}`, "no content", false},
		{"not JSON", `{not json`, "not a JSON object", true},
		{"JSON array", `[]`, "not a JSON object", true},
		{"two objects", `{} {}`, "after the JSON object", true},
		{"empty", ``, "empty", true},
		{"not a form", `<xml/>`, "neither JSON nor a form", true},
	} {
		_, err := ParseWebhook([]byte(tc.body))
		var we *WebhookError
		if !errors.Is(err, ErrUnreadable) || !errors.As(err, &we) || !strings.Contains(we.Reason, tc.reason) || we.Malformed != tc.malformed {
			t.Errorf("%s: %v (malformed %v), want unreadable: %s (malformed %v)", tc.name, err, we != nil && we.Malformed, tc.reason, tc.malformed)
		}
	}
}

func TestWebhookShapeHidesValues(t *testing.T) {
	form := WebhookShape([]byte(`type=message_new&object[content]=secret+text&object[case_id]=5`))
	js := WebhookShape([]byte(`{"type":"message_new","object":{"content":"secret text"}}`))
	for _, s := range []string{form, js} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "content") {
			t.Errorf("shape %q: want keys without values", s)
		}
	}
	if !strings.HasPrefix(form, "form ") {
		t.Errorf("form shape %q", form)
	}
}

func TestIsOwnMarksEverythingThePluginWrites(t *testing.T) {
	ch := sdk.ReviewChange{Store: "googleplay", Kind: sdk.ChangeKindWorse, Review: sdk.Review{ID: "r", Rating: 1, Text: "bad"}}
	for _, s := range []string{Content(ch, "r/2"), ResultNote(sdk.ReplyResult{MessageID: "omnidesk:1", Outcome: sdk.OutcomePublished})} {
		if !IsOwn(s) {
			t.Errorf("not recognised as the plugin's own: %q", s)
		}
	}
	for _, s := range []string{"Thanks for the review!",
		"As we wrote:\n> The review was edited\n> [reviewhub:gp-1/2]\nThe fix ships on Monday."} {
		if IsOwn(s) {
			t.Errorf("a staff answer taken as the plugin's own: %q", s)
		}
	}
	if !IsOwn("<p>Published.<br>[reviewhub:result:omnidesk:1]</p>\n") {
		t.Error("the plugin's own note in HTML not recognised")
	}
}

func TestRateLimitHeadersAndForbiddenRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		kind    sdk.ErrorKind
		after   time.Duration
	}{
		{"retry_after (Omnidesk's name)", 429, map[string]string{"retry_after": "17"}, ``, sdk.ErrorKindRateLimited, 17 * time.Second},
		{"Retry-After fallback", 429, map[string]string{"Retry-After": "9"}, ``, sdk.ErrorKindRateLimited, 9 * time.Second},
		{"no header: a minute", 429, nil, ``, sdk.ErrorKindRateLimited, time.Minute},
		{"403 rate limit exceeded (older scheme)", 403, map[string]string{"retry_after": "5"}, `{"error":"Rate limit exceeded"}`, sdk.ErrorKindRateLimited, 5 * time.Second},
		{"403 other", 403, nil, `{"error":"staff_has_not_access"}`, sdk.ErrorKindPermissionDenied, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tc.headers {
				w.Header()[k] = []string{v} // as sent, not canonicalised
			}
			w.Header()["rate_limit_per_minute"] = []string{"50"}
			w.Header()["api_calls_left"] = []string{"0"}
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		c := &Client{BaseURL: srv.URL, Email: "a@b.c", APIKey: "k"}
		_, err := c.Staff(context.Background())
		srv.Close()
		if sdk.KindOf(err) != tc.kind || (tc.after != 0 && sdk.RetryAfterOf(err) != tc.after) {
			t.Errorf("%s: %v (kind %v, retry after %v), want %v after %v", tc.name, err, sdk.KindOf(err), sdk.RetryAfterOf(err), tc.kind, tc.after)
		}
		if l := c.Limits(); !l.Known || l.PerMinute != 50 || l.Left != 0 {
			t.Errorf("%s: limits %+v", tc.name, l)
		}
	}
}

// The case lookup filters exactly (^…^) and reads an empty answer, 200 or
// a 404 with an error code, as no case; a 404 without one is an error.
func TestFindCasesExactAndEmpty(t *testing.T) {
	var gotFilter string
	answer := func(status int, body string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotFilter = r.URL.Query().Get("user_custom_id")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
	}
	for _, tc := range []struct {
		name, body string
		status     int
		wantErr    bool
	}{
		{"200 total_count 0", `{"total_count":0}`, 200, false},
		{"404 case_not_found", `{"error":"case_not_found"}`, 404, false},
		{"404 without a code (wrong address)", `<html>Not Found</html>`, 404, true},
	} {
		srv := answer(tc.status, tc.body)
		c := &Client{BaseURL: srv.URL, Email: "a@b.c", APIKey: "k"}
		cases, err := c.FindCases(context.Background(), "googleplay:12", "cch1")
		srv.Close()
		if (err != nil) != tc.wantErr || len(cases) != 0 {
			t.Errorf("%s: %v, %v", tc.name, cases, err)
		}
		if gotFilter != "^googleplay:12^" {
			t.Errorf("%s: filter %q, want ^googleplay:12^", tc.name, gotFilter)
		}
	}
}

func TestLabelDiff(t *testing.T) {
	// 1 rating:2 (the hub's, replaced), 2 vip (staff's, kept), 3 app:x
	// (kept, wanted), 5 a deleted label (dropped); 4 rating:4 wanted.
	titles := map[int64]string{1: "rating:2", 2: "vip", 3: "app:x", 4: "rating:4"}
	add, del := LabelDiff([]int64{1, 2, 3, 5}, titles, []int64{3, 4, 4}, []string{"app:x", "Rating:4", "rating:4"})
	if len(add) != 1 || add[0] != 4 || len(del) != 2 || del[0] != 1 || del[1] != 5 {
		t.Errorf("add %v del %v, want add [4] del [1 5]", add, del)
	}
	if add, del := LabelDiff([]int64{1}, titles, []int64{1}, []string{"rating:2"}); add != nil || del != nil {
		t.Errorf("no change: add %v del %v", add, del)
	}
}

func TestHTML(t *testing.T) {
	if got := HTML("a < b\n[reviewhub:k]"); got != "a &lt; b<br>\n[reviewhub:k]" {
		t.Errorf("HTML %q", got)
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"message_new","object":{"message_id":1,"case_id":2,"staff_id":3,"content":"Hi","note":0,"sent_via_rule":0}}`))
	f.Add([]byte(`type=message_new&object[message_id]=1&object[case_id]=2&object[staff_id]=3&object[content]=Hi`))
	f.Add([]byte(`{"data":{"case":{"case_number":"1"},"message":{"message_id":"5","content_text":"ok","note":false,"staff_id":1}}}`))
	f.Add([]byte(`{"case_id":1.5e3,"message_id":-1,"content":"\u0000","staff_id":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseWebhook(body)
		if err == nil && (a.CaseID == "" || a.MessageID == "" || strings.TrimSpace(a.Text) == "" || IsOwn(a.Text) || a.Staff == "") {
			t.Fatalf("accepted an incomplete answer or the plugin's own message: %+v", a)
		}
		var we *WebhookError
		if err != nil && !errors.As(err, &we) {
			t.Fatalf("error of another type: %v", err)
		}
		_ = WebhookShape(body)
	})
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"0":{"case":{"case_id":1,"labels":[2]}},"1":{"case":{"case_id":3}},"total_count":2}`))
	f.Add([]byte(`{"total_count":"5"}`))
	f.Add([]byte(`{"0":{"message":{}},"x":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return
		}
		cases, total, err := decodeList[Case](raw, "case")
		if err == nil && total < 0 {
			t.Fatalf("negative total %d for %d cases", total, len(cases))
		}
	})
}

// The hub's own notes (draft, outdated, held …) are shown as the hub wrote
// them; a published automatic reply says which rule and what was published.
func TestResultNoteOfTheHubsOwnNotes(t *testing.T) {
	for _, tc := range []struct {
		r    sdk.ReplyResult
		want string
	}{
		{sdk.ReplyResult{MessageID: "o1", Outcome: sdk.OutcomeOutdated, Detail: "the review changed"}, "Reviewhub: the review changed\n[reviewhub:result:o1]"},
		{sdk.ReplyResult{MessageID: "d1", Outcome: "something-new", Detail: "x"}, "Reviewhub: x\n[reviewhub:result:d1]"},
		{sdk.ReplyResult{MessageID: "a1", Outcome: sdk.OutcomePublished, Detail: `automatic reply (rule "thanks"): Thank you!`},
			"Reviewhub: the answer was published in the store as the developer response.\nautomatic reply (rule \"thanks\"): Thank you!\n[reviewhub:result:a1]"},
		{sdk.ReplyResult{MessageID: "f1", Outcome: sdk.OutcomeFailed, Detail: "503"}, "Reviewhub: publishing the answer failed: 503\n[reviewhub:result:f1]"},
	} {
		if got := ResultNote(tc.r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.r.Outcome, got, tc.want)
		}
	}
}
