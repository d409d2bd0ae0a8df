// Command benchreviews runs the benchmark of `make bench-reviews`: a state
// with many reviews (written through the poller's path once, then reused)
// and the time the console takes to render filtered and searched pages of
// it, on SQLite and, with -postgres, on PostgreSQL (docs/performance.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/reviewbench"
	"github.com/reviewhub/reviewhub/hub/state"
)

func main() {
	n := flag.Int("n", reviewbench.DefaultShape.Reviews, "reviews in the state")
	dbPath := flag.String("db", filepath.Join("bench-results", "reviews.db"), "the SQLite state (generated when missing, reused otherwise)")
	pgDSN := flag.String("postgres", "", "PostgreSQL URL: also measure there (the reviews generated into it when it has none)")
	runs := flag.Int("runs", 40, "renders of each page")
	noSQLite := flag.Bool("no-sqlite", false, "measure only PostgreSQL (-postgres)")
	out := flag.String("out", filepath.Join("bench-results", "reviews.json"), "figures file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	figures := map[string]any{"reviews": *n, "runs": *runs}

	if !*noSQLite {
		db, err := state.OpenSQLite(ctx, *dbPath, nil)
		if err != nil {
			fail(err)
		}
		sqlite, err := run(ctx, db, "sqlite", *n, *runs)
		db.Close()
		if err != nil {
			fail(err)
		}
		figures["sqlite"] = sqlite
	}
	if *pgDSN != "" {
		pg, err := state.OpenPostgres(ctx, *pgDSN, nil)
		if err != nil {
			fail(err)
		}
		f, err := run(ctx, pg, "postgres", *n, *runs)
		pg.Close()
		if err != nil {
			fail(err)
		}
		figures["postgres"] = f
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fail(err)
	}
	raw, _ := json.MarshalIndent(figures, "", "  ")
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		fail(err)
	}
	fmt.Println("figures in", *out)
}

// run fills db with n reviews when it has none, then measures.
func run(ctx context.Context, db *state.DB, name string, n, runs int) ([]reviewbench.Figure, error) {
	var have int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM reviews`).Scan(&have); err != nil {
		return nil, err
	}
	if have == 0 {
		shape := reviewbench.DefaultShape
		shape.Reviews = n
		start := time.Now()
		fmt.Printf("%s: writing %d reviews through the poller's path…\n", name, n)
		done, err := reviewbench.Generate(ctx, db, shape, func(done int) {
			if done%100_000 == 0 {
				fmt.Printf("  %d in %s\n", done, time.Since(start).Round(time.Second))
			}
		})
		if err != nil {
			return nil, err
		}
		fmt.Printf("%s: %d reviews written in %s (%.0f a second)\n", name, done, time.Since(start).Round(time.Second),
			float64(done)/time.Since(start).Seconds())
		have = done
	} else if have != n {
		fmt.Printf("%s: the state has %d reviews (not %d): measuring those\n", name, have, n)
	}
	c, err := reviewbench.NewConsole(db)
	if err != nil {
		return nil, err
	}
	fmt.Printf("%s, %d reviews: a page of 50 rendered by the console handler, %d times each\n", name, have, runs)
	return reviewbench.Measure(ctx, c, reviewbench.Queries, runs, func(f reviewbench.Figure) { fmt.Println("  " + f.String()) })
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreviews:", err)
	os.Exit(1)
}
