package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
	"google.golang.org/grpc"
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
	pluginInfo     = "info"
	pluginStore    = KindStore
	pluginHelpdesk = KindHelpdesk
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
	return pb.NewPluginClient(c), nil
}

type storePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Store
}

func (p *storePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStoreServer(s, &storeServer{impl: p.impl})
	return nil
}

func (p *storePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &storeClient{info: pb.NewPluginClient(c), c: pb.NewStoreClient(c)}, nil
}

type helpdeskPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Helpdesk
}

func (p *helpdeskPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterHelpdeskServer(s, &helpdeskServer{impl: p.impl})
	return nil
}

func (p *helpdeskPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &helpdeskClient{info: pb.NewPluginClient(c), c: pb.NewHelpdeskClient(c)}, nil
}

// ServeStore serves a store plugin; it is the whole main of one:
//
//	func main() { sdk.ServeStore(mystore.New()) }
func ServeStore(impl Store) {
	serve(map[string]plugin.Plugin{
		pluginInfo:  &infoPlugin{srv: &infoServer{kind: KindStore, info: impl.Info}},
		pluginStore: &storePlugin{impl: impl},
	})
}

// ServeHelpdesk serves a helpdesk plugin; it is the whole main of one.
func ServeHelpdesk(impl Helpdesk) {
	serve(map[string]plugin.Plugin{
		pluginInfo:     &infoPlugin{srv: &infoServer{kind: KindHelpdesk, info: impl.Info}},
		pluginHelpdesk: &helpdeskPlugin{impl: impl},
	})
}

func serve(set plugin.PluginSet) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "This is a Reviewhub plugin: the hub starts it, it is not meant to be run by hand.")
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: set},
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Output: os.Stderr, JSONFormat: true, Level: hclog.Warn,
		}),
	})
}

// Logger returns the logger a plugin should use: JSON lines on stderr that
// the hub reads and re-emits through its own log/slog logger with the
// plugin's name attached.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
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

// Conn is the hub's connection to one running plugin process.
type Conn struct {
	client  *plugin.Client
	rpc     plugin.ClientProtocol
	info    Info
	version int
}

// LaunchOptions tune Launch.
type LaunchOptions struct {
	// Logger receives the plugin's log lines; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the handshake (default 30s).
	StartTimeout time.Duration
	// Versions offered to the plugin (default: the SDK's).
	Versions []int
}

// Launch starts the plugin binary cmd, handshakes, and reads its Info. The
// caller must Close the returned Conn.
func Launch(ctx context.Context, cmd *exec.Cmd, opts LaunchOptions) (*Conn, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	versions := opts.Versions
	if len(versions) == 0 {
		versions = []int{ProtocolVersion}
	}
	sets := map[int]plugin.PluginSet{}
	for _, v := range versions {
		sets[v] = clientSet()
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: sets,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogAdapter(logger),
		StartTimeout:     opts.StartTimeout,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("start plugin %s: %w", cmd.Path, err)
	}
	c := &Conn{client: client, rpc: rpc, version: client.NegotiatedVersion()}
	raw, err := rpc.Dispense(pluginInfo)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("plugin %s: %w", cmd.Path, err)
	}
	infoCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	r, err := raw.(pb.PluginClient).Info(infoCtx, &pb.InfoRequest{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("plugin %s: %w", cmd.Path, fromStatus("info", err))
	}
	c.info = infoFromPB(r)
	if c.info.Kind != KindStore && c.info.Kind != KindHelpdesk {
		c.Close()
		return nil, fmt.Errorf("plugin %s: unknown kind %q", cmd.Path, c.info.Kind)
	}
	return c, nil
}

func clientSet() plugin.PluginSet {
	return plugin.PluginSet{
		pluginInfo:     &infoPlugin{},
		pluginStore:    &storePlugin{},
		pluginHelpdesk: &helpdeskPlugin{},
	}
}

// Info is what the plugin said about itself at start.
func (c *Conn) Info() Info { return c.info }

// ProtocolVersion is the protocol version both sides agreed on.
func (c *Conn) ProtocolVersion() int { return c.version }

// Store returns the plugin as a Store; it fails for a helpdesk plugin.
func (c *Conn) Store() (Store, error) {
	if c.info.Kind != KindStore {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a store", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(pluginStore)
	if err != nil {
		return nil, fmt.Errorf("dispense store %q: %w", c.info.Name, err)
	}
	return raw.(Store), nil
}

// Helpdesk returns the plugin as a Helpdesk; it fails for a store plugin.
func (c *Conn) Helpdesk() (Helpdesk, error) {
	if c.info.Kind != KindHelpdesk {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a helpdesk", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(pluginHelpdesk)
	if err != nil {
		return nil, fmt.Errorf("dispense helpdesk %q: %w", c.info.Name, err)
	}
	return raw.(Helpdesk), nil
}

// Ping checks that the plugin process answers.
func (c *Conn) Ping() error { return c.rpc.Ping() }

// Exited reports whether the plugin process has ended.
func (c *Conn) Exited() bool { return c.client.Exited() }

// Pid is the plugin process id (0 if unknown).
func (c *Conn) Pid() int {
	if rc := c.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Close stops the plugin process (gracefully, then by force).
func (c *Conn) Close() {
	c.client.Kill()
}
