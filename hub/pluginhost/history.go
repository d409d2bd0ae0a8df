package pluginhost

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
)

// History lists an app's past through the plugin (SDK v0.3); a plugin
// built before it answers ErrorKindUnsupported.
func (s storeProxy) History(ctx context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	return storeCall(ctx, s, "History", func(ctx context.Context, st sdk.StorePlugin) (sdk.HistoryResponse, error) {
		return sdk.History(ctx, st, req)
	})
}
