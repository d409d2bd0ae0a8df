//go:build unix

package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const (
	deskPkg  = "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk"
	storePkg = "github.com/reviewhub/reviewhub/hub/e2e/testplugins/store"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func start(t *testing.T, paths map[string]string, opts Options) *Host {
	t.Helper()
	if opts.SocketDir == "" {
		opts.SocketDir = shortDir(t)
	}
	h, err := Start(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// shortDir is a temporary directory with a path short enough for sockets.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rhpt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

func stop(t *testing.T, pid int) {
	t.Helper()
	sdktest.Stop(t, pid) // killed when the test ends, whatever happens
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// A zombie (Z) has ended but is not yet reaped.
	f := strings.Fields(string(b))
	return len(f) < 3 || f[2] != "Z"
}

// backendURL is a test backend the test helpdesk's calls reach (its
// credentials check reads the webhook URL there).
var backendURL = sync.OnceValue(func() string {
	return httptest.NewServer(testbackend.New()).URL // lives as long as the test binary
})

func settings() sdk.Settings { return sdk.Settings{"url": backendURL(), "secret": "s"} }

// H1: a plugin that is alive but does not answer (SIGSTOP) fails its
// bounded health check, is killed and restarted; the call it held fails
// Unavailable (so the bus retries it) and the next call reaches the new
// process.
func TestHungPluginIsKilledAndRestarted(t *testing.T) {
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg)},
		Options{HealthInterval: 100 * time.Millisecond, HealthTimeout: 500 * time.Millisecond, RestartMin: 50 * time.Millisecond})
	p, _ := h.Plugin("testdesk")
	desk := p.Helpdesk()
	if _, err := desk.CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()}); err != nil {
		t.Fatal(err)
	}
	old := p.Status().Pid
	stop(t, old)
	var err error
	sdktest.Within(t, "a call to the hung plugin", func() {
		_, err = desk.CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()})
	})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("call held by the hung plugin: %v (kind %s), want Unavailable", err, sdk.KindOf(err))
	}
	eventually(t, "a new process", func() bool { st := p.Status(); return st.Running && st.Pid != old && st.Restarts >= 1 })
	eventually(t, "the hung process to be killed", func() bool { return !alive(old) })
	if _, err := desk.CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()}); err != nil {
		t.Errorf("call after the restart: %v", err)
	}
}

// Every call has a deadline even when no health check runs.
func TestCallTimeout(t *testing.T) {
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg)},
		Options{HealthInterval: time.Hour, CallTimeout: time.Second})
	p, _ := h.Plugin("testdesk")
	stop(t, p.Status().Pid)
	var err error
	sdktest.Within(t, "a call to the hung plugin", func() {
		_, err = p.Helpdesk().CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()})
	})
	if sdk.KindOf(err) != sdk.ErrorKindUnavailable || !strings.Contains(err.Error(), "plugin testdesk did not answer CheckCredentials within 1s") {
		t.Errorf("got %v (kind %s), want Unavailable naming the plugin, the call and the timeout", err, sdk.KindOf(err))
	}
	// A caller's own, shorter deadline is the caller's error, not an outage.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = p.Helpdesk().CheckCredentials(ctx, sdk.CheckCredentialsRequest{Settings: settings()})
	if !errors.Is(err, context.DeadlineExceeded) || sdk.KindOf(err) == sdk.ErrorKindUnavailable {
		t.Errorf("caller's deadline: %v", err)
	}
}

// Close returns even when a plugin hangs, and kills it.
func TestCloseWithHungPlugin(t *testing.T) {
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg), "teststore": sdktest.Build(t, storePkg)},
		Options{HealthInterval: time.Hour, StopTimeout: time.Second})
	p, _ := h.Plugin("testdesk")
	pid := p.Status().Pid
	stop(t, pid)
	s, _ := h.Plugin("teststore")
	spid := s.Status().Pid
	sdktest.Within(t, "Close", h.Close)
	eventually(t, "both processes gone", func() bool { return !alive(pid) && !alive(spid) })
}

