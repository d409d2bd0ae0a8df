package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// webhookFake keeps endpoints and deliveries and records what was done.
type webhookFake struct {
	mu        sync.Mutex
	endpoints []state.WebhookEndpoint
	log       []state.WebhookDelivery
	replayed  []string
	enabled   []string
}

func (f *webhookFake) WebhookEndpoints(context.Context) ([]state.WebhookEndpoint, error) {
	return f.endpoints, nil
}

func (f *webhookFake) WebhookEndpoint(_ context.Context, id string) (state.WebhookEndpoint, error) {
	for _, e := range f.endpoints {
		if e.ID == id {
			return e, nil
		}
	}
	return state.WebhookEndpoint{}, &httpapi.Error{Status: http.StatusNotFound, Detail: "no webhook endpoint " + id}
}

func (f *webhookFake) WebhookDeliveries(context.Context, string, int) ([]state.WebhookDelivery, error) {
	return f.log, nil
}

func (f *webhookFake) ReplayWebhookDelivery(_ context.Context, id, event string) (state.WebhookDelivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replayed = append(f.replayed, id+"/"+event)
	return state.WebhookDelivery{}, nil
}

func (f *webhookFake) EnableWebhookEndpoint(_ context.Context, id string) (state.WebhookEndpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enabled = append(f.enabled, id)
	return state.WebhookEndpoint{ID: id}, nil
}

// The webhooks pages show each endpoint's state in words (a disabled one
// with its reason, in English and Russian), an endpoint's delivery log
// with the receiver's answers and the next try; replay and enable act and
// come back; a viewer sees no buttons and is refused the actions.
func TestOutboundWebhookConsolePages(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	fake := &webhookFake{
		endpoints: []state.WebhookEndpoint{
			{ID: "crm", URL: "https://crm.example/hook", IntegrationID: "acme", Source: state.SourceAPI, DisabledAt: at, DisabledReason: "the endpoint answered 410 Gone"},
			{ID: "ops", URL: "https://ops.example/hook", Source: state.SourceConfig, FailingSince: at},
		},
		log: []state.WebhookDelivery{{EndpointID: "crm", EventID: "evt_1", EventType: "review.created", Status: state.DeliveryPending, Attempts: 1,
			NextAt: at.Add(time.Minute), Log: []state.WebhookAttempt{{Attempt: 1, At: at, StatusCode: 503, Error: "answered 503 Service Unavailable", Response: "maintenance"}}}},
	}
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Webhooks: fake})
	if err != nil {
		t.Fatal(err)
	}
	session := func(role auth.Role) func(method, path string, form url.Values, lang string) *httptest.ResponseRecorder {
		id, s := c.newSession(auth.Principal{Subject: "u", Role: role})
		return func(method, path string, form url.Values, lang string) *httptest.ResponseRecorder {
			var req *http.Request
			if form != nil {
				form.Set("csrf", s.csrf)
				req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req = httptest.NewRequest(method, path, nil)
			}
			req.Header.Set("Origin", "http://example.com")
			if lang != "" {
				req.Header.Set("Accept-Language", lang)
			}
			req.Host = "example.com"
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			return rec
		}
	}
	admin := session(auth.RoleAdmin)
	list := admin("GET", "/console/webhooks", nil, "").Body.String()
	for _, want := range []string{"crm.example", "integration acme", "every integration", "disabled at 2026-12-08 01:00 UTC: the endpoint answered 410 Gone", "failing since 2026-12-08 01:00 UTC"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if ru := admin("GET", "/console/webhooks", nil, "ru").Body.String(); !strings.Contains(ru, "отключён 2026-12-08 01:00 UTC") || !strings.Contains(ru, "Исходящие вебхуки") {
		t.Errorf("the Russian list:\n%s", ru)
	}
	one := admin("GET", "/console/webhooks/crm", nil, "").Body.String()
	for _, want := range []string{"Delivery log", "review.created", "evt_1", "HTTP 503", "maintenance", "waiting", "2026-12-08 01:01:00 UTC", "Enable again", "Send again"} {
		if !strings.Contains(one, want) {
			t.Errorf("the endpoint's page lacks %q", want)
		}
	}
	if rec := admin("POST", "/console/webhooks/crm/deliveries/evt_1/replay", url.Values{}, ""); rec.Code != http.StatusSeeOther || len(fake.replayed) != 1 || fake.replayed[0] != "crm/evt_1" {
		t.Errorf("replay: %d %v", rec.Code, fake.replayed)
	}
	if rec := admin("POST", "/console/webhooks/crm/enable", url.Values{}, ""); rec.Code != http.StatusSeeOther || len(fake.enabled) != 1 {
		t.Errorf("enable: %d %v", rec.Code, fake.enabled)
	}
	if rec := admin("GET", "/console/webhooks/nope", nil, ""); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown endpoint: %d", rec.Code)
	}
	viewer := session(auth.RoleViewer)
	if page := viewer("GET", "/console/webhooks/crm", nil, "").Body.String(); strings.Contains(page, "Send again") || strings.Contains(page, "Enable again") {
		t.Error("a viewer is offered the actions")
	}
	if rec := viewer("POST", "/console/webhooks/crm/deliveries/evt_1/replay", url.Values{}, ""); rec.Code != http.StatusForbidden || len(fake.replayed) != 1 {
		t.Errorf("a viewer's replay: %d %v", rec.Code, fake.replayed)
	}
}
