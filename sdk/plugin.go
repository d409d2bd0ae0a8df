package sdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
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
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts, grpc.ChainUnaryInterceptor(receiveRequestID)))
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Output: os.Stderr, JSONFormat: true, Level: hclog.Warn,
		}),
	})
}

// logOutput is the process's stderr as it was at start: the hub reads its
// lines as the plugin's log. go-plugin's Serve later points os.Stderr
// elsewhere, so a logger made after Serve started must not use it.
var logOutput = os.Stderr

// Logger returns the logger a plugin should use: JSON lines on stderr that
// the hub reads and re-emits through its own log/slog logger with the
// plugin's name attached.
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

// Conn is the hub's connection to one running plugin process.
type Conn struct {
	client      *plugin.Client
	rpc         *plugin.GRPCClient
	proc        *process
	log         *slog.Logger
	info        Info
	version     int
	stopTimeout time.Duration
	stopOnce    sync.Once
}

// LaunchOptions tune Launch.
type LaunchOptions struct {
	// Logger receives the plugin's log lines; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the handshake (default 30s). Cancelling Launch's
	// context aborts the handshake at once (the process is killed).
	StartTimeout time.Duration
	// StopTimeout bounds a graceful stop in Close; then the process is
	// killed (default 5s).
	StopTimeout time.Duration
	// Versions offered to the plugin (default: the SDK's).
	Versions []int
	// SocketDir is where go-plugin makes the plugin's own directory for its
	// Unix socket (default: the system's temporary directory). That
	// directory is removed when the Conn is closed, even if the plugin was
	// killed.
	SocketDir string
	// SHA256, when set, pins the binary: Launch refuses to start a binary
	// with another SHA-256 (a *ChecksumError).
	SHA256 []byte
}

// ChecksumError is returned by Launch when the binary does not match
// LaunchOptions.SHA256.
type ChecksumError struct {
	Path      string
	Got, Want []byte
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("binary %s has SHA-256 %x, expected %x", e.Path, e.Got, e.Want)
}

// Launch starts the plugin binary cmd, handshakes, and reads its Info. The
// caller must Close the returned Conn.
//
// The plugin gets exactly cmd.Env (plus go-plugin's handshake variables);
// a nil cmd.Env means the hub's whole environment, as with exec.Cmd. The
// connection uses go-plugin's automatic mutual TLS.
func Launch(ctx context.Context, cmd *exec.Cmd, opts LaunchOptions) (*Conn, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 5 * time.Second
	}
	versions := opts.Versions
	if len(versions) == 0 {
		versions = []int{ProtocolVersion}
	}
	sets := map[int]plugin.PluginSet{}
	for _, v := range versions {
		sets[v] = clientSet()
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	proc := &process{cmd: cmd, path: cmd.Path, sum: opts.SHA256}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: sets,
		RunnerFunc:       proc.prepare,
		SkipHostEnv:      true,
		AutoMTLS:         true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: opts.SocketDir},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogAdapter(logger),
		StartTimeout:     opts.StartTimeout,
		GRPCDialOptions:  []grpc.DialOption{grpc.WithChainUnaryInterceptor(sendRequestID(logger))},
	})
	c := &Conn{client: client, proc: proc, log: logger, stopTimeout: opts.StopTimeout}
	// A cancelled ctx kills the process, which ends a hanging handshake.
	stopAbort := context.AfterFunc(ctx, func() { _ = proc.Kill(context.Background()) })
	fail := func(err error) (*Conn, error) {
		stopAbort()
		c.Kill()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("start plugin %s: %w (%v)", cmd.Path, ctx.Err(), err)
		}
		return nil, fmt.Errorf("start plugin %s: %w", cmd.Path, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	grpcClient, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fail(fmt.Errorf("plugin speaks %T, not gRPC", rpc))
	}
	c.rpc, c.version = grpcClient, client.NegotiatedVersion()
	raw, err := rpc.Dispense(pluginInfo)
	if err != nil {
		return fail(err)
	}
	infoCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	r, err := raw.(pb.PluginClient).Info(infoCtx, &pb.InfoRequest{})
	if err != nil {
		return fail(fromStatus("info", err))
	}
	c.info = infoFromPB(r)
	if c.info.Kind != KindStore && c.info.Kind != KindHelpdesk {
		return fail(fmt.Errorf("unknown kind %q", c.info.Kind))
	}
	if !stopAbort() {
		return fail(errors.New("start aborted"))
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

// Check asks the plugin's gRPC health service whether it serves, within
// ctx's deadline (go-plugin's own Ping has none, so a hung plugin would
// block it forever).
func (c *Conn) Check(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.rpc.Conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return fromStatus("health check", err)
	}
	return nil
}

