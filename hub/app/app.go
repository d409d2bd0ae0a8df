// Package app assembles the hub: state, bus, plugins, poller, delivery
// handlers and the HTTP server, and runs them until shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Hub is a running hub.
type Hub struct {
	cfg     *config.Config
	log     *slog.Logger
	DB      *state.DB
	Bus     bus.Bus
	Plugins *pluginhost.Host
	router  *message.Router
	poller  *poll.Poller
	deliver *deliver.Deliverer
	reload  chan struct{}
	http    *http.Server
	ln      net.Listener
}

// Options tune New (tests shorten intervals).
type Options struct {
	Subscriber bus.SubscriberConfig
	Router     bus.RouterConfig
	Host       pluginhost.Options
	// UnknownTicketGrace: see deliver.Deliverer (0: the default).
	UnknownTicketGrace time.Duration
}

// New opens the state, starts the plugins and prepares everything; Run starts work.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (h *Hub, err error) {
	h = &Hub{cfg: cfg, log: log, reload: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			h.closeAll()
		}
	}()
	sealer, err := sealer(cfg)
	if err != nil {
		return nil, err
	}
	if h.DB, err = OpenState(ctx, cfg, sealer); err != nil {
		return nil, err
	}
	if h.Bus, err = OpenBus(ctx, cfg, h.DB, log.With("component", "bus"), opts.Subscriber); err != nil {
		return nil, err
	}
	paths, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		return nil, err
	}
	hostOpts := opts.Host
	hostOpts.Logger = log.With("component", "plugins")
	if h.Plugins, err = pluginhost.Start(ctx, paths, hostOpts); err != nil {
		return nil, err
	}
	if err := SyncConfig(ctx, h.DB, cfg); err != nil {
		return nil, err
	}
	plugins := Resolver{h.Plugins}
	h.deliver = &deliver.Deliverer{DB: h.DB, Bus: h.Bus, Plugins: plugins, Logger: log.With("component", "deliver"),
		UnknownTicketGrace: opts.UnknownTicketGrace}
	if h.router, err = bus.NewRouter(h.Bus, log.With("component", "router"), opts.Router); err != nil {
		return nil, err
	}
	h.deliver.Register(h.router)
	h.poller = &poll.Poller{DB: h.DB, Bus: h.Bus, Plugins: plugins, Logger: log.With("component", "poll"),
		Interval: cfg.PollInterval,
		Runnable: func(in state.Integration, a state.App) bool { return setup.Runnable(in, a, plugins.Info) }}
	admin := &httpapi.Admin{DB: h.DB, Token: cfg.AdminToken, Info: plugins.Info, Plugins: h.Plugins.Names,
		Changed: h.Reload, PublicURL: cfg.PublicURL, Connectors: plugins}
	srv := &httpapi.Server{DB: h.DB, Deliverer: h.deliver, Plugins: plugins, Logger: log.With("component", "http"),
		Ready: h.ready, Admin: admin.Register}
	h.http = httpapi.NewHTTPServer(cfg.Listen, srv.Handler(), log)
	if h.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return h, nil
}

// OpenState opens the state database the config names. sealer may be nil
// for tools that never read credentials.
func OpenState(ctx context.Context, cfg *config.Config, sealer *secrets.Sealer) (*state.DB, error) {
	switch cfg.State.Driver {
	case "postgres":
		return state.OpenPostgres(ctx, cfg.State.DSN, sealer)
	default:
		return state.OpenSQLite(ctx, cfg.State.Path, sealer)
	}
}

// OpenBus opens the message bus the config names, on the state database.
func OpenBus(ctx context.Context, cfg *config.Config, db *state.DB, log *slog.Logger, sub bus.SubscriberConfig) (bus.Bus, error) {
	switch cfg.Bus.Backend {
	case "postgres":
		return bus.NewPostgres(ctx, db.SQL(), log, sub)
	default:
		return bus.NewSQLite(ctx, db.SQL(), log, sub)
	}
}

// DeadLetters gives access to the dead letters of the hub's bus.
func DeadLetters(cfg *config.Config, db *state.DB) bus.DeadLetters {
	return bus.DeadLetters{DB: db.SQL(), Postgres: cfg.Bus.Backend == "postgres"}
}

