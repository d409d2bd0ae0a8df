package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const secret = "s3cret"

type env struct {
	fake     *fake.Server
	api      *httptest.Server
	desk     sdk.Helpdesk
	settings sdk.Settings
}

func start(t *testing.T) *env {
	t.Helper()
	f := fake.New(fake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "key-1"})
	api := httptest.NewServer(f)
	t.Cleanup(api.Close)
	bin := sdktest.Build(t, ".")
	return &env{fake: f, api: api, desk: sdktest.LaunchHelpdesk(t, bin), settings: f.Settings(api.URL, secret)}
}

func ctx(t *testing.T) context.Context { return sdktest.Context(t) }

func TestConformance(t *testing.T) {
	e := start(t)
	sdktest.RunHelpdesk(t, e.desk, sdktest.HelpdeskSuite{Settings: e.settings, IntegrationID: "acme"})
}

func change(kind string, rating int, text string, history ...sdk.ReviewVersion) sdk.ReviewChange {
	return sdk.ReviewChange{Store: "googleplay", AppName: "ACME", Kind: kind, History: history, CanReply: true, ReplyMaxLength: 350,
		Review: sdk.Review{ID: "gp-1", Author: "Kenji", Rating: rating, Text: text, Language: "ja", AppVersion: "3.2",
			UpdatedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}}
}

// A review becomes a case with labels, history and the case field; an edit
// lands in the same case; a retried create makes no duplicate.
func TestReviewBecomesCaseAndEditLandsInIt(t *testing.T) {
	e := start(t)
	tags := []string{"googleplay", "rating:1", "language:ja"}
	first, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, IntegrationID: "acme",
		Change: change(sdk.ChangeNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if err != nil || !first.Created {
		t.Fatalf("create: %+v, %v", first, err)
	}
	c, ok := e.fake.CaseByReviewID("gp-1")
	if !ok || c.ID != first.ID {
		t.Fatalf("case by review id: %+v %v, want %s", c, ok, first.ID)
	}
	if c.Channel != fake.ChannelCode || c.CustomFields[fake.FieldKey] != "gp-1" {
		t.Errorf("channel %q fields %v", c.Channel, c.CustomFields)
	}
	if strings.Join(c.Labels, ",") != strings.Join(tags, ",") {
		t.Errorf("labels %v, want %v", c.Labels, tags)
	}
	if !strings.Contains(c.Subject, "★☆☆☆☆ Kenji on Google Play") || !strings.Contains(c.Messages[0].Content, "アプリが起動しません") {
		t.Errorf("subject %q content %q", c.Subject, c.Messages[0].Content)
	}
	// The hub crashed after the create: the retry (no ticket id) finds the case.
	again, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, IntegrationID: "acme",
		Change: change(sdk.ChangeNew, 1, "アプリが起動しません"), Tags: tags, DeliveryKey: "gp-1/1"})
	if err != nil || again.ID != first.ID || again.Created {
		t.Fatalf("retried create: %+v, %v", again, err)
	}
	edit := change(sdk.ChangeBetter, 4, "直りました", sdk.ReviewVersion{Rating: 1, Text: "アプリが起動しません", Reply: &sdk.DeveloperReply{Text: "We are on it"}})
	for range 2 { // delivered twice, added once
		ref, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, IntegrationID: "acme",
			TicketID: first.ID, Change: edit, Tags: []string{"googleplay", "rating:4"}, DeliveryKey: "gp-1/2"})
		if err != nil || ref.ID != first.ID || ref.Created {
			t.Fatalf("edit: %+v, %v", ref, err)
		}
	}
	if n := e.fake.CaseCount(); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	c, _ = e.fake.CaseByReviewID("gp-1")
	if len(c.Messages) != 2 {
		t.Fatalf("%d messages, want 2", len(c.Messages))
	}
	for _, want := range []string{"rating 1 → 4", "直りました", "Earlier versions", "アプリが起動しません", "developer reply: We are on it"} {
		if !strings.Contains(c.Messages[1].Content, want) {
			t.Errorf("edit message lacks %q:\n%s", want, c.Messages[1].Content)
		}
	}
	if strings.Join(c.Labels, ",") != "googleplay,rating:4" {
		t.Errorf("labels after edit %v", c.Labels)
	}
}

