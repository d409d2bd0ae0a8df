// Package host is the hub's side of the plugin connection: it starts a
// plugin binary, completes go-plugin's handshake over mutual TLS, reads the
// plugin's Info and hands out the plugin as an sdk.StorePlugin,
// sdk.HelpdeskPlugin or sdk.NotifierPlugin whose calls cross the process boundary. The wire is
// the same whichever SDK interface the plugin implements (the v0.1
// sdk.Store or the request/response sdk.StorePlugin). Plugin authors do
// not need it; the hub (hub/pluginhost) and the conformance kit
// (sdk/sdktest) do.
package host

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
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/internal/hostapi"
)

// Conn is the hub's connection to one running plugin process.
type Conn struct {
	client      *plugin.Client
	rpc         *plugin.GRPCClient
	proc        *process
	log         *slog.Logger
	info        sdk.Info
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
		versions = []int{sdk.ProtocolVersion}
	}
	sets := map[int]plugin.PluginSet{}
	for _, v := range versions {
		sets[v] = hostapi.ClientPlugins()
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	proc := &process{cmd: cmd, path: cmd.Path, sum: opts.SHA256}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sets,
		RunnerFunc:       proc.prepare,
		SkipHostEnv:      true,
		AutoMTLS:         true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: opts.SocketDir},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogAdapter(logger),
		StartTimeout:     opts.StartTimeout,
		SyncStdout:       &lineLogger{l: logger, level: slog.LevelInfo, msg: "plugin stdout"},
		SyncStderr:       &lineLogger{l: logger, level: slog.LevelWarn, msg: "plugin stderr"},
		GRPCDialOptions:  []grpc.DialOption{grpc.WithChainUnaryInterceptor(hostapi.TraceInterceptor, hostapi.RequestIDInterceptor(logger))},
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
	raw, err := rpc.Dispense(hostapi.PluginInfo)
	if err != nil {
		return fail(err)
	}
	infoCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	c.info, err = raw.(interface {
		Info(context.Context) (sdk.Info, error)
	}).Info(infoCtx)
	if err != nil {
		return fail(err)
	}
	switch c.info.Kind {
	case sdk.PluginKindStore, sdk.PluginKindHelpdesk:
	case sdk.PluginKindNotifier:
		// Its capabilities come from the Notifier service (SDK v0.3).
		n, err := c.Notifier()
		if err != nil {
			return fail(err)
		}
		if c.info, err = n.Info(infoCtx, sdk.InfoRequest{}); err != nil {
			return fail(err)
		}
	case sdk.PluginKindTranslator:
		if c.info, err = translatorInfo(infoCtx, rpc); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("unknown kind %q", c.info.Kind))
	}
	if !stopAbort() {
		return fail(errors.New("start aborted"))
	}
	return c, nil
}

// Info is what the plugin said about itself at start.
func (c *Conn) Info() sdk.Info { return c.info }

// ProtocolVersion is the protocol version both sides agreed on.
func (c *Conn) ProtocolVersion() int { return c.version }

// Store returns the plugin as a StorePlugin; it fails for a helpdesk plugin.
func (c *Conn) Store() (sdk.StorePlugin, error) {
	if c.info.Kind != sdk.PluginKindStore {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a store", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(sdk.PluginKindStore)
	if err != nil {
		return nil, fmt.Errorf("dispense store %q: %w", c.info.Name, err)
	}
	return raw.(sdk.StorePlugin), nil
}

// Helpdesk returns the plugin as a HelpdeskPlugin, which is also an
// sdk.AlertPoster (a plugin built without alerts answers
// ErrorKindUnsupported); it fails for a store plugin.
func (c *Conn) Helpdesk() (sdk.HelpdeskPlugin, error) {
	if c.info.Kind != sdk.PluginKindHelpdesk {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a helpdesk", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(sdk.PluginKindHelpdesk)
	if err != nil {
		return nil, fmt.Errorf("dispense helpdesk %q: %w", c.info.Name, err)
	}
	return raw.(sdk.HelpdeskPlugin), nil
}

// Notifier returns the plugin as a NotifierPlugin (SDK v0.3); it fails for
// a store or helpdesk plugin.
func (c *Conn) Notifier() (sdk.NotifierPlugin, error) {
	if c.info.Kind != sdk.PluginKindNotifier {
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a notifier", c.info.Name, c.info.Kind)
	}
	raw, err := c.rpc.Dispense(sdk.PluginKindNotifier)
	if err != nil {
		return nil, fmt.Errorf("dispense notifier %q: %w", c.info.Name, err)
	}
	return raw.(sdk.NotifierPlugin), nil
}

// Check asks the plugin's gRPC health service whether it serves, within
// ctx's deadline (go-plugin's own Ping has none, so a hung plugin would
// block it forever).
func (c *Conn) Check(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.rpc.Conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return hostapi.FromStatus("health check", err)
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
		// A plugin that exited by itself may have left children in its
		// process group: they go with it.
		_ = c.proc.Kill(context.Background())
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

// Kill kills the process (SIGKILL), with its process group when it has
// one of its own (killTree); before Start it makes Start fail.
func (p *process) Kill(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = true
	if !p.started {
		return nil
	}
	if err := killTree(p.cmd); err != nil && !errors.Is(err, os.ErrProcessDone) {
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
