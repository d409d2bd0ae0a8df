// Package pluginhost starts the hub's plugin processes, keeps them healthy
// (health checks, restart with backoff after a crash) and stops them all on
// shutdown. Callers get a Store or Helpdesk that always talks to the current
// process of the plugin.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// BinaryPrefix is the file name prefix of plugin binaries in a plugins directory.
const BinaryPrefix = "hub-plugin-"

// Discover lists the plugins in dir (files named hub-plugin-NAME) merged with
// explicit name → path entries (which win). A missing dir is not an error.
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
			out[name] = filepath.Join(dir, e.Name())
		}
	}
	for name, path := range explicit {
		out[name] = path
	}
	return out, nil
}

// Options tune a Host.
type Options struct {
	Logger         *slog.Logger
	HealthInterval time.Duration // default 5s
	RestartMin     time.Duration // first restart delay (default 200ms)
	RestartMax     time.Duration // longest restart delay (default 30s)
	StartTimeout   time.Duration // handshake bound (default 30s)
	// Env is added to every plugin's environment.
	Env []string
}

// Host runs a set of plugins.
type Host struct {
	opts    Options
	plugins map[string]*Plugin
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Plugin is one managed plugin.
type Plugin struct {
	name string
	path string
	host *Host
	log  *slog.Logger

	mu       sync.Mutex
	conn     *sdk.Conn
	info     sdk.Info
	lastErr  error
	restarts int
	kick     chan struct{}
}

// Start launches every plugin in paths and keeps it running until Close.
// A plugin that fails to start is retried in the background; Start fails
// only when ctx ends.
func Start(ctx context.Context, paths map[string]string, opts Options) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HealthInterval == 0 {
		opts.HealthInterval = 5 * time.Second
	}
	if opts.RestartMin == 0 {
		opts.RestartMin = 200 * time.Millisecond
	}
	if opts.RestartMax == 0 {
		opts.RestartMax = 30 * time.Second
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h := &Host{opts: opts, plugins: map[string]*Plugin{}, cancel: cancel}
	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := &Plugin{name: name, path: paths[name], host: h, kick: make(chan struct{}, 1),
			log: opts.Logger.With("plugin", name)}
		h.plugins[name] = p
		if err := p.start(ctx); err != nil {
			p.log.Error("plugin failed to start; will retry", "path", p.path, "error", err)
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			p.supervise(runCtx)
		}()
	}
	if err := ctx.Err(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (p *Plugin) start(ctx context.Context) error {
	cmd := exec.Command(p.path)
	cmd.Env = append(os.Environ(), p.host.opts.Env...)
	setParentDeathSignal(cmd)
	conn, err := sdk.Launch(ctx, cmd, sdk.LaunchOptions{Logger: p.log, StartTimeout: p.host.opts.StartTimeout})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = err
		return err
	}
	if conn.Info().Name != "" && conn.Info().Name != p.name {
		p.log.Warn("plugin calls itself by another name", "says", conn.Info().Name)
	}
	p.conn, p.info, p.lastErr = conn, conn.Info(), nil
	p.log.Info("plugin started", "kind", p.info.Kind, "version", p.info.Version, "pid", conn.Pid(),
		"protocol", conn.ProtocolVersion())
	return nil
}

// supervise health-checks the plugin and restarts it with backoff.
func (p *Plugin) supervise(ctx context.Context) {
	failures := 0
	ticker := time.NewTicker(p.host.opts.HealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-p.kick:
		}
		if p.healthy() {
			failures = 0
			continue
		}
		for !p.healthy() {
			failures++
			delay := min(p.host.opts.RestartMin<<min(failures-1, 16), p.host.opts.RestartMax)
			p.log.Warn("plugin is down; restarting", "attempt", failures, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			p.mu.Lock()
			if p.conn != nil {
				p.conn.Close()
				p.conn = nil
			}
			p.mu.Unlock()
			if err := p.start(ctx); err != nil {
				p.log.Error("plugin restart failed", "error", err)
				continue
			}
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
		}
	}
}

func (p *Plugin) healthy() bool {
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	return conn != nil && !conn.Exited() && conn.Ping() == nil
}

// suspect asks the supervisor to check the plugin now (after a failed call).
func (p *Plugin) suspect() {
	select {
	case p.kick <- struct{}{}:
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

func (p *Plugin) current() (*sdk.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.conn.Exited() {
		p.suspect()
		msg := "plugin " + p.name + " is not running"
		if p.lastErr != nil {
			msg += ": " + p.lastErr.Error()
		}
		return nil, &sdk.Error{Kind: sdk.Unavailable, Message: msg}
	}
	return p.conn, nil
}

// Close stops every plugin process.
func (h *Host) Close() {
	h.cancel()
	h.wg.Wait()
	for _, p := range h.plugins {
		p.mu.Lock()
		if p.conn != nil {
			p.conn.Close()
			p.conn = nil
		}
		p.mu.Unlock()
	}
}
