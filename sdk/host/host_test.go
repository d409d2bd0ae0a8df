//go:build unix

package host_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/reviewhub/reviewhub/sdk/host"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

const example = "github.com/reviewhub/reviewhub/sdk/examples/echostore"

// The hub and its plugins talk over mutual TLS: a client without the
// hub's certificate cannot call the plugin.
func TestLaunchUsesMutualTLS(t *testing.T) {
	conn := sdktest.Launch(t, sdktest.Build(t, example))
	if err := conn.Ping(); err != nil {
		t.Fatalf("ping over mTLS: %v", err)
	}
	addr := conn.Addr()
	if addr == nil {
		t.Fatal("no plugin address")
	}
	cc, err := grpc.NewClient("unix://"+addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := grpc_health_v1.NewHealthClient(cc).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "plugin"}); err == nil {
		t.Fatal("a plaintext client without the hub's certificate reached the plugin")
	}
}

func TestLaunchRefusesAChecksumMismatch(t *testing.T) {
	bin := sdktest.Build(t, example)
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	good := sha256.Sum256(raw)
	conn, err := host.Launch(context.Background(), exec.Command(bin), host.LaunchOptions{SHA256: good[:]})
	if err != nil {
		t.Fatalf("launch with the right pin: %v", err)
	}
	conn.Close()

	bad := bytes.Repeat([]byte{0xab}, 32)
	_, err = host.Launch(context.Background(), exec.Command(bin), host.LaunchOptions{SHA256: bad})
	var ce *host.ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("launch with a wrong pin: %v, want a ChecksumError", err)
	}
	for _, want := range []string{bin, "abababab", strings.ToLower(string(hexOf(good[:])))} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// A plugin that never completes the handshake is abandoned as soon as the
// context ends, not after the whole StartTimeout.
func TestLaunchAbortsAHangingHandshake(t *testing.T) {
	dir := t.TempDir()
	hang := filepath.Join(dir, "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := host.Launch(ctx, exec.Command(hang), host.LaunchOptions{StartTimeout: time.Hour, SocketDir: dir})
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // let it reach the handshake
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("aborted launch: %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Launch did not return after its context was cancelled")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "hang" {
			t.Errorf("left behind in the socket dir: %s", e.Name())
		}
	}
}

// A stopped (hung) plugin fails a bounded health check, and Close still
// returns and removes its socket directory.
func TestHungPluginCheckAndClose(t *testing.T) {
	dir := t.TempDir()
	conn, err := host.Launch(context.Background(), exec.Command(sdktest.Build(t, example)),
		host.LaunchOptions{SocketDir: dir, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pid := conn.Pid()
	if !strings.HasPrefix(conn.Addr().String(), dir+string(filepath.Separator)) {
		t.Errorf("socket %s is not in %s", conn.Addr(), dir)
	}
	sdktest.Stop(t, pid)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := conn.Check(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("health check of a stopped plugin: %v, want a deadline error", err)
	}
	sdktest.Within(t, "Close of a stopped plugin", conn.Close)
	if !conn.Exited() {
		t.Error("the stopped plugin still runs after Close")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("socket dir not cleaned: %v", entries)
	}
}

func TestVersionNegotiation(t *testing.T) {
	bin := sdktest.Build(t, example)
	// A hub that also speaks a future version 2 still talks to a v1 plugin.
	conn, err := host.Launch(context.Background(), exec.Command(bin), host.LaunchOptions{Versions: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.ProtocolVersion() != 1 {
		t.Errorf("negotiated %d, want 1", conn.ProtocolVersion())
	}
	if _, err := conn.Helpdesk(); err == nil {
		t.Error("a store plugin dispensed as a helpdesk")
	}
	if err := conn.Ping(); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// A plugin started in a process group of its own (as the hub starts them)
// is killed with its children: a wrapper script's child does not outlive
// it.
func TestKillReachesThePluginsChildren(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	wrapper := filepath.Join(dir, "wrapper")
	script := "#!/bin/sh\nsleep 3600 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wrapper)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := host.Launch(ctx, cmd, host.LaunchOptions{StartTimeout: time.Hour, SocketDir: dir})
		errc <- err
	}()
	child := 0
	sdktest.Within(t, "the wrapper's child starting", func() {
		for child == 0 {
			raw, _ := os.ReadFile(pidFile)
			child, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
			time.Sleep(20 * time.Millisecond)
		}
	})
	cancel() // Launch kills the handshaking plugin
	if err := <-errc; err == nil {
		t.Fatal("the aborted launch succeeded")
	}
	sdktest.Within(t, "the wrapper's child dying", func() {
		for alive(child) {
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// alive: pid runs (a zombie waiting for a reaper counts as dead).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: signal 0 is all there is
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}
