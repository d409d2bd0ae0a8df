// Package app assembles the hub: state, bus, plugins, poller, delivery
// handlers and the HTTP server, and runs them until shutdown.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/console"
	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/notify"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/hub/tracing"
	"github.com/reviewhub/reviewhub/hub/webhooks"
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
	// routerDone is closed when the router's Run returns.
	routerDone chan struct{}
	poller     *poll.Poller
	deliver    *deliver.Deliverer
	webhooks   *webhooks.Dispatcher
	notifier   *notify.Dispatcher
	reload     chan struct{}
	http       *http.Server
	handler    handlerRef // served once New is done (starting.go)
	serveErr   chan error // why the HTTP server stopped by itself
	ln         net.Listener
	life       *lifecycle
	ops        ops // metrics, health, alerts (ops.go)
}

// Options tune New (tests shorten intervals).
type Options struct {
	Subscriber bus.SubscriberConfig
	Router     bus.RouterConfig
	Host       pluginhost.Options
	// UnknownTicketGrace: see deliver.Deliverer (0: the default).
	UnknownTicketGrace time.Duration
	// ReplyAttempts, ReplyRetryMin: see deliver.Deliverer (0: the defaults).
	ReplyAttempts int
	ReplyRetryMin time.Duration
	// WebhookEvery, WebhookSchedule: see webhooks.Dispatcher's Every and
	// Schedule (zero: the defaults).
	WebhookEvery    time.Duration
	WebhookSchedule []time.Duration
	// WebhookDisableAfter overrides webhooks.disable_after (0: the
	// config's), below the minimum the config takes (tests).
	WebhookDisableAfter time.Duration
}

