// Command testdesk is a helpdesk plugin for the hub command's tests: it
// declares settings (a required endpoint and a required secret) and does
// nothing else.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/reviewhub/reviewhub/sdk"
)

type desk struct{}

func (desk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
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

func (desk) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}

func (desk) UpsertTicket(context.Context, sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	return sdk.UpsertTicketResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "testdesk keeps no tickets")
}

func (desk) HandleWebhook(context.Context, sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	return sdk.HandleWebhookResponse{Status: 404}, nil
}

func (desk) WriteReplyResult(context.Context, sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	return sdk.WriteReplyResultResponse{}, nil
}

var _ sdk.HelpdeskPlugin = desk{}

func main() {
	if err := sdk.ServeHelpdesk(desk{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
