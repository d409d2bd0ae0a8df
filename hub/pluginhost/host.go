// Package pluginhost starts the hub's plugin processes, keeps them healthy
// (bounded health checks, restart with backoff after a crash or a hang) and
// stops them all on shutdown. Callers get a Store or Helpdesk that always
// talks to the current process of the plugin, with a deadline on every call.
package pluginhost

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/internal/retry"
	"github.com/reviewhub/reviewhub/hub/tracing"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

// BinaryPrefix is the file name prefix of plugin binaries in a plugins directory.
const BinaryPrefix = "hub-plugin-"

// Discover lists the plugins in dir (files named hub-plugin-NAME) merged with
// explicit name → path entries (which win). A missing dir is not an error; a
// plugin name that is not ValidName is.
func Discover(dir string, explicit map[string]string) (map[string]string, error) {
	out := map[string]string{}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("plugins dir %s: %w", dir, err)
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || e.IsDir() || name == "" {
				continue
			}
			if !config.ValidPluginName(name) {
				return nil, fmt.Errorf("plugins dir %s: %q: plugin name %q %s", dir, e.Name(), name, config.PluginNameRule)
			}
			out[name] = filepath.Join(dir, e.Name())
		}
	}
	for name, path := range explicit {
		if !config.ValidPluginName(name) {
			return nil, fmt.Errorf("plugins.paths: plugin name %q %s", name, config.PluginNameRule)
		}
		out[name] = path
	}
	return out, nil
}

// Options tune a Host.
type Options struct {
	Logger         *slog.Logger
	HealthInterval time.Duration // default 5s
	// HealthTimeout bounds one health check; a plugin that does not answer
	// in time is killed and restarted like a crashed one (default 5s).
	HealthTimeout time.Duration
	// CallTimeout bounds every call to a plugin (default 60s); a caller's
	// own shorter deadline wins. A call that runs out of time fails
	// Unavailable, so the bus retries it.
	CallTimeout  time.Duration
	RestartMin   time.Duration // first restart delay (default 200ms)
	RestartMax   time.Duration // longest restart delay (default 30s)
	StartTimeout time.Duration // handshake bound (default 30s)
	// StopTimeout bounds a plugin's graceful stop on Close before it is
	// killed (default 5s).
	StopTimeout time.Duration
	// RestartWait bounds how long a webhook (HandleWebhook) waits for its
	// plugin while it restarts, instead of failing at once (default 10s):
	// the helpdesk's call has nowhere else to go, while the bus retries
	// its own calls.
	RestartWait time.Duration
	// Observe, when set, is told about every plugin call (metrics, the
	// call's log line with its request id).
	Observe func(ctx context.Context, plugin, op string, err error, d time.Duration)
	// Env is added to every plugin's environment (tests).
	Env []string
	// PluginEnv names, per plugin, the hub's environment variables it gets
	// besides the allow-list (AllowedEnv).
	PluginEnv map[string][]string
	// Checksums pins plugin binaries: name → hex SHA-256. A binary that
	// does not match is not started.
	Checksums map[string]string
	// SocketDir holds the plugins' Unix sockets; it is created by Start,
	// cleaned of stale sockets, and removed by Close. Empty: a fresh
	// temporary directory.
	SocketDir string
}

// AllowedEnv reports whether the hub passes its environment variable name
// to every plugin: the few a program needs to run, reach the network through
// a proxy, verify TLS and format text. Everything else (HUB_* secrets
// above all) stays in the hub unless plugins.env names it.
func AllowedEnv(name string) bool {
	switch name {
	case "PATH", "HOME", "TMPDIR", "TZ", "LANG",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR":
		return true
	}
	return strings.HasPrefix(name, "LC_")
}

// Host runs a set of plugins.
type Host struct {
	opts      Options
	plugins   map[string]*Plugin
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	ownDir    bool // SocketDir was made by Start (a fresh temporary one)
}

// Plugin is one managed plugin.
type Plugin struct {
	name string
	path string
	sum  []byte
	host *Host
	log  *slog.Logger

	mu       sync.Mutex
	conn     *host.Conn
	info     sdk.Info
	lastErr  error
	restarts int
	closed   bool
	checkReq chan struct{} // checkNow: a check is wanted before the next tick
	// up, when made by a caller waiting for a process (awaitProcess), is
	// closed when one starts.
	up chan struct{}
}

