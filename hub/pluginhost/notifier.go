package pluginhost

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

// Notifier returns the plugin as a NotifierPlugin (SDK v0.3) that follows
// restarts; a call on a plugin of another kind fails Invalid.
func (p *Plugin) Notifier() sdk.NotifierPlugin { return notifierProxy{p} }

type notifierProxy struct{ p *Plugin }

func (n notifierProxy) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return n.p.Info(), nil
}

// notifierCall calls a notifier method through call.
func notifierCall[T any](ctx context.Context, n notifierProxy, op string, fn func(context.Context, sdk.NotifierPlugin) (T, error)) (T, error) {
	return call(ctx, n.p, sdk.PluginKindNotifier, op, func(ctx context.Context, c *host.Conn) (T, error) {
		np, err := c.Notifier()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, np)
	})
}

func (n notifierProxy) CheckSettings(ctx context.Context, req sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	return notifierCall(ctx, n, "CheckSettings", func(ctx context.Context, np sdk.NotifierPlugin) (sdk.CheckSettingsResponse, error) {
		return np.CheckSettings(ctx, req)
	})
}

func (n notifierProxy) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	return notifierCall(ctx, n, "Notify", func(ctx context.Context, np sdk.NotifierPlugin) (sdk.NotifyResponse, error) {
		return np.Notify(ctx, req)
	})
}

var _ sdk.NotifierPlugin = notifierProxy{}
