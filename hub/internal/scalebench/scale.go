// Package scalebench measures how many apps one hub carries (`make
// bench-scale`): the real hub binary with the Google Play and Omnidesk
// plugins polls thousands of apps on the project's fake Google Play, and the
// benchmark reports the hub's memory, CPU per poll, scheduler lag and
// start-up time.
package scalebench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
)

// Options of one run.
type Options struct {
	Apps int
	// PerIntegration apps per integration (helpdesk account).
	PerIntegration int
	// Interval each app is polled at.
	Interval time.Duration
	// Measure is how long the steady state is measured, after Warmup.
	Measure time.Duration
	// Warmup is waited before measuring (first polls are spread over up to
	// one interval); negative: none; 0: one interval.
	Warmup time.Duration
	HubBin string
	// Plugins maps googleplay and omnidesk to their binaries.
	Plugins map[string]string
	DataDir string
	Log     io.Writer
	HubLog  io.Writer
	// LogLevel of the hub (default error).
	LogLevel string
}

// Figures of one run.
type Figures struct {
	Apps         int     `json:"apps"`
	Integrations int     `json:"integrations"`
	Interval     string  `json:"interval"`
	StartupS     float64 `json:"startup_seconds"`
	// Polls measured in the steady state, and the polls the apps' interval
	// asks for in that time.
	Polls         int64   `json:"polls"`
	ExpectedPolls float64 `json:"expected_polls"`
	PollsPerS     float64 `json:"polls_per_second"`
	// CPU per poll of the hub process and of its plugins, milliseconds.
	HubCPUPerPollMs    float64 `json:"hub_cpu_per_poll_ms"`
	PluginCPUPerPollMs float64 `json:"plugin_cpu_per_poll_ms"`
	HubRSSMiB          float64 `json:"hub_rss_mib"`
	HubPeakRSSMiB      float64 `json:"hub_peak_rss_mib"`
	LagP50Ms           float64 `json:"lag_p50_ms"`
	LagP99Ms           float64 `json:"lag_p99_ms"`
}

const adminToken = "scale-bench-admin-token-0123456789"

// Run runs the benchmark.
func Run(ctx context.Context, o Options) (Figures, error) {
	if o.PerIntegration <= 0 {
		o.PerIntegration = 100
	}
	fig := Figures{Apps: o.Apps, Interval: o.Interval.String()}
	fakes, err := stack.StartFakes(nil)
	if err != nil {
		return fig, err
	}
	defer fakes.Close()
	ins := integrations(o, fakes)
	fig.Integrations = len(ins)
	addr, err := stack.FreeAddr()
	if err != nil {
		return fig, err
	}
	cfgPath, err := writeConfig(o, addr, ins)
	if err != nil {
		return fig, err
	}

	fmt.Fprintf(o.Log, "scale: starting the hub with %d apps in %d integrations, interval %s\n", o.Apps, len(ins), o.Interval)
	start := time.Now()
	hub, err := stack.StartHub(ctx, o.HubBin, cfgPath, addr, o.HubLog)
	if err != nil {
		return fig, err
	}
	defer hub.Stop()
	fig.StartupS = time.Since(start).Seconds()
	warmup := o.Warmup
	if warmup == 0 {
		warmup = o.Interval
	}
	fmt.Fprintf(o.Log, "scale: ready after %.1fs; warming up for %s\n", fig.StartupS, max(warmup, 0))
	if err := sleep(ctx, warmup); err != nil {
		return fig, err
	}
	if err := measure(ctx, o, hub, addr, &fig); err != nil {
		return fig, err
	}
	return fig, nil
}

// integrations adds o.Apps apps to the fake Google Play and returns the
// config's integrations: o.PerIntegration apps each, all feeding the fake
// Omnidesk.
func integrations(o Options, fakes *stack.Fakes) []any {
	gp := fakes.GooglePlay
	store := map[string]string(gp.Settings(fakes.URL["googleplay"]))
	desk := map[string]string(fakes.Omnidesk.Settings(fakes.URL["omnidesk"], "scale-secret"))
	var ins []any
	for i := 0; i < o.Apps; i += o.PerIntegration {
		var apps []any
		for j := i; j < min(i+o.PerIntegration, o.Apps); j++ {
			pkg := fmt.Sprintf("com.example.app%05d", j)
			gp.AddApp(pkg)
			apps = append(apps, map[string]any{"id": fmt.Sprintf("a%05d", j), "name": pkg, "store": "googleplay",
				"store_app_id": pkg, "settings": store})
		}
		ins = append(ins, map[string]any{"id": fmt.Sprintf("i%03d", len(ins)), "name": "scale",
			"helpdesk": map[string]any{"plugin": "omnidesk", "settings": desk}, "apps": apps})
	}
	return ins
}

