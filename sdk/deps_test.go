package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The SDK is its own module and depends on nothing of the hub: a plugin
// author's go.mod gets go-plugin, gRPC and protobuf, not the hub's database
// drivers and bus.
func TestSDKDependsOnNothingOfTheHub(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/reviewhub/reviewhub/"
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, module) && !strings.HasPrefix(pkg, module+"sdk") {
			t.Errorf("the SDK depends on %s", pkg)
		}
	}
	mods, err := exec.Command("go", "list", "-m", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m: %v\n%s", err, mods)
	}
	for _, m := range strings.Split(string(mods), "\n") {
		for _, hubOnly := range []string{"ThreeDotsLabs/watermill", "jackc/pgx", "mattn/go-sqlite3", "google.golang.org/api "} {
			if strings.Contains(m, hubOnly) {
				t.Errorf("the SDK's module graph holds the hub's dependency %s", m)
			}
		}
	}
}
