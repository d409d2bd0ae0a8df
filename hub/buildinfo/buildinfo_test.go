package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

func fakeRead(mainVersion string, settings ...string) func() (*debug.BuildInfo, bool) {
	return func() (*debug.BuildInfo, bool) {
		bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/reviewhub/reviewhub", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi, true
	}
}

func TestLinkerValuesWin(t *testing.T) {
	in := resolve("v1.2.3", "abc", "2026-12-07T15:00:00Z", fakeRead("(devel)", "vcs.revision", "def", "vcs.time", "2020-01-01T00:00:00Z", "vcs.modified", "true"))
	if in.Version != "v1.2.3" || in.Commit != "abc" || in.Date != "2026-12-07T15:00:00Z" {
		t.Errorf("got %+v", in)
	}
	if in.GoVersion != "go1.99.1" || in.PluginProtocol != sdk.ProtocolVersion {
		t.Errorf("go %q protocol %d", in.GoVersion, in.PluginProtocol)
	}
}

func TestFallsBackToTheToolchainsRecord(t *testing.T) {
	in := resolve("", "", "", fakeRead("(devel)", "vcs.revision", "def", "vcs.time", "2020-01-01T00:00:00Z"))
	if in.Version != "devel" || in.Commit != "def" || in.Date != "2020-01-01T00:00:00Z" {
		t.Errorf("got %+v", in)
	}
	in = resolve("", "", "", fakeRead("(devel)", "vcs.revision", "def", "vcs.modified", "true"))
	if in.Version != "devel+dirty" {
		t.Errorf("modified tree: version %q", in.Version)
	}
	in = resolve("", "", "", fakeRead("v0.9.0"))
	if in.Version != "v0.9.0" || in.Commit != "" {
		t.Errorf("go install module@version: %+v", in)
	}
	in = resolve("", "", "", func() (*debug.BuildInfo, bool) { return nil, false })
	if in.Version != "devel" || in.GoVersion == "" || in.Platform == "" {
		t.Errorf("no build info: %+v", in)
	}
}

func TestStringNamesEveryField(t *testing.T) {
	s := resolve("v1.2.3", "", "", func() (*debug.BuildInfo, bool) { return nil, false }).String()
	for _, want := range []string{"version:         v1.2.3\n", "commit:          unknown\n", "built:           unknown\n", "go:              go", fmt.Sprintf("plugin protocol: %d\n", sdk.ProtocolVersion)} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}
