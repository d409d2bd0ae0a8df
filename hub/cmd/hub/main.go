// Command hub is the Reviewhub server and its command-line tools.
//
//	hub serve    [--config FILE]   run the hub
//	hub validate [--config FILE]   check the configuration, the plugins and the integrations' settings, and exit
//	hub plugins  [--config FILE]   list installed plugins and what they say about themselves
//	hub check INTEGRATION [--config FILE] [--json]   live read-only check of an integration's accounts
//	hub deadletters list|retry ID|drop ID [--config FILE]
//	hub token create NAME --role ROLE [--expires D] | list | revoke ID [--config FILE]
//	hub sessions revoke SUBJECT | --all [--config FILE]
//	hub status [INTEGRATION] [--config FILE] [--json] [--hub URL]   every app's health, from a running hub
//	hub migrate [--dry-run] [--restored] [--config FILE]   bring the state's schema up to this hub's
//	hub import-history INTEGRATION APP --from YYYY-MM-DD [--to YYYY-MM-DD]   import an app's past reviews
//	hub backup FILE [--config FILE]   a consistent copy of a running hub's SQLite state
//	hub rotate-key [--config FILE]   re-seal every stored secret with a new key
//	hub version [--json]   the build: version, commit, date, Go and plugin protocol versions
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only when HUB_PPROF is set
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/buildinfo"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/sdk"
)

