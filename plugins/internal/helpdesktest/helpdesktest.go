// Package helpdesktest holds what the helpdesk plugins' tests share: a
// server that hands webhook requests to the plugin under test as the hub
// does and keeps its answers, settings with one value changed, and the
// table check of CheckCredentials' refusals.
package helpdesktest

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// Webhooks is an HTTP server (at URL, any path) that hands every request to
// a helpdesk plugin's HandleWebhook, as the hub does, answers with the
// plugin's answer and keeps it.
type Webhooks struct {
	URL     string
	mu      sync.Mutex
	results []sdk.HandleWebhookResponse
}

// ServeWebhooks starts a Webhooks server for desk with the integration's
// settings, closed when the test ends. A plugin's error is answered 500.
func ServeWebhooks(t testing.TB, desk sdk.HelpdeskPlugin, settings sdk.Settings, integrationID string) *Webhooks {
	w := &Webhooks{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, err := webhookRequest(r)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		req.Settings, req.IntegrationID = settings, integrationID
		res, err := desk.HandleWebhook(r.Context(), req)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		w.mu.Lock()
		w.results = append(w.results, res)
		w.mu.Unlock()
		rw.WriteHeader(res.Status)
		_, _ = rw.Write(res.Body)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

// webhookRequest is r as the hub hands it to HandleWebhook (without the
// integration's settings and id).
func webhookRequest(r *http.Request) (sdk.HandleWebhookRequest, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return sdk.HandleWebhookRequest{}, err
	}
	var hdr []sdk.Header
	for k, v := range r.Header {
		hdr = append(hdr, sdk.Header{Name: k, Values: v})
	}
	return sdk.HandleWebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: hdr, Body: body}, nil
}

// Capture is an HTTP server (at URL, any path) that keeps the webhook
// requests a fake helpdesk sends, answering 200, as the hub would hand
// them to the plugin: what a vendor view's SignedWebhook returns.
type Capture struct {
	URL  string
	mu   sync.Mutex
	last *sdk.HandleWebhookRequest
}

// NewCapture starts a Capture server, closed when the test ends.
func NewCapture(t testing.TB) *Capture {
	c := &Capture{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, err := webhookRequest(r)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.last = &req
		c.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// Take runs send (which makes the fake send one webhook to the Capture)
// and returns the request it sent.
func (c *Capture) Take(send func() error) (sdk.HandleWebhookRequest, error) {
	c.mu.Lock()
	c.last = nil
	c.mu.Unlock()
	if err := send(); err != nil {
		return sdk.HandleWebhookRequest{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return sdk.HandleWebhookRequest{}, errors.New("the fake sent no webhook")
	}
	return *c.last, nil
}

// Last is the plugin's answer to the latest request; the test fails when
// no request reached the plugin.
func (w *Webhooks) Last(t testing.TB) sdk.HandleWebhookResponse {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.results) == 0 {
		t.Fatal("no webhook call reached the plugin")
	}
	return w.results[len(w.results)-1]
}

// With is a copy of s with key set to value.
func With(s sdk.Settings, key, value string) sdk.Settings {
	out := maps.Clone(s)
	if out == nil {
		out = sdk.Settings{}
	}
	out[key] = value
	return out
}

// Refusal is a CheckCredentials call that must fail: with Kind, and a
// message that contains Want.
type Refusal struct {
	Settings sdk.Settings
	Kind     sdk.ErrorKind
	Want     string
}

// ExpectRefusals calls desk's CheckCredentials with each refusal's
// settings and reports every one that does not fail as expected.
func ExpectRefusals(t *testing.T, desk sdk.HelpdeskPlugin, refusals []Refusal) {
	t.Helper()
	for _, r := range refusals {
		_, err := desk.CheckCredentials(sdktest.Context(t), sdk.CheckCredentialsRequest{Settings: r.Settings})
		if err == nil || sdk.KindOf(err) != r.Kind || !strings.Contains(err.Error(), r.Want) {
			t.Errorf("CheckCredentials: %v (kind %v), want %v containing %q", err, sdk.KindOf(err), r.Kind, r.Want)
		}
	}
}

// BadSubdomain is a copy of s whose subdomain is no subdomain, without a
// base_url override (which would make the subdomain unused).
func BadSubdomain(s sdk.Settings) sdk.Settings {
	out := With(s, "subdomain", "Not A Subdomain!")
	delete(out, "base_url")
	return out
}
