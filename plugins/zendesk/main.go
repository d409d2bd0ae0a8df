// Package zendesk is Reviewhub's Zendesk Support helpdesk plugin: a review
// becomes a ticket found by its external_id, edits are further comments of
// that ticket, an agent's public comment comes back through a signed
// Zendesk event webhook as a reply, and a reply's outcome is written into
// the ticket as an internal note. See README.md.
package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/rategate"
	"github.com/reviewhub/reviewhub/plugins/internal/ticketbody"
	"github.com/reviewhub/reviewhub/plugins/zendesk/zendesk"
	"github.com/reviewhub/reviewhub/sdk"
)

const version = "1.0.0"

// DefaultTolerance is how far a webhook's signature timestamp may lie from
// the plugin's clock.
const DefaultTolerance = 10 * time.Minute

type helpdesk struct {
	httpClient *http.Client
	gate       *rategate.Gate
	now        func() time.Time
}

func (helpdesk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "zendesk", Version: version,
		Description: "Zendesk Support: a ticket per review (found by external_id); agents' public comments come back through a signed event webhook.",
		Settings: []sdk.SettingField{
			{Key: "subdomain", Label: "Subdomain", Required: true, Example: "company", Description: "company for https://company.zendesk.com", Endpoint: true},
			{Key: "email", Label: "Agent e-mail", Required: true, Example: "reviews@company.com", Description: "the agent the API token acts as: tickets, comments and notes are written as this agent"},
			{Key: "api_token", Label: "API token", Required: true, Secret: true, Description: "Admin Center → Apps and integrations → Zendesk API → API tokens"},
			{Key: "webhook_secret", Label: "Webhook signing secret", Required: true, Secret: true, Description: "the signing secret of the webhook that sends ticket comment events to Reviewhub (Admin Center → Webhooks → the webhook → Reveal secret)"},
			{Key: "custom_fields", Label: "Ticket fields", Example: "review_id=360001234567, rating=360001234568",
				Description: "optional: NAME=TICKET_FIELD_ID pairs, comma-separated; names: " + strings.Join(fieldNames, ", ")},
			{Key: "base_url", Label: "API base URL override", Description: "for tests and proxies; default https://SUBDOMAIN.zendesk.com", Endpoint: true, Type: sdk.SettingURL},
			{Key: "webhook_tolerance", Label: "Webhook timestamp tolerance", Example: "10m", Description: "how far a webhook's signature timestamp may lie from now (default 10m)",
				Type: sdk.SettingDuration, Min: "10s", Max: "24h", Default: DefaultTolerance.String()},
		},
		Helpdesk: &sdk.HelpdeskCapabilities{SupportsTags: true},
	}, nil
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

type account struct {
	cl        *zendesk.Client
	fields    []fieldSetting
	tolerance time.Duration
}

// account reads an account's settings. The SDK has trimmed them and
// refused the call without the required ones (email, api_token,
// subdomain) and with a bad webhook_tolerance or base_url; HandleWebhook,
// which gets them unrequired, does not read the account.
func (h helpdesk) account(s sdk.Settings) (account, error) {
	var missing []string
	// The override must be https (plain http only on loopback, for tests):
	// the e-mail and API token go there as Basic auth.
	base, err := s.URL("base_url")
	if err != nil {
		return account{}, err
	}
	sub := strings.ToLower(strings.TrimSpace(s["subdomain"]))
	if base == "" {
		switch {
		case sub == "":
			missing = append(missing, "subdomain")
		case !subdomainRE.MatchString(sub):
			return account{}, sdk.Errorf(sdk.ErrorKindInvalid, "subdomain %q is not valid: give only the first part of https://SUBDOMAIN.zendesk.com", s["subdomain"])
		default:
			base = "https://" + sub + ".zendesk.com"
		}
	}
	if len(missing) > 0 {
		return account{}, sdk.Errorf(sdk.ErrorKindInvalid, "zendesk settings missing: %s", strings.Join(missing, ", "))
	}
	fields, err := parseFields(s["custom_fields"])
	if err != nil {
		return account{}, err
	}
	tol, err := tolerance(s)
	if err != nil {
		return account{}, err
	}
	return account{
		cl: &zendesk.Client{BaseURL: base, Email: s.Get("email"), Token: s.Get("api_token"),
			HTTP: h.httpClient, Gate: h.gate},
		fields: fields, tolerance: tol,
	}, nil
}

// tolerance reads webhook_tolerance, whose default, form and range (10s to
// 24h) the SDK has filled and checked before the call; empty only for an
// in-process caller without the SDK's checks.
func tolerance(s sdk.Settings) (time.Duration, error) {
	d, err := s.Duration("webhook_tolerance")
	if d == 0 && err == nil {
		d = DefaultTolerance
	}
	return d, err
}

