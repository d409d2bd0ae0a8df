package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/reviewhub/reviewhub/hub/redact"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// keepIgnored records an authentic webhook call its helpdesk plugin could
// not read: logged at WARN (reason and shape, never values), counted, and
// kept with its body redacted for GET /api/integrations/{id}/webhooks/ignored.
// A failure to record is logged; the helpdesk still gets the plugin's answer.
func (s *Server) keepIgnored(ctx context.Context, log *slog.Logger, in state.Integration, plugin string,
	r *http.Request, body []byte, ig *sdk.Unreadable) {
	shape := ig.Shape
	if shape == "" {
		shape = sdk.ShapeOf(body)
	}
	log.Warn("webhook ignored: the helpdesk plugin could not read it", "reason", ig.Reason, "shape", shape,
		"item_id", ig.ID, "body_bytes", len(body))
	_, err := s.DB.KeepUnreadable(context.WithoutCancel(ctx), state.Unreadable{
		IntegrationID: in.ID, Kind: state.UnreadableWebhook, Plugin: plugin, ItemID: ig.ID, Reason: ig.Reason, Shape: shape,
		Webhook: &state.WebhookCall{Method: r.Method, Query: redact.Query(r.URL.RawQuery),
			ContentType: redact.Header(r.Header.Get("Content-Type")), Body: redact.Body(body), BodyBytes: len(body)},
	})
	if err != nil {
		log.Error("recording an ignored webhook failed", "error", err)
	}
}