// Plugins start in parallel: one hanging at the handshake does not hold up
// the others, and cancelling Start aborts its handshake at once.
func TestHangingHandshake(t *testing.T) {
	dir := t.TempDir()
	hang := filepath.Join(dir, "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := start(t, map[string]string{"a-hang": hang, "testdesk": sdktest.Build(t, deskPkg)},
		Options{Logger: log, StartTimeout: 10 * time.Second, HealthInterval: time.Hour})
	p, _ := h.Plugin("testdesk")
	if st := p.Status(); !st.Running || st.Restarts != 0 {
		t.Errorf("testdesk: %+v", st)
	}
	out := logs.String()
	started := strings.Index(out, `msg="plugin started" plugin=testdesk`)
	failed := strings.Index(out, `msg="plugin failed to start; will retry" plugin=a-hang`)
	if started < 0 || failed < 0 || started > failed {
		t.Errorf("testdesk did not start while a-hang was at its handshake:\n%s", out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Start(ctx, map[string]string{"hang": hang}, Options{StartTimeout: time.Hour, SocketDir: shortDir(t)})
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	sdktest.Within(t, "Start after its context ended", func() {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Start: %v, want context.Canceled", err)
		}
	})
}

func TestPinnedChecksums(t *testing.T) {
	desk, store := sdktest.Build(t, deskPkg), sdktest.Build(t, storePkg)
	raw, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	good := sha256.Sum256(raw)
	wrong := strings.Repeat("0f", 32)
	h := start(t, map[string]string{"testdesk": desk, "teststore": store},
		Options{Checksums: map[string]string{"testdesk": wrong, "teststore": hex.EncodeToString(good[:])}, HealthInterval: time.Hour})
	p, _ := h.Plugin("testdesk")
	st := p.Status()
	if st.Running {
		t.Fatal("a plugin whose binary does not match its pin runs")
	}
	raw, _ = os.ReadFile(desk)
	got := sha256.Sum256(raw)
	for _, want := range []string{"plugin testdesk refused", "plugins.checksums.testdesk", hex.EncodeToString(got[:]), wrong} {
		if !strings.Contains(st.LastErr, want) {
			t.Errorf("error %q does not contain %q", st.LastErr, want)
		}
	}
	if _, err := p.Helpdesk().CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()}); sdk.KindOf(err) != sdk.ErrorKindUnavailable || !strings.Contains(err.Error(), "refused") {
		t.Errorf("call to the refused plugin: %v", err)
	}
	if s, _ := h.Plugin("teststore"); !s.Status().Running {
		t.Errorf("the plugin with the right pin does not run: %+v", s.Status())
	}
	if _, err := Start(context.Background(), map[string]string{"x": desk}, Options{Checksums: map[string]string{"x": "nothex"}}); err == nil {
		t.Error("a malformed pin was accepted")
	}
}

