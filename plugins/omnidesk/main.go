// Package omnidesk is Reviewhub's Omnidesk helpdesk plugin: a review becomes
// a case in a custom channel, edits land in the same case, staff answers
// come back through the custom channel's webhook, and a reply's outcome is
// written into the case as a note. See README.md.
package omnidesk

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/ticketbody"
	"github.com/reviewhub/reviewhub/plugins/omnidesk/omnidesk"
	"github.com/reviewhub/reviewhub/sdk"
)

const version = "1.0.0"

type helpdesk struct {
	httpClient *http.Client
	labels     *omnidesk.LabelCache
	gate       *omnidesk.RateGate
}

func (helpdesk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "omnidesk", DisplayName: "Omnidesk", Version: version,
		Description: "Omnidesk (omnidesk.ru): reviews become cases in a custom channel; staff answers come back through its webhook.",
		Settings: []sdk.SettingField{
			{Key: "subdomain", Label: "Subdomain", Required: true, Example: "company", Description: "company for https://company.omnidesk.ru", Endpoint: true},
			{Key: "staff_email", Label: "Main administrator's e-mail", Required: true, Description: "API calls are made as this staff member"},
			{Key: "api_key", Label: "API key", Required: true, Secret: true, Description: "Settings → API in Omnidesk"},
			{Key: "channel", Label: "Custom channel", Required: true, Example: "cch101", Description: "the custom channel's code (or id or title) the cases are created in"},
			{Key: "case_field", Label: "Case field holding the review id", Required: true, Example: "cf_1234", Description: "a case-level custom field, named like the channel"},
			{Key: "webhook_secret", Label: "Webhook secret", Required: true, Secret: true, Description: "add ?secret=VALUE to the custom channel's webhook URL"},
			{Key: "base_url", Label: "API base URL override", Description: "for tests and proxies; default https://SUBDOMAIN.omnidesk.ru", Endpoint: true, Type: sdk.SettingURL},
			{Key: "rate_window", Label: "Rate-limit window override", Example: "1m", Description: "for tests against a fake on a shorter time scale; default 1m (Omnidesk's limits are per minute)",
				Type: sdk.SettingDuration, Min: "1ms", Max: "1h"},
		},
		Helpdesk: &sdk.HelpdeskCapabilities{SupportsTags: true},
	}, nil
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

type account struct {
	cl      *omnidesk.Client
	channel string
	field   string
}

// account reads an account's settings. The SDK has checked the required
// ones before the call (a subdomain is still needed here for in-process
// callers, unless base_url replaces it).
func (h helpdesk) account(s sdk.Settings) (account, error) {
	var missing []string
	base := strings.TrimSpace(s["base_url"])
	sub := strings.ToLower(strings.TrimSpace(s["subdomain"]))
	if base == "" {
		switch {
		case sub == "":
			missing = append(missing, "subdomain")
		case !subdomainRE.MatchString(sub):
			return account{}, sdk.Errorf(sdk.ErrorKindInvalid, "subdomain %q is not valid: give only the first part of https://SUBDOMAIN.omnidesk.ru", s["subdomain"])
		default:
			base = "https://" + sub + ".omnidesk.ru"
		}
	}
	if len(missing) > 0 {
		return account{}, sdk.Errorf(sdk.ErrorKindInvalid, "omnidesk settings missing: %s", strings.Join(missing, ", "))
	}
	window, err := s.Duration("rate_window") // 0: the default; form and range checked by the SDK
	if err != nil {
		return account{}, err
	}
	return account{
		cl: &omnidesk.Client{BaseURL: base, Email: strings.TrimSpace(s["staff_email"]), APIKey: strings.TrimSpace(s["api_key"]),
			HTTP: h.httpClient, Labels: h.labels, Gate: h.gate, RateWindow: window},
		channel: strings.TrimSpace(s["channel"]),
		field:   omnidesk.FieldKey(s["case_field"]),
	}, nil
}

