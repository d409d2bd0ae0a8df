package console_test

import (
	"testing"

	"github.com/reviewhub/reviewhub/hub/console"
)

// The automation editor and the approvals page in Chromium: a rule made
// through the form (a failed save's errors beside their fields, what was
// typed kept), tried on the reviews, saved, moved, switched off, a rule
// deleted after its question, Russian; the drafts waiting counted in the
// navigation, one edited then approved, one rejected. Every page: controls
// labelled, ids unique, no serious or critical axe-core violation.
// Screenshots go to $CONSOLE_SCREENSHOTS (docs/console/).
func TestAutomationInBrowser(t *testing.T) {
	runBrowserScript(t, "automation.mjs", console.AutomationTestServer)
}
