package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The hub knows no vendor: the hub binary depends on no connector. (The
// demo and benchmark tools under hub/cmd and hub/internal wire the real
// connectors and their fakes; the hub itself never does.)
func TestHubDependsOnNoConnector(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/reviewhub/reviewhub/plugins/") {
			t.Errorf("the hub binary depends on connector package %s", pkg)
		}
	}
}

// The poller and the deliverer share only the message schemas (busmsg):
// the poller does not import the deliverer.
func TestPollerDoesNotImportTheDeliverer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../poll").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/reviewhub/reviewhub/hub/deliver" {
			t.Error("hub/poll depends on hub/deliver")
		}
	}
}

// The OpenAPI tooling checks the document in tests; the hub serves the
// committed file and links none of it.
func TestHubDoesNotLinkTheOpenAPITooling(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/getkin/kin-openapi") || pkg == "github.com/reviewhub/reviewhub/hub/internal/apitest" {
			t.Errorf("the hub binary links %s", pkg)
		}
	}
}
