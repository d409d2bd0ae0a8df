//go:build unix

package host

import (
	"errors"
	"os/exec"
	"syscall"
)

// killTree kills the plugin process and, when it leads a process group of
// its own (SysProcAttr.Setpgid, as the hub starts plugins), the whole
// group: a plugin that is a wrapper script, or that started helpers, leaves
// no process behind (they would also hold its output pipes open, and so
// go-plugin's cleanup). ESRCH means nothing of the group is left.
func killTree(cmd *exec.Cmd) error {
	if a := cmd.SysProcAttr; a != nil && a.Setpgid && a.Pgid == 0 {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if err == nil || errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	return cmd.Process.Kill()
}
