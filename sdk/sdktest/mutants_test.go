package sdktest

import (
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// The suites are run against in-memory plugins that each make one mistake
// (a mutant), over in-memory vendors with their vendor views, and must
// report every mistake in the subtest named; the correct plugin must pass,
// with and without a vendor view.

func runDesk(t *testing.T, bug string, withVendor bool) []string {
	d := newMemDesk()
	suite := HelpdeskSuite{Settings: sdk.Settings{"api_token": "t", "webhook_secret": "hook-secret"}, IntegrationID: "i"}
	if withVendor {
		suite.Vendor = d
	}
	rec := newRecorder(t)
	runHelpdesk(rec, deskPlugin{d: d, bug: bug}, suite)
	return *rec.findings
}

func runStoreSuite(t *testing.T, bug string, withVendor bool) []string {
	s := newMemStore()
	_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3, Text: "ok"})
	suite := StoreSuite{Settings: sdk.Settings{"private_key": "k"}, AppID: "app", ReviewID: "r1"}
	if withVendor {
		suite.Vendor = s
	}
	rec := newRecorder(t)
	runStore(rec, storePlugin{s: s, bug: bug}, suite)
	return *rec.findings
}

func TestCorrectPluginsPass(t *testing.T) {
	for _, withVendor := range []bool{true, false} {
		if f := runDesk(t, "", withVendor); len(f) > 0 {
			t.Errorf("helpdesk (vendor view %v): %q", withVendor, f)
		}
		if f := runStoreSuite(t, "", withVendor); len(f) > 0 {
			t.Errorf("store (vendor view %v): %q", withVendor, f)
		}
	}
}

func TestMutantsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		kind, bug, subtest string // the subtest that must report it
	}{
		{"helpdesk", "DeliveryKey ignored", "upsert is idempotent"},
		{"helpdesk", "edit not written", "upsert is idempotent"},
		{"helpdesk", "tags only added", "upsert is idempotent"},
		{"helpdesk", "staff tags dropped", "upsert is idempotent"},
		{"helpdesk", "staff tags dropped on redelivery", "upsert is idempotent"},
		{"helpdesk", "WriteReplyResult does nothing", "outcome note"},
		{"helpdesk", "outcome written twice", "outcome note"},
		{"helpdesk", "outcome note public", "outcome note"},
		{"helpdesk", "unknown ticket unclassified", "unknown ticket is NotFound"},
		{"helpdesk", "unclassified errors", "helpdesk errors are classified"},
		{"helpdesk", "5xx is permanent", "helpdesk errors are classified"},
		{"helpdesk", "401 retried as Unavailable", "helpdesk errors are classified"},
		{"helpdesk", "no HelpdeskCapabilities", "info"},
		{"helpdesk", "StoreCapabilities on a helpdesk", "info"},
		{"helpdesk", "token not Secret", "info"},
		{"helpdesk", "message id unstable", "staff answer in a signed webhook"},
		{"helpdesk", "message id not unique", "staff answer in a signed webhook"},
		{"helpdesk", "webhook answers nothing", "staff answer in a signed webhook"},
		{"helpdesk", "webhook not authenticated", "staff answer in a signed webhook"},
		{"store", "reply not posted", "reply is visible"},
		{"store", "over-long reply sent", "over-long reply is refused before any call"},
		{"store", "edits not listed", "edited review is listed again"},
		{"store", "unclassified errors", "store errors are classified"},
		{"store", "5xx is permanent", "store errors are classified"},
		{"store", "no reply limit", "info"},
		{"store", "HelpdeskCapabilities on a store", "info"},
		{"store", "key not Secret", "info"},
	} {
		t.Run(tc.kind+"/"+tc.bug, func(t *testing.T) {
			run := runStoreSuite
			if tc.kind == "helpdesk" {
				run = runDesk
			}
			findings := run(t, tc.bug, true)
			caught := false
			for _, f := range findings {
				caught = caught || strings.HasPrefix(f, tc.subtest)
			}
			if !caught {
				t.Errorf("mutant %q not caught by %q; findings: %q", tc.bug, tc.subtest, findings)
			}
			t.Logf("findings: %q", findings)
		})
	}
}

// A setting named like a credential that is none is exempted by NotSecret.
func TestNotSecretExempts(t *testing.T) {
	s := newMemStore()
	_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3, Text: "ok"})
	rec := newRecorder(t)
	runStore(rec, storePlugin{s: s, bug: "key not Secret"}, StoreSuite{AppID: "app", NotSecret: []string{"private_key"}})
	if len(*rec.findings) > 0 {
		t.Errorf("findings %q", *rec.findings)
	}
}

// A tag check that fails after the edit and again after its redelivery is
// reported once.
func TestTagFailuresReportedOnce(t *testing.T) {
	for bug, check := range map[string]string{
		"staff tags dropped": "lost the staff's own tag",
		"tags only added":    `the earlier version's tag "rating:2" is still there`,
	} {
		n := 0
		for _, f := range runDesk(t, bug, true) {
			if strings.Contains(f, check) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %q reported %d times, want once", bug, check, n)
		}
	}
}