const usage = `Reviewhub turns app-store reviews into helpdesk tickets and sends answers back.

Usage:
  hub serve    [--config FILE]   run the hub
  hub validate [--config FILE]   check the configuration, the plugins it names and the
                                 integrations' settings, and exit (every problem, by field)
  hub plugins  [--config FILE]   list installed plugins and what they say about themselves
  hub check INTEGRATION [--config FILE] [--json]
                                read-only live check of an integration's helpdesk and store accounts
                                (exit 1 when a line fails); writes nothing at a vendor or in the state
  hub deadletters list     [--config FILE]  messages that failed for good, with the reason
  hub deadletters retry ID [--config FILE]  put one back on its topic (the hub delivers it again)
  hub deadletters drop ID  [--config FILE]  delete one
  hub token create NAME --role viewer|agent|admin [--expires 720h] [--config FILE]
                                a personal API token, shown this once (stored hashed)
  hub token list [--json] [--config FILE]    the personal tokens (never their values)
  hub token revoke ID [--config FILE]        refused from the next request on
  hub sessions revoke SUBJECT | --all [--config FILE]
                                end a subject's web console sessions (or all), on every hub
  hub status [INTEGRATION] [--config FILE] [--json] [--hub URL]
                                every app's health (ok, degraded, quota, failing, stalled,
                                credentials, at risk of loss), why and since when, read from the running hub's
                                admin API (needs HUB_API_TOKEN, a personal token, or admin_token;
                                --hub defaults to http://LISTEN)
  hub migrate [--dry-run] [--restored] [--config FILE]
                                apply the state's migrations this hub knows (--dry-run: list them,
                                change nothing); --restored: the state was just restored from a
                                pg_dump backup (tickets are looked up before they are created for 7 days)
  hub import-history INTEGRATION APP --from YYYY-MM-DD [--to YYYY-MM-DD] [--config FILE]
                                import an app's reviews changed in [from, to) from its store's
                                history (Google Play: the monthly reports); resumable, delivers
                                nothing twice
  hub backup FILE [--config FILE]
                                a consistent copy of the SQLite state, bus included, while the hub
                                runs (PostgreSQL: pg_dump; restore: docs/operations.md)
  hub rotate-key [--config FILE]
                                re-seal every stored secret with the new secret_key (the old one in
                                accepted_secret_keys, hubs may run); without secret_key, a new key
                                in DATA_DIR/secret.key (stop the hub first); prints counts only

  hub version [--json]          version, commit, build date, Go version and plugin protocol version


Environment (overrides the file; with no file, the whole configuration of a hub whose
integrations are made through the admin API): HUB_CONFIG, HUB_LISTEN, HUB_PUBLIC_URL,
HUB_DATA_DIR, HUB_SECRET_KEY, HUB_ACCEPTED_SECRET_KEYS, HUB_ADMIN_TOKEN, HUB_STATE_DRIVER, HUB_STATE_DSN, HUB_STATE_PATH,
HUB_BUS_BACKEND, HUB_PLUGINS_DIR, HUB_LOG_LEVEL, HUB_LOG_FORMAT, HUB_METRICS_LISTEN.
HUB_API_TOKEN: the personal token hub status calls the admin API with.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd := args[0]
	var positional []string
	rest := args[1:]
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		positional, rest = append(positional, rest[0]), rest[1:]
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("HUB_CONFIG"), "configuration file (YAML)")
	jsonOut := fs.Bool("json", false, "print JSON (plugins, check, deadletters list, status)")
	hubURL := fs.String("hub", "", "status: the running hub's base URL (default http://LISTEN)")
	dryRun := fs.Bool("dry-run", false, "migrate: list what would run, change nothing")
	restored := fs.Bool("restored", false, "migrate: mark the state restored from a backup made with pg_dump")
	histFrom := fs.String("from", "", "import-history: the first day (YYYY-MM-DD, UTC)")
	histTo := fs.String("to", "", "import-history: the day after the last (YYYY-MM-DD, UTC; default: up to now)")
	role := fs.String("role", "", "token create: viewer, agent or admin")
	expires := fs.String("expires", "", "token create: when it expires (720h, or 2027-01-31T00:00:00Z); empty: never")
	allSessions := fs.Bool("all", false, "sessions revoke: every console session")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	positional = append(positional, fs.Args()...)
	if cmd == "version" { // needs no configuration
		return printVersion(stdout, *jsonOut)
	}
	cfg, err := config.Load(*cfgPath)
	if cmd == "validate" {
		return validate(*cfgPath, cfg, err, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	switch cmd {
	case "serve":
		return serve(cfg, log)
	case "plugins":
		return listPlugins(cfg, log, stdout, *jsonOut)
	case "check":
		return checkIntegration(cfg, log, positional, stdout, stderr, *jsonOut)
	case "deadletters":
		return deadLetters(cfg, log, positional, stdout, stderr, *jsonOut)
	case "token":
		return token(cfg, positional, *role, *expires, stdout, stderr, *jsonOut)
	case "sessions":
		return sessions(cfg, positional, *allSessions, stdout, stderr)
	case "status":
		return status(cfg, *hubURL, positional, stdout, stderr, *jsonOut)
	case "migrate":
		return migrate(cfg, log, *dryRun, *restored, stdout, stderr)
	case "backup":
		return backup(cfg, positional, stdout, stderr)
	case "import-history":
		return importHistory(cfg, log, positional, *histFrom, *histTo, stdout, stderr)
	case "rotate-key":
		return rotateKey(cfg, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// validate reports every problem of the configuration (loadErr, from
// config.Load) and what app.Check finds with the plugins, one per line.
func validate(path string, cfg *config.Config, loadErr error, stdout, stderr io.Writer) int {
	name := path
	if name == "" {
		name = "(no file: defaults and environment)"
	}
	var errs config.Errors
	if loadErr != nil && (cfg == nil || !errors.As(loadErr, &errs)) {
		fmt.Fprintln(stderr, loadErr) // unreadable or not YAML: nothing more to check
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs = append(errs, app.Check(ctx, cfg, slog.New(slog.DiscardHandler))...)
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "config %s: %d problem(s):\n", name, len(errs))
		for _, e := range errs {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		return 1
	}
	fmt.Fprintf(stdout, "configuration OK: %d integration(s), state %s, bus %s\n", len(cfg.Integrations), cfg.State.Driver, cfg.Bus.Backend)
	return 0
}

// pprofAddr is HUB_PPROF's address, which must be on loopback.
func pprofAddr() (string, error) {
	addr := os.Getenv("HUB_PPROF")
	if addr == "" {
		return "", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HUB_PPROF: %q is not a host:port address", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("HUB_PPROF: %q is not a loopback address (profiles are served without authentication)", addr)
	}
	return addr, nil
}

func serve(cfg *config.Config, log *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, err := pprofAddr()
	if err != nil {
		log.Error("hub failed to start", "error", err)
		return 1
	}
	if addr != "" {
		// Profiling for `make bench` and operators: loopback only, off by default.
		go func() {
			srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
			log.Info("pprof listening", "addr", addr)
			if err := srv.ListenAndServe(); err != nil {
				log.Warn("pprof server", "error", err)
			}
		}()
	}
	h, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		log.Error("hub failed to start", "error", err)
		return 1
	}
	if err := h.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("hub stopped with an error", "error", err)
		return 1
	}
	return 0
}

func listPlugins(cfg *config.Config, log *slog.Logger, stdout io.Writer, asJSON bool) int {
	paths, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	host, err := pluginhost.Start(context.Background(), paths, app.HostOptions(cfg, pluginhost.Options{Logger: log}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer host.Close()
	var list []pluginhost.Status
	for _, name := range host.Names() {
		p, _ := host.Plugin(name)
		list = append(list, p.Status())
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(list)
		return 0
	}
	if len(list) == 0 {
		fmt.Fprintf(stdout, "no plugins found in %s (binaries named %sNAME)\n", cfg.Plugins.Dir, pluginhost.BinaryPrefix)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSTATUS\tDETAILS")
	for _, s := range list {
		status := "ok"
		if !s.Running {
			status = "failed: " + s.LastErr
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Info.Kind, s.Info.Version, status, pluginDetails(s.Info))
		for _, f := range s.Info.Settings {
			fmt.Fprintf(tw, "\t\t\t\t  setting %s: %s%s\n", f.Key, f.Label, settingNote(f))
		}
	}
	tw.Flush()
	return 0
}

// pluginDetails is the DETAILS column of hub plugins: a store's and a
// notifier's capabilities, else the description.
func pluginDetails(i sdk.Info) string {
	switch {
	case i.Store != nil:
		c := i.Store
		return fmt.Sprintf("reply: %v (max %d), edit: %v, delete: %v, source filters: %v, window: %s, public listing: %v",
			c.CanReply, c.ReplyMaxLength, c.CanEditReply, c.CanDeleteReply, c.SourceFilters, c.ListingWindow, c.PublicListing)
	case i.Notifier != nil:
		c := i.Notifier
		return fmt.Sprintf("notifier: text up to %d characters, formatting %s, threads: %v", c.MaxTextLength, c.Formatting, c.Threads)
	}
	return i.Description
}

// settingNote says what a setting takes: whether it is required, its type
// and bounds (" (required, duration 10s..24h)").
func settingNote(f sdk.SettingField) string {
	var parts []string
	if f.Required {
		parts = append(parts, "required")
	}
	if f.Type != sdk.SettingText {
		t := string(f.Type)
		if f.Min != "" || f.Max != "" {
			t += " " + f.Min + ".." + f.Max
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func printVersion(stdout io.Writer, asJSON bool) int {
	in := buildinfo.Get()
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(in)
		return 0
	}
	fmt.Fprint(stdout, in.String())
	return 0
}
