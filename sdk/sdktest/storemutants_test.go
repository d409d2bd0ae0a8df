package sdktest

import (
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// The catalogue of broken store plugins: datePlugin with one mistake each,
// over dateStore and its vendor view. The store kit must report each in
// the subtest named; the correct plugin must pass. The mistakes include
// every one the SDK's second outside trial planted in its AppGallery
// plugin (docs: shared/docs/2026-12/sdk-trial-2.md, X1–X5), which the kit
// of that time passed in part.

func runDateStore(t *testing.T, bug, viewBug string, withVendor bool) []string {
	t.Helper()
	s := newDateStore()
	s.viewBug = viewBug
	old := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3, Text: "ok", CreatedAt: old, UpdatedAt: old})
	suite := StoreSuite{Settings: sdk.Settings{"api_key": "k"}, AppID: "app", ReviewID: "r1"}
	if withVendor {
		suite.Vendor = s
	}
	rec := newRecorder(t)
	runStore(rec, datePlugin{s: s, bug: bug}, suite)
	return *rec.findings
}

func TestCorrectDateStorePasses(t *testing.T) {
	for _, withVendor := range []bool{true, false} {
		if f := runDateStore(t, "", "", withVendor); len(f) > 0 {
			t.Errorf("vendor view %v: %q", withVendor, f)
		}
	}
}

func TestStoreMutantsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		bug, subtest string // the subtest that must report it
		trial        string // the trial's name of the mistake, if it planted it
	}{
		// Listing.
		{"cursor ignored", "listing from the cursor: edits, arrivals, nothing older", "X1"},
		{"cursor is the listing's time", "listing from the cursor: edits, arrivals, nothing older", "X1b"},
		{"last day only", "first listing reaches every page and the backlog", "X1c"},
		{"no next page", "first listing reaches every page and the backlog", "X4"},
		{"page repeated", "first listing reaches every page and the backlog", "X4b"},
		{"edits not listed", "listing from the cursor: edits, arrivals, nothing older", ""},
		{"stops at the first page's total", "first listing reaches every page and the backlog", ""},
		// Replies.
		{"no reply limit", "info", "X2"},
		{"reply limit larger than the store's", "reply at the declared limit is visible", "X2b"},
		{"reply cut", "reply is visible at the store", "X2c"},
		{"reply limit counted in bytes", "reply at the declared limit is visible", ""},
		{"reply not posted", "reply is visible at the store", ""},
		{"over-long reply sent", "over-long reply is refused before any call", ""},
		{"PostReply not idempotent", "reply is visible at the store", "X5"},
		// Errors.
		{"unclassified errors", "store errors are classified", "X3"},
		{"unknown app unclassified", "unknown app is classified", "X3b"},
		{"every error Unavailable", "store errors are classified", "X3c"},
		{"5xx is permanent", "store errors are classified", ""},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			findings := runDateStore(t, tc.bug, "", true)
			caught := false
			for _, f := range findings {
				caught = caught || strings.HasPrefix(f, tc.subtest+":")
			}
			if !caught {
				t.Errorf("mutant %q (trial %s) not caught by %q; findings: %q", tc.bug, tc.trial, tc.subtest, findings)
			}
			t.Logf("findings: %q", findings)
		})
	}
}

// A fake that embeds faults.Faults but never calls Next (the trial's
// F1_fake_ignores_faults): the kit reports the view as broken and blames
// the correct plugin for nothing.
func TestFakeIgnoringFaultsIsABrokenView(t *testing.T) {
	findings := runDateStore(t, "", "ignores faults", true)
	if len(findings) != 1 || !strings.HasPrefix(findings[0], "vendor view is sound: the vendor view is broken, not the plugin") {
		t.Fatalf("findings %q, want exactly one: the vendor view is broken", findings)
	}
}

// The same through the shared fault check when the view is used without
// the store's soundness check (a helpdesk view, or a custom one).
func TestCheckFaultsNamesABrokenView(t *testing.T) {
	s := newDateStore()
	s.viewBug = "ignores faults"
	_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3})
	rec := newRecorder(t)
	rec.Run("errors", func(t tester) {
		checkFaults(t, s, func() error {
			_, _, err := s.list("app", 0, 1)
			return err
		})
	})
	if f := *rec.findings; len(f) != 1 || !strings.Contains(f[0], "the vendor view is broken") {
		t.Fatalf("findings %q", f)
	}
	rec = newRecorder(t)
	rec.Run("errors", func(t tester) { checkFaults(t, nil, func() error { return nil }) })
	if f := *rec.findings; len(f) != 0 {
		t.Fatalf("a nil view: findings %q, want a skip", f)
	}
}

// Each failure is reported once: the same line twice (the trial saw every
// tag failure printed twice) makes a report harder to read.
func TestEachFindingOnce(t *testing.T) {
	runs := map[string][]string{
		"helpdesk/tags only added":    runDesk(t, "tags only added", true),
		"helpdesk/staff tags dropped": runDesk(t, "staff tags dropped", true),
	}
	for _, bug := range []string{"page repeated", "no next page", "cursor ignored", "reply cut", "unclassified errors"} {
		runs["store/"+bug] = runDateStore(t, bug, "", true)
	}
	for name, findings := range runs {
		seen := map[string]bool{}
		for _, f := range findings {
			if seen[f] {
				t.Errorf("%s: reported more than once: %q", name, f)
			}
			seen[f] = true
		}
	}
}

// A view that dates reviews by the time of the call, not the dates the kit
// sends (the trial's view did): reported, since the cursor checks would
// pass or fail by chance, whether the plugin is correct or not.
func TestViewStampingNowIsReported(t *testing.T) {
	for _, bug := range []string{"", "cursor is the listing's time"} {
		findings := runDateStore(t, bug, "stamps the time of the call", true)
		reported := false
		for _, f := range findings {
			reported = reported || strings.HasPrefix(f, "first listing reaches every page and the backlog: ") && strings.Contains(f, "another date than the kit put them with")
		}
		if !reported {
			t.Errorf("plugin bug %q: a view stamping the time of the call is not reported; findings %q", bug, findings)
		}
	}
}

// Without a vendor view the checks that need one say so, naming the view,
// not a part of it (the trial saw "the vendor view has no Fail" with no
// view at all).
func TestNilViewSaysSo(t *testing.T) {
	s := newDateStore()
	rec := newRecorder(t)
	runStore(rec, datePlugin{s: s}, StoreSuite{Settings: sdk.Settings{"api_key": "k"}, AppID: "app"})
	d := newMemDesk()
	runHelpdesk(rec, deskPlugin{d: d}, HelpdeskSuite{Settings: sdk.Settings{"api_token": "t", "webhook_secret": "hook-secret"}, IntegrationID: "i"})
	for _, check := range []string{"store errors are classified", "helpdesk errors are classified", "first listing reaches every page and the backlog",
		"reply at the declared limit is visible", "staff answer in a signed webhook is one reply"} {
		found := false
		for _, s := range *rec.skips {
			found = found || strings.HasPrefix(s, check+": no vendor view")
		}
		if !found {
			t.Errorf("%q does not say it has no vendor view; skips: %q", check, *rec.skips)
		}
	}
}
