package pluginhost

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

func environ(t *testing.T, pid int) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range strings.Split(string(raw), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// M6: plugins get the allow-list and what the operator names for them,
// never the hub's secrets.
func TestPluginEnvironmentIsAllowListed(t *testing.T) {
	t.Setenv("HUB_ADMIN_TOKEN", "s3cr3t-admin-token")
	t.Setenv("HUB_SECRET_KEY", "master-key")
	t.Setenv("RH_TEST_OTHER", "not for plugins")
	t.Setenv("RH_TEST_DESK_VAR", "for testdesk")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_TIME", "C")
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("no_proxy", "localhost")
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg), "teststore": sdktest.Build(t, storePkg)},
		Options{HealthInterval: time.Hour, PluginEnv: map[string][]string{"testdesk": {"RH_TEST_DESK_VAR", "RH_TEST_UNSET"}}})
	for _, name := range []string{"testdesk", "teststore"} {
		p, _ := h.Plugin(name)
		env := environ(t, p.Status().Pid)
		for k, v := range env {
			if strings.HasPrefix(k, "HUB_") || strings.Contains(v, "s3cr3t") || strings.Contains(v, "master-key") || k == "RH_TEST_OTHER" {
				t.Errorf("%s got %s", name, k)
			}
		}
		for _, k := range []string{"PATH", "LANG", "LC_TIME", "HTTPS_PROXY", "no_proxy", "REVIEWHUB_PLUGIN", "PLUGIN_CLIENT_CERT", "PLUGIN_UNIX_SOCKET_DIR"} {
			if _, ok := env[k]; !ok {
				t.Errorf("%s lacks %s", name, k)
			}
		}
		if got, want := env["RH_TEST_DESK_VAR"], map[string]string{"testdesk": "for testdesk"}[name]; got != want {
			t.Errorf("%s: RH_TEST_DESK_VAR=%q, want %q", name, got, want)
		}
	}
}

// A plugin runs in a process group of its own, so a signal to the hub's
// group (Ctrl-C, timeout, job control) reaches only the hub, which stops
// its plugins in order.
func TestPluginRunsInItsOwnProcessGroup(t *testing.T) {
	h := start(t, map[string]string{"teststore": sdktest.Build(t, storePkg)}, Options{HealthInterval: time.Hour})
	p, _ := h.Plugin("teststore")
	pid := p.Status().Pid
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid == syscall.Getpgrp() || pgid != pid {
		t.Fatalf("plugin %d is in process group %d (the hub's is %d), want a group of its own", pid, pgid, syscall.Getpgrp())
	}
}