// New prepares the hub: the data dir, the listener (bound first, so a
// taken address is found before anything else starts, and served at once:
// /healthz answers while the rest starts, starting.go), the state, the bus
// and the plugins, and checks the integrations of the config file against
// the plugins. Run starts work. Each resource registers its close as soon as
// it is open; when New fails, what it opened is closed, in reverse order,
// and the error says what was wrong.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*Hub, error) {
	h := &Hub{cfg: cfg, log: log, reload: make(chan struct{}, 1), life: &lifecycle{log: log}, routerDone: make(chan struct{})}
	started := false
	defer func() {
		if !started {
			h.closeAll()
		}
	}()
	// First opened, last closed: the spans of the whole stop are flushed.
	tr, err := tracing.Setup(ctx, log, os.Getenv)
	if err != nil {
		return nil, err
	}
	h.life.onClose("tracing", func() error { return tr.Shutdown(context.Background()) })
	if usesDataDir(cfg) {
		if err := prepareDataDir(cfg.DataDir, log); err != nil {
			return nil, err
		}
	}
	if cfg.SecretKey == "" && usesDataDir(cfg) {
		// The key is the data dir's key file: no rotation of it while this
		// hub runs (keylock_unix.go).
		unlock, err := lockKeyFile(cfg, false)
		if errors.Is(err, ErrKeyInUse) {
			return nil, fmt.Errorf("hub rotate-key is rotating %s: start the hub when it is done", KeyFile(cfg))
		}
		if err != nil {
			return nil, err
		}
		h.life.onClose("key file lock", unlock)
	}
	sealer, err := sealer(cfg)
	if err != nil {
		return nil, err
	}
	if err := h.listen(cfg); err != nil {
		return nil, err
	}
	h.serveEarly()
	paths, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		return nil, err
	}
	if errs := checkIntegrations(cfg, installedLookup(cfg, paths)); len(errs) > 0 {
		return nil, errs
	}
	if err := h.openStorage(ctx, cfg, sealer, opts.Subscriber); err != nil {
		return nil, err
	}
	if err := h.startPlugins(ctx, cfg, paths, opts.Host); err != nil {
		return nil, err
	}
	if err := SyncConfig(ctx, h.DB, cfg); err != nil {
		return nil, err
	}
	if err := syncWebhooks(ctx, h.DB, cfg); err != nil {
		return nil, err
	}
	plugins := Resolver{h.Plugins}
	h.deliver = &deliver.Deliverer{DB: h.DB, Bus: h.Bus, Plugins: plugins, Logger: log.With("component", "deliver"),
		UnknownTicketGrace: opts.UnknownTicketGrace, ReplyAttempts: opts.ReplyAttempts, ReplyRetryMin: opts.ReplyRetryMin, Metrics: h.ops.metrics}
	if h.router, err = bus.NewRouter(h.Bus, log.With("component", "router"), opts.Router); err != nil {
		return nil, err
	}
	h.deliver.Register(h.router)
	h.poller = h.newPoller(cfg, plugins)
	// One limiter of wrong tokens for both doors to the admin token (the
	// console's sign-in and the API's bearer), counted per client.
	failures := throttle.New(throttle.Options{})
	// And per account (the admin token, each personal token).
	accounts := throttle.NewAccounts(throttle.AccountOptions{})
	admin := &httpapi.Admin{DB: h.DB, Failures: failures, Accounts: accounts, Token: cfg.EffectiveAdminToken(), Info: plugins.Info, Plugins: h.Plugins.Names,
		Changed: h.Reload, PublicURL: cfg.PublicURL, Connectors: plugins, ReplyReserve: cfg.Schedule.ReplyReserve,
		Scheduler: h.poller.Stats, DeadLetters: httpapi.BusDeadLetters{DL: DeadLetters(h.DB), Bus: h.Bus},
		Replies: h.deliver, DraftOps: h.deliver, Background: ctx, Logger: log.With("component", "admin"),
		History: &historyRunner{poller: h.poller, bg: ctx, log: log.With("component", "history")}}
	srv := &httpapi.Server{DB: h.DB, Deliverer: h.deliver, Plugins: plugins, Logger: log.With("component", "http"),
		Ready: h.ready, Admin: admin.Register}
	h.webhooks = h.newDispatcher(cfg, opts)
	if h.notifier, err = h.newNotifier(cfg); err != nil {
		return nil, err
	}
	admin.Webhooks, admin.AllowHosts = h.webhooks, cfg.Health.AlertHosts
	h.opsWire(cfg, plugins, srv, admin)
	if cfg.ConsoleOn() {
		co := ConsoleOptions(cfg, admin, h.DB, failures, log.With("component", "console"))
		co.Accounts, co.Access, co.Webhooks = accounts, admin, admin // per-account throttle shared with the API; tokens and audit pages
		if srv.Console, err = console.New(co); err != nil {
			return nil, err
		}
	} else {
		var hint string
		srv.ConsoleOff, hint = consoleOff(cfg, h.Addr())
		log.Warn(hint)
	}
	// Behind trusted proxies the client is who they forward for: the
	// throttle, the audit log and the logs see it (throttle.Proxies).
	h.serveAll(throttle.Proxies(cfg.TrustedProxyPrefixes()).Wrap(srv.Handler()))
	started = true
	return h, nil
}

// listen binds the HTTP listener (and the metrics listener, when apart):
// first, so that a taken address is found before anything else starts.
func (h *Hub) listen(cfg *config.Config) error {
	var err error
	if h.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	h.life.onClose("listener", func() error {
		if err := h.ln.Close(); !errors.Is(err, net.ErrClosed) { // Run's http shutdown closes it
			return err
		}
		return nil
	})
	return h.opsListen(cfg)
}

// openStorage opens the state database and the bus on it.
func (h *Hub) openStorage(ctx context.Context, cfg *config.Config, sealer *secrets.Sealer, sub bus.SubscriberConfig) error {
	db, err := OpenState(ctx, cfg, sealer)
	if err != nil {
		return err
	}
	h.DB = db
	h.life.onClose("state", db.Close)
	if sub.Owner == "" {
		sub.Owner = leaseOwner(h.Addr()) // the PostgreSQL bus's subscription leases
	}
	b, err := OpenBus(ctx, cfg, db, h.log.With("component", "bus"), sub)
	if err != nil {
		return err
	}
	h.Bus = b
	h.life.onClose("bus", b.Close)
	return nil
}

