package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/sdk"
)

var testPlugins = []sdk.Info{
	{Name: "desk", Kind: sdk.PluginKindHelpdesk, Settings: []sdk.SettingField{
		{Key: "subdomain", Label: "Subdomain", Required: true},
		{Key: "api_key", Label: "API key", Required: true, Secret: true}}},
	{Name: "play", Kind: sdk.PluginKindStore, Store: &sdk.StoreCapabilities{LocaleKind: sdk.FilterLanguage}, Settings: []sdk.SettingField{
		{Key: "key_json", Label: "Key", Secret: true, Multiline: true},
		{Key: "base_url", Label: "Base URL"}}},
}

// The form's names map onto the admin API's input: empty secrets are left
// out (the API keeps the stored value), other settings are sent even when
// empty (clearing them), lists are split, blank apps are left out.
func TestFormPostToAPIInput(t *testing.T) {
	form := url.Values{
		"id": {"acme"}, "name": {" ACME "}, "tags": {"on"}, "version": {"3"}, "helpdesk.plugin": {"desk"},
		"h.desk.subdomain": {"acme"}, "h.desk.api_key": {""}, "apps_n": {"2"},
		"apps[0].id": {"android"}, "apps[0].store": {"play"}, "apps[0].store_app_id": {" com.acme "},
		"apps[0].s.play.key_json": {"{\r\n \"k\": 1\r\n}"}, "apps[0].s.play.base_url": {""},
		"apps[0].filters.ratings": {"1", "3", "9"}, "apps[0].filters.languages": {"ru, en;ja"},
		"apps[0].filters.backfill": {"20"}, "apps[0].filters.which": {"worse"},
		"apps[1].id": {""}, "apps[1].store": {""},
	}
	in, action := inputFromPost(form, testPlugins)
	if action != "" || len(in.Apps) != 1 || !in.TypedSecrets {
		t.Fatalf("action %q apps %d typed %v", action, len(in.Apps), in.TypedSecrets)
	}
	j, errs := in.toAPI(testPlugins)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if j.Name != "ACME" || j.Version != 3 || j.Helpdesk.Plugin != "desk" || j.Helpdesk.Settings["subdomain"] != "acme" {
		t.Errorf("integration %+v helpdesk %+v", j, j.Helpdesk)
	}
	if _, ok := j.Helpdesk.Settings["api_key"]; ok {
		t.Error("an empty secret was sent (it would clear the stored one)")
	}
	a := j.Apps[0]
	if a.StoreAppID != "com.acme" || a.Settings["key_json"] != "{\n \"k\": 1\n}" || a.Settings["base_url"] != "" {
		t.Errorf("app %+v", a)
	}
	if _, ok := a.Settings["base_url"]; !ok {
		t.Error("an emptied setting was not sent")
	}
	if strings.Join(a.Filters.Languages, ",") != "ru,en,ja" || len(a.Filters.Ratings) != 2 || *a.Filters.Backfill != 20 || a.Filters.Which != "worse" {
		t.Errorf("filters %+v", a.Filters)
	}
	form.Set("apps[0].filters.backfill", "twenty")
	in, _ = inputFromPost(form, testPlugins)
	if _, errs := in.toAPI(testPlugins); errs["apps[0].filters.backfill"] == "" {
		t.Errorf("a backfill that is no number: %v", errs)
	}
	form.Set("action", "remove_app:0")
	if in, _ := inputFromPost(form, testPlugins); len(in.Apps) != 0 {
		t.Errorf("remove: %d apps", len(in.Apps))
	}
	form.Set("action", "add_app")
	if in, _ := inputFromPost(form, testPlugins); len(in.Apps) != 3 {
		t.Errorf("add: %d apps (the blank one kept, a new one added)", len(in.Apps))
	}
}

// The API's field errors land next to the fields they name, with the
// field's label in the summary; stored secrets show as stored, never their
// value; what is missing is marked and listed in words.
func TestFormShowsErrorsStoredSecretsAndWhatIsMissing(t *testing.T) {
	tags := true
	stored := httpapi.IntegrationJSON{ID: "acme", Tags: &tags, Helpdesk: &httpapi.AccountJSON{Plugin: "desk",
		Settings: map[string]string{"subdomain": "acme"}, SecretsSet: []string{"api_key"}},
		Apps:    []httpapi.AppJSON{{ID: "android", Store: "play", Missing: []string{"store_app_id"}}},
		Missing: nil}
	in := inputFromAPI(stored)
	errs := map[string]string{"apps[0].filters.languages[1]": `"xx-!!" is not a BCP 47 language tag`, "apps[0].settings.base_url": "not a URL"}
	v := buildForm(catalog["en"], in, &stored, testPlugins, errs)
	app := v.Apps[0]
	if app.Languages.Error == "" || !strings.Contains(app.Languages.Error, "BCP 47") {
		t.Errorf("languages error %q", app.Languages.Error)
	}
	var baseURL, key fieldView
	for _, g := range app.Stores {
		for _, f := range g.Fields {
			switch f.Name {
			case "apps[0].s.play.base_url":
				baseURL = f
			case "apps[0].s.play.key_json":
				key = f
			}
		}
	}
	if baseURL.Error != "not a URL" || !key.Multiline || !key.Secret {
		t.Errorf("base_url %+v key %+v", baseURL, key)
	}
	if !app.StoreAppID.Needed || app.LocaleKind != sdk.FilterLanguage {
		t.Errorf("store app id needed %v, locale %q", app.StoreAppID.Needed, app.LocaleKind)
	}
	for _, g := range v.Helpdesks {
		for _, f := range g.Fields {
			if f.Name == "h.desk.api_key" && (!f.Stored || f.Value != "") {
				t.Errorf("api key %+v", f)
			}
		}
	}
	if len(v.Missing) != 1 || v.Missing[0] != "android: Store app id" {
		t.Errorf("missing %q", v.Missing)
	}
	if len(v.Errors) != 2 || v.Errors[0].Label != "App android: Languages" || v.Errors[0].Anchor != "#f-apps-0-filters-languages" ||
		v.Errors[1].Anchor != "#f-apps-0-s-play-base_url" {
		t.Errorf("summary %+v", v.Errors)
	}
}
