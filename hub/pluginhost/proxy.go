package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

// Store returns the plugin as a Store that follows restarts.
func (p *Plugin) Store() sdk.Store { return storeProxy{p} }

// Helpdesk returns the plugin as a Helpdesk that follows restarts.
func (p *Plugin) Helpdesk() sdk.Helpdesk { return helpdeskProxy{p} }

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

func (s storeProxy) Info(context.Context) (sdk.Info, error) { return s.p.Info(), nil }

// storeCall calls a store method through call.
func storeCall[T any](ctx context.Context, s storeProxy, op string, fn func(context.Context, sdk.Store) (T, error)) (T, error) {
	return call(ctx, s.p, sdk.PluginKindStore, op, func(ctx context.Context, c *host.Conn) (T, error) {
		st, err := c.Store()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, st)
	})
}

func (s storeProxy) CheckCredentials(ctx context.Context, set sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	return storeCall(ctx, s, "CheckCredentials", func(ctx context.Context, st sdk.Store) (sdk.CredentialsReport, error) {
		return st.CheckCredentials(ctx, set, appID)
	})
}

func (s storeProxy) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	return storeCall(ctx, s, "ListReviews", func(ctx context.Context, st sdk.Store) (sdk.ReviewPage, error) {
		return st.ListReviews(ctx, req)
	})
}

func (s storeProxy) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	return storeCall(ctx, s, "PostReply", func(ctx context.Context, st sdk.Store) (sdk.DeveloperReply, error) {
		return st.PostReply(ctx, req)
	})
}

func (s storeProxy) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) error {
	_, err := storeCall(ctx, s, "DeleteReply", func(ctx context.Context, st sdk.Store) (struct{}, error) {
		return struct{}{}, st.DeleteReply(ctx, req)
	})
	return err
}

type helpdeskProxy struct{ p *Plugin }

func (h helpdeskProxy) Info(context.Context) (sdk.Info, error) { return h.p.Info(), nil }

// helpdeskCall calls a helpdesk method through call.
func helpdeskCall[T any](ctx context.Context, h helpdeskProxy, op string, fn func(context.Context, sdk.Helpdesk) (T, error)) (T, error) {
	return call(ctx, h.p, sdk.PluginKindHelpdesk, op, func(ctx context.Context, c *host.Conn) (T, error) {
		hd, err := c.Helpdesk()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, hd)
	})
}

func (h helpdeskProxy) CheckCredentials(ctx context.Context, set sdk.Settings) (sdk.CredentialsReport, error) {
	return helpdeskCall(ctx, h, "CheckCredentials", func(ctx context.Context, hd sdk.Helpdesk) (sdk.CredentialsReport, error) {
		return hd.CheckCredentials(ctx, set)
	})
}

func (h helpdeskProxy) UpsertTicket(ctx context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	return helpdeskCall(ctx, h, "UpsertTicket", func(ctx context.Context, hd sdk.Helpdesk) (sdk.TicketRef, error) {
		return hd.UpsertTicket(ctx, req)
	})
}

func (h helpdeskProxy) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	return helpdeskCall(ctx, h, opHandleWebhook, func(ctx context.Context, hd sdk.Helpdesk) (sdk.WebhookResult, error) {
		return hd.HandleWebhook(ctx, req)
	})
}

func (h helpdeskProxy) WriteReplyResult(ctx context.Context, req sdk.ReplyResultRequest) error {
	_, err := helpdeskCall(ctx, h, "WriteReplyResult", func(ctx context.Context, hd sdk.Helpdesk) (struct{}, error) {
		return struct{}{}, hd.WriteReplyResult(ctx, req)
	})
	return err
}

// PostAlert posts a health alert through the plugin; a plugin without it
// answers Unsupported.
func (h helpdeskProxy) PostAlert(ctx context.Context, req sdk.AlertRequest) error {
	_, err := helpdeskCall(ctx, h, "PostAlert", func(ctx context.Context, hd sdk.Helpdesk) (struct{}, error) {
		a, ok := hd.(sdk.Alerter)
		if !ok {
			return struct{}{}, &sdk.Error{Kind: sdk.ErrorKindUnsupported, Message: "this helpdesk plugin does not post alerts"}
		}
		return struct{}{}, a.PostAlert(ctx, req)
	})
	return err
}
