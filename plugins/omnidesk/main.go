// Command omnidesk is Reviewhub's Omnidesk helpdesk plugin: a review becomes
// a case in a custom channel, edits land in the same case, staff answers
// come back through the custom channel's webhook, and a reply's outcome is
// written into the case as a note. See README.md.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/omnidesk/omnidesk"
	"github.com/reviewhub/reviewhub/sdk"
)

const version = "1.0.0"

type helpdesk struct {
	httpClient *http.Client
	labels     *omnidesk.LabelCache
}

func (helpdesk) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "omnidesk", Version: version,
		Description: "Omnidesk (omnidesk.ru): reviews become cases in a custom channel; staff answers come back through its webhook.",
		Settings: []sdk.SettingField{
			{Key: "subdomain", Label: "Subdomain", Required: true, Example: "company", Description: "company for https://company.omnidesk.ru"},
			{Key: "staff_email", Label: "Main administrator's e-mail", Required: true, Description: "API calls are made as this staff member"},
			{Key: "api_key", Label: "API key", Required: true, Secret: true, Description: "Settings → API in Omnidesk"},
			{Key: "channel", Label: "Custom channel", Required: true, Example: "cch101", Description: "the custom channel's code (or id or title) the cases are created in"},
			{Key: "case_field", Label: "Case field holding the review id", Required: true, Example: "cf_1234", Description: "a case-level custom field, named like the channel"},
			{Key: "webhook_secret", Label: "Webhook secret", Required: true, Secret: true, Description: "add ?secret=VALUE to the custom channel's webhook URL"},
			{Key: "base_url", Label: "API base URL override", Description: "for tests and proxies; default https://SUBDOMAIN.omnidesk.ru"},
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

func (h helpdesk) account(s sdk.Settings) (account, error) {
	var missing []string
	for _, k := range []string{"staff_email", "api_key", "channel", "case_field"} {
		if strings.TrimSpace(s[k]) == "" {
			missing = append(missing, k)
		}
	}
	base := strings.TrimSpace(s["base_url"])
	sub := strings.ToLower(strings.TrimSpace(s["subdomain"]))
	if base == "" {
		switch {
		case sub == "":
			missing = append(missing, "subdomain")
		case !subdomainRE.MatchString(sub):
			return account{}, sdk.Errorf(sdk.Invalid, "subdomain %q is not valid: give only the first part of https://SUBDOMAIN.omnidesk.ru", s["subdomain"])
		default:
			base = "https://" + sub + ".omnidesk.ru"
		}
	}
	if len(missing) > 0 {
		return account{}, sdk.Errorf(sdk.Invalid, "omnidesk settings missing: %s", strings.Join(missing, ", "))
	}
	return account{
		cl: &omnidesk.Client{BaseURL: base, Email: strings.TrimSpace(s["staff_email"]), APIKey: strings.TrimSpace(s["api_key"]),
			HTTP: h.httpClient, Labels: h.labels},
		channel: strings.TrimSpace(s["channel"]),
		field:   omnidesk.FieldKey(s["case_field"]),
	}, nil
}

func (h helpdesk) CheckCredentials(ctx context.Context, s sdk.Settings) (sdk.CredentialsReport, error) {
	a, err := h.account(s)
	if err != nil {
		return sdk.CredentialsReport{}, err
	}
	staff, err := a.cl.Staff(ctx)
	if err != nil {
		if omnidesk.IsNotFound(err) {
			return sdk.CredentialsReport{}, sdk.Errorf(sdk.NotFound, "no Omnidesk account at %s: check the subdomain", a.cl.BaseURL)
		}
		if sdk.KindOf(err) == sdk.Unauthenticated {
			return sdk.CredentialsReport{}, sdk.Errorf(sdk.Unauthenticated, "Omnidesk refused the API key for %s: check the API key and the e-mail", a.cl.Email)
		}
		return sdk.CredentialsReport{}, err
	}
	found := false
	for _, st := range staff {
		if strings.EqualFold(st.StaffEmail, a.cl.Email) {
			found = st.Active
		}
	}
	if !found {
		return sdk.CredentialsReport{}, sdk.Errorf(sdk.PermissionDenied, "%s is not an active staff member of this Omnidesk account", a.cl.Email)
	}
	if _, err := h.channelCode(ctx, a); err != nil {
		return sdk.CredentialsReport{}, err
	}
	fields, err := a.cl.CustomFields(ctx)
	if err != nil {
		return sdk.CredentialsReport{}, err
	}
	for _, f := range fields {
		if f.Key() == a.field {
			if f.FieldLevel != "" && f.FieldLevel != "case" {
				return sdk.CredentialsReport{}, sdk.Errorf(sdk.Invalid, "custom field %s is a %s field; it must be a case field", a.field, f.FieldLevel)
			}
			return sdk.CredentialsReport{Detail: fmt.Sprintf("staff %s, channel %s, case field %s (%s)", a.cl.Email, a.channel, a.field, f.Title)}, nil
		}
	}
	return sdk.CredentialsReport{}, sdk.Errorf(sdk.NotFound, "case field %s does not exist: create a case custom field named like the channel and give its id", a.field)
}

// channelCode resolves the channel setting (code, id or title) to the code cases use.
func (h helpdesk) channelCode(ctx context.Context, a account) (string, error) {
	chans, err := a.cl.CustomChannels(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range chans {
		if a.channel == c.Code() || a.channel == strconv.FormatInt(c.ChannelID, 10) || strings.EqualFold(a.channel, c.Title) {
			return c.Code(), nil
		}
	}
	return "", sdk.Errorf(sdk.NotFound, "custom channel %q does not exist in this Omnidesk account", a.channel)
}

func (h helpdesk) UpsertTicket(ctx context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.TicketRef{}, err
	}
	r := req.Change.Review
	if r.ID == "" {
		return sdk.TicketRef{}, sdk.Errorf(sdk.Invalid, "the review has no id")
	}
	userID := userCustomID(req.Change)
	caseID := req.TicketID
	if caseID == "" {
		// Look the case up first: the hub may have crashed after creating it.
		cases, err := a.cl.FindCases(ctx, userID, a.channel)
		if err != nil {
			return sdk.TicketRef{}, err
		}
		for _, c := range cases {
			if v, ok := c.CustomFields[a.field]; !ok || fmt.Sprint(v) == r.ID {
				caseID = strconv.FormatInt(c.CaseID, 10)
				break
			}
		}
	}
	content := omnidesk.Content(req.Change, req.DeliveryKey)
	if caseID == "" {
		labels, err := a.cl.LabelIDs(ctx, req.Tags)
		if err != nil {
			return sdk.TicketRef{}, err
		}
		author := r.Author
		if author == "" {
			author = omnidesk.StoreName(req.Change.Store) + " user"
		}
		nc := omnidesk.NewCase{
			UserCustomID: userID, UserFullName: author, Subject: omnidesk.Subject(req.Change),
			Content: content, Channel: a.channel, Labels: labels,
			CustomFields: map[string]any{a.field: r.ID},
		}
		c, err := a.cl.CreateCase(ctx, nc)
		if err != nil && len(labels) > 0 && sdk.KindOf(err) == sdk.Invalid {
			// A cached label may have been deleted in Omnidesk: read them again once.
			a.cl.ForgetLabels()
			if nc.Labels, err = a.cl.LabelIDs(ctx, req.Tags); err != nil {
				return sdk.TicketRef{}, err
			}
			c, err = a.cl.CreateCase(ctx, nc)
		}
		if err != nil {
			return sdk.TicketRef{}, err
		}
		return sdk.TicketRef{ID: strconv.FormatInt(c.CaseID, 10), Created: true}, nil
	}
	id, err := strconv.ParseInt(caseID, 10, 64)
	if err != nil {
		return sdk.TicketRef{}, sdk.Errorf(sdk.Invalid, "ticket id %q is not an Omnidesk case id", caseID)
	}
	msgs, err := a.cl.Messages(ctx, id)
	if err != nil {
		return sdk.TicketRef{}, err
	}
	marker := omnidesk.Marker(req.DeliveryKey)
	for _, m := range msgs {
		if strings.Contains(m.Content, marker) {
			return sdk.TicketRef{ID: caseID}, nil // delivered before
		}
	}
	if _, err := a.cl.AddMessage(ctx, id, content, ""); err != nil {
		return sdk.TicketRef{}, err
	}
	if len(req.Tags) > 0 {
		labels, err := a.cl.LabelIDs(ctx, req.Tags)
		if err != nil {
			return sdk.TicketRef{}, err
		}
		err = a.cl.SetLabels(ctx, id, labels)
		if err != nil && sdk.KindOf(err) == sdk.Invalid {
			a.cl.ForgetLabels()
			if labels, err = a.cl.LabelIDs(ctx, req.Tags); err == nil {
				err = a.cl.SetLabels(ctx, id, labels)
			}
		}
		if err != nil {
			return sdk.TicketRef{}, err
		}
	}
	return sdk.TicketRef{ID: caseID}, nil
}

// userCustomID is the custom-channel user of a review: one per review, so
// the webhook names the review it answers.
func userCustomID(c sdk.ReviewChange) string { return c.Store + ":" + c.Review.ID }

func webhookAnswer(status int, msg string) sdk.WebhookResult {
	body, _ := json.Marshal(map[string]string{"status": http.StatusText(status), "message": msg})
	return sdk.WebhookResult{Status: status, Body: body,
		Headers: []sdk.Header{{Name: "Content-Type", Values: []string{"application/json"}}}}
}

func (h helpdesk) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
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
	switch {
	case errors.Is(err, omnidesk.ErrNotAnswer):
		return webhookAnswer(http.StatusOK, "ignored: not a staff answer"), nil
	case err != nil:
		return webhookAnswer(http.StatusBadRequest, "malformed custom channel webhook: "+err.Error()), nil
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

func (h helpdesk) WriteReplyResult(ctx context.Context, req sdk.ReplyResultRequest) error {
	a, err := h.account(req.Settings)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(req.Result.TicketID, 10, 64)
	if err != nil {
		return sdk.Errorf(sdk.Invalid, "ticket id %q is not an Omnidesk case id", req.Result.TicketID)
	}
	note := omnidesk.ResultNote(req.Result)
	msgs, err := a.cl.Messages(ctx, id)
	if err != nil {
		return err
	}
	marker := omnidesk.Marker("result:" + req.Result.MessageID)
	for _, m := range msgs {
		if strings.Contains(m.Content, marker) {
			return nil // written before
		}
	}
	return a.cl.AddNote(ctx, id, note)
}

func main() {
	sdk.ServeHelpdesk(helpdesk{httpClient: &http.Client{Timeout: 30 * time.Second}, labels: &omnidesk.LabelCache{}})
}