// CheckCredentials makes read-only calls: the staff list, the custom
// channels and the custom fields. It writes nothing.
func (h helpdesk) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	s := req.Settings
	a, err := h.account(s)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	check := func(name, status, detail string) {
		rep.Checks = append(rep.Checks, sdk.Check{Name: name, Status: status, Detail: detail})
	}
	staff, err := a.cl.Staff(ctx)
	if err != nil {
		if omnidesk.IsNotFound(err) {
			return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindNotFound, "no Omnidesk account at %s: check the subdomain", a.cl.BaseURL)
		}
		if sdk.KindOf(err) == sdk.ErrorKindUnauthenticated {
			return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindUnauthenticated, "Omnidesk refused the API key for %s: check the API key and the e-mail", a.cl.Email)
		}
		return sdk.CheckCredentialsResponse{}, err
	}
	found := false
	for _, st := range staff {
		if strings.EqualFold(st.StaffEmail, a.cl.Email) {
			found = st.Active
		}
	}
	if !found {
		return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindPermissionDenied, "%s is not an active staff member of this Omnidesk account", a.cl.Email)
	}
	check("staff", sdk.CheckOK, fmt.Sprintf("the API key works and %s is an active staff member", a.cl.Email))
	if l := a.cl.Limits(); l.Known && l.Left >= 0 {
		status, detail := sdk.CheckOK, fmt.Sprintf("%d API calls left this minute", l.Left)
		if l.PerMinute >= 0 {
			detail += fmt.Sprintf(" of %d", l.PerMinute)
		}
		if l.Left == 0 {
			status = sdk.CheckWarn
		}
		check("rate limit", status, detail)
	}

	ch, err := h.channel(ctx, a)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	if ch.Active {
		check("channel", sdk.CheckOK, fmt.Sprintf("custom channel %s (%s) is active", ch.Code(), ch.Title))
	} else {
		check("channel", sdk.CheckFail, fmt.Sprintf("custom channel %s (%s) is switched off in Omnidesk: cases cannot be created in it", ch.Code(), ch.Title))
	}
	rep.WebhookURL = redactSecret(ch.WebhookURL)
	switch {
	case strings.TrimSpace(ch.WebhookURL) == "":
		check("webhook", sdk.CheckWarn, "the custom channel has no webhook URL: staff answers will not reach Reviewhub")
	case rep.WebhookURL == "":
		check("webhook", sdk.CheckWarn, "the custom channel's webhook URL cannot be read as a URL")
	case !webhookHasSecret(ch.WebhookURL, s["webhook_secret"]):
		check("webhook", sdk.CheckFail, "the custom channel's webhook URL does not carry this integration's webhook secret (?secret=…): Reviewhub will refuse its calls")
	default:
		check("webhook", sdk.CheckOK, "the custom channel posts to "+rep.WebhookURL)
	}

	fields, err := a.cl.CustomFields(ctx)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	for _, f := range fields {
		if f.Key() == a.field {
			if f.FieldLevel != "" && f.FieldLevel != "case" {
				return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "custom field %s is a %s field; it must be a case field", a.field, f.FieldLevel)
			}
			check("case field", sdk.CheckOK, fmt.Sprintf("case field %s (%s) holds the review id", a.field, f.Title))
			rep.Detail = fmt.Sprintf("staff %s, channel %s, case field %s (%s)", a.cl.Email, ch.Code(), a.field, f.Title)
			return rep, nil
		}
	}
	return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindNotFound, "case field %s does not exist: create a case custom field named like the channel and give its id", a.field)
}

// redactSecret returns u with every secret query value replaced by
// REDACTED; "" when u is not a URL.
func redactSecret(u string) string {
	u = strings.TrimSpace(u)
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	q := p.Query()
	for k := range q {
		if secretLooking(k) {
			q[k] = []string{"REDACTED"}
		}
	}
	if len(q) > 0 {
		p.RawQuery = q.Encode()
	}
	p.User = nil
	return p.String()
}

// secretLooking reports whether a query key may carry a secret.
func secretLooking(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"secret", "token", "key", "pass", "sig", "auth"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// webhookHasSecret reports whether the webhook URL carries the secret.
func webhookHasSecret(u, secret string) bool {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.Query().Get("secret")), []byte(secret)) == 1
}

