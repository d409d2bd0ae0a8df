package host

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"

	"github.com/reviewhub/reviewhub/sdk"
)

// translatorInfo reads a translator plugin's Info with its capabilities
// (a second call, Translator.Capabilities).
func translatorInfo(ctx context.Context, rpc plugin.ClientProtocol) (sdk.Info, error) {
	raw, err := rpc.Dispense(sdk.PluginKindTranslator)
	if err != nil {
		return sdk.Info{}, fmt.Errorf("dispense translator: %w", err)
	}
	return raw.(sdk.TranslatorPlugin).Info(ctx, sdk.InfoRequest{})
}

// Translator returns the plugin as a TranslatorPlugin; it fails for a
// plugin of another kind.
func (c *Conn) Translator() (sdk.TranslatorPlugin, error) {
	if c.info.Kind != sdk.PluginKindTranslator {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a translator", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(sdk.PluginKindTranslator)
	if err != nil {
		return nil, fmt.Errorf("dispense translator %q: %w", c.info.Name, err)
	}
	return raw.(sdk.TranslatorPlugin), nil
}
