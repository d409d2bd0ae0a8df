package console_test

import (
	"testing"

	"github.com/reviewhub/reviewhub/hub/console"
)

// TestHistoryInBrowser runs browsertest/history.mjs: an app's history
// page, an import started with its button and its progress updating,
// Russian, axe-core on each page; screenshots with CONSOLE_SCREENSHOTS.
func TestHistoryInBrowser(t *testing.T) {
	runBrowserScript(t, "history.mjs", console.HistoryTestServer)
}
