package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// migrate brings the state's schema (and the bus's tables) to what this hub
// knows, for operators who migrate before they roll a new version out;
// dryRun lists what would run and changes nothing. restored marks a state
// restored from a backup made outside the hub (pg_dump).
func migrate(cfg *config.Config, log *slog.Logger, dryRun, restored bool, stdout, stderr io.Writer) int {
	ctx := context.Background()
	before, err := schemaStatus(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "state: %s, schema version %d (migrated by hub %s, last opened by hub %s); this hub (%s) knows schema versions up to %d\n",
		stateName(cfg), before.Schema, orUnknown(before.SchemaHub), orUnknown(before.Hub), before.ThisHub, before.Known)
	if !before.RestoredAt.IsZero() {
		fmt.Fprintf(stdout, "restored from a backup at %s: tickets are looked up before they are created until %s\n",
			before.RestoredAt.Format(time.RFC3339), before.FirstAttemptsAfter.Format(time.RFC3339))
	}
	if len(before.Unknown) > 0 {
		fmt.Fprintln(stderr, (&state.NewerSchemaError{Schema: before.Schema, Known: before.Known, SchemaHub: before.SchemaHub,
			Hub: before.ThisHub, Unknown: before.Unknown}).Error())
		return 1
	}
	if dryRun {
		if len(before.Pending) == 0 {
			fmt.Fprintln(stdout, "nothing to migrate")
		} else {
			fmt.Fprintf(stdout, "would apply %d migration(s): %s\n", len(before.Pending), strings.Join(before.Pending, ", "))
		}
		if restored {
			fmt.Fprintln(stdout, "would mark the state restored from a backup")
		}
		return 0
	}
	db, b, err := openStateAndBus(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	defer b.Close()
	after, err := db.SchemaStatus(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(before.Pending) == 0 {
		fmt.Fprintf(stdout, "nothing to migrate: schema version %d is current\n", after.Schema)
	} else {
		fmt.Fprintf(stdout, "applied %d migration(s): %s; schema version %d → %d\n", len(before.Pending), strings.Join(before.Pending, ", "), before.Schema, after.Schema)
	}
	if restored {
		until, err := db.MarkRestored(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "marked restored from a backup: tickets are looked up before they are created until %s\n", until.Format("2006-01-02 15:04 MST"))
	}
	return 0
}

// schemaStatus reads the state's schema without changing anything (an
// absent SQLite file: every migration pending).
func schemaStatus(ctx context.Context, cfg *config.Config) (state.SchemaStatus, error) {
	var db *state.DB
	var err error
	if cfg.State.Driver == "postgres" {
		db, err = state.OpenPostgresReadOnly(ctx, cfg.State.DSN, nil)
	} else {
		db, err = state.OpenSQLiteReadOnly(ctx, cfg.State.Path, nil)
		if errors.Is(err, os.ErrNotExist) {
			return state.EmptySchemaStatus(state.SQLite)
		}
	}
	if err != nil {
		return state.SchemaStatus{}, err
	}
	defer db.Close()
	return db.SchemaStatus(ctx)
}

func stateName(cfg *config.Config) string {
	if cfg.State.Driver == "postgres" {
		return "postgres"
	}
	return "sqlite " + cfg.State.Path
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}