// startPlugins starts the plugin processes (options from the config over
// base) and checks the config file's integrations against what they say
// about themselves.
func (h *Hub) startPlugins(ctx context.Context, cfg *config.Config, paths map[string]string, base pluginhost.Options) error {
	hostOpts := HostOptions(cfg, base)
	hostOpts.Logger = h.log.With("component", "plugins")
	hostOpts.Observe = h.observeCall
	host, err := pluginhost.Start(ctx, paths, hostOpts)
	if err != nil {
		return fmt.Errorf("plugins: %w", err)
	}
	h.Plugins = host
	h.life.onClose("plugins", func() error { host.Close(); return nil })
	if errs := checkIntegrations(cfg, hostLookup(host, h.log)); len(errs) > 0 {
		return errs
	}
	return nil
}

func (h *Hub) newPoller(cfg *config.Config, plugins Resolver) *poll.Poller {
	return &poll.Poller{DB: h.DB, Bus: h.Bus, Plugins: plugins, Logger: h.log.With("component", "poll"),
		Interval: cfg.PollInterval,
		Schedule: poll.Schedule{Workers: cfg.Schedule.Workers, Lease: cfg.Schedule.Lease, ReplyReserve: cfg.Schedule.ReplyReserve,
			ReconcileEvery: cfg.Schedule.ReconcileEvery, Owner: leaseOwner(h.Addr())},
		Runnable: func(in state.Integration, a state.App) bool { return setup.Runnable(in, a, plugins.Info) },
		Metrics:  h.ops.metrics}
}

// OpenState opens the state database the config names. sealer may be nil
// for tools that never read credentials.
// Every call into it then runs under the config's state.timeout.
func OpenState(ctx context.Context, cfg *config.Config, sealer *secrets.Sealer) (*state.DB, error) {
	var db *state.DB
	var err error
	switch cfg.State.Driver {
	case "postgres":
		db, err = state.OpenPostgresPool(ctx, cfg.State.DSN, sealer, cfg.State.MaxConnections)
	default:
		db, err = state.OpenSQLite(ctx, cfg.State.Path, sealer)
	}
	if err != nil {
		return nil, err
	}
	db.SetTimeout(cfg.State.Timeout)
	return db, nil
}

// OpenBus opens the message bus the config names, on the state database.
// On PostgreSQL its tables are created under the state's schema lock, so
// hubs starting together on an empty database do not race. The result is
// a nil interface on error, never a typed nil.
func OpenBus(ctx context.Context, cfg *config.Config, db *state.DB, log *slog.Logger, sub bus.SubscriberConfig) (bus.Bus, error) {
	if sub.InFlight == 0 {
		sub.InFlight = cmp.Or(cfg.Bus.InFlight, config.DefaultInFlight)
	}
	switch cfg.Bus.Backend {
	case "postgres":
		var b *bus.Postgres
		err := db.WithSchemaLock(ctx, func() error {
			var err error
			b, err = bus.NewPostgres(ctx, db.SQL(), log, sub)
			return err
		})
		if err != nil {
			return nil, err
		}
		return b, nil
	default:
		if sub.WriteGate == nil {
			sub.WriteGate = db.WriteGate()
		}
		b, err := bus.NewSQLite(ctx, db.SQL(), log, sub)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}

// DeadLetters gives access to the dead letters of the hub's bus (its
// tables are in the state database: the bus backend is the state's
// dialect, config.Validate sees to it).
func DeadLetters(db *state.DB) bus.DeadLetters {
	return bus.DeadLetters{DB: db.SQL(), Postgres: db.Dialect() == state.Postgres,
		Dropped: func(ctx context.Context, s bus.Subject) error {
			return db.DeliveryDropped(ctx, s.Group, s.App, s.Review)
		}}
}

func sealer(cfg *config.Config) (*secrets.Sealer, error) {
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		key, err = secrets.ParseKey(cfg.SecretKey)
	} else {
		key, err = secrets.LoadOrCreateKeyFile(KeyFile(cfg))
	}
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	return newSealer(cfg, key)
}

