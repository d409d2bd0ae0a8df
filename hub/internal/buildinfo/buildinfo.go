// Package buildinfo says which version of the hub this binary is: the
// version set at link time (-ldflags "-X
// github.com/reviewhub/reviewhub/hub/internal/buildinfo.version=v1.2.3"),
// else the module version Go recorded (a binary installed with go install
// MODULE@VERSION), else "dev" with the VCS revision when known.
package buildinfo

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// version is set by the linker for release builds.
var version string

// pseudo matches the tail of a Go pseudo-version (v0.0.0-20261207101010-abcdefabcdef).
var pseudo = regexp.MustCompile(`\d{14}-[0-9a-f]{12}(\+incompatible)?$`)

// Version is this binary's version: "v1.2.3" for a release, "dev" or
// "dev+REVISION" (12 hex digits, "-dirty" when modified) for a build from
// a working tree.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" && !pseudo.MatchString(v) {
		return v // a tagged module version (not a pseudo-version)
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return "dev+" + rev[:min(12, len(rev))] + modified
}

// IsRelease reports whether v names a release (v1.2.3, v1.2.3-rc.1), not
// a development build.
func IsRelease(v string) bool { return v != "" && !strings.HasPrefix(v, "dev") }
