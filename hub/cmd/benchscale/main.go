// Command benchscale runs `make bench-scale`: one hub polling many apps on
// the fake Google Play, reporting memory, CPU per poll, scheduler lag and
// start-up time, and writing them to a JSON file.
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

	"github.com/reviewhub/reviewhub/hub/internal/scalebench"
)

func main() {
	apps := flag.Int("apps", 10000, "apps")
	per := flag.Int("per-integration", 100, "apps per integration")
	interval := flag.Duration("interval", 5*time.Minute, "each app's poll interval")
	measure := flag.Duration("measure", 5*time.Minute, "how long the steady state is measured (after one interval of warm-up)")
	bin := flag.String("bin", "bin", "directory with hub and hub-plugin-NAME binaries")
	level := flag.String("log-level", "error", "the hub's log level (its log is beside the figures file)")
	out := flag.String("out", filepath.Join("bench-results", "scale.json"), "figures file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "reviewhub-scale-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fail(err)
	}
	hubLog, err := os.Create(filepath.Join(filepath.Dir(*out), "scale-hub.log"))
	if err != nil {
		fail(err)
	}
	defer hubLog.Close()
	fig, err := scalebench.Run(ctx, scalebench.Options{Apps: *apps, PerIntegration: *per, Interval: *interval, Measure: *measure,
		HubBin: filepath.Join(*bin, "hub"), DataDir: dir, Log: os.Stderr, HubLog: hubLog, LogLevel: *level,
		Plugins: map[string]string{"googleplay": filepath.Join(*bin, "hub-plugin-googleplay"), "omnidesk": filepath.Join(*bin, "hub-plugin-omnidesk")}})
	if err != nil {
		fail(err)
	}
	scalebench.Report(os.Stdout, fig)
	raw, _ := json.MarshalIndent(fig, "", "  ")
	if err := os.WriteFile(*out, append(raw, '\n'), 0o644); err != nil {
		fail(err)
	}
	fmt.Println("figures written to", *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-scale:", err)
	os.Exit(1)
}
