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