// CheckCredentials makes read-only calls: the current user and each ticket
// field the settings name. It writes nothing.
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
	me, err := a.cl.Me(ctx)
	switch {
	case zendesk.IsNotFound(err):
		return rep, sdk.Errorf(sdk.ErrorKindNotFound, "no Zendesk account at %s: check the subdomain", a.cl.BaseURL)
	case sdk.KindOf(err) == sdk.ErrorKindUnauthenticated:
		return rep, sdk.Errorf(sdk.ErrorKindUnauthenticated, "Zendesk refused the API token for %s: check the token and the e-mail (and that token access is on)", a.cl.Email)
	case err != nil:
		return rep, err
	case me.ID == 0:
		// GUESS: /users/me may answer an anonymous user instead of a 401.
		return rep, sdk.Errorf(sdk.ErrorKindUnauthenticated, "Zendesk did not sign %s in with this API token: check the token and the e-mail", a.cl.Email)
	case me.Role != "agent" && me.Role != "admin":
		return rep, sdk.Errorf(sdk.ErrorKindPermissionDenied, "%s is a Zendesk %s; tickets need an agent or admin", a.cl.Email, me.Role)
	case !strings.EqualFold(me.Email, a.cl.Email) && me.Email != "":
		check("agent", sdk.CheckWarn, fmt.Sprintf("the API token acts as %s, not %s", me.Email, a.cl.Email))
	default:
		check("agent", sdk.CheckOK, fmt.Sprintf("the API token works; %s is a Zendesk %s", a.cl.Email, me.Role))
	}
	for _, f := range a.fields {
		tf, err := a.cl.TicketField(ctx, f.id)
		if zendesk.IsNotFound(err) {
			return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindNotFound, "custom_fields: ticket field %d (%s) does not exist in this Zendesk account", f.id, f.name)
		}
		if err != nil {
			return sdk.CheckCredentialsResponse{}, err
		}
		if tf.Active {
			check("field "+f.name, sdk.CheckOK, fmt.Sprintf("ticket field %d (%s, %s) holds the %s", f.id, tf.Title, tf.Type, f.name))
		} else {
			check("field "+f.name, sdk.CheckFail, fmt.Sprintf("ticket field %d (%s) is inactive: Zendesk will not show the %s", f.id, tf.Title, f.name))
		}
	}
	if strings.TrimSpace(s["webhook_secret"]) == "" {
		check("webhook", sdk.CheckWarn, "no webhook signing secret: agents' answers will be refused (401) until it is set")
	} else {
		check("webhook", sdk.CheckOK, "a signing secret is set; subscribe the webhook to "+zendesk.CommentAddedEvent)
	}
	rep.Detail = fmt.Sprintf("agent %s at %s", a.cl.Email, a.cl.BaseURL)
	return rep, nil
}

// externalID is the ticket's external_id for a review: one ticket per
// review of a store.
func externalID(c sdk.ReviewChange) string { return "reviewhub:" + c.Store + ":" + c.Review.ID }

// reviewOf is the review id in an external_id written by externalID ("" for another).
func reviewOf(ext string) string {
	rest, ok := strings.CutPrefix(ext, "reviewhub:")
	if !ok {
		return ""
	}
	_, id, _ := strings.Cut(rest, ":")
	return id
}

// pick is the ticket to write into among those of one external_id (oldest
// first): the newest one not closed, else the newest.
func pick(ts []zendesk.Ticket) (zendesk.Ticket, bool) {
	if len(ts) == 0 {
		return zendesk.Ticket{}, false
	}
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Status != "closed" {
			return ts[i], true
		}
	}
	return ts[len(ts)-1], true
}

func parseTicketID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, sdk.Errorf(sdk.ErrorKindInvalid, "ticket id %q is not a Zendesk ticket id", s)
	}
	return id, nil
}

