// Command testdesk is a helpdesk plugin for the hub command's tests: it
// declares settings (a required endpoint and a required secret) and does
// nothing else.
package main

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
)

type desk struct{}

func (desk) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "testdesk", Version: "0.0.1", Description: "settings-only test helpdesk",
		Settings: []sdk.SettingField{
			{Key: "base_url", Label: "API base URL", Required: true, Endpoint: true},
			{Key: "api_key", Label: "API key", Required: true, Secret: true},
			{Key: "note", Label: "A free-text setting"},
		},
		Helpdesk: &sdk.HelpdeskCapabilities{},
	}, nil
}

func (desk) CheckCredentials(context.Context, sdk.Settings) (sdk.CredentialsReport, error) {
	return sdk.CredentialsReport{}, nil
}

func (desk) UpsertTicket(context.Context, sdk.TicketRequest) (sdk.TicketRef, error) {
	return sdk.TicketRef{}, sdk.Errorf(sdk.ErrorKindInvalid, "testdesk keeps no tickets")
}

func (desk) HandleWebhook(context.Context, sdk.WebhookRequest) (sdk.WebhookResult, error) {
	return sdk.WebhookResult{Status: 404}, nil
}

func (desk) WriteReplyResult(context.Context, sdk.ReplyResultRequest) error { return nil }

func main() { sdk.ServeHelpdesk(desk{}) }
