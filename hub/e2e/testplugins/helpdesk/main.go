// Command helpdesk is a test helpdesk plugin backed by testbackend.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/url"
	"os"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk"
)

type helpdesk struct{}

func (helpdesk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "testdesk", Version: "0.0.1", Description: "test helpdesk",
		Settings: []sdk.SettingField{
			{Key: "url", Label: "Backend URL", Required: true, Endpoint: true},
			{Key: "secret", Label: "Webhook secret", Required: true, Secret: true},
		},
		Helpdesk: &sdk.HelpdeskCapabilities{SupportsTags: true},
	}, nil
}

// CheckCredentials reads (never writes) where the backend says the helpdesk
// sends its webhooks, and reports it with the secret replaced by "REDACTED".
func (helpdesk) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	s := req.Settings
	if s["url"] == "" {
		return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "url is empty")
	}
	var hook struct{ URL string }
	if err := testbackend.Call(ctx, s["url"], "GET", "/helpdesk/webhook", nil, &hook); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	rep := sdk.CheckCredentialsResponse{Detail: "test helpdesk backend reachable",
		Checks: []sdk.Check{{Name: "backend", Status: sdk.CheckOK, Detail: "answers"}}}
	if hook.URL != "" {
		u, err := url.Parse(hook.URL)
		if err != nil {
			return rep, sdk.Errorf(sdk.ErrorKindInvalid, "the backend's webhook URL does not parse: %v", err)
		}
		q := u.Query()
		if q.Has("secret") {
			q.Set("secret", "REDACTED")
		}
		u.RawQuery = q.Encode()
		rep.WebhookURL = u.String()
	}
	return rep, nil
}

func describe(c sdk.ReviewChange) string {
	s := fmt.Sprintf("[%s] %d★ %s", c.Kind, c.Review.Rating, c.Review.Text)
	if prev := c.PreviousRating(); prev != 0 && prev != c.Review.Rating {
		s += fmt.Sprintf(" (rating %d → %d)", prev, c.Review.Rating)
	}
	return s
}

func (helpdesk) UpsertTicket(ctx context.Context, req sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	base := req.Settings["url"]
	id := req.TicketID
	create := func() (sdk.UpsertTicketResponse, error) {
		var t testbackend.Ticket
		err := testbackend.Call(ctx, base, "POST", "/tickets", testbackend.Ticket{
			ReviewID: req.Change.Review.ID, Messages: []string{describe(req.Change)}, Tags: req.Tags,
			Keys: []string{req.DeliveryKey},
		}, &t)
		return sdk.UpsertTicketResponse{ID: t.ID, Created: err == nil}, err
	}
	if id == "" && req.FirstAttempt {
		// The hub is certain no ticket exists: no lookup.
		return create()
	}
	if id == "" {
		var found testbackend.Ticket
		err := testbackend.Call(ctx, base, "GET", "/tickets?review_id="+url.QueryEscape(req.Change.Review.ID), nil, &found)
		switch sdk.KindOf(err) {
		case sdk.ErrorKindNotFound:
			return create()
		case sdk.ErrorKindUnknown:
			id = found.ID
		default:
			return sdk.UpsertTicketResponse{}, err
		}
	}
	err := testbackend.Call(ctx, base, "POST", "/tickets/"+id+"/messages",
		map[string]string{"text": describe(req.Change), "key": req.DeliveryKey}, nil)
	return sdk.UpsertTicketResponse{ID: id}, err
}

func (helpdesk) HandleWebhook(_ context.Context, req sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	q, _ := url.ParseQuery(req.Query)
	if subtle.ConstantTimeCompare([]byte(q.Get("secret")), []byte(req.Settings["secret"])) != 1 || req.Settings["secret"] == "" {
		return sdk.HandleWebhookResponse{Status: 401, Body: []byte("wrong secret")}, nil
	}
	// An authentic call it cannot read is answered and handed to the hub
	// to keep (Ignored), never dropped in silence.
	var body testbackend.WebhookBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return sdk.HandleWebhookResponse{Status: 400, Body: []byte("malformed body: " + err.Error()),
			Ignored: &sdk.Unreadable{Reason: "malformed JSON: " + err.Error(), Shape: sdk.ShapeOf(req.Body)}}, nil
	}
	if body.TicketID == "" || body.MessageID == "" || body.Text == "" {
		var ev struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(req.Body, &ev)
		return sdk.HandleWebhookResponse{Status: 200, Body: []byte(`{"ok":true,"ignored":"not a staff answer"}`),
			Ignored: &sdk.Unreadable{ID: ev.EventID, Reason: "not a staff answer: ticket_id, message_id and text are required",
				Shape: sdk.ShapeOf(req.Body)}}, nil
	}
	return sdk.HandleWebhookResponse{Status: 200, Body: []byte(`{"ok":true}`), Replies: []sdk.ReplyRequest{{
		TicketID: body.TicketID, MessageID: body.MessageID, Text: body.Text, Staff: body.Staff,
	}}}, nil
}

func (helpdesk) WriteReplyResult(ctx context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	r := req.Result
	return sdk.WriteReplyResultResponse{}, testbackend.Call(ctx, req.Settings["url"], "POST", "/tickets/"+r.TicketID+"/notes",
		map[string]string{"text": r.Outcome + ": " + r.Detail}, nil)
}

// PostAlert posts the hub's health alert (idempotent by key: the backend
// keeps one alert per key).
func (helpdesk) PostAlert(ctx context.Context, req sdk.PostAlertRequest) (sdk.PostAlertResponse, error) {
	a := req.Alert
	return sdk.PostAlertResponse{}, testbackend.Call(ctx, req.Settings["url"], "POST", "/alerts", testbackend.Alert{Key: a.Key, App: a.AppID,
		Health: a.Health, Recovered: a.Recovered, Title: a.Title, Text: a.Text}, nil)
}

var _ sdk.HelpdeskPlugin = helpdesk{}

func main() {
	if err := sdk.ServeHelpdesk(helpdesk{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
