package sdk

import (
	"reflect"
	"testing"
)

func TestNewFieldsSurviveTheWire(t *testing.T) {
	rep := CredentialsReport{CanReply: true, Detail: "ok", WebhookURL: "https://hub.example/hooks/omnidesk/acme?secret=REDACTED",
		Checks: []Check{{Name: "rights", Status: CheckOK, Detail: "can reply"}, {Name: "quota", Status: CheckWarn, Detail: "3 left"}}}
	if got := reportFromPB(reportToPB(rep)); !reflect.DeepEqual(got, rep) {
		t.Errorf("report: got %+v, want %+v", got, rep)
	}
	u := &Unreadable{ID: "42", Reason: "unknown event", Shape: `{"type":string}`}
	if got := unreadableFromPB(unreadableToPB(u)); !reflect.DeepEqual(got, u) {
		t.Errorf("unreadable: got %+v, want %+v", got, u)
	}
	if unreadableFromPB(unreadableToPB(nil)) != nil {
		t.Error("a nil Unreadable must stay nil")
	}
	info := Info{Name: "x", Settings: []SettingField{{Key: "base_url", Endpoint: true}, {Key: "api_key", Secret: true},
		{Key: "tolerance", Type: SettingDuration, Min: "10s", Max: "24h"}}}
	if got := infoFromPB(infoToPB(info)); !reflect.DeepEqual(got.Settings, info.Settings) {
		t.Errorf("settings: got %+v, want %+v", got.Settings, info.Settings)
	}
}

// The store's display name reaches a helpdesk with the review change and
// the alert; one from an older hub (no store_name) falls back to the
// plugin name.
func TestStoreNameSurvivesTheWire(t *testing.T) {
	c := ReviewChange{Store: "appstore", StoreName: "App Store", AppName: "ACME", Kind: ChangeKindNew}
	got := changeFromPB(changeToPB(c))
	if got.StoreName != "App Store" || got.DisplayStore() != "App Store" {
		t.Errorf("change: got %+v", got)
	}
	a := Alert{Store: "rustore", StoreName: "RuStore", Key: "k"}
	if got := alertFromPB(alertToPB(a)); got.StoreName != "RuStore" || got.DisplayStore() != "RuStore" {
		t.Errorf("alert: got %+v", got)
	}
	old := changeToPB(c)
	old.StoreName = ""
	if got := changeFromPB(old); got.DisplayStore() != "appstore" {
		t.Errorf("change from an older hub: DisplayStore %q, want the plugin name", got.DisplayStore())
	}
	if got := (Alert{Store: "rustore"}).DisplayStore(); got != "rustore" {
		t.Errorf("alert from an older hub: DisplayStore %q, want the plugin name", got)
	}
}
