package evidence

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const example = `{
  "source": "test",
  "request": {"method": "POST", "path": "/v1/items/42/answer", "query": {"lang": "ru"}, "body": {"message": "hi"}},
  "response": {"status": 200, "headers": {"retry_after": "30"}, "body": {"id": 7, "tags": ["a"], "opt": null}}
}`

func load(t *testing.T, body string) []Example {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "answer.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(t, dir)
}

func TestCompareShape(t *testing.T) {
	doc := []byte(`{"id":7,"tags":["a"],"opt":null,"o":{"x":true}}`)
	if p := CompareShape(doc, []byte(`{"id":1,"tags":[],"opt":"set","o":{"x":false}}`)); p != nil {
		t.Errorf("same shape reported as different: %v", p)
	}
	p := CompareShape(doc, []byte(`{"id":"1","tags":["a"],"o":{},"extra":1}`))
	want := []string{"$.id: string, documented number", "$.o.x: missing", "$.opt: missing", "$.extra: not documented"}
	if strings.Join(p, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", p, want)
	}
}

func TestServeAnswersTheDocumentedRequest(t *testing.T) {
	ex := load(t, example)[0]
	srv := Serve(t, ex)
	resp, err := http.Post(srv.URL+"/v1/items/42/answer?lang=ru", "application/json", strings.NewReader(`{"message":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Retry_after") != "30" || !bytes.Contains(b, []byte(`"id": 7`)) {
		t.Fatalf("got %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

func TestServeCatchesAWrongRequest(t *testing.T) {
	ex := load(t, example)[0]
	// matchRequest is what Serve checks; a wrong method and path are named.
	r := httptest.NewRequest("PUT", "/v1/items/42?lang=en", nil)
	p := matchRequest(ex.Request, r, []byte(`{"text":"x"}`))
	if len(p) != 5 {
		t.Errorf("want method, path, query and two body problems, got %q", p)
	}
}

func TestReplayChecksTheFake(t *testing.T) {
	ex := load(t, example)[0]
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["retry_after"] = []string{"1"}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 1, "tags": []string{"x"}, "opt": nil})
	}))
	defer good.Close()
	Replay(t, nil, good.URL, ex, nil)

	kind := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 1, "tags": []string{"x"}, "opt": nil, "language": "ru"})
	}))
	defer kind.Close()
	rec := &recorder{TB: t}
	Replay(rec, nil, kind.URL, ex, nil)
	if len(rec.errors) != 2 { // no retry_after header; an invented key
		t.Errorf("want 2 findings against an inventive fake, got %q", rec.errors)
	}
}

func TestLoadRequiresASource(t *testing.T) {
	rec := &recorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		load2(rec, strings.Replace(example, `"source": "test"`, `"source": ""`, 1))
	}()
	if len(rec.fatals) == 0 {
		t.Fatal("an example without a source was accepted")
	}
}

func load2(tb testing.TB, body string) {
	dir, _ := os.MkdirTemp("", "ev")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "x.json"), []byte(body), 0o600)
	Load(tb, dir)
}

// recorder collects failures instead of failing the test.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.errors = append(r.errors, f)
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatals = append(r.fatals, f)
	panic("fatal")
}