// channel resolves the channel setting (code, id or title) to the custom channel.
func (h helpdesk) channel(ctx context.Context, a account) (omnidesk.CustomChannel, error) {
	chans, err := a.cl.CustomChannels(ctx)
	if err != nil {
		return omnidesk.CustomChannel{}, err
	}
	for _, c := range chans {
		if a.channel == c.Code() || a.channel == strconv.FormatInt(c.ChannelID, 10) || strings.EqualFold(a.channel, c.Title) {
			return c, nil
		}
	}
	return omnidesk.CustomChannel{}, sdk.Errorf(sdk.ErrorKindNotFound, "custom channel %q does not exist in this Omnidesk account", a.channel)
}

var channelCodeRE = regexp.MustCompile(`^cch[0-9]+$`)

func (h helpdesk) UpsertTicket(ctx context.Context, req sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	r := req.Change.Review
	if r.ID == "" {
		return sdk.UpsertTicketResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the review has no id")
	}
	if !channelCodeRE.MatchString(a.channel) {
		// The setting names the channel by id or title: cases need its code.
		ch, err := h.channel(ctx, a)
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		a.channel = ch.Code()
	}
	userID := userCustomID(req.Change)
	var found *omnidesk.Case
	caseID := req.TicketID
	if caseID == "" && !req.FirstAttempt {
		// Look the case up first: the hub may have crashed after creating
		// it. On a first attempt (recorded by the hub before this call, no
		// case linked) no case can exist: one call instead of two.
		if found, err = h.findCase(ctx, a, userID, r.ID); err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		if found != nil {
			caseID = strconv.FormatInt(found.CaseID, 10)
		}
	}
	if caseID == "" {
		return createCase(ctx, a, req, userID)
	}
	return updateCase(ctx, a, req, caseID)
}

// createCase opens the review's case in the account's custom channel.
func createCase(ctx context.Context, a account, req sdk.UpsertTicketRequest, userID string) (sdk.UpsertTicketResponse, error) {
	r := req.Change.Review
	author := r.Author
	if author == "" {
		author = req.Change.DisplayStore() + " user"
	}
	nc := omnidesk.NewCase{
		UserCustomID: userID, UserFullName: author, Subject: omnidesk.Subject(req.Change),
		Content: omnidesk.Content(req.Change, req.DeliveryKey), Channel: a.channel,
		CustomFields: map[string]any{a.field: r.ID},
	}
	var c omnidesk.Case
	err := withLabels(ctx, a, req.Tags, func(labels []int64) (err error) {
		nc.Labels = labels
		c, err = a.cl.CreateCase(ctx, nc)
		return err
	})
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	return sdk.UpsertTicketResponse{ID: strconv.FormatInt(c.CaseID, 10), Created: true}, nil
}

// updateCase adds the review's change to its case, once (the delivery key's
// marker in the case's messages), and brings the hub's labels up to date
// (staff's own labels are kept).
func updateCase(ctx context.Context, a account, req sdk.UpsertTicketRequest, caseID string) (sdk.UpsertTicketResponse, error) {
	id, err := strconv.ParseInt(caseID, 10, 64)
	if err != nil {
		return sdk.UpsertTicketResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "ticket id %q is not an Omnidesk case id", caseID)
	}
	msgs, err := a.cl.Messages(ctx, id)
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	marker := omnidesk.Marker(req.DeliveryKey)
	for _, m := range msgs {
		if strings.Contains(m.Content, marker) {
			return sdk.UpsertTicketResponse{ID: caseID}, nil // delivered before
		}
	}
	// The edit is written as the case's user, with the case's current labels
	// at hand for the label diff.
	c, err := a.cl.GetCase(ctx, id)
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	if _, err := a.cl.AddMessage(ctx, id, c.UserID, omnidesk.Content(req.Change, req.DeliveryKey)); err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	if len(req.Tags) > 0 {
		err := withLabels(ctx, a, req.Tags, func(labels []int64) error {
			titles, err := a.cl.LabelTitles(ctx, c.Labels)
			if err != nil {
				return err
			}
			add, del := omnidesk.LabelDiff(c.Labels, titles, labels, req.Tags)
			return a.cl.EditLabels(ctx, id, add, del)
		})
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
	}
	return sdk.UpsertTicketResponse{ID: caseID}, nil
}

