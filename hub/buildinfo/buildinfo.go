// Package buildinfo says which build of the hub is running: its version,
// commit and build date, set at link time by the release build
//
//	go build -ldflags "-X github.com/reviewhub/reviewhub/hub/buildinfo.version=v1.2.3
//	                   -X github.com/reviewhub/reviewhub/hub/buildinfo.commit=abc123
//	                   -X github.com/reviewhub/reviewhub/hub/buildinfo.date=2026-12-07T15:00:00Z"
//
// (the Makefile's LDFLAGS), and otherwise read from what the Go toolchain
// records in every binary (debug.ReadBuildInfo: the module version and, in
// a git checkout, the VCS revision and time). Anything that needs the hub's
// version (`hub version`, the state's record of the hub that wrote it, the
// User-Agent) reads it here.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/reviewhub/reviewhub/sdk"
)

// Set by the linker (-X); empty in a plain `go build`.
var (
	version string
	commit  string
	date    string
)

// Info describes one build.
type Info struct {
	// Version is the release version ("v1.2.3"), or "devel" for a build
	// that was not given one; a modified work tree adds "+dirty".
	Version string `json:"version"`
	// Commit is the VCS revision ("" when unknown).
	Commit string `json:"commit"`
	// Date is when the binary was built (release builds) or, failing
	// that, the commit's time; "" when unknown.
	Date string `json:"date"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// PluginProtocol is the newest plugin protocol version the hub speaks.
	PluginProtocol int `json:"plugin_protocol"`
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's build information.
func Get() Info {
	once.Do(func() { info = resolve(version, commit, date, debug.ReadBuildInfo) })
	return info
}

// Version is Get().Version.
func Version() string { return Get().Version }

// resolve merges the linker's values with the toolchain's build info; the
// linker's win.
func resolve(version, commit, date string, read func() (*debug.BuildInfo, bool)) Info {
	in := Info{
		Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, PluginProtocol: sdk.ProtocolVersion,
	}
	bi, ok := read()
	if ok {
		var vcsRev, vcsTime string
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				vcsRev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version // go install module@version
		}
		if in.Commit == "" {
			in.Commit = vcsRev
			if dirty && vcsRev != "" && in.Version == "" {
				in.Version = "devel+dirty"
			}
		}
		if in.Date == "" {
			in.Date = vcsTime
		}
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	return in
}

// String is what `hub version` prints: one "key: value" line each.
func (in Info) String() string {
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version:         %s\n", in.Version)
	fmt.Fprintf(&b, "commit:          %s\n", unknown(in.Commit))
	fmt.Fprintf(&b, "built:           %s\n", unknown(in.Date))
	fmt.Fprintf(&b, "go:              %s\n", in.GoVersion)
	fmt.Fprintf(&b, "platform:        %s\n", in.Platform)
	fmt.Fprintf(&b, "plugin protocol: %d\n", in.PluginProtocol)
	return b.String()
}