func TestDiscoverRefusesBadNames(t *testing.T) {
	for _, name := range []string{"../../bin/sh", "a/b", "..", ".hidden", ""} {
		if _, err := Discover("", map[string]string{name: "/bin/sh"}); err == nil {
			t.Errorf("plugin name %q accepted", name)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, BinaryPrefix+"ok.v2"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Discover(dir, nil)
	if err != nil || got["ok.v2"] == "" {
		t.Errorf("Discover: %v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, BinaryPrefix+"a..b"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(dir, nil); err == nil || !strings.Contains(err.Error(), `"a..b"`) {
		t.Errorf("Discover with a bad file name: %v", err)
	}
}

// L9: the plugins' sockets live in the host's socket dir; a killed
// plugin's socket goes with it, stale ones from an earlier run are removed
// at start, and the directory is removed at Close.
func TestSocketDir(t *testing.T) {
	dir := shortDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A killed plugin's leftovers from an earlier run: a dead socket, and
	// an old empty directory.
	dead := filepath.Join(dir, "plugin-dir111")
	if err := os.Mkdir(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dead, "plugin222"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	empty := filepath.Join(dir, "plugin-dir333")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(empty, old, old); err != nil {
		t.Fatal(err)
	}
	unrelated := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(unrelated, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	h, err := Start(context.Background(), map[string]string{"testdesk": sdktest.Build(t, deskPkg)},
		Options{SocketDir: dir, HealthInterval: 50 * time.Millisecond, RestartMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, gone := range []string{dead, empty} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s not removed: %v", gone, err)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("socket dir: %v %v, want mode 0700", info.Mode(), err)
	}
	sockets := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "plugin-dir*", "plugin*"))
		return m
	}
	if s := sockets(); len(s) != 1 {
		t.Fatalf("sockets %v, want the one of testdesk", s)
	}
	first := sockets()[0]
	p, _ := h.Plugin("testdesk")
	pid := p.Status().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the restart", func() bool { st := p.Status(); return st.Running && st.Pid != pid })
	eventually(t, "the killed plugin's socket removed", func() bool {
		s := sockets()
		return len(s) == 1 && s[0] != first
	})
	os.Remove(unrelated)
	h.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket dir left after Close: %v", err)
	}
}

func TestSocketDirOfAnotherUserIsRefused(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root owns everything")
	}
	// /proc is owned by root.
	if _, err := Start(context.Background(), nil, Options{SocketDir: "/proc"}); err == nil || !strings.Contains(err.Error(), "belongs to uid 0") {
		t.Errorf("a socket dir of another user: %v", err)
	}
}

// What a plugin logs during a call reaches the hub's log with the
// plugin's name and the call's request id.
func TestPluginLogsReachTheHubsLog(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := start(t, map[string]string{"teststore": sdktest.Build(t, storePkg)}, Options{Logger: log, HealthInterval: time.Hour})
	p, _ := h.Plugin("teststore")
	ctx := sdk.WithRequestID(sdktest.Context(t), "poll-7")
	if _, err := p.Store().ListReviews(ctx, sdk.ListReviewsRequest{Settings: sdk.Settings{"url": backendURL()}, AppID: "app1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the plugin's line in the hub's log", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="listing reviews"`) && strings.Contains(line, "plugin=teststore") &&
				strings.Contains(line, "request_id=poll-7") && strings.Contains(line, "app=app1") {
				return true
			}
		}
		return false
	})
}

// L6: a webhook arriving while its plugin restarts (killed just before)
// waits for the new process and is handled there, instead of failing;
// other calls still fail at once (the bus retries them).
func TestWebhookWaitsForARestartingPlugin(t *testing.T) {
	h := start(t, map[string]string{"testdesk": sdktest.Build(t, deskPkg)},
		Options{HealthInterval: time.Hour, RestartMin: 300 * time.Millisecond, RestartMax: 300 * time.Millisecond})
	p, _ := h.Plugin("testdesk")
	desk := p.Helpdesk()
	kill := func() int {
		t.Helper()
		pid := p.Status().Pid
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the killed plugin gone", func() bool { return !alive(pid) })
		return pid
	}
	webhook := sdk.HandleWebhookRequest{Settings: settings(), IntegrationID: "i", Method: "POST", Path: "/hooks/testdesk/i", Body: []byte(`{}`)}
	for round := range 2 {
		old := kill()
		if _, err := desk.HandleWebhook(context.Background(), webhook); err != nil {
			t.Fatalf("round %d: a webhook while the plugin restarts: %v", round, err)
		}
		if st := p.Status(); !st.Running || st.Pid == old {
			t.Fatalf("round %d: the webhook was answered, but the plugin is %+v", round, st)
		}
	}
	kill()
	if _, err := desk.CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings()}); sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("another call while the plugin restarts: %v, want Unavailable at once", err)
	}
}
