package pluginhost

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

// Translator returns the plugin as a TranslatorPlugin that follows
// restarts (SDK v0.3's translator kind). Its Info carries the
// capabilities the plugin declared when it started.
func (p *Plugin) Translator() sdk.TranslatorPlugin { return translatorProxy{p} }

type translatorProxy struct{ p *Plugin }

func (t translatorProxy) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return t.p.Info(), nil
}

// translatorCall calls a translator method through call.
func translatorCall[T any](ctx context.Context, t translatorProxy, op string, fn func(context.Context, sdk.TranslatorPlugin) (T, error)) (T, error) {
	return call(ctx, t.p, sdk.PluginKindTranslator, op, func(ctx context.Context, c *host.Conn) (T, error) {
		tr, err := c.Translator()
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, tr)
	})
}

func (t translatorProxy) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return translatorCall(ctx, t, "CheckCredentials", func(ctx context.Context, tr sdk.TranslatorPlugin) (sdk.CheckCredentialsResponse, error) {
		return tr.CheckCredentials(ctx, req)
	})
}

func (t translatorProxy) Translate(ctx context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	return translatorCall(ctx, t, "Translate", func(ctx context.Context, tr sdk.TranslatorPlugin) (sdk.TranslateResponse, error) {
		return tr.Translate(ctx, req)
	})
}

var _ sdk.TranslatorPlugin = translatorProxy{}
