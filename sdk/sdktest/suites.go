package sdktest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func ctx(t tester) context.Context { return Context(t) }

// SampleChange is a review change the suites deliver.
func SampleChange(id string) sdk.ReviewChange {
	return sdk.ReviewChange{
		Store: "sdktest", StoreName: "Conformance Store", AppName: "Conformance App", Kind: sdk.ChangeKindNew,
		Review: sdk.Review{
			ID: id, AppID: "app", Author: "Tester", Rating: 2, Title: "Crashes", Text: "It crashes on start.",
			Language: "en", Country: "US", AppVersion: "1.0", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		CanReply: true, ReplyMaxLength: 350,
	}
}

var nonceSeq atomic.Int64

// nonce is a name no earlier run used against the same backend.
func nonce(what string) string {
	return fmt.Sprintf("sdktest-%s-%s-%d", what, time.Now().UTC().Format("20060102150405.000000"), nonceSeq.Add(1))
}

// checkInfo checks what every plugin declares: its kind, name and version,
// the settings schema (keys and labels, each once, credentials Secret but
// those in notSecret) and its capabilities (of its own kind only).
func checkInfo(t tester, info sdk.Info, kind sdk.PluginKind, notSecret []string) {
	t.Helper()
	if info.Kind != kind || info.Name == "" || info.Version == "" {
		t.Errorf("Info: kind %q, name %q, version %q: want %s with a name and version", info.Kind, info.Name, info.Version, kind)
	}
	checkSettingsSchema(t, info.Settings, notSecret)
	switch {
	case kind == sdk.PluginKindStore && info.Store == nil:
		t.Errorf("Info: no StoreCapabilities (Info.Store): the hub needs the reply limit, listing and quotas")
	case kind == sdk.PluginKindHelpdesk && info.Helpdesk == nil:
		t.Errorf("Info: no HelpdeskCapabilities (Info.Helpdesk): the hub cannot know whether to send tags")
	case kind == sdk.PluginKindStore && info.Helpdesk != nil, kind == sdk.PluginKindHelpdesk && info.Store != nil:
		t.Errorf("Info: a %s declares the capabilities of the other kind (Store %v, Helpdesk %v)", kind, info.Store != nil, info.Helpdesk != nil)
	case kind == sdk.PluginKindNotifier && info.Notifier == nil:
		t.Errorf("Info: no NotifierCapabilities (Info.Notifier): the hub needs the text limit and whether the destination threads")
	case kind == sdk.PluginKindNotifier && (info.Store != nil || info.Helpdesk != nil),
		kind != sdk.PluginKindNotifier && info.Notifier != nil:
		t.Errorf("Info: a %s declares the capabilities of another kind (Store %v, Helpdesk %v, Notifier %v)", kind,
			info.Store != nil, info.Helpdesk != nil, info.Notifier != nil)
	}
}

func checkSettingsSchema(t tester, fields []sdk.SettingField, notSecret []string) {
	t.Helper()
	keys := map[string]bool{}
	for _, f := range fields {
		if f.Key == "" || f.Label == "" {
			t.Errorf("setting field without key or label: %+v", f)
		}
		if keys[f.Key] {
			t.Errorf("setting %q declared twice", f.Key)
		}
		keys[f.Key] = true
		if secretLooking(f.Key) && !f.Secret && !slices.Contains(notSecret, f.Key) {
			t.Errorf("setting %q names a credential but is not Secret: the hub would show and log its value (a key that is no credential goes in the suite's NotSecret)", f.Key)
		}
	}
}

// faultStatuses are the vendor answers the suites make the plugin meet:
// each must come back as a classified error, a 5xx as a transient one.
// (429 is left out: a plugin may rightly hold the account after it.)
var faultStatuses = []int{400, 401, 403, 404, 500, 503}

// checkFaults makes the vendor answer each of faultStatuses to every call
// of call, and checks the error call returns.
func checkFaults(t tester, vendor any, call func() error) {
	t.Helper()
	if vendor == nil {
		t.Skip("no vendor view (the suite's Vendor): how the plugin meets the vendor's errors is not checked")
	}
	fi, ok := vendor.(FaultInjector)
	if !ok {
		t.Skip("the vendor view has no Fail (FaultInjector): how the plugin meets the vendor's errors is not checked")
	}
	counter, counts := vendor.(interface{ Calls() int })
	pf, hasPending := vendor.(pendingFaults)
	defer fi.Fail(0, 0)
	for _, status := range faultStatuses {
		var calls int
		if counts {
			calls = counter.Calls()
		}
		fi.Fail(1000, status) // every call, retries inside the plugin's call included
		err := call()
		pending := -1
		if hasPending {
			pending = pf.Pending()
		}
		fi.Fail(0, 0)
		kind := sdk.KindOf(err)
		switch {
		case err == nil && counts && counter.Calls() == calls:
			t.Fatalf("the vendor view is broken, or the plugin called no API: told to answer %d to every call, the view counted none (Calls() stayed %d) "+
				"and the plugin answered no error. A fake's handler must call faults.Next once for every request", status, calls)
		case err == nil && pending == 1000:
			t.Fatalf("the vendor view is broken, not the plugin: told to answer %d to every call, it handed out none of the faults (Pending() stayed 1000) "+
				"and the plugin answered no error. A fake's handler must answer the fault faults.Next returns", status)
		case err == nil:
			t.Errorf("the vendor answered %d to every call, the plugin answered no error", status)
		case kind == sdk.ErrorKindUnknown:
			t.Errorf("the vendor answered %d: the error is not classified (sdk.Errorf, sdk.HTTPError): %v", status, err)
		case status >= 500 && kind.Permanent():
			t.Errorf("the vendor answered %d: kind %v is permanent (the hub gives up); a 5xx is transient (Unavailable): %v", status, kind, err)
		case kind != sdk.KindFromHTTPStatus(status):
			// A plain error answer means what HTTP says (the fakes' injected
			// faults carry no vendor detail that could say otherwise): a
			// 401 retried as Unavailable would hide revoked credentials.
			t.Errorf("the vendor answered a plain %d: kind %v, want %v (sdk.KindFromHTTPStatus): %v", status, kind, sdk.KindFromHTTPStatus(status), err)
		}
	}
}

// hasText reports whether one of texts contains s.
func hasText(texts []string, s string) bool {
	for _, x := range texts {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}
