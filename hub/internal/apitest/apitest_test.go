package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/api/things/{id}": {
      "put": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}},
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}},
          "404": {"description": "no", "content": {"application/problem+json": {"schema": {"type": "object"}}}}
        }
      }
    }
  }
}`

func exchange(t *testing.T, s *Spec, method, path, reqBody string, status int, ctype, respBody string) string {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:9/"+strings.TrimPrefix(path, "/"), strings.NewReader(reqBody))
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", ctype)
	rec.WriteHeader(status)
	rec.WriteString(respBody)
	return s.Check(req, []byte(reqBody), rec.Result(), []byte(respBody))
}

func TestCheckFindsWhatDiffers(t *testing.T) {
	s, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, req string
		status                  int
		ctype, resp             string
		wantProblem             string // "" when the exchange matches
	}{
		{"matches", "PUT", "/api/things/1", `{"n":1}`, 200, "application/json", `{"n":2}`, ""},
		{"answer of the wrong type", "PUT", "/api/things/1", `{"n":1}`, 200, "application/json", `{"n":"two"}`, "answer 200"},
		{"answer missing a required field", "PUT", "/api/things/1", `{"n":1}`, 200, "application/json", `{}`, "answer 200"},
		{"request of the wrong type accepted", "PUT", "/api/things/1", `{"n":"one"}`, 200, "application/json", `{"n":2}`, "request"},
		{"undocumented status", "PUT", "/api/things/1", `{"n":1}`, 418, "application/json", `{}`, "answer 418"},
		{"wrong media type", "PUT", "/api/things/1", `{"n":1}`, 404, "text/plain", `no`, "answer 404"},
		{"refused request is not held to the schema", "PUT", "/api/things/1", `{"n":"one"}`, 404, "application/problem+json", `{}`, ""},
		{"undocumented operation", "GET", "/api/things/1", ``, 200, "application/json", `{}`, "no such operation"},
		{"unknown endpoint answered with a problem", "GET", "/api/nothing", ``, 404, "application/problem+json", `{}`, ""},
		{"unknown endpoint answered otherwise", "GET", "/api/nothing", ``, 404, "text/plain", `no`, "no such operation"},
	}
	for _, c := range cases {
		got := exchange(t, s, c.method, c.path, c.req, c.status, c.ctype, c.resp)
		switch {
		case c.wantProblem == "" && got != "":
			t.Errorf("%s: %s", c.name, got)
		case c.wantProblem != "" && !strings.Contains(got, c.wantProblem):
			t.Errorf("%s: got %q, want a problem with %q", c.name, got, c.wantProblem)
		}
	}
}

func TestLoadRefusesAnInvalidDocument(t *testing.T) {
	if _, err := Load([]byte(`{"openapi":"3.1.0","info":{"title":"t"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Missing"}}}}}}}}}`)); err == nil {
		t.Fatal("a document with an unresolved reference was loaded")
	}
}

// The transport fails its test when an answer differs.
func TestTransportFailsTheTest(t *testing.T) {
	s, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"n":"two"}`))
	}))
	defer srv.Close()
	rec := &recordingTB{TB: t}
	c := &http.Client{Transport: s.Transport(rec, nil, nil)}
	req, _ := http.NewRequest("PUT", srv.URL+"/api/things/1", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "answer 200") {
		t.Fatalf("errors reported: %q", rec.errors)
	}
}

type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
	if len(args) > 0 {
		r.errors[len(r.errors)-1] = strings.TrimSpace(strings.ReplaceAll(format, "%s", "")) + " " + joinArgs(args)
	}
}

func joinArgs(args []any) string {
	var b strings.Builder
	for _, a := range args {
		if s, ok := a.(string); ok {
			b.WriteString(s + " ")
		}
	}
	return b.String()
}