func sealer(cfg *config.Config) (*secrets.Sealer, error) {
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		key, err = secrets.ParseKey(cfg.SecretKey)
	} else {
		key, err = secrets.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "secret.key"))
	}
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	return secrets.New(key)
}

// Addr is the address the HTTP server listens on.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// Reload makes the poller and the handlers re-read the integrations now.
func (h *Hub) Reload() {
	if h.deliver != nil {
		h.deliver.Forget()
	}
	select {
	case h.reload <- struct{}{}:
	default:
	}
}

func (h *Hub) ready() error {
	if !h.router.IsRunning() {
		return errors.New("message router is not running")
	}
	return nil
}

// Run serves until ctx ends, then shuts down gracefully: stop accepting
// webhooks, stop polling, let in-flight messages finish (unfinished ones stay
// queued and are redelivered on the next start), stop plugins, close state.
func (h *Hub) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := h.router.Run(runCtx); err != nil {
			errc <- fmt.Errorf("message router: %w", err)
		}
	}()
	go func() {
		if err := h.http.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	}()
	<-h.router.Running()
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.poller.Run(runCtx, h.reload)
	}()
	h.log.Info("hub started", "listen", h.Addr(), "plugins", h.Plugins.Names(), "state", h.cfg.State.Driver, "bus", h.cfg.Bus.Backend)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	h.log.Info("hub shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	if err := h.http.Shutdown(shutdownCtx); err != nil {
		h.log.Warn("http shutdown", "error", err)
	}
	cancel()
	wg.Wait()
	if err := h.router.Close(); err != nil {
		h.log.Warn("router close", "error", err)
	}
	h.closeAll()
	h.log.Info("hub stopped")
	return runErr
}

func (h *Hub) closeAll() {
	if h.ln != nil {
		h.ln.Close()
	}
	if h.Bus != nil {
		h.Bus.Close()
	}
	if h.Plugins != nil {
		h.Plugins.Close()
	}
	if h.DB != nil {
		h.DB.Close()
	}
}

// Resolver resolves plugins by name for the hub's packages.
type Resolver struct{ Host *pluginhost.Host }

// Info is what a plugin said about itself.
func (r Resolver) Info(name string) (sdk.Info, bool) {
	p, ok := r.Host.Plugin(name)
	if !ok {
		return sdk.Info{}, false
	}
	info := p.Info()
	return info, info.Kind != ""
}

// Store returns a store plugin.
func (r Resolver) Store(name string) (sdk.Store, sdk.Info, error) {
	p, ok := r.Host.Plugin(name)
	if !ok {
		return nil, sdk.Info{}, bus.Permanent(fmt.Errorf("no store plugin %q is installed", name))
	}
	return p.Store(), p.Info(), nil
}

// Helpdesk returns a helpdesk plugin.
func (r Resolver) Helpdesk(name string) (sdk.Helpdesk, sdk.Info, error) {
	p, ok := r.Host.Plugin(name)
	if !ok {
		return nil, sdk.Info{}, bus.Permanent(fmt.Errorf("no helpdesk plugin %q is installed", name))
	}
	return p.Helpdesk(), p.Info(), nil
}

// SyncConfig writes the integrations declared in the config file into the
// state (they win over the admin API), keeping cursors and history.
func SyncConfig(ctx context.Context, db *state.DB, cfg *config.Config) error {
	return db.InTx(ctx, func(tx *state.Tx) error {
		for _, ci := range cfg.Integrations {
			in := state.Integration{ID: ci.ID, Name: ci.Name, HelpdeskPlugin: ci.Helpdesk.Plugin,
				HelpdeskSettings: ci.Helpdesk.Settings, Tags: ci.Tags == nil || *ci.Tags, Source: "config"}
			for _, ca := range ci.Apps {
				in.Apps = append(in.Apps, state.App{ID: ca.ID, Name: ca.Name, StorePlugin: ca.Store,
					StoreAppID: ca.StoreAppID, StoreSettings: ca.Settings, Filters: ca.Filters, PollInterval: ca.PollInterval})
			}
			if err := tx.PutIntegration(ctx, in); err != nil {
				return err
			}
		}
		return nil
	})
}
