package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/state"
)

const importUsage = "usage: hub import-history INTEGRATION APP --from YYYY-MM-DD [--to YYYY-MM-DD] [--config FILE]"

// historyRange parses --from and --to (UTC days; to exclusive, default
// tomorrow: up to now).
func historyRange(from, to string, now time.Time) (time.Time, time.Time, error) {
	if from == "" {
		return time.Time{}, time.Time{}, errors.New("--from is required")
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %q is not a date (YYYY-MM-DD)", from)
	}
	t := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if to != "" {
		if t, err = time.Parse(time.DateOnly, to); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--to %q is not a date (YYYY-MM-DD)", to)
		}
	}
	if !f.Before(t) {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %s is not before --to %s", f.Format(time.DateOnly), t.Format(time.DateOnly))
	}
	return f, t, nil
}

// progressLine is the CLI's progress bar of an import.
func progressLine(h state.HistoryImport, start time.Time, startReviews int64, now time.Time) string {
	const width = 30
	bar, pct, eta := strings.Repeat("·", width), "", ""
	elapsed := now.Sub(start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(h.Reviews-startReviews) / elapsed
	}
	if h.Total > 0 {
		frac := min(float64(h.Done)/float64(h.Total), 1)
		n := int(frac * width)
		bar = strings.Repeat("#", n) + strings.Repeat("·", width-n)
		pct = fmt.Sprintf(" %3.0f%%", frac*100)
		if frac > 0 && frac < 1 && elapsed > 0 {
			eta = fmt.Sprintf(", ETA %s", (time.Duration(elapsed/frac*(1-frac)) * time.Second).Round(time.Second))
		}
	}
	return fmt.Sprintf("[%s]%s page %d: %d reviews, %d queued, %d ratings without text, %d unreadable, %.0f reviews/s%s",
		bar, pct, h.Pages, h.Reviews, h.Queued, h.RatingOnly, h.Unreadable, rate, eta)
}

// importHistory is `hub import-history INTEGRATION APP --from … --to …`:
// the app's reviews changed in the range, through its store plugin's
// History and the listing's pipeline (filters, versions: nothing delivered
// twice), into the state and the bus; the running hub delivers them. Its
// progress is in the state: interrupted, it resumes when run again.
func importHistory(cfg *config.Config, log *slog.Logger, args []string, fromFlag, toFlag string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, importUsage)
		return 2
	}
	from, to, err := historyRange(fromFlag, toFlag, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "%v\n%s\n", err, importUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := app.OpenSealedState(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	b, err := app.OpenBus(ctx, cfg, db, log, bus.SubscriberConfig{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer b.Close()
	in, err := db.Integration(ctx, args[0])
	if errors.Is(err, state.ErrNotFound) {
		fmt.Fprintf(stderr, "no integration %q in the state (an integration of the config file is there once the hub has started with it)\n", args[0])
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var target *state.App
	var ids []string
	for i, a := range in.Apps {
		ids = append(ids, a.ID)
		if a.ID == args[1] {
			target = &in.Apps[i]
		}
	}
	if target == nil {
		fmt.Fprintf(stderr, "integration %s has no app %q (its apps: %s)\n", in.ID, args[1], strings.Join(ids, ", "))
		return 1
	}
	all, err := pluginhost.Discover(cfg.Plugins.Dir, cfg.Plugins.Paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	path, ok := all[target.StorePlugin]
	if !ok {
		fmt.Fprintf(stderr, "store plugin %q of app %s is not installed\n", target.StorePlugin, target.ID)
		return 1
	}
	host, err := pluginhost.Start(ctx, map[string]string{target.StorePlugin: path}, app.HostOptions(cfg, pluginhost.Options{Logger: log.With("component", "plugins")}))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer host.Close()
	p := &poll.Poller{DB: db, Bus: b, Plugins: app.Resolver{Host: host}, Logger: log.With("component", "history")}
	start := time.Now()
	prev, _, err := db.HistoryImport(ctx, in.ID, target.ID, from, to)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if prev.Running() {
		fmt.Fprintf(stdout, "resuming the import of %s/%s [%s, %s) after page %d\n", in.ID, target.ID, from.Format(time.DateOnly), to.Format(time.DateOnly), prev.Pages)
	}
	recordHistoryStart(ctx, db, in.ID, target.ID, from, to, stderr)
	h, err := p.ImportHistory(ctx, in, *target, from, to, func(h state.HistoryImport) {
		fmt.Fprintf(stderr, "\r%s", progressLine(h, start, prev.Reviews, time.Now()))
	})
	fmt.Fprintln(stderr)
	switch {
	case errors.Is(err, poll.ErrHistoryUnsupported):
		fmt.Fprintf(stderr, "app %s cannot import its history: %v\n", target.ID, err)
		return 1
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "interrupted after page %d; run the same command again to resume\n", h.Pages)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "import stopped after page %d: %v\nrun the same command again to resume\n", h.Pages, err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %s/%s [%s, %s): %d reviews in %d pages, %d queued for the helpdesk (the hub delivers them), %d ratings without text not ticketed, %d unreadable\n",
		in.ID, target.ID, from.Format(time.DateOnly), to.Format(time.DateOnly), h.Reviews, h.Pages, h.Queued, h.RatingOnly, h.Unreadable)
	if !h.CompleteUntil.IsZero() {
		fmt.Fprintf(stdout, "the store's history is complete only up to %s: import the rest again later (%s)\n",
			h.CompleteUntil.Format(time.RFC3339), "a new range from that day")
	}
	return 0
}

// recordHistoryStart writes the audit entry of an import started from the
// command line; a failure to write it is said, the import goes on.
func recordHistoryStart(ctx context.Context, db *state.DB, integrationID, appID string, from, to time.Time, stderr io.Writer) {
	e := httpapi.HistoryStartEntry(integrationID, appID, from, to)
	e.Subject, e.Name, e.Via, e.Client = "cli", os.Getenv("USER"), "cli", "local"
	if err := db.AddAudit(ctx, e); err != nil {
		fmt.Fprintln(stderr, "the import's audit entry could not be written:", err)
	}
}
