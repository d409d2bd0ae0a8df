package sdk_test

import (
	"os"
	"regexp"
	"testing"
)

// A tagged sdk/vX.Y.Z is required by plugins outside this repository, for
// whom a replace in the SDK's go.mod is ignored: the SDK would build
// against something else than it was tested with (README, "Tags").
func TestSDKModuleHasNoReplace(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\s*replace\b`).Match(mod) {
		t.Errorf("sdk/go.mod has a replace directive: a tagged SDK must build from its requirements alone")
	}
}
