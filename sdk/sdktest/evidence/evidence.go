// Package evidence plays a vendor's own documented examples against a
// plugin's client and against the project's fake of that vendor, so that
// neither can drift into a guess the other shares.
//
// Each example is one JSON file (in a plugin's testdata/vendor/) holding a
// request and the response the vendor documents for it, and where that comes
// from:
//
//	{
//	  "source": "https://example.com/api/docs#create-answer (the vendor's page), or repo@commit path",
//	  "note": "what the example shows (optional)",
//	  "request": {"method": "POST", "path": "/v1/items/42/answer", "query": {"x": "1"},
//	              "headers": {"Content-Type": "application/json"}, "body": {"message": "Thanks"}},
//	  "response": {"status": 200, "headers": {"retry_after": "30"}, "body": {"id": 7}}
//	}
//
// A body may be any JSON value, or a string under "body_text" for a body that
// is not JSON. Against the client, Serve answers the documented response to
// the documented request (and fails the test if the client sends something
// else). Against the fake, Replay sends the documented request and requires
// the documented status and a body of the documented shape: the same keys
// with the same types, none missing and none invented. A fake may refuse
// what the vendor documents as refused; it may never accept it.
package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Example is one documented request and its response.
type Example struct {
	Name     string   `json:"-"` // the file name without .json
	Source   string   `json:"source"`
	Note     string   `json:"note,omitempty"`
	Request  Request  `json:"request"`
	Response Response `json:"response"`
}

