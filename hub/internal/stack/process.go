// Package stack runs a whole Reviewhub installation on loopback: the
// project's fake App Store, Google Play, RuStore, AppGallery, Omnidesk and Zendesk, and
// the real hub binary with the real plugin processes. The demo and the
// benchmark use it.
package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hub is a running hub process.
type Hub struct {
	Addr string
	cmd  *exec.Cmd
	tail *tail
	// exited is closed once the process has exited; err is then why.
	exited chan struct{}
	err    error
}

// StartHub runs `bin serve --config cfgPath` with output to logw and waits
// until the hub answers /readyz at addr. addr must be free: a hub (or any
// server) already answering there would pass for this one, which then
// exits unable to listen. A hub that exits while starting is an error
// naming the error it logged last.
func StartHub(ctx context.Context, bin, cfgPath, addr string, logw io.Writer, env ...string) (*Hub, error) {
	if err := checkFree(addr); err != nil {
		return nil, err
	}
	h := &Hub{Addr: addr, tail: &tail{}, exited: make(chan struct{})}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	out := io.MultiWriter(logw, h.tail) // one writer: exec then copies both streams in one goroutine
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hub %s: %w", bin, err)
	}
	h.cmd = cmd
	go func() {
		h.err = cmd.Wait()
		close(h.exited)
	}()
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-h.exited:
			return nil, fmt.Errorf("hub exited while starting: %w", h.Err())
		case <-ctx.Done():
			_ = h.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			_ = h.Stop()
			return nil, errors.New("hub did not become ready within 2 minutes")
		case <-tick.C:
			if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return h, nil
				}
			}
		}
	}
}

// checkFree fails when addr cannot be listened on (taken, or not local).
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hub address %s: %w", addr, err)
	}
	return ln.Close()
}

// Pid of the hub process.
func (h *Hub) Pid() int { return h.cmd.Process.Pid }

// Exited is closed once the hub process has exited (Err says why).
func (h *Hub) Exited() <-chan struct{} { return h.exited }

// Err is, once the hub has exited, its exit status with the error it
// logged last (nil after a clean exit).
func (h *Hub) Err() error {
	select {
	case <-h.exited:
	default:
		return nil
	}
	if h.err == nil {
		return nil
	}
	if line := h.tail.lastError(); line != "" {
		return fmt.Errorf("%w: %s", h.err, line)
	}
	return h.err
}

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after 30 s).
func (h *Hub) Stop() error {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
		return h.Err()
	case <-time.After(30 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.exited
		return fmt.Errorf("hub did not stop within 30s after SIGTERM: %w", h.Err())
	}
}

// tail keeps the end of the hub's output, to name its last error.
type tail struct {
	mu sync.Mutex
	b  []byte
}

const tailSize = 16 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - tailSize; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// lastError is the last line logged at level ERROR (text or JSON logs),
// else the last line.
func (t *tail) lastError() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "level=ERROR") || strings.Contains(lines[i], `"level":"ERROR"`) {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// Children lists the direct child processes of pid with the base names
// they were started by (the hub's plugins: hub-plugin-NAME).
func Children(pid int) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(st)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		// The name it was started by (argv[0]), not its executable: the
		// release's plugins are links to one binary (reviewhub-plugins).
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		out[child] = filepath.Base(argv0)
	}
	return out
}

// PeakRSS is the process's peak resident set size in bytes (VmHWM).
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM of %d: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM for process %d", pid)
}

// clockTick is the kernel's USER_HZ, 100 on Linux.
const clockTick = 100

// CPUTime is the user and system CPU time the processes have used (0 for
// one that is gone).
func CPUTime(pids ...int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		sum += time.Duration(utime+stime) * time.Second / clockTick
	}
	return sum
}