// Addr is the address the HTTP server listens on.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// Reload makes the poller schedule new and changed apps now. (The poller
// and the handlers read every change of an integration at their next
// read: state.DB.CurrentIntegration.)
func (h *Hub) Reload() {
	select {
	case h.reload <- struct{}{}:
	default:
	}
}

func (h *Hub) ready() error {
	select {
	case <-h.routerDone:
		return errors.New("message router has stopped")
	default:
	}
	if !h.router.IsRunning() {
		return errors.New("message router is not running")
	}
	return nil
}

// Run serves until ctx ends, then shuts down gracefully: stop accepting
// webhooks, stop polling, let in-flight messages finish (unfinished ones stay
// queued and are redelivered on the next start), stop plugins, close state.
// The shutdown takes at most the config's shutdown_timeout: then the
// plugins are killed, what is still in flight stays queued, and Run returns.
func (h *Hub) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.serve(runCtx, errc)
	var runErr error
	// A shutdown or a failure before the router runs must not wait for it.
	select {
	case <-h.router.Running():
		h.startWork(runCtx, &wg)
		h.log.Info("hub started", "listen", h.Addr(), "metrics", h.MetricsURL(), "plugins", h.Plugins.Names(), "state", h.cfg.State.Driver, "bus", h.cfg.Bus.Backend)
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
	case <-ctx.Done():
	case runErr = <-errc:
	}
	h.shutdown(cancel, &wg)
	return runErr
}

// serve runs the message router and the HTTP server until ctx ends; errc
// gets why either stopped otherwise.
func (h *Hub) serve(ctx context.Context, errc chan<- error) {
	routerDone := h.routerDone
	go func() {
		defer close(routerDone)
		err := h.router.Run(ctx)
		switch {
		case err != nil:
			errc <- fmt.Errorf("message router: %w", err)
		case ctx.Err() == nil:
			// Closed by itself (e.g. a subscription ended): no message would
			// be handled any more while webhooks were still accepted.
			errc <- errors.New("message router stopped on its own; the hub stops so that it can be restarted")
		}
	}()
	go func() { // serving since New (serveEarly)
		select {
		case err := <-h.serveErr:
			errc <- err
		case <-ctx.Done():
		}
	}()
}

// startWork starts, once the router runs, what works until ctx ends: the
// poller, the ops loops and the bus's pruning, counted in wg.
func (h *Hub) startWork(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.poller.Run(ctx, h.reload)
	}()
	h.opsRun(ctx, wg)
	h.runDispatcher(ctx, wg)
	h.runNotifier(ctx, wg)
	runAuditPruning(ctx, wg, h.DB, h.cfg.Audit.Retention, h.log.With("component", "audit"))
	if p, ok := h.Bus.(pruner); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.pruneBus(ctx, p)
		}()
	}
}

// shutdown stops the hub within the config's shutdown_timeout: gracefully
// (stopWork), else by killing the plugins; then it closes what New opened.
// cancel ends the work's context; wg counts the work started.
func (h *Hub) shutdown(cancel context.CancelFunc, wg *sync.WaitGroup) {
	deadline := h.cfg.ShutdownTimeout
	if deadline <= 0 {
		deadline = 30 * time.Second
	}
	h.log.Info("hub shutting down", "deadline", deadline)
	shutdownCtx, done := context.WithTimeout(context.Background(), deadline)
	defer done()
	graceful := h.stopWork(shutdownCtx, cancel, wg)
	select {
	case <-graceful:
	case <-shutdownCtx.Done():
		// Work still in flight (a hung plugin, a slow vendor) is abandoned:
		// killing the plugins fails its calls, so its messages are not
		// acknowledged and stay queued for the next start.
		h.log.Warn("shutdown deadline passed: killing the plugins; unfinished work stays queued", "deadline", deadline)
		cancel()
		h.Plugins.Kill()
		select {
		case <-graceful:
		case <-time.After(afterKill):
			h.log.Warn("in-flight work did not end after the plugins were killed; exiting anyway")
		}
	}
	// Plugins still stopping when the deadline passes are killed.
	stopKill := context.AfterFunc(shutdownCtx, h.Plugins.Kill)
	defer stopKill()
	h.closeAll()
	h.log.Info("hub stopped")
}

