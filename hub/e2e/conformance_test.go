package e2e

import (
	"testing"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// The test plugins pass the SDK's conformance kit too.
func TestTestPluginsConform(t *testing.T) {
	b := testbackend.New()
	url := startBackend(t, b)
	b.PutReview(testbackend.Review{ID: "r1", App: "app1", Rating: 4, Text: "ok"})
	sdktest.RunStore(t, sdktest.LaunchStore(t, sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/store")),
		sdktest.StoreSuite{Settings: sdk.Settings{"url": url}, AppID: "app1", ReviewID: "r1"})
	sdktest.RunHelpdesk(t, sdktest.LaunchHelpdesk(t, sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk")),
		sdktest.HelpdeskSuite{Settings: sdk.Settings{"url": url, "secret": "x"}, IntegrationID: "i"})
}