// Start launches every plugin in paths, in parallel, and keeps them running
// until Close. It returns once every plugin has had its first start (each
// bounded by StartTimeout); a plugin that failed to start is retried in the
// background. Start fails when ctx ends (which aborts the handshakes) or
// when the options are wrong.
func Start(ctx context.Context, paths map[string]string, opts Options) (*Host, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h := &Host{opts: opts, plugins: map[string]*Plugin{}, cancel: cancel}
	for name, path := range paths {
		if !config.ValidPluginName(name) {
			cancel()
			return nil, fmt.Errorf("plugin name %q %s", name, config.PluginNameRule)
		}
		p := &Plugin{name: name, path: path, host: h, checkReq: make(chan struct{}, 1),
			log: opts.Logger.With("plugin", name)}
		if pin, ok := opts.Checksums[name]; ok {
			p.sum, _ = pinnedSum(pin) // valid: Validate
		}
		h.plugins[name] = p
	}
	for _, m := range []map[string]string{opts.Checksums, envNames(opts.PluginEnv)} {
		for name := range m {
			if _, ok := h.plugins[name]; !ok {
				opts.Logger.Warn("plugin options name a plugin that is not installed", "plugin", name)
			}
		}
	}
	if err := h.prepareSocketDir(); err != nil {
		cancel()
		return nil, err
	}

	// First starts run in parallel and end when ctx or the host ends.
	startCtx, stopStart := context.WithCancel(runCtx)
	defer stopStart()
	unhook := context.AfterFunc(ctx, stopStart)
	defer unhook()
	var first sync.WaitGroup
	for _, name := range h.Names() {
		p := h.plugins[name]
		first.Add(1)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			err := p.start(startCtx)
			if err != nil && startCtx.Err() == nil {
				p.log.Error("plugin failed to start; will retry", "path", p.path, "error", err)
			}
			first.Done()
			p.supervise(runCtx)
		}()
	}
	first.Wait()
	if err := ctx.Err(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// setDefaults fills the fields left zero (or negative, for the durations).
func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&o.HealthInterval, 5*time.Second)
	setDefault(&o.HealthTimeout, 5*time.Second)
	setDefault(&o.CallTimeout, time.Minute)
	setDefault(&o.RestartMin, 200*time.Millisecond)
	setDefault(&o.RestartMax, 30*time.Second)
	setDefault(&o.StartTimeout, 30*time.Second)
	setDefault(&o.StopTimeout, 5*time.Second)
	setDefault(&o.RestartWait, 10*time.Second)
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Validate reports the options that cannot work, naming each: a restart
// delay range upside down, a pinned checksum that is not a SHA-256.
func (o Options) Validate() error {
	var errs []error
	if o.RestartMax > 0 && o.RestartMin > o.RestartMax {
		errs = append(errs, fmt.Errorf("pluginhost: RestartMin %s is longer than RestartMax %s", o.RestartMin, o.RestartMax))
	}
	for _, name := range slices.Sorted(maps.Keys(o.Checksums)) {
		if _, err := pinnedSum(o.Checksums[name]); err != nil {
			errs = append(errs, fmt.Errorf("plugins.checksums.%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// pinnedSum decodes a pinned checksum: a SHA-256 in hex.
func pinnedSum(pin string) ([]byte, error) {
	sum, err := hex.DecodeString(pin)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("%q is not a hex SHA-256", pin)
	}
	return sum, nil
}

func envNames(m map[string][]string) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = ""
	}
	return out
}

// env is the plugin's whole environment: the allow-list, the variables the
// operator named for it, the OTEL_* variables its tracing needs when the
// hub's is on (tracing.PluginEnv), and Options.Env.
func (h *Host) env(name string) []string {
	extra := map[string]bool{}
	for _, v := range h.opts.PluginEnv[name] {
		extra[v] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if AllowedEnv(k) || extra[k] {
			env = append(env, kv)
		}
	}
	env = append(env, tracing.PluginEnv(name, os.Getenv)...)
	return append(env, h.opts.Env...)
}

func (p *Plugin) start(ctx context.Context) error {
	cmd := exec.Command(p.path)
	cmd.Env = p.host.env(p.name)
	setParentDeathSignal(cmd)
	conn, err := host.Launch(ctx, cmd, host.LaunchOptions{Logger: p.log, StartTimeout: p.host.opts.StartTimeout,
		StopTimeout: p.host.opts.StopTimeout, SocketDir: p.host.opts.SocketDir, SHA256: p.sum})
	var ce *host.ChecksumError
	if errors.As(err, &ce) {
		err = fmt.Errorf("plugin %s refused: its binary does not match plugins.checksums.%s: %s has SHA-256 %x, the config pins %x",
			p.name, p.name, ce.Path, ce.Got, ce.Want)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = err
		return err
	}
	if p.closed {
		go conn.Kill()
		return errors.New("plugin host is closed")
	}
	if conn.Info().Name != "" && conn.Info().Name != p.name {
		p.log.Warn("plugin calls itself by another name", "says", conn.Info().Name)
	}
	p.conn, p.info, p.lastErr = conn, conn.Info(), nil
	if p.up != nil {
		close(p.up)
		p.up = nil
	}
	p.log.Info("plugin started", "kind", p.info.Kind, "version", p.info.Version, "pid", conn.Pid(),
		"protocol", conn.ProtocolVersion())
	return nil
}

// supervise health-checks the plugin and restarts it with backoff: after a
// crash, and when it does not answer a health check in time (a hung plugin
// is killed first, so the calls it holds fail Unavailable and are retried).
func (p *Plugin) supervise(ctx context.Context) {
	failures := 0
	ticker := time.NewTicker(p.host.opts.HealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-p.checkReq:
		}
		err := p.check(ctx)
		if err == nil {
			failures = 0
			continue
		}
		// The failed check is acted on at once: a hung plugin costs one
		// health timeout, not two.
		for ; err != nil && ctx.Err() == nil; err = p.check(ctx) {
			failures++
			delay := retry.Backoff(p.host.opts.RestartMin, p.host.opts.RestartMax, failures)
			p.log.Warn("plugin is down; restarting", "attempt", failures, "delay", delay, "reason", err)
			p.drop()
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := p.start(ctx); err != nil {
				if ctx.Err() == nil {
					p.log.Error("plugin restart failed", "error", err)
				}
				continue
			}
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
		}
	}
}

// check is one bounded health check.
func (p *Plugin) check(ctx context.Context) error {
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	switch {
	case conn == nil:
		return errors.New("not running")
	case conn.Exited():
		return errors.New("process exited")
	}
	hctx, cancel := context.WithTimeout(ctx, p.host.opts.HealthTimeout)
	defer cancel()
	if err := conn.Check(hctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("no answer to the health check within %s", p.host.opts.HealthTimeout)
		}
		return err
	}
	return nil
}

