package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

func deadLetters(cfg *config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer, asJSON bool) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: hub deadletters list|retry ID|drop ID [--config FILE]")
		return 2
	}
	ctx := context.Background()
	db, b, err := openStateAndBus(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	defer b.Close()
	dl := app.DeadLetters(db)
	id := int64(0)
	if args[0] != "list" {
		if len(args) != 2 {
			fmt.Fprintf(stderr, "usage: hub deadletters %s ID\n", args[0])
			return 2
		}
		if id, err = strconv.ParseInt(args[1], 10, 64); err != nil {
			fmt.Fprintf(stderr, "ID %q is not a number (see hub deadletters list)\n", args[1])
			return 2
		}
	}
	switch args[0] {
	case "list":
		list, err := dl.List(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(list)
			return 0
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tTOPIC\tREASON")
		for _, d := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", d.Offset, d.CreatedAt, d.Topic, strings.Join(strings.Fields(d.Reason), " "))
		}
		tw.Flush()
	case "retry":
		if err := dl.Retry(ctx, b, id); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "dead letter %d is queued again\n", id)
	case "drop":
		if err := dl.Drop(ctx, id); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "dead letter %d dropped\n", id)
	default:
		fmt.Fprintf(stderr, "unknown deadletters command %q (list, retry, drop)\n", args[0])
		return 2
	}
	return 0
}

// openStateAndBus opens the state (credentials sealed, not read) and the
// bus on it, for the commands that work on both (their migrations run).
func openStateAndBus(ctx context.Context, cfg *config.Config, log *slog.Logger) (*state.DB, bus.Bus, error) {
	db, err := app.OpenState(ctx, cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := app.OpenBus(ctx, cfg, db, log, bus.SubscriberConfig{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, b, nil
}