// Label ids are cached; when labels were deleted in Omnidesk the plugin
// reads them again instead of failing.
func TestDeletedLabelsAreRecreated(t *testing.T) {
	e := start(t)
	tags := []string{"googleplay", "rating:1"}
	req := func(id string) sdk.TicketRequest {
		ch := change(sdk.ChangeNew, 1, "x")
		ch.Review.ID = id
		return sdk.TicketRequest{Settings: e.settings, Change: ch, Tags: tags, DeliveryKey: id + "/1"}
	}
	if _, err := e.desk.UpsertTicket(ctx(t), req("a")); err != nil {
		t.Fatal(err)
	}
	e.fake.DeleteLabels()
	if _, err := e.desk.UpsertTicket(ctx(t), req("b")); err != nil {
		t.Fatalf("after labels were deleted: %v", err)
	}
	if c, _ := e.fake.CaseByReviewID("b"); strings.Join(c.Labels, ",") != strings.Join(tags, ",") {
		t.Errorf("labels %v", c.Labels)
	}
}

// hookServer forwards the custom channel's calls to the plugin, as the hub does.
type hookServer struct {
	mu      sync.Mutex
	results []sdk.WebhookResult
}

func (e *env) hooks(t *testing.T, h *hookServer) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hdr []sdk.Header
		for k, v := range r.Header {
			hdr = append(hdr, sdk.Header{Name: k, Values: v})
		}
		res, err := e.desk.HandleWebhook(r.Context(), sdk.WebhookRequest{Settings: e.settings, IntegrationID: "acme",
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: hdr, Body: body})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		h.mu.Lock()
		h.results = append(h.results, res)
		h.mu.Unlock()
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWebhookAnswerAndOutcomeNote(t *testing.T) {
	e := start(t)
	ref, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, IntegrationID: "acme",
		Change: change(sdk.ChangeNew, 2, "Crashes"), DeliveryKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	h := &hookServer{}
	srv := e.hooks(t, h)

	// A bad secret is refused with 401.
	e.fake.SetWebhookURL(srv.URL + "/hooks/omnidesk/acme?secret=wrong")
	if _, err := e.fake.Answer(ctx(t), ref.ID, "Thanks!"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("answer with a wrong secret: %v, want a 401", err)
	}
	e.fake.SetWebhookURL(srv.URL + "/hooks/omnidesk/acme?secret=" + secret)
	msgID, err := e.fake.Answer(ctx(t), ref.ID, "Thanks, we fixed it!")
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	last := h.results[len(h.results)-1]
	h.mu.Unlock()
	if len(last.Replies) != 1 {
		t.Fatalf("%d reply requests, want 1", len(last.Replies))
	}
	rr := last.Replies[0]
	if rr.TicketID != ref.ID || rr.MessageID != "omnidesk:"+msgID || rr.Text != "Thanks, we fixed it!" || rr.ReviewID != "gp-1" || rr.Staff != fake.StaffName {
		t.Errorf("reply request %+v", rr)
	}
	// The same call delivered twice carries the same message id (the hub
	// publishes a message id once).
	c, _ := e.fake.CaseByReviewID("gp-1")
	replay := `{"case_id":` + c.ID + `,"user_custom_id":"googleplay:gp-1","message":{"message_id":` + msgID + `,"content":"Thanks, we fixed it!"}}`
	res, err := e.desk.HandleWebhook(ctx(t), sdk.WebhookRequest{Settings: e.settings, Method: "POST", Query: "secret=" + secret, Body: []byte(replay)})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].MessageID != rr.MessageID {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// The secret may come in a header instead.
	res, err = e.desk.HandleWebhook(ctx(t), sdk.WebhookRequest{Settings: e.settings, Method: "POST",
		Headers: []sdk.Header{{Name: "X-Reviewhub-Secret", Values: []string{secret}}}, Body: []byte(replay)})
	if err != nil || res.Status != 200 {
		t.Fatalf("header secret: %+v %v", res, err)
	}
	// Malformed bodies get a 400 with the reason.
	res, err = e.desk.HandleWebhook(ctx(t), sdk.WebhookRequest{Settings: e.settings, Query: "secret=" + secret, Body: []byte(`{"case_id": {}}`)})
	if err != nil || res.Status != 400 || !strings.Contains(string(res.Body), "case_id") {
		t.Fatalf("malformed: %d %s %v", res.Status, res.Body, err)
	}

	// The outcome is written back as a note, once.
	result := sdk.ReplyResult{TicketID: ref.ID, MessageID: rr.MessageID, Outcome: sdk.OutcomeRefused,
		Detail: "Google Play answers are limited to 350 characters, this one has 412"}
	for range 2 {
		if err := e.desk.WriteReplyResult(ctx(t), sdk.ReplyResultRequest{Settings: e.settings, Result: result}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = e.fake.CaseByReviewID("gp-1")
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0].Content, "limited to 350 characters, this one has 412") {
		t.Fatalf("notes %+v", c.Notes)
	}
}

