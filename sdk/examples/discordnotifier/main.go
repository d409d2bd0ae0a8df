// Command discordnotifier is the worked example of a notifier plugin in
// the SDK's README ("Notifier plugins"): events to a Discord channel's
// webhook. It is compiled with the SDK, not shipped.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

type discord struct{ http *http.Client }

var _ sdk.NotifierPlugin = discord{}

func (discord) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{Name: "discord", DisplayName: "Discord", Version: "0.1.0",
		Settings: []sdk.SettingField{{Key: "webhook_url", Label: "Webhook URL", Required: true, Secret: true,
			Endpoint: true, Type: sdk.SettingURL}},
		// A webhook cannot reply to a message: no threads.
		Notifier: &sdk.NotifierCapabilities{MaxTextLength: 2000, Formatting: sdk.FormatMarkdown},
	}, nil
}

func (discord) CheckSettings(ctx context.Context, req sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	// GET on a webhook URL reads it without posting.
	return sdk.CheckSettingsResponse{Checks: []sdk.Check{{Name: "webhook", Status: sdk.CheckWarn, Detail: "not checked"}}}, nil
}

var md = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", ">", `\>`, "|", `\|`, "#", `\#`)

func (d discord) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	e := req.Event
	head := "**" + md.Replace(sdk.EventTitle(e)) + "**\n"
	body, err := sdk.FitText(strings.Join(sdk.EventLines(e), "\n"), 2000, sdk.RuneLength,
		func(t string) string { return head + md.Replace(t) })
	if err != nil {
		return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
	}
	u, _ := req.Settings.URL("webhook_url")
	payload, _ := json.Marshal(map[string]any{"content": head + md.Replace(body),
		"allowed_mentions": map[string]any{"parse": []string{}}}) // a review never pings anyone
	hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, u+"?wait=true", bytes.NewReader(payload))
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(hreq)
	if err != nil {
		return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "Discord did not answer")
	}
	defer resp.Body.Close()
	var out struct {
		ID         string  `json:"id"`
		RetryAfter float64 `json:"retry_after"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return sdk.NotifyResponse{}, sdk.RetryAfterError(time.Duration(out.RetryAfter*float64(time.Second)), "Discord rate-limits this webhook")
	case resp.StatusCode >= 300:
		return sdk.NotifyResponse{}, sdk.HTTPError(resp.StatusCode, resp.Header, "Discord answered %d", resp.StatusCode)
	}
	return sdk.NotifyResponse{}, nil // no threads: no MessageRef
}

func main() {
	if err := sdk.ServeNotifier(discord{http: sdk.NewHTTPClient(sdk.HTTPOptions{SecretPath: true})}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
