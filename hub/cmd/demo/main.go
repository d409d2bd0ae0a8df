// Command demo runs Reviewhub end to end on loopback: the hub and its
// plugin processes against the project's fake App Store, Google Play,
// RuStore, Huawei AppGallery and a fake helpdesk (Omnidesk, or Zendesk with --helpdesk
// zendesk), with a ready integration and a stream of reviews. `make demo`
// builds everything and runs it (`make demo HELPDESK=zendesk`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/demo"
)

func main() {
	bin := flag.String("bin", "bin", "directory with hub and hub-plugin-NAME binaries")
	data := flag.String("data", filepath.Join("data", "demo"), "demo data directory (emptied at every start)")
	hubAddr := flag.String("hub", "127.0.0.1:8080", "hub address")
	uiAddr := flag.String("ui", "127.0.0.1:8090", "address of the demo page")
	step := flag.Duration("step", 3*time.Second, "pause between events of the review stream")
	endless := flag.Bool("endless", true, "keep generating reviews after the script")
	helpdesk := flag.String("helpdesk", demo.Omnidesk, "the fake helpdesk the reviews go to: "+strings.Join(demo.Helpdesks, " or "))
	flag.Parse()
	if !slices.Contains(demo.Helpdesks, *helpdesk) {
		fmt.Fprintf(os.Stderr, "demo: --helpdesk %q: give %s\n", *helpdesk, strings.Join(demo.Helpdesks, " or "))
		os.Exit(2)
	}

	if err := os.RemoveAll(*data); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	hubLog, err := os.Create(filepath.Join(*data, "hub.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	defer hubLog.Close()
	plugins := map[string]string{}
	for _, name := range []string{"appstore", "googleplay", "rustore", "appgallery", *helpdesk} {
		plugins[name] = filepath.Join(*bin, "hub-plugin-"+name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = demo.Run(ctx, demo.Options{
		HubBin: filepath.Join(*bin, "hub"), Helpdesk: *helpdesk, Plugins: plugins, DataDir: *data,
		HubAddr: *hubAddr, UIAddr: *uiAddr, Step: *step, Endless: *endless,
		Out: os.Stdout, HubLog: hubLog,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintln(os.Stderr, "demo: another hub, `make run` or demo may be running; choose other ports: make demo HUB=127.0.0.1:18080 UI=127.0.0.1:18090")
		}
		fmt.Fprintln(os.Stderr, "demo: the hub's log is", hubLog.Name())
		os.Exit(1)
	}
}
