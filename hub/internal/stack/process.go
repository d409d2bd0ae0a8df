// Package stack runs a whole Reviewhub installation on loopback: the
// project's fake App Store, Google Play, RuStore, Omnidesk and Zendesk, and
// the real hub binary with the real plugin processes. The demo and the
// benchmark use it.
package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Hub is a running hub process.
type Hub struct {
	Addr string
	cmd  *exec.Cmd
	done chan error
}

// StartHub runs `bin serve --config cfgPath` with output to logw and waits
// until the hub answers /readyz at addr.
func StartHub(ctx context.Context, bin, cfgPath, addr string, logw io.Writer, env ...string) (*Hub, error) {
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hub %s: %w", bin, err)
	}
	h := &Hub{Addr: addr, cmd: cmd, done: make(chan error, 1)}
	go func() { h.done <- cmd.Wait() }()
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-h.done:
			h.done <- err
			return nil, fmt.Errorf("hub exited while starting: %v", err)
		case <-ctx.Done():
			h.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			h.Stop()
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

// Pid of the hub process.
func (h *Hub) Pid() int { return h.cmd.Process.Pid }

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after 30 s).
func (h *Hub) Stop() error {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = h.cmd.Process.Kill()
		err := <-h.done
		h.done <- err
		return fmt.Errorf("hub did not stop within 30s after SIGTERM: %v", err)
	}
}

// Children lists the direct child processes of pid with their command
// names (the hub's plugins).
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
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		out[child] = filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
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