// writeConfig writes the hub's config file into o.DataDir and returns its
// path.
func writeConfig(o Options, addr string, ins []any) (string, error) {
	doc := map[string]any{"listen": addr, "data_dir": o.DataDir, "poll_interval": o.Interval.String(),
		"admin_token": adminToken, "plugins": map[string]any{"paths": o.Plugins},
		"log": map[string]any{"level": cmp.Or(o.LogLevel, "error")}, "integrations": ins}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	cfgPath := filepath.Join(o.DataDir, "hub.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		return "", err
	}
	return cfgPath, nil
}

// measure measures the steady state for o.Measure into fig: polls (from
// the hub's schedule view), CPU per poll of the hub and its plugins,
// scheduler lag and memory.
func measure(ctx context.Context, o Options, hub *stack.Hub, addr string, fig *Figures) error {
	plugins := func() []int {
		var out []int
		for pid := range stack.Children(hub.Pid()) {
			out = append(out, pid)
		}
		return out
	}
	s0, err := schedule(ctx, addr)
	if err != nil {
		return err
	}
	hub0, plug0 := stack.CPUTime(hub.Pid()), stack.CPUTime(plugins()...)
	t0 := time.Now()
	fmt.Fprintf(o.Log, "scale: measuring for %s\n", o.Measure)
	if err := sleep(ctx, o.Measure); err != nil {
		return err
	}
	s1, err := schedule(ctx, addr)
	if err != nil {
		return err
	}
	hub1, plug1 := stack.CPUTime(hub.Pid()), stack.CPUTime(plugins()...)
	elapsed := time.Since(t0)
	fig.Polls = s1.Polls - s0.Polls
	fig.ExpectedPolls = float64(o.Apps) * elapsed.Seconds() / o.Interval.Seconds()
	fig.PollsPerS = float64(fig.Polls) / elapsed.Seconds()
	if fig.Polls > 0 {
		fig.HubCPUPerPollMs = (hub1 - hub0).Seconds() * 1000 / float64(fig.Polls)
		fig.PluginCPUPerPollMs = (plug1 - plug0).Seconds() * 1000 / float64(fig.Polls)
	}
	fig.LagP50Ms, fig.LagP99Ms = s1.LagP50Ms, s1.LagP99Ms
	if rss, err := stack.PeakRSS(hub.Pid()); err == nil {
		fig.HubPeakRSSMiB = float64(rss) / (1 << 20)
	}
	fig.HubRSSMiB = float64(statusKB(hub.Pid(), "VmRSS:")) / 1024
	return nil
}

type scheduleView struct {
	Polls    int64   `json:"polls"`
	LagP50Ms float64 `json:"lag_p50_ms"`
	LagP99Ms float64 `json:"lag_p99_ms"`
}

func schedule(ctx context.Context, addr string) (scheduleView, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/schedule", nil)
	if err != nil {
		return scheduleView{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scheduleView{}, fmt.Errorf("read the schedule: %w", err)
	}
	defer resp.Body.Close()
	var v scheduleView
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("read the schedule: %s", resp.Status)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func statusKB(pid int, field string) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb
		}
	}
	return 0
}

// Report prints the figures.
func Report(w io.Writer, f Figures) {
	fmt.Fprintf(w, "\nOne hub, %d apps (%d integrations), each polled every %s, on the fake Google Play:\n", f.Apps, f.Integrations, f.Interval)
	fmt.Fprintf(w, "  start-up (process start to ready):   %.1f s\n", f.StartupS)
	fmt.Fprintf(w, "  polls measured:                     %d of %.0f asked for (%.1f/s)\n", f.Polls, f.ExpectedPolls, f.PollsPerS)
	fmt.Fprintf(w, "  scheduler lag p50 / p99:            %.1f ms / %.1f ms   (target p99 < 1000 ms)\n", f.LagP50Ms, f.LagP99Ms)
	fmt.Fprintf(w, "  hub RSS now / peak:                 %.0f MiB / %.0f MiB   (target < 200 MiB)\n", f.HubRSSMiB, f.HubPeakRSSMiB)
	fmt.Fprintf(w, "  CPU per poll, hub / plugins:        %.2f ms / %.2f ms\n", f.HubCPUPerPollMs, f.PluginCPUPerPollMs)
}