// Ping is Check with a 5-second deadline.
func (c *Conn) Ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Check(ctx)
}

// Exited reports whether the plugin process has ended.
func (c *Conn) Exited() bool { return c.client.Exited() }

// Pid is the plugin process id (0 if unknown).
func (c *Conn) Pid() int { return c.proc.pid() }

// Addr is the address the plugin serves on (a Unix socket on Unix).
func (c *Conn) Addr() net.Addr {
	if rc := c.client.ReattachConfig(); rc != nil {
		return rc.Addr
	}
	return nil
}

// Close stops the plugin process: gracefully, then, after StopTimeout, by
// force. It never blocks for long, even when the plugin hangs, and it
// removes the plugin's socket directory.
func (c *Conn) Close() { c.stop() }

// Kill kills the plugin process at once (calls in flight fail Unavailable)
// and cleans up like Close.
func (c *Conn) Kill() {
	_ = c.proc.Kill(context.Background())
	c.stop()
}

// killWait bounds the wait for go-plugin's cleanup after SIGKILL.
const killWait = 5 * time.Second

func (c *Conn) stop() {
	c.stopOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// go-plugin's Kill asks the plugin to shut down over gRPC and
			// waits for that answer without a deadline: a hung (stopped)
			// plugin never answers, so the process is killed below.
			c.client.Kill()
		}()
		t := time.NewTimer(c.stopTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			c.log.Warn("plugin did not stop in time; killing it", "timeout", c.stopTimeout)
			_ = c.proc.Kill(context.Background())
			select {
			case <-done:
			case <-time.After(killWait):
				c.log.Error("plugin cleanup did not finish after SIGKILL", "pid", c.proc.pid())
			}
		}
		c.proc.removeSocketDir()
	})
}

// process runs the plugin binary for go-plugin (a runner.Runner). Unlike
// go-plugin's own runner it can be killed while the handshake is under way,
// checks the binary's pin right before exec, and passes the caller's
// environment instead of the hub's.
type process struct {
	cmd            *exec.Cmd
	path           string
	sum            []byte
	stdout, stderr io.ReadCloser

	mu        sync.Mutex
	started   bool
	aborted   bool
	pidN      int
	socketDir string
}

var _ runner.Runner = (*process)(nil)

// prepare is go-plugin's RunnerFunc: spec carries the variables go-plugin
// hands the plugin (handshake cookie, AutoMTLS certificate, socket dir).
func (p *process) prepare(_ hclog.Logger, spec *exec.Cmd, socketDir string) (runner.Runner, error) {
	p.mu.Lock()
	p.socketDir = socketDir
	p.mu.Unlock()
	p.cmd.Env = append(p.cmd.Env, spec.Env...)
	var err error
	if p.stdout, err = p.cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if p.stderr, err = p.cmd.StderrPipe(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *process) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aborted {
		return errors.New("start aborted")
	}
	if len(p.sum) > 0 {
		got, err := fileSHA256(p.path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, p.sum) {
			return &ChecksumError{Path: p.path, Got: got, Want: p.sum}
		}
	}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.started, p.pidN = true, p.cmd.Process.Pid
	return nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("checksum of %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

func (p *process) Wait(context.Context) error { return p.cmd.Wait() }

// Kill kills the process (SIGKILL); before Start it makes Start fail.
func (p *process) Kill(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = true
	if !p.started {
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pidN
}

func (p *process) removeSocketDir() {
	p.mu.Lock()
	dir := p.socketDir
	p.mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

func (p *process) Diagnose(context.Context) string {
	return "the plugin did not complete go-plugin's handshake: is " + p.path +
		" a Reviewhub plugin built for this system, and executable?"
}

func (p *process) Stdout() io.ReadCloser { return p.stdout }
func (p *process) Stderr() io.ReadCloser { return p.stderr }
func (p *process) Name() string          { return p.path }
func (p *process) ID() string {
	if pid := p.pid(); pid != 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

func (p *process) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (p *process) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
