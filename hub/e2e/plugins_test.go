package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/pluginhost"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const deskPkg = "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk"

// sigstop stops pid and makes sure it never outlives the test.
func sigstop(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) && syscall.Kill(pid, 0) == nil
	}
	f := strings.Fields(string(b))
	return len(f) < 3 || f[2] != "Z"
}

// childOf lists the processes of binary bin whose parent is ppid.
func childOf(ppid int, bin string) []int {
	var out []int
	for _, pid := range pluginProcesses(bin) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm has no spaces for our binaries.
		var p, parent int
		var comm, state string
		if _, err := fmt.Sscan(string(b), &p, &comm, &state, &parent); err == nil && parent == ppid && state != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// H1: a helpdesk plugin that hangs (SIGSTOP) while it holds a review's
// delivery is killed and restarted, and the review is delivered. Periodic
// health checks are off here, so only the held call running out of time
// can reveal the hang.
func TestHungHelpdeskIsRestartedAndItsReviewDelivered(t *testing.T) {
	e := &env{backend: testbackend.New(), tune: func(o *app.Options) {
		o.Host.HealthInterval, o.Host.HealthTimeout, o.Host.CallTimeout = time.Hour, time.Second, 2*time.Second
	}}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.startHub(t)
	e.backend.PutReview(testbackend.Review{ID: "a", App: "app1", Rating: 3, Text: "first"})
	eventually(t, "the first ticket", func() bool { _, ok := ticketFor(e.backend, "a"); return ok })

	p, _ := e.hub.Plugins.Plugin("testdesk")
	pid := p.Status().Pid
	sigstop(t, pid)
	e.backend.PutReview(testbackend.Review{ID: "b", App: "app1", Rating: 1, Text: "while the helpdesk hangs"})
	eventually(t, "the held review delivered", func() bool { _, ok := ticketFor(e.backend, "b"); return ok })
	st := p.Status()
	if st.Pid == pid || st.Restarts < 1 || !st.Running {
		t.Errorf("plugin status after the hang: %+v", st)
	}
	eventually(t, "the hung process killed", func() bool { return !running(pid) })
	if n := e.backend.TicketCreates(); n != 2 {
		t.Errorf("%d ticket creates, want 2", n)
	}
}

// M6: plugin processes get a minimal environment plus what plugins.env
// names for them, never the hub's secrets.
func TestPluginEnvironment(t *testing.T) {
	t.Setenv("HUB_ADMIN_TOKEN", "e2e-admin-token-canary")
	t.Setenv("HUB_SECRET_KEY", "e2e-secret-key-canary")
	t.Setenv("RH_E2E_OTHER", "not for plugins")
	t.Setenv("RH_E2E_DESK", "for testdesk only")
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Plugins.Env = map[string][]string{"testdesk": {"RH_E2E_DESK"}}
	e.startHub(t)
	for _, name := range []string{"testdesk", "teststore"} {
		p, _ := e.hub.Plugins.Plugin(name)
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Status().Pid))
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		env := map[string]string{}
		for _, kv := range strings.Split(string(raw), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
				if strings.HasPrefix(k, "HUB_") || strings.Contains(v, "canary") || k == "RH_E2E_OTHER" {
					t.Errorf("%s got %s", name, k)
				}
			}
		}
		if _, ok := env["PATH"]; !ok {
			t.Errorf("%s has no PATH", name)
		}
		if got, want := env["RH_E2E_DESK"], map[string]string{"testdesk": "for testdesk only"}[name]; got != want {
			t.Errorf("%s: RH_E2E_DESK=%q, want %q", name, got, want)
		}
	}
}

// A plugin whose binary does not match its pin is not started; the others are.
func TestChecksumMismatchIsRefused(t *testing.T) {
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Plugins.Checksums = map[string]string{"testdesk": strings.Repeat("0", 64)}
	e.startHub(t)
	p, _ := e.hub.Plugins.Plugin("testdesk")
	if st := p.Status(); st.Running || !strings.Contains(st.LastErr, "plugin testdesk refused") || !strings.Contains(st.LastErr, strings.Repeat("0", 64)) {
		t.Errorf("testdesk with a wrong pin: %+v", st)
	}
	if s, _ := e.hub.Plugins.Plugin("teststore"); !s.Status().Running {
		t.Errorf("teststore: %+v", s.Status())
	}
}