// drop kills the current process (it is unhealthy) and forgets it.
func (p *Plugin) drop() {
	p.mu.Lock()
	conn := p.conn
	p.conn = nil
	p.mu.Unlock()
	if conn != nil {
		conn.Kill()
	}
}

// checkNow asks the supervisor to check the plugin now (after a failed call).
func (p *Plugin) checkNow() {
	select {
	case p.checkReq <- struct{}{}:
	default:
	}
}

// Names lists the managed plugins.
func (h *Host) Names() []string {
	out := make([]string, 0, len(h.plugins))
	for n := range h.plugins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Plugin returns a managed plugin by name.
func (h *Host) Plugin(name string) (*Plugin, bool) {
	p, ok := h.plugins[name]
	return p, ok
}

// Status of a plugin.
type Status struct {
	Name     string
	Path     string
	Running  bool
	Pid      int
	Info     sdk.Info
	Restarts int
	LastErr  string
}

// Status reports on the plugin.
func (p *Plugin) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{Name: p.name, Path: p.path, Info: p.info, Restarts: p.restarts}
	if p.conn != nil && !p.conn.Exited() {
		s.Running, s.Pid = true, p.conn.Pid()
	}
	if p.lastErr != nil {
		s.LastErr = p.lastErr.Error()
	}
	return s
}

// Info is what the plugin said about itself (zero before its first start).
func (p *Plugin) Info() sdk.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

func (p *Plugin) current() (*host.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.conn.Exited() {
		p.checkNow()
		msg := "plugin " + p.name + " is not running"
		if p.lastErr != nil {
			msg += ": " + p.lastErr.Error()
		}
		return nil, &sdk.Error{Kind: sdk.ErrorKindUnavailable, Message: msg}
	}
	return p.conn, nil
}

// awaitProcess waits, at most wait, for a running process other than old
// (nil: any) and returns it; the supervisor is asked to check the plugin
// at once, so a dead process is restarted without waiting for the next
// tick. False: none came in time (or ctx ended, or the host closed).
func (p *Plugin) awaitProcess(ctx context.Context, old *host.Conn, wait time.Duration) (*host.Conn, bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		p.mu.Lock()
		if c := p.conn; c != nil && c != old && !c.Exited() {
			p.mu.Unlock()
			return c, true
		}
		if p.closed {
			p.mu.Unlock()
			return nil, false
		}
		if p.up == nil {
			p.up = make(chan struct{})
		}
		up := p.up
		p.mu.Unlock()
		p.checkNow()
		select {
		case <-up:
		case <-ctx.Done():
			return nil, false
		case <-t.C:
			return nil, false
		}
	}
}

// Kill kills every plugin process at once: calls in flight fail
// Unavailable (their work stays queued). Close must still be called.
func (h *Host) Kill() {
	h.cancel()
	h.each(func(p *Plugin) {
		p.mu.Lock()
		conn := p.conn
		p.mu.Unlock()
		if conn != nil {
			conn.Kill()
		}
	})
}

// Close stops every plugin process, in parallel: gracefully, then by force
// after StopTimeout. It does not block for long even when plugins hang, and
// it aborts plugins that are still at their handshake.
func (h *Host) Close() {
	h.closeOnce.Do(func() {
		h.cancel()
		h.each(func(p *Plugin) {
			p.mu.Lock()
			conn := p.conn
			p.closed = true
			p.mu.Unlock()
			if conn != nil {
				conn.Close() // Kill still reaches it meanwhile
			}
			p.mu.Lock()
			p.conn = nil
			p.mu.Unlock()
		})
		// The supervisors end with the context; a stuck one must not pin
		// the shutdown.
		done := make(chan struct{})
		go func() { h.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(h.opts.StopTimeout):
			h.opts.Logger.Warn("plugin supervisors did not stop in time")
		}
		h.removeSocketDir()
	})
}

func (h *Host) each(fn func(*Plugin)) {
	var wg sync.WaitGroup
	for _, p := range h.plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(p)
		}()
	}
	wg.Wait()
}
