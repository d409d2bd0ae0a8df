// Package sdktest is the conformance kit for Reviewhub plugins. A plugin
// author builds the plugin binary and runs the suites against the real
// process from an ordinary go test:
//
//	func TestConformance(t *testing.T) {
//		bin := sdktest.Build(t, ".")
//		store := sdktest.LaunchStore(t, bin)
//		sdktest.RunStore(t, store, sdktest.StoreSuite{Settings: ..., AppID: ..., Vendor: view})
//	}
//
// The suite's Vendor is the author's view of the fake behind the plugin
// (StoreVendor, HelpdeskVendor): with it the suites check what the plugin
// did at the vendor (a change applied once, a note written, a reply
// visible, a refused reply sent nowhere, the vendor's errors classified),
// not only what it answered.
package sdktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/host"
)

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
)

// Build compiles the plugin main package at pkg (a directory or an import
// path) and returns the binary's path. Binaries live in one directory under
// the system's temp dir, one per package, replaced atomically, so repeated
// runs reuse go's build cache and leave nothing behind. Builds are cached for
// the test binary's lifetime.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := buildCache[pkg]; ok {
		return bin
	}
	dir := filepath.Join(os.TempDir(), "reviewhub-sdktest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	wd, _ := os.Getwd()
	sum := sha256.Sum256([]byte(wd + "\x00" + pkg))
	bin := filepath.Join(dir, filepath.Base(pkg)+"-"+hex.EncodeToString(sum[:6]))
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: go build %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	buildCache[pkg] = bin
	return bin
}

// Launch starts the plugin binary and closes it when the test ends. Its log
// lines, those it writes during calls included, go to the test log with
// plugin=<binary name>.
func Launch(t testing.TB, bin string, env ...string) *host.Conn {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	w := &testWriter{t: t}
	t.Cleanup(w.end) // runs after conn.Close (cleanups run last first)
	conn, err := host.Launch(context.Background(), cmd, host.LaunchOptions{
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).
			With("plugin", filepath.Base(bin)),
		StartTimeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("sdktest: launch %s: %v", bin, err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// LaunchStore starts a store plugin binary.
func LaunchStore(t testing.TB, bin string, env ...string) sdk.StorePlugin {
	t.Helper()
	s, err := Launch(t, bin, env...).Store()
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return s
}

// LaunchHelpdesk starts a helpdesk plugin binary.
func LaunchHelpdesk(t testing.TB, bin string, env ...string) sdk.HelpdeskPlugin {
	t.Helper()
	h, err := Launch(t, bin, env...).Helpdesk()
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return h
}

// testWriter writes to the test log until the test ends; lines that come
// later (go-plugin's log goroutines outlive the connection) are dropped,
// since logging after a test completed panics.
type testWriter struct {
	t     testing.TB
	mu    sync.Mutex
	ended bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.t.Helper()
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testWriter) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
}

// Context is a context for one plugin call in a test: cancelled when the
// test ends, at most a minute long.
func Context(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// ListAll reads one complete listing, page by page, as the hub does, and
// returns the reviews, the last page's cursor and the number of pages.
func ListAll(t testing.TB, s sdk.AnyStore, req sdk.ListReviewsRequest) ([]sdk.Review, string, int) {
	t.Helper()
	var all []sdk.Review
	for pages := 1; pages <= 10000; pages++ {
		page, err := s.ListReviews(Context(t), req)
		if err != nil {
			t.Fatalf("ListReviews (page %d): %v", pages, err)
		}
		all = append(all, page.Reviews...)
		if page.NextPageToken == "" {
			return all, page.Cursor, pages
		}
		req.PageToken = page.NextPageToken
	}
	t.Fatalf("ListReviews: more than 10000 pages")
	return nil, "", 0
}

// Within fails the test when fn has not returned after a generous bound (two
// minutes), so a hang fails instead of blocking the run. It asserts no
// timing otherwise.
func Within(t testing.TB, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not return", what)
	}
}

// Stop sends SIGSTOP to pid and waits until the process is stopped (the
// signal is delivered asynchronously, so a call right after kill could
// still be answered). The process is killed when the test ends. Linux.
func Stop(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	for i := 0; i < 2000; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // no /proc: nothing better to wait for
		}
		// state is the field after the ")" that ends the command name
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && (f[0] == "T" || f[0] == "t") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d did not stop after SIGSTOP", pid)
}
