package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

type fakeDesk struct {
	sdk.HelpdeskPlugin
	report sdk.CheckCredentialsResponse
	err    error
}

func (d *fakeDesk) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return d.report, d.err
}

type fakeStore struct {
	sdk.StorePlugin
	report  sdk.CheckCredentialsResponse
	err     error
	page    sdk.ListReviewsResponse
	listErr error
	mu      sync.Mutex
	asked   []sdk.ListReviewsRequest
	// barrier, when set, holds each credentials check until this many are
	// waiting at once (or the call's deadline passes).
	barrier *sync.WaitGroup
}

func (s *fakeStore) CheckCredentials(ctx context.Context, _ sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	if s.barrier != nil {
		s.barrier.Done()
		met := make(chan struct{})
		go func() { s.barrier.Wait(); close(met) }()
		select {
		case <-met:
		case <-ctx.Done():
			return sdk.CheckCredentialsResponse{}, ctx.Err()
		}
	}
	return s.report, s.err
}

func (s *fakeStore) ListReviews(_ context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	s.mu.Lock()
	s.asked = append(s.asked, req)
	s.mu.Unlock()
	return s.page, s.listErr
}

type fakePlugins struct {
	desk  *fakeDesk
	store *fakeStore
}

var (
	deskInfo  = sdk.Info{Kind: sdk.PluginKindHelpdesk, Settings: []sdk.SettingField{{Key: "key", Required: true, Secret: true}}}
	storeInfo = sdk.Info{Kind: sdk.PluginKindStore, Settings: []sdk.SettingField{{Key: "key", Secret: true}},
		Store: &sdk.StoreCapabilities{CanReply: true, PublicListing: true, SourceFilters: []string{sdk.FilterCountry}}}
)

func (p fakePlugins) Info(name string) (sdk.Info, bool) {
	switch name {
	case "desk":
		return deskInfo, true
	case "store":
		return storeInfo, true
	}
	return sdk.Info{}, false
}

func (p fakePlugins) Store(name string) (sdk.StorePlugin, sdk.Info, error) {
	if name != "store" {
		return nil, sdk.Info{}, errors.New("no store " + name)
	}
	return p.store, storeInfo, nil
}

func (p fakePlugins) Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	if name != "desk" {
		return nil, sdk.Info{}, errors.New("no helpdesk " + name)
	}
	return p.desk, deskInfo, nil
}

func integration() state.Integration {
	in := state.Integration{ID: "acme", HelpdeskPlugin: "desk", HelpdeskSettings: sdk.Settings{"key": "k"},
		Apps: []state.App{{ID: "ios", StorePlugin: "store", StoreAppID: "123", StoreSettings: sdk.Settings{"key": "k"}}}}
	in.Apps[0].Filters.Countries = []string{"RU"}
	return in
}

func line(t *testing.T, lines []Line, name string) Line {
	t.Helper()
	for _, l := range lines {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no line %q in %+v", name, lines)
	return Line{}
}

func TestWebhookMatchMismatchUnknown(t *testing.T) {
	const public = "https://hub.example/"
	for _, tc := range []struct {
		name, reported, status, lineStatus string
		err                                error
	}{
		{"match", "https://HUB.example:443/hooks/desk/acme/?secret=REDACTED", WebhookMatch, OK, nil},
		{"mismatch", "https://old.example/hooks/desk/acme?secret=leaked-s3cret", WebhookMismatch, Fail, nil},
		{"other integration", "https://hub.example/hooks/desk/beta", WebhookMismatch, Fail, nil},
		{"not said", "", WebhookUnknown, Warn, nil},
		{"credentials fail", "https://hub.example/hooks/desk/acme", WebhookUnknown, Warn, sdk.Errorf(sdk.ErrorKindUnauthenticated, "API key refused")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fakePlugins{desk: &fakeDesk{report: sdk.CheckCredentialsResponse{WebhookURL: tc.reported,
				Checks: []sdk.Check{{Name: "channel", Status: OK, Detail: "reviews"}, {Name: "odd", Status: "great"}}}, err: tc.err},
				store: &fakeStore{report: sdk.CheckCredentialsResponse{CanReply: true}}}
			rep := Run(context.Background(), integration(), p, Options{PublicURL: public})
			if rep.Helpdesk.Webhook.Status != tc.status || rep.Helpdesk.Webhook.Hub != "https://hub.example/hooks/desk/acme" {
				t.Errorf("webhook %+v", rep.Helpdesk.Webhook)
			}
			l := line(t, rep.Helpdesk.Lines, LineWebhookURL)
			if l.Status != tc.lineStatus {
				t.Errorf("webhook line %+v", l)
			}
			raw, _ := json.Marshal(rep)
			if strings.Contains(string(raw), "leaked-s3cret") {
				t.Errorf("a secret in the report: %s", raw)
			}
			if tc.status == WebhookMismatch && !strings.Contains(l.Detail, "secret=REDACTED") && tc.name == "mismatch" {
				t.Errorf("mismatch detail does not show the redacted helpdesk URL: %s", l.Detail)
			}
			if tc.err != nil {
				if c := line(t, rep.Helpdesk.Lines, LineCredentials); c.Status != Fail || !strings.Contains(c.Detail, "API key refused") {
					t.Errorf("credentials line %+v", c)
				}
				return
			}
			if c := line(t, rep.Helpdesk.Lines, "channel"); c.Status != OK {
				t.Errorf("plugin check line %+v", c)
			}
			if c := line(t, rep.Helpdesk.Lines, "odd"); c.Status != Warn || !strings.Contains(c.Detail, `"great"`) {
				t.Errorf("unknown status line %+v", c)
			}
		})
	}
}

