package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
)

// problemOf decodes an answer that must be an RFC 9457 problem document.
func problemOf(t *testing.T, a answer) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("Content-Type %q, want %s: %d %s", ct, ProblemContentType, a.code, a.body)
	}
	var p Problem
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not a problem document: %v: %s", err, a.body)
	}
	if p.Type != "about:blank" || p.Status != a.code || p.Title != http.StatusText(a.code) || p.Detail == "" || p.RequestID == "" {
		t.Errorf("problem %+v for a %d", p, a.code)
	}
	return p
}

// A database failure is answered 500 with a problem document that names
// the request id and not the database's words; the log has both.
func TestDatabaseFailureIsAProblemWithoutTheCause(t *testing.T) {
	for _, tc := range []struct {
		name, cause string
		breakIt     func(db *state.DB) error
	}{
		{"table gone", "no such table", func(db *state.DB) error {
			_, err := db.SQL().ExecContext(context.Background(), "ALTER TABLE integrations RENAME TO integrations_gone")
			return err
		}},
		{"database closed", "database is closed", func(db *state.DB) error { return db.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, state.SQLite)
			if a := ts.do(t, "POST", "/api/integrations", `{"id":"acme"}`); a.code != http.StatusCreated {
				t.Fatalf("create: %d %s", a.code, a.body)
			}
			if err := tc.breakIt(ts.db); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/api/integrations", "/api/integrations/acme", "/api/integrations/acme/status"} {
				a := ts.do(t, "GET", path, "", "X-Request-Id", "req-"+strings.ReplaceAll(path[1:], "/", "-"))
				if a.code != http.StatusInternalServerError {
					t.Fatalf("GET %s: %d %s, want 500", path, a.code, a.body)
				}
				p := problemOf(t, a)
				for _, leak := range []string{tc.cause, "integrations_gone", "sql", "SQL"} {
					if strings.Contains(a.body, leak) {
						t.Errorf("GET %s: the answer shows %q: %s", path, leak, a.body)
					}
				}
				if p.RequestID != "req-"+strings.ReplaceAll(path[1:], "/", "-") || a.header.Get("X-Request-Id") != p.RequestID {
					t.Errorf("GET %s: request id %q (header %q), want the client's", path, p.RequestID, a.header.Get("X-Request-Id"))
				}
				if !strings.Contains(p.Detail, p.RequestID) {
					t.Errorf("GET %s: detail %q does not give the request id", path, p.Detail)
				}
				logs := ts.logs.String()
				if !strings.Contains(logs, "request_id="+p.RequestID) || !strings.Contains(logs, tc.cause) {
					t.Errorf("GET %s: the log lacks the request id or the cause:\n%s", path, logs)
				}
			}
		})
	}
}

// The client's problems are problem documents too: the status, the
// detail, and for invalid input each field with its reason.
func TestClientProblemsAreProblemDocuments(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	p := problemOf(t, ts.do(t, "GET", "/api/integrations/nope", ""))
	if p.Status != http.StatusNotFound || p.Detail != `no integration "nope"` {
		t.Errorf("not found: %+v", p)
	}
	a := ts.do(t, "POST", "/api/integrations", `{"id":"bad id!","apps":[{"id":"a","store":"nostore"}]}`)
	p = problemOf(t, a)
	if a.code != http.StatusUnprocessableEntity || len(p.Fields) != 2 || p.Fields[0].Field != "id" || p.Fields[1].Field != "apps[0].store" ||
		!strings.Contains(p.Detail, "apps[0].store: no plugin") {
		t.Errorf("invalid: %d %+v", a.code, p)
	}
	p = problemOf(t, ts.do(t, "POST", "/api/integrations", `{"id":`))
	if p.Status != http.StatusBadRequest || !strings.HasPrefix(p.Detail, "malformed JSON body") {
		t.Errorf("malformed: %+v", p)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/integrations", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != ProblemContentType {
		t.Errorf("no token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p = problemOf(t, ts.do(t, "GET", "/api/no/such/route", ""))
	if p.Status != http.StatusNotFound || !strings.Contains(p.Detail, "no such endpoint") {
		t.Errorf("unknown route: %+v", p)
	}
}