// withLabels runs fn with the ids of the labels titled tags. When that
// fails Invalid with labels at hand, a cached label may have been deleted
// in Omnidesk: the labels are read again once and fn runs again.
func withLabels(ctx context.Context, a account, tags []string, fn func(labels []int64) error) error {
	labels, err := a.cl.LabelIDs(ctx, tags)
	if err != nil {
		return err
	}
	err = fn(labels)
	if err == nil || len(labels) == 0 || sdk.KindOf(err) != sdk.ErrorKindInvalid {
		return err
	}
	a.cl.ForgetLabels()
	if labels, err = a.cl.LabelIDs(ctx, tags); err != nil {
		return err
	}
	return fn(labels)
}

// findCase finds the case of a review: the cases of its custom-channel user
// (matched exactly), then the one whose case field holds exactly the review
// id. A listed case without custom fields is read in full; a case whose
// field is missing or different is never taken.
func (h helpdesk) findCase(ctx context.Context, a account, userID, reviewID string) (*omnidesk.Case, error) {
	cases, err := a.cl.FindCases(ctx, userID, a.channel)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		if c.CustomFields == nil {
			full, err := a.cl.GetCase(ctx, c.CaseID)
			if err != nil {
				return nil, err
			}
			c = full
		}
		if v, ok := c.CustomFields[a.field]; ok && v != nil && fmt.Sprint(v) == reviewID {
			return &c, nil
		}
	}
	return nil, nil
}

// userCustomID is the custom-channel user of a review: one per review, so
// the webhook names the review it answers.
func userCustomID(c sdk.ReviewChange) string { return c.Store + ":" + c.Review.ID }

func webhookAnswer(status int, msg string) sdk.HandleWebhookResponse {
	body, _ := json.Marshal(map[string]string{"status": http.StatusText(status), "message": msg})
	return sdk.HandleWebhookResponse{Status: status, Body: body,
		Headers: []sdk.Header{{Name: "Content-Type", Values: []string{"application/json"}}}}
}

// HandleWebhook answers Omnidesk's custom-channel webhook. Unauthentic
// calls get a 401. An authentic call that carries no answer for a known
// reason (a note, a rule's message, a user's message, Reviewhub's own
// message) gets a quiet 200. One the plugin cannot read gets a 200 too (a
// body that is neither JSON nor a form: a 400), with Ignored set, so the
// hub keeps it for the operator and Omnidesk does not retry it forever.
func (h helpdesk) HandleWebhook(_ context.Context, req sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	want := req.Settings["webhook_secret"]
	got := req.Header("X-Reviewhub-Secret")
	if got == "" {
		if q, err := parseQuery(req.Query); err == nil {
			got = q
		}
	}
	if want == "" {
		return webhookAnswer(http.StatusUnauthorized, "webhook_secret is not configured for this integration"), nil
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return webhookAnswer(http.StatusUnauthorized, "missing or wrong secret"), nil
	}
	ans, err := omnidesk.ParseWebhook(req.Body)
	var werr *omnidesk.WebhookError
	switch {
	case errors.As(err, &werr) && errors.Is(err, omnidesk.ErrNotAnswer):
		return webhookAnswer(http.StatusOK, "ignored: "+werr.Reason), nil
	case errors.As(err, &werr):
		status := http.StatusOK
		if werr.Malformed {
			status = http.StatusBadRequest
		}
		res := webhookAnswer(status, "not read: "+werr.Reason)
		res.Ignored = &sdk.Unreadable{ID: werr.MessageID, Reason: werr.Error(), Shape: omnidesk.WebhookShape(req.Body)}
		return res, nil
	case err != nil:
		return sdk.HandleWebhookResponse{}, err
	}
	if strings.HasPrefix(ans.UserCustomID, ticketbody.AlertPrefix) {
		// Staff talking in a health alert's case: not an answer to a review.
		return webhookAnswer(http.StatusOK, "ignored: a reply in a Reviewhub alert case"), nil
	}
	reviewID := ""
	if _, id, ok := strings.Cut(ans.UserCustomID, ":"); ok {
		reviewID = id
	}
	sent := ans.SentAt
	if sent.IsZero() {
		sent = time.Now().UTC()
	}
	res := webhookAnswer(http.StatusOK, "accepted")
	res.Replies = []sdk.ReplyRequest{{TicketID: ans.CaseID, MessageID: "omnidesk:" + ans.MessageID, ReviewID: reviewID,
		Text: ans.Text, Staff: ans.Staff, SentAt: sent}}
	return res, nil
}