func (h helpdesk) UpsertTicket(ctx context.Context, req sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	c := req.Change
	if c.Review.ID == "" {
		return sdk.UpsertTicketResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the review has no id")
	}
	if req.DeliveryKey == "" {
		return sdk.UpsertTicketResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the delivery has no key")
	}
	ext := externalID(c)
	tags := zendeskTags(req.Tags)
	fields := a.values(c)
	body := ticketbody.Content(c, req.DeliveryKey)
	create := func(followUp int64) (sdk.UpsertTicketResponse, error) {
		t, err := a.cl.CreateTicket(ctx, zendesk.NewTicket{Subject: ticketbody.Subject(c), Comment: zendesk.Comment{Body: body, Public: ptr(true)},
			ExternalID: ext, Tags: tags, CustomFields: fields, ViaFollowupSourceID: followUp})
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		return sdk.UpsertTicketResponse{ID: strconv.FormatInt(t.ID, 10), Created: true}, nil
	}
	var id int64
	if req.TicketID != "" {
		if id, err = parseTicketID(req.TicketID); err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
	} else if !req.FirstAttempt {
		// The hub may have crashed after a create: look the ticket up first.
		// On a first attempt no ticket can exist: one call instead of two.
		found, err := a.cl.TicketsByExternalID(ctx, ext)
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		if t, ok := pick(found); ok {
			id = t.ID
		}
	}
	if id == 0 {
		return create(0)
	}
	return h.edit(ctx, a, id, edit{key: req.DeliveryKey, ext: ext, body: body, tags: tags, fields: fields, create: create})
}

// edit is a change to write into an existing ticket.
type edit struct {
	key, ext, body string
	tags           []string
	fields         []zendesk.FieldValue
	create         func(followUp int64) (sdk.UpsertTicketResponse, error)
}

// edit adds the change as a public comment of ticket id, unless the ticket
// has it already, and sets the tags (mergeTags) and fields. The update is
// safe (updated_stamp): when the ticket changed since it was read, Zendesk
// writes nothing (409) and the plugin reads it again.
func (h helpdesk) edit(ctx context.Context, a account, id int64, e edit) (sdk.UpsertTicketResponse, error) {
	ref := sdk.UpsertTicketResponse{ID: strconv.FormatInt(id, 10)}
	done, err := h.hasMarker(ctx, a, id, e.key)
	if err != nil || done {
		return ref, err
	}
	for attempt := 0; ; attempt++ {
		t, err := a.cl.GetTicket(ctx, id)
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		if t.Status == "closed" {
			// Zendesk takes no comment on a closed ticket: the change goes
			// to its open follow-up, made now if there is none.
			return h.followUp(ctx, a, t, e)
		}
		u := zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: e.body, Public: ptr(true)}, CustomFields: e.fields,
			SafeUpdate: true, UpdatedStamp: t.UpdatedAt}
		if len(e.tags) > 0 {
			merged := mergeTags(t.Tags, e.tags)
			u.Tags = &merged
		}
		_, err = a.cl.UpdateTicket(ctx, id, u)
		if zendesk.IsConflict(err) && attempt < 2 {
			continue // changed since it was read: nothing was written, read it again
		}
		if err != nil {
			return sdk.UpsertTicketResponse{}, err
		}
		return ref, nil
	}
}

// followUp writes the change into the open follow-up of a closed ticket (a
// newer ticket of the same external_id), or creates one.
func (h helpdesk) followUp(ctx context.Context, a account, closed zendesk.Ticket, e edit) (sdk.UpsertTicketResponse, error) {
	id, ok, err := openFollowUp(ctx, a, closed.ID, e.ext)
	if err != nil {
		return sdk.UpsertTicketResponse{}, err
	}
	if ok {
		return h.edit(ctx, a, id, e)
	}
	return e.create(closed.ID)
}

// openFollowUp is the open follow-up of the closed ticket closedID: the
// newest ticket of its external_id ext that is newer and not closed
// (false: none yet, or the ticket has no external_id to find one by).
func openFollowUp(ctx context.Context, a account, closedID int64, ext string) (int64, bool, error) {
	if ext == "" {
		return 0, false, nil
	}
	found, err := a.cl.TicketsByExternalID(ctx, ext)
	if err != nil {
		return 0, false, err
	}
	if t, ok := pick(found); ok && t.ID > closedID && t.Status != "closed" {
		return t.ID, true, nil
	}
	return 0, false, nil
}

// hasMarker reports whether ticket id already has a comment with the
// marker of key.
func (h helpdesk) hasMarker(ctx context.Context, a account, id int64, key string) (bool, error) {
	comments, err := a.cl.Comments(ctx, id)
	if err != nil {
		return false, err
	}
	marker := ticketbody.Marker(key)
	for _, cm := range comments {
		if strings.Contains(cm.Body, marker) {
			return true, nil
		}
	}
	return false, nil
}

func ptr[T any](v T) *T { return &v }

