package sdktest

import (
	"context"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// The kit drives any plugin through sdk.StorePlugin / sdk.HelpdeskPlugin,
// whichever interface the plugin's author implemented: a plugin written
// for SDK v0.1 (sdk.Store, sdk.Helpdesk) is run through sdk.AdaptStore /
// sdk.AdaptHelpdesk. The in-memory plugins implement the request/response
// interfaces; v01Store and v01Desk present the same plugins in the older
// positional form. Both forms must pass when correct and be caught when
// wrong. (Over the wire the kit sees sdk/host's client either way;
// sdk/compat_test.go runs a v0.1 binary, examples/echostore a new one.)

// v01Store is the in-memory store written for SDK v0.1.
type v01Store struct{ p storePlugin }

var _ sdk.Store = v01Store{}

func (s v01Store) Info(ctx context.Context) (sdk.Info, error) {
	return s.p.Info(ctx, sdk.InfoRequest{})
}

func (s v01Store) CheckCredentials(ctx context.Context, set sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	return s.p.CheckCredentials(ctx, sdk.CheckCredentialsRequest{Settings: set, AppID: appID})
}

func (s v01Store) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	return s.p.ListReviews(ctx, req)
}

func (s v01Store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	return s.p.reply(ctx, req)
}

func (s v01Store) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) error {
	_, err := s.p.DeleteReply(ctx, req)
	return err
}

// v01Desk is the in-memory helpdesk written for SDK v0.1.
type v01Desk struct{ p deskPlugin }

var _ sdk.Helpdesk = v01Desk{}

func (d v01Desk) Info(ctx context.Context) (sdk.Info, error) { return d.p.Info(ctx, sdk.InfoRequest{}) }

func (d v01Desk) CheckCredentials(ctx context.Context, set sdk.Settings) (sdk.CredentialsReport, error) {
	return d.p.CheckCredentials(ctx, sdk.CheckCredentialsRequest{Settings: set})
}

func (d v01Desk) UpsertTicket(ctx context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	return d.p.UpsertTicket(ctx, req)
}

func (d v01Desk) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	return d.p.HandleWebhook(ctx, req)
}

func (d v01Desk) WriteReplyResult(ctx context.Context, req sdk.ReplyResultRequest) error {
	return d.p.writeResult(ctx, req)
}

func TestKitRunsPluginsWrittenEitherWay(t *testing.T) {
	var _ sdk.StorePlugin = storePlugin{}
	var _ sdk.HelpdeskPlugin = deskPlugin{}
	stores := map[string]func(storePlugin) sdk.AnyStore{
		"StorePlugin":    func(p storePlugin) sdk.AnyStore { return p },
		"v0.1 sdk.Store": func(p storePlugin) sdk.AnyStore { return v01Store{p} },
	}
	for form, wrap := range stores {
		for _, tc := range []struct{ bug, subtest string }{{"", ""}, {"reply not posted", "reply is visible"}, {"key not Secret", "info"}} {
			s := newMemStore()
			_, _ = s.PutReview(t.Context(), "app", sdk.Review{ID: "r1", Rating: 3, Text: "ok"})
			rec := newRecorder(t)
			runStore(rec, wrap(storePlugin{s: s, bug: tc.bug}), StoreSuite{Settings: sdk.Settings{"private_key": "k"}, AppID: "app", ReviewID: "r1", Vendor: s})
			checkFindings(t, form, tc.bug, tc.subtest, *rec.findings)
		}
	}
	desks := map[string]func(deskPlugin) sdk.AnyHelpdesk{
		"HelpdeskPlugin":    func(p deskPlugin) sdk.AnyHelpdesk { return p },
		"v0.1 sdk.Helpdesk": func(p deskPlugin) sdk.AnyHelpdesk { return v01Desk{p} },
	}
	for form, wrap := range desks {
		for _, tc := range []struct{ bug, subtest string }{{"", ""}, {"WriteReplyResult does nothing", "outcome note"}, {"token not Secret", "info"}} {
			d := newMemDesk()
			rec := newRecorder(t)
			runHelpdesk(rec, wrap(deskPlugin{d: d, bug: tc.bug}),
				HelpdeskSuite{Settings: sdk.Settings{"api_token": "t", "webhook_secret": "hook-secret"}, IntegrationID: "i", Vendor: d})
			checkFindings(t, form, tc.bug, tc.subtest, *rec.findings)
		}
	}
}

// checkFindings: a correct plugin (bug "") has none, a mutant is reported
// by subtest.
func checkFindings(t *testing.T, form, bug, subtest string, findings []string) {
	t.Helper()
	if bug == "" {
		if len(findings) > 0 {
			t.Errorf("%s, correct: findings %q", form, findings)
		}
		return
	}
	for _, f := range findings {
		if strings.HasPrefix(f, subtest) {
			return
		}
	}
	t.Errorf("%s, mutant %q not caught by %q; findings: %q", form, bug, subtest, findings)
}

// A value that is neither form is refused by name, not run.
func TestKitRefusesANonPlugin(t *testing.T) {
	rec := newRecorder(t)
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stopped); !ok {
					panic(v)
				}
			}
		}()
		runStore(rec, onlyLists{}, StoreSuite{AppID: "app"})
	}()
	got := strings.Join(*rec.findings, "\n")
	if !strings.Contains(got, "Info is missing") || !strings.Contains(got, "sdk.StorePlugin") {
		t.Errorf("findings %q, want the missing methods named", got)
	}
}

type onlyLists struct{}

func (onlyLists) ListReviews(context.Context, sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	return sdk.ListReviewsResponse{}, nil
}