func TestAppLinesAndStatus(t *testing.T) {
	store := &fakeStore{
		report: sdk.CheckCredentialsResponse{CanReply: false, Detail: "key of role Viewer",
			Checks: []sdk.Check{{Name: "quota", Status: Warn, Detail: "12 requests left today"}}},
		page: sdk.ListReviewsResponse{Reviews: make([]sdk.Review, 3), NextPageToken: "p2", Cursor: "c",
			Unreadable: []sdk.Unreadable{{ID: "x", Reason: "rating missing"}}},
	}
	p := fakePlugins{desk: &fakeDesk{report: sdk.CheckCredentialsResponse{WebhookURL: "https://hub.example/hooks/desk/acme"}}, store: store}
	rep := Run(context.Background(), integration(), p, Options{PublicURL: "https://hub.example"})
	if !rep.OK || rep.Status != Warn || rep.Counts[Warn] != 3 || rep.Counts[Fail] != 0 {
		t.Errorf("status %s ok %v counts %v", rep.Status, rep.OK, rep.Counts)
	}
	a := rep.Apps[0]
	if a.CanReply == nil || *a.CanReply || a.Listing == nil || *a.Listing != (Listing{Reviews: 3, Unreadable: 1, MorePages: true}) {
		t.Errorf("app %+v listing %+v", a, a.Listing)
	}
	if l := line(t, a.Lines, LineReplies); l.Status != Warn || !strings.Contains(l.Detail, "read-only") {
		t.Errorf("replies %+v", l)
	}
	if l := line(t, a.Lines, LineListing); !strings.Contains(l.Detail, "3 reviews") || !strings.Contains(l.Detail, "rating missing") {
		t.Errorf("listing %+v", l)
	}
	if len(store.asked) != 1 || store.asked[0].Cursor != "" || store.asked[0].PageToken != "" || store.asked[0].AppID != "123" ||
		len(store.asked[0].Countries) != 1 {
		t.Errorf("listing asked %+v", store.asked)
	}

	// Failures: the listing and the credentials fail; a missing setting is named.
	store.err, store.listErr = sdk.Errorf(sdk.ErrorKindPermissionDenied, "no access to app 123"), sdk.Errorf(sdk.ErrorKindUnavailable, "store down")
	in := integration()
	in.Apps = append(in.Apps, state.App{ID: "web", StorePlugin: "store"}, state.App{ID: "gone", StorePlugin: "nostore", StoreAppID: "1"})
	rep = Run(context.Background(), in, p, Options{PublicURL: "https://hub.example"})
	if rep.OK || rep.Status != Fail || len(rep.Apps) != 3 {
		t.Fatalf("status %s ok %v apps %d", rep.Status, rep.OK, len(rep.Apps))
	}
	if l := line(t, rep.Apps[0].Lines, LineCredentials); l.Status != Fail || !strings.Contains(l.Detail, "no access") {
		t.Errorf("credentials %+v", l)
	}
	if l := line(t, rep.Apps[0].Lines, LineListing); l.Status != Fail || !strings.Contains(l.Detail, "store down") {
		t.Errorf("listing %+v", l)
	}
	if l := line(t, rep.Apps[1].Lines, LineSettings); l.Status != Fail || !strings.Contains(l.Detail, "store_app_id") {
		t.Errorf("settings %+v", l)
	}
	if l := line(t, rep.Apps[2].Lines, LineSettings); l.Status != Fail || !strings.Contains(l.Detail, `"nostore"`) {
		t.Errorf("unknown plugin %+v", l)
	}
	var out bytes.Buffer
	Print(&out, rep)
	for _, want := range []string{"helpdesk desk", "app ios (store 123)", "fail  credentials", "integration acme: fail ("} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPluginProblemAndMissingHelpdesk(t *testing.T) {
	in := integration()
	in.HelpdeskPlugin = "crashdesk"
	rep := Run(context.Background(), in, fakePlugins{store: &fakeStore{}}, Options{PublicURL: "http://h",
		PluginProblem: func(name string) string { return "exec format error" }})
	if l := line(t, rep.Helpdesk.Lines, LinePlugin); l.Status != Fail || !strings.Contains(l.Detail, "exec format error") {
		t.Errorf("plugin line %+v", l)
	}
	if l := line(t, rep.Helpdesk.Lines, LineWebhookURL); l.Status != Warn || rep.Helpdesk.Webhook.Status != WebhookUnknown {
		t.Errorf("webhook %+v", l)
	}
}

func TestSameEndpoint(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"http://h:8080/hooks/x/y?secret=1", "http://h:8080/hooks/x/y", true},
		{"HTTP://H/hooks/x/y/", "http://h:80/hooks/x/y", true},
		{"https://h/hooks/x/y", "http://h/hooks/x/y", false},
		{"http://h:8081/hooks/x/y", "http://h:8080/hooks/x/y", false},
		{"/hooks/x/y", "/hooks/x/y", false},
		{"http://h/hooks/x/Y", "http://h/hooks/x/y", false},
		{"::", "http://h", false},
	} {
		if got := SameEndpoint(tc.a, tc.b); got != tc.want {
			t.Errorf("SameEndpoint(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// Apps are checked at once (a bounded number at a time), in the report's
// order: three apps whose checks only finish together all pass.
func TestAppsAreCheckedInParallel(t *testing.T) {
	in := integration()
	for _, id := range []string{"android", "huawei"} {
		a := in.Apps[0]
		a.ID = id
		in.Apps = append(in.Apps, a)
	}
	barrier := &sync.WaitGroup{}
	barrier.Add(3)
	st := &fakeStore{report: sdk.CheckCredentialsResponse{CanReply: true}, barrier: barrier}
	rep := Run(context.Background(), in, fakePlugins{desk: &fakeDesk{}, store: st}, Options{Timeout: 20 * time.Second, Parallel: 3})
	for i, want := range []string{"ios", "android", "huawei"} {
		if rep.Apps[i].ID != want {
			t.Errorf("app %d is %s, want %s (the order of the integration)", i, rep.Apps[i].ID, want)
		}
		for _, l := range rep.Apps[i].Lines {
			if l.Name == LineCredentials && l.Status != OK {
				t.Errorf("%s: %+v (checked one after another?)", want, l)
			}
		}
	}
}

// The report by app, as the app's health records it: the helpdesk's
// failure counts for every app; a warning only when nothing fails. A store
// app that another integration on the same helpdesk plugin also has is
// warned; one on another helpdesk plugin is not.
func TestByAppAndDuplicates(t *testing.T) {
	in := integration()
	in.Apps = append(in.Apps, state.App{ID: "android", StorePlugin: "store", StoreAppID: "456", StoreSettings: sdk.Settings{"key": "k"}})
	others := []state.Integration{
		{ID: "demo", HelpdeskPlugin: "desk", Apps: []state.App{{ID: "x", StorePlugin: "store", StoreAppID: "456"}}},
		{ID: "elsewhere", HelpdeskPlugin: "otherdesk", Apps: []state.App{{ID: "y", StorePlugin: "store", StoreAppID: "123"}}},
		in, // itself
	}
	ok := &fakeStore{report: sdk.CheckCredentialsResponse{CanReply: true}}
	good := fakePlugins{desk: &fakeDesk{report: sdk.CheckCredentialsResponse{WebhookURL: "https://hub.example/hooks/desk/acme"}}, store: ok}
	by := Run(context.Background(), in, good, Options{PublicURL: "https://hub.example", Others: others}).ByApp()
	if c := by["ios"]; c.Status != OK || c.Problem != "" {
		t.Errorf("ios %+v, want ok", c)
	}
	if c := by["android"]; c.Status != Warn || !strings.Contains(c.Problem, `integration "demo"`) || !strings.Contains(c.Problem, LineDuplicate) {
		t.Errorf("android %+v, want the duplicate warned", c)
	}
	elsewhere := fakePlugins{desk: &fakeDesk{report: sdk.CheckCredentialsResponse{WebhookURL: "https://old.example/hooks/desk/acme"}}, store: ok}
	by = Run(context.Background(), in, elsewhere, Options{PublicURL: "https://hub.example", Others: others}).ByApp()
	for _, app := range []string{"ios", "android"} {
		if c := by[app]; c.Status != Fail || !strings.Contains(c.Problem, LineWebhookURL) || strings.Contains(c.Problem, LineDuplicate) {
			t.Errorf("%s %+v, want the helpdesk's webhook failure (the warning left out)", app, c)
		}
	}
}
