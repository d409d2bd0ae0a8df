// Command helpdesk is a test helpdesk plugin backed by testbackend.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk"
)

type helpdesk struct{}

func (helpdesk) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "testdesk", Version: "0.0.1", Description: "test helpdesk",
		Settings: []sdk.SettingField{
			{Key: "url", Label: "Backend URL", Required: true, Endpoint: true},
			{Key: "secret", Label: "Webhook secret", Required: true, Secret: true},
		},
		Helpdesk: &sdk.HelpdeskCapabilities{SupportsTags: true},
	}, nil
}

func (helpdesk) CheckCredentials(ctx context.Context, s sdk.Settings) (sdk.CredentialsReport, error) {
	if s["url"] == "" {
		return sdk.CredentialsReport{}, sdk.Errorf(sdk.Invalid, "url is empty")
	}
	return sdk.CredentialsReport{}, nil
}

func describe(c sdk.ReviewChange) string {
	s := fmt.Sprintf("[%s] %d★ %s", c.Kind, c.Review.Rating, c.Review.Text)
	if prev := c.PreviousRating(); prev != 0 && prev != c.Review.Rating {
		s += fmt.Sprintf(" (rating %d → %d)", prev, c.Review.Rating)
	}
	return s
}

func (helpdesk) UpsertTicket(ctx context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	base := req.Settings["url"]
	id := req.TicketID
	if id == "" {
		var found testbackend.Ticket
		err := testbackend.Call(ctx, base, "GET", "/tickets?review_id="+url.QueryEscape(req.Change.Review.ID), nil, &found)
		switch sdk.KindOf(err) {
		case sdk.NotFound:
			var t testbackend.Ticket
			err := testbackend.Call(ctx, base, "POST", "/tickets", testbackend.Ticket{
				ReviewID: req.Change.Review.ID, Messages: []string{describe(req.Change)}, Tags: req.Tags,
				Keys: []string{req.DeliveryKey},
			}, &t)
			return sdk.TicketRef{ID: t.ID, Created: err == nil}, err
		case sdk.KindUnknown:
			id = found.ID
		default:
			return sdk.TicketRef{}, err
		}
	}
	err := testbackend.Call(ctx, base, "POST", "/tickets/"+id+"/messages",
		map[string]string{"text": describe(req.Change), "key": req.DeliveryKey}, nil)
	return sdk.TicketRef{ID: id}, err
}

func (helpdesk) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	q, _ := url.ParseQuery(req.Query)
	if subtle.ConstantTimeCompare([]byte(q.Get("secret")), []byte(req.Settings["secret"])) != 1 || req.Settings["secret"] == "" {
		return sdk.WebhookResult{Status: 401, Body: []byte("wrong secret")}, nil
	}
	var body testbackend.WebhookBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return sdk.WebhookResult{Status: 400, Body: []byte("malformed body: " + err.Error())}, nil
	}
	if body.TicketID == "" || body.MessageID == "" || body.Text == "" {
		return sdk.WebhookResult{Status: 400, Body: []byte("ticket_id, message_id and text are required")}, nil
	}
	return sdk.WebhookResult{Status: 200, Body: []byte(`{"ok":true}`), Replies: []sdk.ReplyRequest{{
		TicketID: body.TicketID, MessageID: body.MessageID, Text: body.Text, Staff: body.Staff,
	}}}, nil
}

func (helpdesk) WriteReplyResult(ctx context.Context, req sdk.ReplyResultRequest) error {
	r := req.Result
	return testbackend.Call(ctx, req.Settings["url"], "POST", "/tickets/"+r.TicketID+"/notes",
		map[string]string{"text": r.Outcome + ": " + r.Detail}, nil)
}

func main() { sdk.ServeHelpdesk(helpdesk{}) }
