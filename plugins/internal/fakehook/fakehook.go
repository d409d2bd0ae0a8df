// Package fakehook sends the webhook requests of the project's fake
// helpdesks (an agent's answer, a note) to the hub or to a test's server,
// as the vendor's webhook would, and turns an answer other than 2xx into an
// error naming the status and what the receiver said.
package fakehook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client bounds every webhook call (the caller's context, when shorter,
// wins).
var client = &http.Client{Timeout: 30 * time.Second}

// Post sends body to url with the headers given. from names the fake in
// errors ("fake zendesk").
func Post(ctx context.Context, from, url string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: webhook: %w", from, err)
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: webhook: %w", from, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		said, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s: webhook answered %d: %s", from, resp.StatusCode, strings.TrimSpace(string(said)))
	}
	return nil
}
