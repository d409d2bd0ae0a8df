package pluginhost

import (
	"context"
	"fmt"

	"github.com/reviewhub/reviewhub/sdk"
)

// Store returns the plugin as a Store that follows restarts.
func (p *Plugin) Store() sdk.Store { return storeProxy{p} }

// Helpdesk returns the plugin as a Helpdesk that follows restarts.
func (p *Plugin) Helpdesk() sdk.Helpdesk { return helpdeskProxy{p} }

// call runs fn on the current process; a failed call makes the supervisor
// check the plugin at once.
func call[T any](p *Plugin, kind string, fn func(*sdk.Conn) (T, error)) (T, error) {
	var zero T
	conn, err := p.current()
	if err != nil {
		return zero, err
	}
	if conn.Info().Kind != kind {
		return zero, &sdk.Error{Kind: sdk.Invalid, Message: fmt.Sprintf("plugin %s is a %s plugin, not a %s", p.name, conn.Info().Kind, kind)}
	}
	out, err := fn(conn)
	if err != nil && sdk.KindOf(err) == sdk.Unavailable {
		p.suspect()
	}
	return out, err
}

type storeProxy struct{ p *Plugin }

func (s storeProxy) store(c *sdk.Conn) (sdk.Store, error) { return c.Store() }

func (s storeProxy) Info(context.Context) (sdk.Info, error) { return s.p.Info(), nil }

func (s storeProxy) CheckCredentials(ctx context.Context, set sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	return call(s.p, sdk.KindStore, func(c *sdk.Conn) (sdk.CredentialsReport, error) {
		st, err := s.store(c)
		if err != nil {
			return sdk.CredentialsReport{}, err
		}
		return st.CheckCredentials(ctx, set, appID)
	})
}

func (s storeProxy) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	return call(s.p, sdk.KindStore, func(c *sdk.Conn) (sdk.ReviewPage, error) {
		st, err := s.store(c)
		if err != nil {
			return sdk.ReviewPage{}, err
		}
		return st.ListReviews(ctx, req)
	})
}

func (s storeProxy) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	return call(s.p, sdk.KindStore, func(c *sdk.Conn) (sdk.DeveloperReply, error) {
		st, err := s.store(c)
		if err != nil {
			return sdk.DeveloperReply{}, err
		}
		return st.PostReply(ctx, req)
	})
}

func (s storeProxy) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) error {
	_, err := call(s.p, sdk.KindStore, func(c *sdk.Conn) (struct{}, error) {
		st, err := s.store(c)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, st.DeleteReply(ctx, req)
	})
	return err
}

type helpdeskProxy struct{ p *Plugin }

func (h helpdeskProxy) Info(context.Context) (sdk.Info, error) { return h.p.Info(), nil }

func (h helpdeskProxy) CheckCredentials(ctx context.Context, set sdk.Settings) (sdk.CredentialsReport, error) {
	return call(h.p, sdk.KindHelpdesk, func(c *sdk.Conn) (sdk.CredentialsReport, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			return sdk.CredentialsReport{}, err
		}
		return hd.CheckCredentials(ctx, set)
	})
}

func (h helpdeskProxy) UpsertTicket(ctx context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	return call(h.p, sdk.KindHelpdesk, func(c *sdk.Conn) (sdk.TicketRef, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			return sdk.TicketRef{}, err
		}
		return hd.UpsertTicket(ctx, req)
	})
}

func (h helpdeskProxy) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	return call(h.p, sdk.KindHelpdesk, func(c *sdk.Conn) (sdk.WebhookResult, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			return sdk.WebhookResult{}, err
		}
		return hd.HandleWebhook(ctx, req)
	})
}

func (h helpdeskProxy) WriteReplyResult(ctx context.Context, req sdk.ReplyResultRequest) error {
	_, err := call(h.p, sdk.KindHelpdesk, func(c *sdk.Conn) (struct{}, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, hd.WriteReplyResult(ctx, req)
	})
	return err
}