// zendeskTags turns the hub's tags into Zendesk tags: lower case, white
// space as "_" (a Zendesk tag is one word; GUESS: Zendesk would split or
// refuse it otherwise), each once.
func zendeskTags(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range in {
		t = strings.ToLower(strings.Join(strings.Fields(t), "_"))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// mergeTags keeps a ticket's tags (those staff or triggers added too) but
// replaces the hub's keyed ones: a new "rating:4" drops an old "rating:2".
// The result keeps the ticket's order, new tags after.
func mergeTags(current, next []string) []string {
	keys := map[string]bool{}
	have := map[string]bool{}
	for _, t := range next {
		have[t] = true
		if k, _, ok := strings.Cut(t, ":"); ok {
			keys[k+":"] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range current {
		if k, _, ok := strings.Cut(t, ":"); ok && keys[k+":"] && !have[t] {
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range next {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Custom fields the settings may name, and the review value each holds.
var fieldNames = []string{"review_id", "rating", "store", "app", "language", "country", "version", "author", "url"}

type fieldSetting struct {
	name string
	id   int64
}

func parseFields(v string) ([]fieldSetting, error) {
	var out []fieldSetting
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, idText, ok := strings.Cut(part, "=")
		name, idText = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(idText)
		if !ok {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "custom_fields: %q is not NAME=TICKET_FIELD_ID", part)
		}
		known := false
		for _, n := range fieldNames {
			known = known || n == name
		}
		if !known {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "custom_fields: unknown name %q (known: %s)", name, strings.Join(fieldNames, ", "))
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || id <= 0 {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "custom_fields: %s=%q is not a ticket field id (a number)", name, idText)
		}
		if seen[name] {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "custom_fields: %s is named twice", name)
		}
		seen[name] = true
		out = append(out, fieldSetting{name, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// values are the custom field values of a review change (fields without a
// value are left out, never blanked).
func (a account) values(c sdk.ReviewChange) []zendesk.FieldValue {
	r := c.Review
	var out []zendesk.FieldValue
	for _, f := range a.fields {
		var v string
		switch f.name {
		case "review_id":
			v = r.ID
		case "rating":
			if r.Rating > 0 {
				v = strconv.Itoa(r.Rating)
			}
		case "store":
			v = c.DisplayStore()
		case "app":
			v = c.AppName
		case "language":
			v = r.Language
		case "country":
			v = r.Country
		case "version":
			v = r.AppVersion
		case "author":
			v = r.Author
		case "url":
			v = r.URL
		}
		if v != "" {
			out = append(out, zendesk.FieldValue{ID: f.id, Value: v})
		}
	}
	return out
}

func webhookAnswer(status int, msg string) sdk.HandleWebhookResponse {
	return sdk.HandleWebhookResponse{Status: status, Body: []byte(msg + "\n"),
		Headers: []sdk.Header{{Name: "Content-Type", Values: []string{"text/plain; charset=utf-8"}}}}
}

// HandleWebhook answers Zendesk's event webhook. A request whose signature
// is missing, wrong or stale gets a 401 naming why. An authentic event that
// carries no answer for a known reason (an internal note, an end user's
// comment, another event type, Reviewhub's own comment, a comment in an
// alert ticket) gets a quiet 200. One the plugin cannot read gets a 200 too
// (a body that is not JSON: a 400), with Ignored set, so the hub keeps it
// for the operator.
func (h helpdesk) HandleWebhook(_ context.Context, req sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	tol, err := tolerance(req.Settings)
	if err != nil {
		tol = DefaultTolerance
	}
	now := time.Now()
	if h.now != nil {
		now = h.now()
	}
	if err := zendesk.Verify(strings.TrimSpace(req.Settings["webhook_secret"]), req.Header(zendesk.SignatureHeader),
		req.Header(zendesk.SignatureTimestampHeader), req.Body, now, tol); err != nil {
		return webhookAnswer(http.StatusUnauthorized, "refused: "+err.Error()), nil
	}
	ans, err := zendesk.ParseWebhook(req.Body)
	if err != nil {
		var we *zendesk.WebhookError
		if !errors.As(err, &we) {
			return sdk.HandleWebhookResponse{}, err
		}
		if we.NotAnswer {
			return webhookAnswer(http.StatusOK, "ignored: "+we.Reason), nil
		}
		status := http.StatusOK
		if we.Malformed {
			status = http.StatusBadRequest
		}
		res := webhookAnswer(status, "not read: "+we.Reason)
		res.Ignored = &sdk.Unreadable{ID: we.EventID, Reason: we.Reason, Shape: sdk.ShapeOf(req.Body)}
		return res, nil
	}
	if strings.HasPrefix(ans.ExternalID, ticketbody.AlertPrefix) {
		return webhookAnswer(http.StatusOK, "ignored: a comment in a Reviewhub alert ticket"), nil
	}
	sent := ans.SentAt
	if sent.IsZero() {
		sent = now.UTC()
	}
	res := webhookAnswer(http.StatusOK, "accepted")
	res.Replies = []sdk.ReplyRequest{{TicketID: ans.TicketID, MessageID: "zendesk:" + ans.CommentID, ReviewID: reviewOf(ans.ExternalID),
		Text: ans.Text, Staff: ans.Staff, SentAt: sent}}
	return res, nil
}

// WriteReplyResult writes a reply's outcome (or the hub's own note: an
// answer outdated or deleted, a draft, an automatic reply held back) into
// the ticket as an internal note (a private comment), once per reply.
// Zendesk refuses any update of a closed ticket (422 RecordInvalid), and a
// note may come weeks after the answer: as an edit does, it then goes to
// the ticket's open follow-up, made now (with the note as its first,
// internal comment) if there is none.
func (h helpdesk) WriteReplyResult(ctx context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, err
	}
	id, err := parseTicketID(req.Result.TicketID)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, err
	}
	key := "result:" + req.Result.MessageID
	done, err := h.hasMarker(ctx, a, id, key)
	if err != nil || done {
		return sdk.WriteReplyResultResponse{}, err
	}
	note := zendesk.Comment{Body: ticketbody.ResultNote(req.Result), Public: ptr(false)}
	t, err := a.cl.GetTicket(ctx, id)
	if err != nil {
		return sdk.WriteReplyResultResponse{}, err
	}
	if t.Status == "closed" {
		fid, ok, err := openFollowUp(ctx, a, t.ID, t.ExternalID)
		if err != nil {
			return sdk.WriteReplyResultResponse{}, err
		}
		if !ok {
			_, err := a.cl.CreateTicket(ctx, zendesk.NewTicket{Subject: t.Subject, Comment: note, ExternalID: t.ExternalID,
				ViaFollowupSourceID: t.ID})
			return sdk.WriteReplyResultResponse{}, err
		}
		if done, err := h.hasMarker(ctx, a, fid, key); err != nil || done {
			return sdk.WriteReplyResultResponse{}, err
		}
		id = fid
	}
	_, err = a.cl.UpdateTicket(ctx, id, zendesk.TicketUpdate{Comment: &note})
	return sdk.WriteReplyResultResponse{}, err
}

// PostAlert writes the hub's health alert into a ticket of its own per app
// (external_id "reviewhub-alerts:INTEGRATION/APP"): the first alert opens
// the ticket, later ones (the recovery, the next outage) are further
// comments, which reopen it. Idempotent by the alert's key (a marker).
func (h helpdesk) PostAlert(ctx context.Context, req sdk.PostAlertRequest) (sdk.PostAlertResponse, error) {
	a, err := h.account(req.Settings)
	if err != nil {
		return sdk.PostAlertResponse{}, err
	}
	al := req.Alert
	if al.Key == "" {
		return sdk.PostAlertResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the alert has no key")
	}
	ext := ticketbody.AlertThread(al)
	body := al.Title + "\n\n" + al.Text + "\n\n" + ticketbody.AlertMarker(al)
	found, err := a.cl.TicketsByExternalID(ctx, ext)
	if err != nil {
		return sdk.PostAlertResponse{}, err
	}
	t, ok := pick(found)
	if ok {
		done, err := h.hasMarker(ctx, a, t.ID, "alert:"+al.Key)
		if err != nil || done {
			return sdk.PostAlertResponse{}, err
		}
	}
	if !ok || t.Status == "closed" {
		_, err := a.cl.CreateTicket(ctx, zendesk.NewTicket{Subject: ticketbody.AlertSubject(al),
			Comment: zendesk.Comment{Body: body, Public: ptr(true)}, ExternalID: ext, ViaFollowupSourceID: t.ID})
		return sdk.PostAlertResponse{}, err
	}
	_, err = a.cl.UpdateTicket(ctx, t.ID, zendesk.TicketUpdate{Comment: &zendesk.Comment{Body: body, Public: ptr(true)}})
	return sdk.PostAlertResponse{}, err
}

// newHTTPClient is the SDK's: a timeout, a bounded answer, requests
// counted, an idle connection kept per call the hub may have in flight,
// and a read that failed in passing (a 5xx, a lost connection) sent again.
func newHTTPClient() *http.Client {
	return sdk.NewHTTPClient(sdk.HTTPOptions{Timeout: zendesk.CallTimeout, Retry: &sdk.RetryOptions{}})
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-zendesk and the plugins bundle run it.
func Main() {
	if err := sdk.ServeHelpdesk(helpdesk{httpClient: newHTTPClient(), gate: &rategate.Gate{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
