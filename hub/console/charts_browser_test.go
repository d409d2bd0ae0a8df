package console_test

import (
	"testing"

	"github.com/reviewhub/reviewhub/hub/console"
)

// The Charts page in Chromium (browsertest/charts.mjs): the four charts
// by their accessible names, the periods, an integration's app, the table,
// the CSV download, Russian; axe-core on each page. Screenshots go to
// $CONSOLE_SCREENSHOTS (docs/console/).
func TestChartsInBrowser(t *testing.T) {
	runBrowserScript(t, "charts.mjs", console.ChartsTestServer)
}
