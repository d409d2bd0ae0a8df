package sdk

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/reviewhub/reviewhub/sdk/internal/hostapi"
	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// The hub's side (sdk/host) reaches the gRPC client adapters, which share
// their conversions with the plugin's side, through internal/hostapi.
func init() {
	hostapi.ClientPlugins = clientSet
	hostapi.FromStatus = fromStatus
	hostapi.RequestIDInterceptor = func(log *slog.Logger) grpc.UnaryClientInterceptor { return sendRequestID(log) }
	hostapi.TraceInterceptor = sendTrace
}

func clientSet() plugin.PluginSet {
	return plugin.PluginSet{
		pluginInfo:     &infoPlugin{},
		pluginStore:    &storePlugin{},
		pluginHelpdesk: &helpdeskPlugin{},
		// SDK v0.3
		pluginNotifier:   &notifierPlugin{},
		pluginTranslator: &translatorGRPCPlugin{},
	}
}

// infoClient asks a plugin for its Info (the hub's side).
type infoClient struct{ c pb.PluginClient }

func (c infoClient) Info(ctx context.Context) (Info, error) {
	r, err := c.c.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(r), nil
}
