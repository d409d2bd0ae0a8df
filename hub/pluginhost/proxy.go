package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

// Store returns the plugin as a StorePlugin that follows restarts.
func (p *Plugin) Store() sdk.StorePlugin { return storeProxy{p} }

// Helpdesk returns the plugin as a HelpdeskPlugin that follows restarts;
// it is an sdk.AlertPoster too (Unsupported from a plugin without alerts).
func (p *Plugin) Helpdesk() sdk.HelpdeskPlugin { return helpdeskProxy{p} }

// opHandleWebhook is the call that waits for a restarting plugin
// (Options.RestartWait): it has no bus to retry it.
const opHandleWebhook = "HandleWebhook"

// call runs fn on the current process within the host's CallTimeout (or
// the caller's shorter deadline). A call that runs out of the host's time
// fails Unavailable, so the bus retries it; a failed call makes the
// supervisor check the plugin at once. A webhook finding its plugin down
// (not running, or failing Unavailable and then its health check) waits
// for the restart, at most RestartWait, and is made on the new process:
// handling a webhook changes nothing, so making it again is safe.
func call[T any](ctx context.Context, p *Plugin, kind, op string, fn func(context.Context, *host.Conn) (T, error)) (_ T, err error) {
	var zero T
	if obs := p.host.opts.Observe; obs != nil {
		start := time.Now()
		defer func() { obs(ctx, p.name, op, err, time.Since(start)) }()
	}
	wait := op == opHandleWebhook
	conn, err := p.current()
	if err != nil && wait {
		if c, ok := p.awaitProcess(ctx, nil, p.host.opts.RestartWait); ok {
			conn, err = c, nil
		}
	}
	if err != nil {
		return zero, err
	}
	out, err := callOn(ctx, p, kind, op, conn, fn)
	if err != nil && wait && ctx.Err() == nil && sdk.KindOf(err) == sdk.ErrorKindUnavailable && p.check(ctx) != nil {
		if c, ok := p.awaitProcess(ctx, conn, p.host.opts.RestartWait); ok {
			return callOn(ctx, p, kind, op, c, fn)
		}
	}
	return out, err
}

// callOn is call's call of fn on one process.
func callOn[T any](ctx context.Context, p *Plugin, kind, op string, conn *host.Conn, fn func(context.Context, *host.Conn) (T, error)) (T, error) {
	var zero T
	if conn.Info().Kind != kind {
		return zero, &sdk.Error{Kind: sdk.ErrorKindInvalid, Message: fmt.Sprintf("plugin %s is a %s plugin, not a %s", p.name, conn.Info().Kind, kind)}
	}
	timeout := p.host.opts.CallTimeout
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := fn(cctx, conn)
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		err = &sdk.Error{Kind: sdk.ErrorKindUnavailable, Message: fmt.Sprintf("plugin %s did not answer %s within %s", p.name, op, timeout), Err: err}
	case errors.Is(err, context.Canceled):
		// Nobody cancelled the call: the connection was closed under it
		// (the plugin was killed or restarted). Retry like any outage.
		err = &sdk.Error{Kind: sdk.ErrorKindUnavailable, Message: fmt.Sprintf("plugin %s stopped during %s", p.name, op), Err: err}
	}
	if err != nil && sdk.KindOf(err) == sdk.ErrorKindUnavailable {
		p.checkNow()
	}
	return out, err
}

type storeProxy struct{ p *Plugin }

func (s storeProxy) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return s.p.Info(), nil }

// storeCall calls a store method through call.
func storeCall[T any](ctx context.Context, s storeProxy, op string, fn func(context.Context, sdk.StorePlugin) (T, error)) (T, error) {
	return call(ctx, s.p, sdk.PluginKindStore, op, func(ctx context.Context, c *host.Conn) (T, error) {
		st, err := c.Store()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, st)
	})
}

func (s storeProxy) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return storeCall(ctx, s, "CheckCredentials", func(ctx context.Context, st sdk.StorePlugin) (sdk.CheckCredentialsResponse, error) {
		return st.CheckCredentials(ctx, req)
	})
}

func (s storeProxy) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	return storeCall(ctx, s, "ListReviews", func(ctx context.Context, st sdk.StorePlugin) (sdk.ListReviewsResponse, error) {
		return st.ListReviews(ctx, req)
	})
}

func (s storeProxy) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	return storeCall(ctx, s, "PostReply", func(ctx context.Context, st sdk.StorePlugin) (sdk.PostReplyResponse, error) {
		return st.PostReply(ctx, req)
	})
}

func (s storeProxy) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return storeCall(ctx, s, "DeleteReply", func(ctx context.Context, st sdk.StorePlugin) (sdk.DeleteReplyResponse, error) {
		return st.DeleteReply(ctx, req)
	})
}

type helpdeskProxy struct{ p *Plugin }

func (h helpdeskProxy) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return h.p.Info(), nil
}

// helpdeskCall calls a helpdesk method through call.
func helpdeskCall[T any](ctx context.Context, h helpdeskProxy, op string, fn func(context.Context, sdk.HelpdeskPlugin) (T, error)) (T, error) {
	return call(ctx, h.p, sdk.PluginKindHelpdesk, op, func(ctx context.Context, c *host.Conn) (T, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, hd)
	})
}

func (h helpdeskProxy) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return helpdeskCall(ctx, h, "CheckCredentials", func(ctx context.Context, hd sdk.HelpdeskPlugin) (sdk.CheckCredentialsResponse, error) {
		return hd.CheckCredentials(ctx, req)
	})
}

func (h helpdeskProxy) UpsertTicket(ctx context.Context, req sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	return helpdeskCall(ctx, h, "UpsertTicket", func(ctx context.Context, hd sdk.HelpdeskPlugin) (sdk.UpsertTicketResponse, error) {
		return hd.UpsertTicket(ctx, req)
	})
}

func (h helpdeskProxy) HandleWebhook(ctx context.Context, req sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	return helpdeskCall(ctx, h, opHandleWebhook, func(ctx context.Context, hd sdk.HelpdeskPlugin) (sdk.HandleWebhookResponse, error) {
		return hd.HandleWebhook(ctx, req)
	})
}

func (h helpdeskProxy) WriteReplyResult(ctx context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	return helpdeskCall(ctx, h, "WriteReplyResult", func(ctx context.Context, hd sdk.HelpdeskPlugin) (sdk.WriteReplyResultResponse, error) {
		return hd.WriteReplyResult(ctx, req)
	})
}

// PostAlert posts a health alert through the plugin; a plugin without it
// answers Unsupported.
func (h helpdeskProxy) PostAlert(ctx context.Context, req sdk.PostAlertRequest) (sdk.PostAlertResponse, error) {
	return helpdeskCall(ctx, h, "PostAlert", func(ctx context.Context, hd sdk.HelpdeskPlugin) (sdk.PostAlertResponse, error) {
		a, ok := hd.(sdk.AlertPoster)
		if !ok {
			return sdk.PostAlertResponse{}, &sdk.Error{Kind: sdk.ErrorKindUnsupported, Message: "this helpdesk plugin does not post alerts"}
		}
		return a.PostAlert(ctx, req)
	})
}

var (
	_ sdk.StorePlugin    = storeProxy{}
	_ sdk.HelpdeskPlugin = helpdeskProxy{}
	_ sdk.AlertPoster    = helpdeskProxy{}
)