// H1, L9: SIGTERM while a plugin hangs with a review in flight ends the hub
// with status 0 after the configured shutdown deadline; the review stays
// queued and is delivered after a restart. The plugins' socket directory is
// removed on shutdown, and the sockets a SIGKILLed hub leaves behind are
// removed at its next start.
func TestShutdownWithHungPluginAndSockets(t *testing.T) {
	b := testbackend.New()
	srv := startBackend(t, b)
	var dataDir string
	addr := freePort(t)
	ready := func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	p := newHubProcessWith(t, srv, addr, func(cfg map[string]any) {
		cfg["shutdown_timeout"] = "2s"
		plugins := cfg["plugins"].(map[string]any)
		plugins["health_timeout"] = "1m" // the plugin stays hung until SIGTERM
		dataDir = cfg["data_dir"].(string)
	})
	sockets := pluginhost.SocketDir(dataDir)
	listSockets := func() []string {
		m, _ := filepath.Glob(filepath.Join(sockets, "plugin-dir*", "plugin*"))
		return m
	}
	desk := sdktest.Build(t, deskPkg)
	b.PutReview(testbackend.Review{ID: "r1", App: "app1", Rating: 3, Text: "before"})
	p.start(t)
	eventually(t, "the first ticket", func() bool { _, ok := ticketFor(b, "r1"); return ok })
	eventually(t, "the hub ready", ready)
	if n := len(listSockets()); n != 2 {
		t.Fatalf("%d plugin sockets in %s, want 2", n, sockets)
	}

	pids := childOf(p.cmd.Process.Pid, desk)
	if len(pids) != 1 {
		t.Fatalf("helpdesk plugin processes of the hub: %v", pids)
	}
	sigstop(t, pids[0])
	b.PutReview(testbackend.Review{ID: "r2", App: "app1", Rating: 1, Text: "held at shutdown"})
	eventually(t, "the review queued", func() bool { return counter(t, p.dbPath(), "reviews_queued") == 2 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("hub exit after SIGTERM with a hung plugin: %v, want status 0", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the hub did not exit after SIGTERM with a hung plugin")
	}
	eventually(t, "the hung plugin killed", func() bool { return !running(pids[0]) })
	if log, _ := os.ReadFile(p.log.Name()); !strings.Contains(string(log), "hub stopped") {
		t.Error("the hub log does not say it stopped")
	}
	if _, err := os.Stat(sockets); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plugin socket dir %s left after shutdown: %v", sockets, err)
	}
	if _, ok := ticketFor(b, "r2"); ok {
		t.Fatal("r2 was delivered by the hung plugin") // the test would prove nothing
	}

	// The review held at shutdown is delivered after a restart.
	p.start(t)
	eventually(t, "the held review delivered after the restart", func() bool { _, ok := ticketFor(b, "r2"); return ok })
	if n := b.TicketCreates(); n != 2 {
		t.Errorf("%d ticket creates, want 2", n)
	}

	// SIGKILL leaves the sockets behind; the next start removes them.
	left := listSockets()
	p.kill()
	eventually(t, "plugins to end with the hub", func() bool { return len(pluginProcesses(desk)) == 0 || len(childOf(p.cmd.Process.Pid, desk)) == 0 })
	if len(left) != 2 {
		t.Fatalf("sockets before the kill: %v", left)
	}
	for _, s := range left {
		if _, err := os.Stat(s); err != nil {
			t.Fatalf("expected the killed hub's socket %s to be left behind: %v", s, err)
		}
	}
	p.start(t)
	eventually(t, "the stale sockets removed and two new ones", func() bool {
		now := listSockets()
		for _, s := range left {
			if _, err := os.Stat(s); err == nil {
				return false
			}
		}
		return len(now) == 2
	})
	eventually(t, "the hub ready", ready)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("hub exit: %v", err)
	}
	if _, err := os.Stat(sockets); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plugin socket dir %s left after shutdown: %v", sockets, err)
	}
}
