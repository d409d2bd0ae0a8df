// Package apitest checks HTTP traffic against the admin API's OpenAPI
// document in tests: every request a test sends and every answer it gets
// must be what the document says, or the test fails. Tests of the API use
// it through their HTTP client, so the document stays true without tests
// of its own for each route.
package apitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// problemType is the media type of the API's errors (RFC 9457).
const problemType = "application/problem+json"

// server is the document's server while it checks: requests are matched
// by path, whatever host the test server listens on.
const server = "http://hub.test"

// Spec is a loaded, valid OpenAPI document with its router.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Spec{}
)

// Load parses and validates an OpenAPI document (cached by content).
func Load(document []byte) (*Spec, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s, ok := cache[string(document)]; ok {
		return s, nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: server}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	s := &Spec{doc: doc, router: router}
	cache[string(document)] = s
	return s, nil
}

// Doc returns the loaded document.
func (s *Spec) Doc() *openapi3.T { return s.doc }

// Transport returns a RoundTripper that sends through base (nil:
// http.DefaultTransport) and fails t when a request or its answer does not
// match the document. Requests to paths the document does not have are
// failures too, except those allow lets through (the console's pages, say).
func (s *Spec) Transport(t testing.TB, base http.RoundTripper, allow func(*http.Request) bool) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &checker{t: t, spec: s, base: base, allow: allow}
}

type checker struct {
	t     testing.TB
	spec  *Spec
	base  http.RoundTripper
	allow func(*http.Request) bool
}

func (c *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if c.allow != nil && c.allow(req) {
		return resp, nil
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, err
	}
	if msg := c.spec.Check(req, reqBody, resp, respBody); msg != "" {
		c.t.Errorf("%s %s does not match the OpenAPI document: %s", req.Method, req.URL.Path, msg)
	}
	return resp, nil
}

// Check matches one exchange against the document and says what differs
// ("" when nothing does). A request the API refused as malformed is not
// checked against the request's schema (tests send bad input on purpose),
// but its answer is.
func (s *Spec) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	probe := req.Clone(context.Background())
	u, _ := url.Parse(server)
	probe.URL.Scheme, probe.URL.Host, probe.Host = u.Scheme, u.Host, u.Host
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		if (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) &&
			(!strings.HasPrefix(req.URL.Path, "/api/") || resp.Header.Get("Content-Type") == problemType) {
			return "" // no such endpoint, and the answer says so (a problem document under /api)
		}
		return fmt.Sprintf("no such operation (answered %d): %v", resp.StatusCode, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
		// A status the document does not list is a difference too.
		IncludeResponseStatus: true,
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 400 || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusTooManyRequests {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Sprintf("request (answered %d): %v", resp.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		body := respBody
		if len(body) > 300 {
			body = body[:300]
		}
		return fmt.Sprintf("answer %d: %v (body %s)", resp.StatusCode, err, body)
	}
	return ""
}