func TestErrorsAreClearAndClassified(t *testing.T) {
	e := start(t)
	with := func(k, v string) sdk.Settings {
		s := sdk.Settings{}
		for kk, vv := range e.settings {
			s[kk] = vv
		}
		s[k] = v
		return s
	}
	for _, tc := range []struct {
		settings sdk.Settings
		kind     sdk.ErrorKind
		want     string
	}{
		{with("api_key", "wrong"), sdk.Unauthenticated, "refused the API key"},
		{with("staff_email", "someone@else.example"), sdk.Unauthenticated, "refused the API key"},
		{with("channel", "cch999"), sdk.NotFound, `custom channel "cch999" does not exist`},
		{with("case_field", "cf_6002"), sdk.Invalid, "must be a case field"},
		{with("case_field", "cf_7777"), sdk.NotFound, "case field cf_7777 does not exist"},
		{with("base_url", e.api.URL+"/nowhere"), sdk.NotFound, "no Omnidesk account"},
		{with("subdomain", "Not A Subdomain!"), sdk.Invalid, "subdomain"},
	} {
		if tc.settings["subdomain"] == "Not A Subdomain!" {
			delete(tc.settings, "base_url")
		}
		_, err := e.desk.CheckCredentials(ctx(t), tc.settings)
		if sdk.KindOf(err) != tc.kind || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckCredentials: %v (kind %v), want %v containing %q", err, sdk.KindOf(err), tc.kind, tc.want)
		}
	}
	// Not an active staff member: the key works for the main administrator
	// only in the fake, so check the listing logic with a disabled member.
	e.fake.RateLimit(1, 7*time.Second)
	_, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, Change: change(sdk.ChangeNew, 1, "x"), DeliveryKey: "k"})
	if sdk.KindOf(err) != sdk.RateLimited || sdk.RetryAfterOf(err) != 7*time.Second {
		t.Errorf("429: %v (kind %v, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	e.fake.Fail(10, 503)
	_, err = e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, Change: change(sdk.ChangeNew, 1, "x"), DeliveryKey: "k"})
	if sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("503: %v (kind %v)", err, sdk.KindOf(err))
	}
	e.fake.Fail(0, 0)
	// A 5xx that clears up is retried inside the call.
	e.fake.Fail(1, 502)
	if _, err := e.desk.UpsertTicket(ctx(t), sdk.TicketRequest{Settings: e.settings, Change: change(sdk.ChangeNew, 1, "x"), DeliveryKey: "k"}); err != nil {
		t.Errorf("one 502 then success: %v", err)
	}
}
