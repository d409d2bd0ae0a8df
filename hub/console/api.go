package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// apiError is an admin API error answer.
type apiError struct {
	Status int
	Msg    string `json:"error"`
	Fields []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"fields"`
}

func (e *apiError) Error() string { return fmt.Sprintf("admin API %d: %s", e.Status, e.Msg) }

// recorder is a minimal http.ResponseWriter for in-process API calls.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// call runs one admin API request in process with the admin token and
// decodes the answer into out. An answer of 400 or more is an *apiError.
func (c *Console) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader = http.NoBody
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin API %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/api"+path, body)
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status >= 400 {
		e := &apiError{Status: rec.status}
		if err := json.Unmarshal(rec.body.Bytes(), e); err != nil || e.Msg == "" {
			e.Msg = strings.TrimSpace(rec.body.String())
		}
		return e
	}
	if out == nil || rec.status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("admin API %s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// plugins lists the installed plugins with their settings schemas.
func (c *Console) plugins(ctx context.Context) ([]sdk.Info, error) {
	var out []sdk.Info
	return out, c.call(ctx, http.MethodGet, "/plugins", nil, &out)
}

func (c *Console) listIntegrations(ctx context.Context) ([]httpapi.IntegrationJSON, error) {
	var out []httpapi.IntegrationJSON
	return out, c.call(ctx, http.MethodGet, "/integrations", nil, &out)
}

func (c *Console) integration(ctx context.Context, id string) (httpapi.IntegrationJSON, error) {
	var out httpapi.IntegrationJSON
	return out, c.call(ctx, http.MethodGet, "/integrations/"+pathEscape(id), nil, &out)
}

// statusView is GET /api/integrations/{id}/status. Apps keep their raw
// JSON too, for fields this console does not know yet (such as health).
type statusView struct {
	ID              string                   `json:"id"`
	Complete        bool                     `json:"complete"`
	Missing         []string                 `json:"missing"`
	Apps            []httpapi.AppStatus      `json:"apps"`
	RawApps         []json.RawMessage        `json:"-"`
	AnswersWaiting  int                      `json:"answers_waiting_for_ticket"`
	WebhooksIgnored int                      `json:"webhooks_ignored"`
	RecentReviews   []state.RecentReview     `json:"recent_reviews"`
	RecentReplies   []httpapi.RecentReply    `json:"recent_replies"`
	Automation      httpapi.AutomationStatus `json:"automation"`
}

func (c *Console) statusOf(ctx context.Context, id string) (statusView, error) {
	var out statusView
	var raw struct {
		Apps []json.RawMessage `json:"apps"`
	}
	var both json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/integrations/"+pathEscape(id)+"/status", nil, &both); err != nil {
		return out, err
	}
	if err := json.Unmarshal(both, &out); err != nil {
		return out, fmt.Errorf("status of %s: %w", id, err)
	}
	if err := json.Unmarshal(both, &raw); err != nil {
		return out, fmt.Errorf("status of %s: %w", id, err)
	}
	out.RawApps = raw.Apps
	return out, nil
}

func (c *Console) runCheck(ctx context.Context, id string) (check.Report, error) {
	var out check.Report
	return out, c.call(ctx, http.MethodPost, "/integrations/"+pathEscape(id)+"/check", nil, &out)
}

func (c *Console) listDeadLetters(ctx context.Context) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	return out, c.call(ctx, http.MethodGet, "/deadletters", nil, &out)
}

// pathEscape escapes an id for a path segment.
func pathEscape(id string) string { return url.PathEscape(id) }
