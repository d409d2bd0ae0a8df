package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
)

// checkTimeout bounds a whole `hub check`.
const checkTimeout = 3 * time.Minute

// checkIntegration is `hub check INTEGRATION`: the live check of hub/check
// with the integration's real credentials, through the plugins it uses
// (started here, stopped at the end). It writes nothing at a vendor and
// nothing in the hub's state. Exit code 0 when no line failed, 1 otherwise.
func checkIntegration(cfg *config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer, asJSON bool) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: hub check INTEGRATION [--config FILE] [--json]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	in, err := app.ReadIntegration(ctx, cfg, args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	all, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Only the plugins this integration uses.
	paths := map[string]string{}
	names := []string{in.HelpdeskPlugin}
	for _, a := range in.Apps {
		names = append(names, a.StorePlugin)
	}
	for _, name := range names {
		if p, ok := all[name]; ok {
			paths[name] = p
		}
	}
	host, err := pluginhost.Start(ctx, paths, app.HostOptions(cfg, pluginhost.Options{Logger: log.With("component", "plugins")}))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer host.Close()
	rep := check.Run(ctx, in, app.Resolver{Host: host}, check.Options{PublicURL: cfg.PublicURL,
		PluginProblem: func(name string) string {
			if p, ok := host.Plugin(name); ok {
				return p.Status().LastErr
			}
			return ""
		}})
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		check.Print(stdout, rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}
