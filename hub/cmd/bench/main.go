// Command bench runs the benchmark of `make bench`: the hub with real
// plugin processes against a direct baseline on the same workload, and
// writes the figures to a JSON file.
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

	"github.com/reviewhub/reviewhub/hub/internal/bench"
)

func main() {
	n := flag.Int("n", 10000, "reviews")
	m := flag.Int("m", 500, "answers")
	bin := flag.String("bin", "bin", "directory with hub and hub-plugin-NAME binaries")
	out := flag.String("out", filepath.Join("bench-results", "figures.json"), "figures file")
	loadN := flag.Int("load-n", 2000, "reviews of the real-world mode's backlog (0: skip the mode)")
	latency := flag.Duration("latency", 100*time.Millisecond, "real-world mode: the helpdesk's answer time")
	jitter := flag.Duration("jitter", 20*time.Millisecond, "real-world mode: ± this around -latency")
	perMinute := flag.Int("per-minute", 300, "real-world mode: helpdesk calls allowed per -window")
	window := flag.Duration("window", time.Minute, "real-world mode: the limit's sliding window (Omnidesk: a minute; shorter only for quick checks)")
	onlyLoad := flag.Bool("only-load", false, "run only the real-world mode")
	onlyPG := flag.Bool("only-postgres", false, "run only the PostgreSQL sides of the zero-latency mode (to profile them)")
	inFlight := flag.Int("in-flight", 0, "the hub's bus.in_flight (0: its default, 8)")
	pgDSN := flag.String("postgres", "", "PostgreSQL URL: also run the hub with its state and bus there, in a schema of its own (empty: not)")
	pgHubs := flag.Int("postgres-hubs", 3, "with -postgres: run the PostgreSQL side again with this many hub processes on one schema (1 or less: not)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "reviewhub-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	hubLog, err := os.Create(filepath.Join(filepath.Dir(*out), "hub.log"))
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			fail(err)
		}
		if hubLog, err = os.Create(filepath.Join(filepath.Dir(*out), "hub.log")); err != nil {
			fail(err)
		}
	}
	defer hubLog.Close()
	fig, err := bench.Run(ctx, bench.Options{Reviews: *n, Replies: *m, HubBin: filepath.Join(*bin, "hub"),
		Plugins: map[string]string{"appstore": filepath.Join(*bin, "hub-plugin-appstore"), "omnidesk": filepath.Join(*bin, "hub-plugin-omnidesk")},
		DataDir: dir, Log: os.Stderr, HubLog: hubLog, SkipZeroLatency: *onlyLoad, OnlyPostgres: *onlyPG, InFlight: *inFlight, PostgresDSN: *pgDSN, PostgresHubs: *pgHubs,
		Load: bench.Load{Reviews: *loadN, Latency: *latency, Jitter: *jitter, PerWindow: *perMinute, Window: *window}})
	if err != nil {
		fail(err)
	}
	bench.Report(os.Stdout, fig)
	raw, _ := json.MarshalIndent(fig, "", "  ")
	if err := bench.WriteFile(*out, append(raw, '\n')); err != nil {
		fail(err)
	}
	fmt.Println("figures written to", *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
