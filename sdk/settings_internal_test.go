package sdk

import (
	"context"
	"os"
	"strings"
	"testing"
)

// webhookDesk is a helpdesk that keeps the settings its HandleWebhook got.
type webhookDesk struct {
	HelpdeskPlugin // the other methods are not called
	schema         []SettingField
	got            Settings
}

func (d *webhookDesk) Info(context.Context, InfoRequest) (Info, error) {
	return Info{Name: "desk", Kind: PluginKindHelpdesk, Settings: d.schema}, nil
}

func (d *webhookDesk) HandleWebhook(_ context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error) {
	d.got = req.Settings
	return HandleWebhookResponse{Status: 200}, nil
}

// A webhook is never refused for a typed setting of a wrong value (the
// vendor would retry, then give up, and a staff answer would be lost): the
// setting gets its Default, or is left out, and a warning names the key
// but not the value.
func TestWebhookSurvivesAnInvalidTypedSetting(t *testing.T) {
	logs, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	was := logOutput
	logOutput = logs
	t.Cleanup(func() { logOutput = was })

	d := &webhookDesk{schema: []SettingField{
		{Key: "webhook_secret", Secret: true, Required: true},
		{Key: "webhook_tolerance", Type: SettingDuration, Min: "10s", Max: "24h", Default: "10m"},
		{Key: "rate_window", Type: SettingDuration},
		{Key: "base_url", Type: SettingURL, Endpoint: true},
		{Key: "pages", Type: SettingInt, Default: "3"},
	}}
	desk, err := CheckedHelpdesk(d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := desk.HandleWebhook(context.Background(), HandleWebhookRequest{Settings: Settings{
		"webhook_secret":    " s3cret ",
		"webhook_tolerance": "9999ms",                  // below Min
		"rate_window":       "every-minute-XYZZY",      // not a duration
		"base_url":          "http://proxy.example.XQ", // plain http, not loopback
		"pages":             "7",                       // fine
	}})
	if err != nil || res.Status != 200 {
		t.Fatalf("HandleWebhook: %+v, %v; want the plugin called, not an error", res, err)
	}
	want := Settings{"webhook_secret": "s3cret", "webhook_tolerance": "10m", "pages": "7"}
	if len(d.got) != len(want) {
		t.Errorf("the plugin got %v, want %v", d.got, want)
	}
	for k, v := range want {
		if d.got[k] != v {
			t.Errorf("the plugin got %s=%q, want %q (all: %v)", k, d.got[k], v, d.got)
		}
	}
	text, err := os.ReadFile(logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"webhook_tolerance", "rate_window", "base_url"} {
		if !strings.Contains(string(text), `"setting":"`+key+`"`) {
			t.Errorf("no warning names %s; log:\n%s", key, text)
		}
	}
	for _, secret := range []string{"9999ms", "XYZZY", "proxy.example.XQ", "s3cret"} {
		if strings.Contains(string(text), secret) {
			t.Errorf("the log repeats the value %q:\n%s", secret, text)
		}
	}
	// The other calls still refuse it.
	if _, err := CheckSettings(d.schema, Settings{"webhook_secret": "s", "webhook_tolerance": "5s"}); err == nil {
		t.Error("CheckSettings took webhook_tolerance=5s")
	}
}