// Request is a documented request.
type Request struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Query    map[string]string `json:"query,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     json.RawMessage   `json:"body,omitempty"`
	BodyText string            `json:"body_text,omitempty"`
}

// Response is a documented response.
type Response struct {
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     json.RawMessage   `json:"body,omitempty"`
	BodyText string            `json:"body_text,omitempty"`
}

func (r Request) body() []byte {
	if r.BodyText != "" {
		return []byte(r.BodyText)
	}
	return r.Body
}

func (r Response) body() []byte {
	if r.BodyText != "" {
		return []byte(r.BodyText)
	}
	return r.Body
}

// Load reads every *.json example in dir (sorted by name). It fails the test
// when an example has no source, no method or path, or no status.
func Load(t testing.TB, dir string) []Example {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("evidence: no examples in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var out []Example
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("evidence: %v", err)
		}
		var ex Example
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ex); err != nil {
			t.Fatalf("evidence: %s: %v", f, err)
		}
		ex.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		switch {
		case strings.TrimSpace(ex.Source) == "":
			t.Fatalf("evidence: %s says nothing of where it comes from (source)", f)
		case ex.Request.Method == "" || ex.Request.Path == "":
			t.Fatalf("evidence: %s: request needs method and path", f)
		case ex.Response.Status == 0:
			t.Fatalf("evidence: %s: response needs a status", f)
		}
		out = append(out, ex)
	}
	return out
}

// Find returns the example of that name; it fails the test if there is none.
func Find(t testing.TB, examples []Example, name string) Example {
	t.Helper()
	for _, ex := range examples {
		if ex.Name == name {
			return ex
		}
	}
	t.Fatalf("evidence: no example %q", name)
	return Example{}
}

// Serve starts a server that answers ex's documented response when it gets
// ex's documented request: the same method and path, every documented query
// parameter with its value, and (for a JSON request body) a body of the
// documented shape. Anything else fails the test and answers 400. Use it to
// check that the client sends what the vendor documents and parses what the
// vendor answers. The server is closed when the test ends.
func Serve(t testing.TB, ex Example) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if problems := matchRequest(ex.Request, r, body); len(problems) > 0 {
			t.Errorf("evidence %s: the client's request differs from the documented one:\n  %s",
				ex.Name, strings.Join(problems, "\n  "))
			http.Error(w, "request differs from "+ex.Name, http.StatusBadRequest)
			return
		}
		for k, v := range ex.Response.Headers {
			w.Header()[k] = []string{v} // as documented, not canonicalised (retry_after)
		}
		if w.Header().Get("Content-Type") == "" && ex.Response.BodyText == "" && len(ex.Response.Body) > 0 {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(ex.Response.Status)
		_, _ = w.Write(ex.Response.body())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func matchRequest(doc Request, r *http.Request, body []byte) []string {
	var problems []string
	if r.Method != doc.Method {
		problems = append(problems, fmt.Sprintf("method %s, documented %s", r.Method, doc.Method))
	}
	if r.URL.Path != doc.Path {
		problems = append(problems, fmt.Sprintf("path %s, documented %s", r.URL.Path, doc.Path))
	}
	q := r.URL.Query()
	for k, v := range doc.Query {
		if got := q.Get(k); got != v {
			problems = append(problems, fmt.Sprintf("query %s=%q, documented %q", k, got, v))
		}
	}
	if len(doc.Body) > 0 {
		problems = append(problems, prefixed("request body", CompareShape(doc.Body, body))...)
	}
	return problems
}

// Replay sends ex's documented request to the fake at base (its scheme and
// host; ex's path and query are appended), after prepare has had its say
// (authentication, say), and checks the answer: the documented status, and
// for a JSON body the documented shape. It returns the response body.
func Replay(t testing.TB, client *http.Client, base string, ex Example, prepare func(*http.Request)) []byte {
	t.Helper()
	u, err := url.Parse(strings.TrimSuffix(base, "/") + ex.Request.Path)
	if err != nil {
		t.Fatalf("evidence %s: %v", ex.Name, err)
	}
	q := u.Query()
	for k, v := range ex.Request.Query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(ex.Request.Method, u.String(), bytes.NewReader(ex.Request.body()))
	if err != nil {
		t.Fatalf("evidence %s: %v", ex.Name, err)
	}
	for k, v := range ex.Request.Headers {
		req.Header.Set(k, v)
	}
	if prepare != nil {
		prepare(req)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("evidence %s: %v", ex.Name, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != ex.Response.Status {
		t.Errorf("evidence %s: the fake answered %d, the vendor documents %d; body: %.300s",
			ex.Name, resp.StatusCode, ex.Response.Status, got)
		return got
	}
	for k := range ex.Response.Headers {
		if len(resp.Header.Values(k)) == 0 && len(resp.Header[k]) == 0 {
			t.Errorf("evidence %s: the fake's answer lacks the documented header %q", ex.Name, k)
		}
	}
	if len(ex.Response.Body) > 0 {
		if problems := CompareShape(ex.Response.Body, got); len(problems) > 0 {
			t.Errorf("evidence %s: the fake's answer differs from the documented one:\n  %s\nfake: %.500s",
				ex.Name, strings.Join(problems, "\n  "), got)
		}
	}
	return got
}

func prefixed(p string, in []string) []string {
	for i := range in {
		in[i] = p + ": " + in[i]
	}
	return in
}

// CompareShape lists how got's JSON structure differs from doc's: keys
// missing or added, values of another type. A documented null matches any
// value (the vendor shows an optional field empty); arrays are compared by
// their first element. It returns nil when the shapes agree.
func CompareShape(doc, got []byte) []string {
	var d, g any
	if err := json.Unmarshal(doc, &d); err != nil {
		return []string{"the documented body is not JSON: " + err.Error()}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{fmt.Sprintf("not JSON: %.100s", got)}
	}
	var out []string
	compare("$", d, g, &out)
	return out
}

func compare(path string, d, g any, out *[]string) {
	if d == nil {
		return
	}
	switch dv := d.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %s, documented object", path, typeName(g)))
			return
		}
		for _, k := range sortedKeys(dv) {
			gk, ok := gv[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			compare(path+"."+k, dv[k], gk, out)
		}
		for _, k := range sortedKeys(gv) {
			if _, ok := dv[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: not documented", path, k))
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %s, documented array", path, typeName(g)))
			return
		}
		if len(dv) > 0 && len(gv) > 0 {
			compare(path+"[0]", dv[0], gv[0], out)
		}
	default:
		if typeName(d) != typeName(g) {
			*out = append(*out, fmt.Sprintf("%s: %s, documented %s", path, typeName(g), typeName(d)))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
