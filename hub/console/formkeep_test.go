package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/sdk"
)

// storedSecret is a stored secret's value: the form must never show it,
// even when the integration read carries it (it does not: the API
// answers secrets as set, never their value; this fake does, to prove it).
const storedSecret = "STORED-SECRET-never-shown"

// formAdmin is fakeAdmin with the test plugins, one stored integration
// and an update the API refuses with a field error.
type formAdmin struct{ *fakeAdmin }

func (formAdmin) InstalledPlugins() []sdk.Info { return testPlugins }

func (formAdmin) Integration(context.Context, string) (httpapi.IntegrationJSON, error) {
	tags := true
	return httpapi.IntegrationJSON{ID: "acme", Tags: &tags, Helpdesk: &httpapi.AccountJSON{Plugin: "desk",
		Settings: map[string]string{"subdomain": "acme", "api_key": storedSecret}, SecretsSet: []string{"api_key"}},
		Apps: []httpapi.AppJSON{{ID: "android", Store: "play", StoreAppID: "com.acme", Settings: map[string]string{"key_json": storedSecret},
			SecretsSet: []string{"key_json"}}}}, nil
}

func (formAdmin) Update(context.Context, string, int, httpapi.IntegrationJSON) (httpapi.IntegrationJSON, error) {
	return httpapi.IntegrationJSON{}, &httpapi.Error{Status: http.StatusUnprocessableEntity, Detail: "invalid",
		Fields: []*config.FieldError{{Field: "helpdesk.settings.subdomain", Reason: "not a subdomain"}}}
}

func formAs(t *testing.T, c *Console, role auth.Role, method, path string, form url.Values) (int, string) {
	t.Helper()
	id, s := c.newSession(auth.Principal{Subject: "s-" + role.String(), Name: "p", Role: role})
	var req *http.Request
	if method == http.MethodPost {
		form.Set("csrf", s.csrf)
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// A secret typed into a form that fails to save is in the form shown
// again (not lost); a stored secret is never shown, typed or not.
func TestFormKeepsTypedSecrets(t *testing.T) {
	c, err := New(Options{Token: testToken, Admin: formAdmin{&fakeAdmin{}}})
	if err != nil {
		t.Fatal(err)
	}
	code, body := formAs(t, c, auth.RoleAdmin, http.MethodGet, "/console/integrations/acme", nil)
	if code != 200 || strings.Contains(body, storedSecret) || !strings.Contains(body, `id="f-h-desk-api_key" name="h.desk.api_key"`) {
		t.Fatalf("form: %d, stored secret shown: %v", code, strings.Contains(body, storedSecret))
	}
	post := url.Values{"version": {"1"}, "helpdesk.plugin": {"desk"}, "h.desk.subdomain": {"bad subdomain"},
		"h.desk.api_key": {"typed-new-key"}, "apps_n": {"1"}, "apps[0].id": {"android"}, "apps[0].store": {"play"},
		"apps[0].store_app_id": {"com.acme"}, "apps[0].s.play.key_json": {"{\"typed\": \"json <key>\"}"}, "apps[0].s.play.base_url": {""}}
	code, body = formAs(t, c, auth.RoleAdmin, http.MethodPost, "/console/integrations/acme", post)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("failed save: %d", code)
	}
	for _, want := range []string{
		`<input type="password" value="typed-new-key" id="f-h-desk-api_key"`,
		`{&#34;typed&#34;: &#34;json &lt;key&gt;&#34;}</textarea>`,
		"Typed into this form, not saved yet.", `id="secrets-kept"`, "not a subdomain",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the failed save's form lacks %s", want)
		}
	}
	if strings.Contains(body, storedSecret) {
		t.Error("a stored secret was shown")
	}
	// "Add an app" keeps them too.
	post.Set("action", "add_app")
	if _, body = formAs(t, c, auth.RoleAdmin, http.MethodPost, "/console/integrations/acme", post); !strings.Contains(body, `value="typed-new-key"`) {
		t.Error("add an app lost the typed secret")
	}
	// Nothing typed: nothing shown, the stored one kept.
	post.Del("action")
	post.Set("h.desk.api_key", "")
	post.Set("apps[0].s.play.key_json", "")
	_, body = formAs(t, c, auth.RoleAdmin, http.MethodPost, "/console/integrations/acme", post)
	if strings.Contains(body, storedSecret) || strings.Contains(body, `id="secrets-kept"`) ||
		!strings.Contains(body, `<input type="password" value="" id="f-h-desk-api_key"`) {
		t.Error("a form without typed secrets shows one")
	}
}

// Viewers see the form without Save, Add, Remove or Check; agents see
// Check but not Save; admins everything.
func TestFormButtonsFollowTheRole(t *testing.T) {
	c, err := New(Options{Token: testToken, Admin: formAdmin{&fakeAdmin{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role        auth.Role
		save, check bool
	}{
		{auth.RoleViewer, false, false},
		{auth.RoleAgent, false, true},
		{auth.RoleAdmin, true, true},
	} {
		code, body := formAs(t, c, tc.role, http.MethodGet, "/console/integrations/acme", nil)
		if code != 200 {
			t.Fatalf("%s: %d", tc.role, code)
		}
		if got := strings.Contains(body, `value="save"`); got != tc.save {
			t.Errorf("%s sees Save: %v", tc.role, got)
		}
		if got := strings.Contains(body, `value="add_app"`) || strings.Contains(body, `value="remove_app:0"`); got != tc.save {
			t.Errorf("%s sees Add or Remove an app: %v", tc.role, got)
		}
		if got := strings.Contains(body, `action="/console/integrations/acme/check"`); got != tc.check {
			t.Errorf("%s sees Check: %v", tc.role, got)
		}
		if got := strings.Contains(body, `id="role-read-only"`) && strings.Contains(body, `<fieldset class="plain" disabled>`); got == tc.save {
			t.Errorf("%s: read-only notice and disabled form: %v", tc.role, got)
		}
	}
}
