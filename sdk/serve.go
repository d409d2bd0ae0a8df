package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/reviewhub/reviewhub/sdk/internal/hostapi"
	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// ProtocolVersion is the newest plugin protocol this SDK speaks. A hub
// offers every version it knows and go-plugin picks the highest one both
// sides share, so a plugin built for version 1 keeps working with a hub that
// also speaks version 2.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake shared by the hub and every plugin.
// The magic cookie only guards against running a plugin binary by hand; it
// is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "REVIEWHUB_PLUGIN",
	MagicCookieValue: "c8b7a0f4-1f0e-4a59-9f38-reviewhub",
}

// Names of the plugins in a go-plugin plugin set.
const (
	pluginInfo     = hostapi.PluginInfo
	pluginStore    = PluginKindStore
	pluginHelpdesk = PluginKindHelpdesk
)

type infoPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *infoServer
}

func (p *infoPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.srv)
	return nil
}

func (p *infoPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return infoClient{pb.NewPluginClient(c)}, nil
}

type storePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *storeServer
}

func (p *storePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStoreServer(s, p.srv)
	return nil
}

func (p *storePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &storeClient{info: pb.NewPluginClient(c), c: pb.NewStoreClient(c)}, nil
}

type helpdeskPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *helpdeskServer
}

func (p *helpdeskPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterHelpdeskServer(s, p.srv)
	return nil
}

func (p *helpdeskPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &helpdeskClient{info: pb.NewPluginClient(c), c: pb.NewHelpdeskClient(c)}, nil
}

// ServeOption changes how ServeStore and ServeHelpdesk serve a plugin.
type ServeOption func(*serveConfig)

type serveConfig struct {
	grpcOptions []grpc.ServerOption
	logLevel    slog.Level
	test        *plugin.ServeTestConfig
}

// WithGRPCServerOptions adds options to the plugin's gRPC server (an
// interceptor, for example). The SDK's own interceptor runs first.
func WithGRPCServerOptions(opts ...grpc.ServerOption) ServeOption {
	return func(c *serveConfig) { c.grpcOptions = append(c.grpcOptions, opts...) }
}

// WithGoPluginLogLevel sets the level of go-plugin's own log lines (the
// transport's, not the plugin's): warnings and errors by default.
func WithGoPluginLogLevel(l slog.Level) ServeOption {
	return func(c *serveConfig) { c.logLevel = l }
}

// WithTestConfig serves in-process for a test instead of for a hub: the
// handshake cookie is not checked, the address is sent on
// cfg.ReattachConfigCh, and serving ends when cfg.Context ends
// (go-plugin's ServeTestConfig).
func WithTestConfig(cfg *plugin.ServeTestConfig) ServeOption {
	return func(c *serveConfig) { c.test = cfg }
}

// ErrNotLaunchedByHub is returned by ServeStore and ServeHelpdesk when the
// program was started by hand instead of by the hub.
var ErrNotLaunchedByHub = errors.New("this is a Reviewhub plugin: the hub starts it, it is not meant to be run by hand")

// ServeStore serves a store plugin until the hub stops it; it is the
// whole main of one:
//
//	func main() {
//		if err := sdk.ServeStore(mystore.New()); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//	}
//
// impl is a StorePlugin or, from plugins written for SDK v0.1, a Store
// (adapted with AdaptStore); anything else is refused with an error that
// names the missing method. Before impl is called, the SDK checks each
// call's settings against the declared schema (see CheckSettings) and a
// reply's length against ReplyMaxLength.
func ServeStore(impl AnyStore, opts ...ServeOption) error {
	sp, err := CheckedStore(impl)
	if err != nil {
		return err
	}
	return serve(map[string]plugin.Plugin{
		pluginInfo:  &infoPlugin{srv: &infoServer{kind: PluginKindStore, info: infoOf(sp.Info)}},
		pluginStore: &storePlugin{srv: &storeServer{impl: sp}},
	}, opts)
}

// ServeHelpdesk serves a helpdesk plugin until the hub stops it; it is the
// whole main of one. impl is a HelpdeskPlugin or, from plugins written for
// SDK v0.1, a Helpdesk (adapted with AdaptHelpdesk). Settings are checked
// against the declared schema before impl is called, except for
// HandleWebhook, which gets the integration's settings trimmed, defaulted and
// type-checked but not required (the hub forwards webhooks of integrations
// still being set up).
func ServeHelpdesk(impl AnyHelpdesk, opts ...ServeOption) error {
	hp, err := CheckedHelpdesk(impl)
	if err != nil {
		return err
	}
	return serve(map[string]plugin.Plugin{
		pluginInfo:     &infoPlugin{srv: &infoServer{kind: PluginKindHelpdesk, info: infoOf(hp.Info)}},
		pluginHelpdesk: &helpdeskPlugin{srv: &helpdeskServer{impl: hp}},
	}, opts)
}

func infoOf(f func(context.Context, InfoRequest) (Info, error)) func(context.Context) (Info, error) {
	return func(ctx context.Context) (Info, error) { return f(ctx, InfoRequest{}) }
}

func serve(set plugin.PluginSet, opts []ServeOption) error {
	cfg := serveConfig{logLevel: slog.LevelWarn}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.test == nil && os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		// Said here too: a plugin written for v0.1 calls Serve* without
		// looking at the error, and whoever ran it by hand should still
		// read why nothing happens.
		fmt.Fprintln(os.Stderr, ErrNotLaunchedByHub)
		return ErrNotLaunchedByHub
	}
	stopTracing := func() {}
	if cfg.test == nil {
		stopTracing = startTracing()
	}
	defer stopTracing()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: set},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			o = append(o, grpc.ChainUnaryInterceptor(receiveTrace, receiveRequestID))
			return plugin.DefaultGRPCServer(append(o, cfg.grpcOptions...))
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Output: logOutput, JSONFormat: true, Level: hclogLevel(cfg.logLevel),
		}),
		Test: cfg.test,
	})
	return nil
}

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		return hclog.Info
	}
	return hclog.Debug
}

// logOutput is the process's stderr as it was at start: the hub reads its
// lines as the plugin's log. go-plugin's Serve later points os.Stderr at a
// pipe the hub does not read, so a logger made after Serve started must
// not use os.Stderr.
var logOutput = os.Stderr

// Logger returns the logger a plugin should use: JSON lines on the
// process's stderr, which the hub reads and re-emits through its own
// log/slog logger with the plugin's name attached (also for lines written
// during a call). Use Log(ctx) inside a call to add the hub's request id.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(logOutput, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any()))
			case slog.MessageKey:
				return slog.Attr{Key: "@message", Value: a.Value}
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			}
			return a
		},
	}))
}

func levelName(v any) string {
	l, _ := v.(slog.Level)
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// describe names a value's type for an error message.
func describe(v any) string { return fmt.Sprintf("%T", v) }
