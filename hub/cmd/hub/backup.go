package main

import (
	"context"
	"fmt"
	"io"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// backup writes a consistent copy of the SQLite state (bus included) to
// the file args names, while the hub runs; it changes nothing in the state.
func backup(cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: hub backup FILE [--config FILE]")
		return 2
	}
	if cfg.State.Driver == "postgres" {
		fmt.Fprintln(stderr, "hub backup copies a SQLite state; back PostgreSQL up with pg_dump (docs/operations.md, \"Backup\")")
		return 2
	}
	ctx := context.Background()
	db, err := state.OpenSQLiteReadOnly(ctx, cfg.State.Path, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	if err := db.Backup(ctx, args[0]); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "state %s backed up to %s (restore: docs/operations.md, \"Restore\")\n", cfg.State.Path, args[0])
	return 0
}
