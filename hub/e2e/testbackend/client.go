package testbackend

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// client counts every request against the calling operation's counter
// (quota budgets), as real store plugins do.
var client = &http.Client{Transport: sdk.CountingTransport{}, Timeout: 30 * time.Second}

// Call makes one JSON call to the backend at base and classifies failures
// the way a real connector would.
func Call(ctx context.Context, base, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "encode request: %v", err)
		}
		body = bytes.NewReader(b)
	}
	if base == "" {
		return sdk.Errorf(sdk.ErrorKindInvalid, "setting url is empty")
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "build request: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return sdk.Errorf(sdk.ErrorKindNotFound, "%s %s: %s", method, path, bytes.TrimSpace(raw))
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return sdk.RetryAfterError(time.Duration(secs)*time.Second, "%s %s: rate limited", method, path)
	case resp.StatusCode == http.StatusUnauthorized:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "%s %s: %s", method, path, bytes.TrimSpace(raw))
	case resp.StatusCode == http.StatusForbidden:
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "%s %s: %s", method, path, bytes.TrimSpace(raw))
	case resp.StatusCode >= 500:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "%s %s: %d", method, path, resp.StatusCode)
	case resp.StatusCode >= 400:
		return sdk.Errorf(sdk.ErrorKindInvalid, "%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "%s %s: bad answer: %v", method, path, err)
		}
	}
	return nil
}

// WebhookBody is what the test helpdesk posts to the hub when staff answer.
type WebhookBody struct {
	TicketID  string `json:"ticket_id"`
	MessageID string `json:"message_id"`
	Text      string `json:"text"`
	Staff     string `json:"staff"`
}
