// Package hostapi is the SDK's private bridge between package sdk (types,
// conversions, the gRPC adapters of both sides) and package sdk/host (the
// hub's side: starting and supervising plugin processes). sdk fills these
// hooks when it is initialised; sdk/host imports sdk, so they are set
// before sdk/host uses them. grpc-go reaches its own internals the same way.
package hostapi

import (
	"log/slog"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// PluginInfo is the go-plugin name of the service every plugin serves
// (Info); the store and helpdesk services are named by their plugin kind.
const PluginInfo = "info"

var (
	// ClientPlugins is the go-plugin set of the hub's side: dispensing
	// PluginInfo gives an InfoClient, dispensing a kind gives an
	// sdk.StorePlugin or an sdk.HelpdeskPlugin.
	ClientPlugins func() plugin.PluginSet
	// FromStatus turns a gRPC error from a plugin into an *sdk.Error.
	FromStatus func(op string, err error) error
	// RequestIDInterceptor passes a call's request id (and whether log
	// wants debug lines) to the plugin.
	RequestIDInterceptor func(log *slog.Logger) grpc.UnaryClientInterceptor
	// TraceInterceptor makes a client span of each plugin call and sends
	// its trace context (OpenTelemetry's global provider and propagator).
	TraceInterceptor grpc.UnaryClientInterceptor
)