// stopWork stops, in order, the HTTP server (no more webhooks), the work
// (cancel, then waiting for wg) and the router (letting in-flight messages
// finish). The channel returned is closed when all have stopped.
func (h *Hub) stopWork(ctx context.Context, cancel context.CancelFunc, wg *sync.WaitGroup) <-chan struct{} {
	graceful := make(chan struct{})
	go func() {
		defer close(graceful)
		if err := h.http.Shutdown(ctx); err != nil {
			h.log.Warn("http shutdown", "error", err)
		}
		cancel()
		wg.Wait()
		select {
		case <-h.router.Running():
			if err := h.router.Close(); err != nil {
				h.log.Warn("router close", "error", err)
			}
		case <-h.routerDone:
			// It never ran (stopped while subscribing): Close would only
			// wait for handlers that never started.
		}
	}()
	return graceful
}

// leaseOwner names this hub in its leases (the bus's subscriptions, the
// poll schedule's slots, the alert claims), the same across restarts: two
// hubs on one host listen on different addresses. Each process adds an
// instance id of its own (state.NewOwner).
func leaseOwner(addr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "hub"
	}
	return host + "/" + addr
}

// pruner is a bus that can delete what its consumers acknowledged.
type pruner interface {
	PruneConsumed(ctx context.Context) (int64, error)
}

// pruneEvery is how often acknowledged bus messages are deleted.
const pruneEvery = 5 * time.Minute

// pruneBus deletes acknowledged bus messages now and then, so that the
// embedded bus's tables do not keep every message ever delivered.
func (h *Hub) pruneBus(ctx context.Context, p pruner) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := p.PruneConsumed(pctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			h.log.Warn("pruning delivered bus messages failed", "error", err)
		case n > 0:
			h.log.Debug("pruned delivered bus messages", "messages", n)
		}
	}
}

// afterKill bounds the wait for handlers once their plugins are killed.
const afterKill = 5 * time.Second

// HostOptions are the plugin host options the config asks for, on top of
// base (where tests set shorter intervals; its non-zero fields win).
func HostOptions(cfg *config.Config, base pluginhost.Options) pluginhost.Options {
	o := base
	if o.HealthTimeout == 0 {
		o.HealthTimeout = cfg.Plugins.HealthTimeout
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = cfg.Plugins.CallTimeout
	}
	if o.PluginEnv == nil {
		o.PluginEnv = cfg.Plugins.Env
	}
	if o.Checksums == nil {
		o.Checksums = cfg.Plugins.Checksums
	}
	if o.SocketDir == "" {
		o.SocketDir = pluginhost.SocketDir(cfg.DataDir)
	}
	return o
}

// closeAll closes what New opened, last opened first: plugins, bus, state,
// listener.
func (h *Hub) closeAll() { h.life.closeAll() }

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
func (r Resolver) Store(name string) (sdk.StorePlugin, sdk.Info, error) {
	p, ok := r.Host.Plugin(name)
	if !ok {
		return nil, sdk.Info{}, sdk.Errorf(sdk.ErrorKindNotFound, "no store plugin %q is installed", name)
	}
	return p.Store(), p.Info(), nil
}

// Helpdesk returns a helpdesk plugin.
func (r Resolver) Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	p, ok := r.Host.Plugin(name)
	if !ok {
		return nil, sdk.Info{}, sdk.Errorf(sdk.ErrorKindNotFound, "no helpdesk plugin %q is installed", name)
	}
	return p.Helpdesk(), p.Info(), nil
}

// SyncConfig writes the integrations declared in the config file into the
// state (they win over the admin API), keeping cursors and history.
func SyncConfig(ctx context.Context, db *state.DB, cfg *config.Config) error {
	return db.InTx(ctx, func(tx *state.Tx) error {
		for _, ci := range cfg.Integrations {
			if err := tx.PutIntegration(ctx, FromConfig(ci)); err != nil {
				return err
			}
			if err := tx.PutAlerts(ctx, ci.ID, alertsFromConfig(ci.Alerts)); err != nil {
				return err
			}
		}
		return nil
	})
}
