package main

import (
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// The conformance kit, run against the real plugin process, as a plugin
// author would.
func TestConformance(t *testing.T) {
	bin := sdktest.Build(t, ".")
	store := sdktest.LaunchStore(t, bin)
	sdktest.RunStore(t, store, sdktest.StoreSuite{
		Settings: sdk.Settings{"reviews": `[{"ID":"r1","AppID":"app","Rating":4,"Text":"Nice"}]`},
		AppID:    "app", ReviewID: "r1",
	})
}