func (h helpdesk) WriteReplyResult(ctx context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, err
	}
	id, err := strconv.ParseInt(req.Result.TicketID, 10, 64)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "ticket id %q is not an Omnidesk case id", req.Result.TicketID)
	}
	note := omnidesk.ResultNote(req.Result)
	msgs, err := a.cl.Messages(ctx, id)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, err
	}
	marker := omnidesk.Marker("result:" + req.Result.MessageID)
	for _, m := range msgs {
		if strings.Contains(m.Content, marker) {
			return sdk.WriteReplyResultResponse{}, nil // written before
		}
	}
	return sdk.WriteReplyResultResponse{}, a.cl.AddNote(ctx, id, note)
}

// PostAlert writes the hub's health alert into a case of its own per app
// (user "reviewhub-alerts:INTEGRATION/APP" in the custom channel): the
// first alert opens the case, later ones (the recovery, the next outage)
// are new messages of that user, so the case reopens and staff are
// notified as for any customer message. Idempotent by the alert's key (a
// marker in the message, as for review edits).
func (h helpdesk) PostAlert(ctx context.Context, req sdk.PostAlertRequest) (sdk.PostAlertResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.PostAlertResponse{}, err
	}
	al := req.Alert
	if al.Key == "" {
		return sdk.PostAlertResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the alert has no key")
	}
	if !channelCodeRE.MatchString(a.channel) {
		ch, err := h.channel(ctx, a)
		if err != nil {
			return sdk.PostAlertResponse{}, err
		}
		a.channel = ch.Code()
	}
	userID := ticketbody.AlertThread(al)
	marker := ticketbody.AlertMarker(al)
	content := omnidesk.HTML(al.Title+"\n\n"+al.Text) + "\n" + marker
	cases, err := a.cl.FindCases(ctx, userID, a.channel)
	if err != nil {
		return sdk.PostAlertResponse{}, err
	}
	if len(cases) == 0 {
		_, err := a.cl.CreateCase(ctx, omnidesk.NewCase{UserCustomID: userID, UserFullName: "Reviewhub alerts",
			Subject: ticketbody.AlertSubject(al),
			Content: content, Channel: a.channel})
		return sdk.PostAlertResponse{}, err
	}
	c := cases[0]
	for _, other := range cases[1:] {
		if other.CaseID > c.CaseID {
			c = other
		}
	}
	msgs, err := a.cl.Messages(ctx, c.CaseID)
	if err != nil {
		return sdk.PostAlertResponse{}, err
	}
	for _, m := range msgs {
		if strings.Contains(m.Content, marker) {
			return sdk.PostAlertResponse{}, nil // posted before
		}
	}
	if c.UserID == 0 {
		if c, err = a.cl.GetCase(ctx, c.CaseID); err != nil {
			return sdk.PostAlertResponse{}, err
		}
	}
	_, err = a.cl.AddMessage(ctx, c.CaseID, c.UserID, content)
	return sdk.PostAlertResponse{}, err
}

// newHTTPClient keeps an idle connection per call the hub may have in
// flight (the SDK's default): with http.DefaultTransport's 2, most calls
// dialed a connection and closed it after (a seventh of the plugin's CPU
// in the benchmark, docs/performance.md).
func newHTTPClient() *http.Client {
	return sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: omnidesk.MaxResponseBytes})
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-omnidesk and the plugins bundle run it.
func Main() {
	if err := sdk.ServeHelpdesk(helpdesk{httpClient: newHTTPClient(), labels: &omnidesk.LabelCache{}, gate: &omnidesk.RateGate{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
