package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/buildinfo"
	"github.com/reviewhub/reviewhub/sdk"
)

// `hub version` needs no configuration: it answers even when the file
// named by HUB_CONFIG does not exist.
func TestVersionNeedsNoConfig(t *testing.T) {
	clearHubEnv(t)
	t.Setenv("HUB_CONFIG", "/nonexistent/hub.yaml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"version:", "commit:", "built:", "go:              go", fmt.Sprintf("plugin protocol: %d", sdk.ProtocolVersion)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	stdout.Reset()
	if code := run([]string{"version", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, stderr.String())
	}
	var got buildinfo.Info
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("--json: %v: %s", err, stdout.String())
	}
	if got != buildinfo.Get() || got.PluginProtocol != sdk.ProtocolVersion || got.Version == "" {
		t.Errorf("--json: %+v, want %+v", got, buildinfo.Get())
	}
}

// `hub plugins` shows what each setting takes.
func TestSettingNote(t *testing.T) {
	for _, tc := range []struct {
		f    sdk.SettingField
		want string
	}{
		{sdk.SettingField{Key: "note"}, ""},
		{sdk.SettingField{Key: "token", Required: true}, " (required)"},
		{sdk.SettingField{Key: "base_url", Type: sdk.SettingURL}, " (url)"},
		{sdk.SettingField{Key: "tolerance", Required: true, Type: sdk.SettingDuration, Min: "10s", Max: "24h"}, " (required, duration 10s..24h)"},
		{sdk.SettingField{Key: "pages", Type: sdk.SettingInt, Min: "1"}, " (int 1..)"},
	} {
		if got := settingNote(tc.f); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.f.Key, got, tc.want)
		}
	}
}
