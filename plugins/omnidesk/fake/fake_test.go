package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMatchIsOmnideskSearch(t *testing.T) {
	for _, tc := range []struct {
		filter, value string
		want          bool
	}{
		{"googleplay:12", "googleplay:123", true}, // substring by default
		{"^googleplay:12^", "googleplay:123", false},
		{"^googleplay:12^", "googleplay:12", true},
		{"^google", "googleplay:1", true},
		{"^play", "googleplay:1", false},
		{"play:1^", "googleplay:1", true},
		{"play:1^", "googleplay:12", false},
	} {
		if got := Match(tc.filter, tc.value); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.filter, tc.value, got)
		}
	}
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	r.SetBasicAuth("a@b.c", "k")
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// A message must name its author; the author is recorded; lists filter by
// substring unless ^…^; errors are {"error": code} and nothing else.
func TestMessagesNeedAnAuthorAndListsSearchSubstrings(t *testing.T) {
	f := New(Options{StaffEmail: "a@b.c", APIKey: "k"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	for _, id := range []string{"googleplay:12", "googleplay:123"} {
		if st, _ := call(t, srv, "POST", "/api/cases.json", `{"case":{"user_custom_id":"`+id+`","subject":"s","content":"c","channel":"cch101"}}`); st != 200 {
			t.Fatalf("create %s: %d", id, st)
		}
	}
	if _, out := call(t, srv, "GET", "/api/cases.json?user_custom_id=googleplay:12", ""); out["total_count"] != 2.0 {
		t.Errorf("substring filter: %v", out)
	}
	if _, out := call(t, srv, "GET", "/api/cases.json?user_custom_id=%5Egoogleplay:12%5E", ""); out["total_count"] != 1.0 {
		t.Errorf("exact filter: %v", out)
	}
	c := f.Cases()[0]
	st, out := call(t, srv, "POST", "/api/cases/"+c.ID+"/messages.json", `{"message":{"content":"no author"}}`)
	if st != 400 || len(out) != 1 || out["error"] != ErrAuthorMissing {
		t.Errorf("message without an author: %d %v", st, out)
	}
	if st, _ := call(t, srv, "POST", "/api/cases/"+c.ID+"/messages.json", `{"message":{"content":"edit","user_id":`+jsonInt(c.UserID)+`}}`); st != 200 {
		t.Fatalf("message as the user: %d", st)
	}
	if m := f.Cases()[0].Messages; len(m) != 2 || m[1].UserID != c.UserID || m[1].StaffID != 0 || m[1].Staff != "" {
		t.Errorf("recorded %+v", m)
	}
	if st, out := call(t, srv, "GET", "/api/cases/999/messages.json", ""); st != 404 || len(out) != 1 || out["error"] != ErrCaseNotFound {
		t.Errorf("missing case: %d %v", st, out)
	}
	// labels on PUT are ignored; add_labels / delete_labels change them.
	f.AddLabel(7, "seven")
	f.AddLabel(8, "eight")
	call(t, srv, "PUT", "/api/cases/"+c.ID+".json", `{"case":{"labels":[7]}}`)
	if l := f.Cases()[0].Labels; len(l) != 0 {
		t.Errorf("labels after PUT labels: %v", l)
	}
	call(t, srv, "PUT", "/api/cases/"+c.ID+".json", `{"case":{"add_labels":[7,8]}}`)
	call(t, srv, "PUT", "/api/cases/"+c.ID+".json", `{"case":{"delete_labels":[7]}}`)
	if l := f.Cases()[0].Labels; strings.Join(l, ",") != "eight" {
		t.Errorf("labels after add 7,8 and delete 7: %v", l)
	}
	if st, out := call(t, srv, "PUT", "/api/cases/"+c.ID+".json", `{"case":{"add_labels":[99]}}`); st != 400 || out["error"] != ErrLabelNotFound {
		t.Errorf("unknown label: %d %v", st, out)
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
