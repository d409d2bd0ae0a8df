package pluginhost

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the plugin if the hub dies without closing it
// (SIGKILL of the hub), so no orphan plugin processes are left behind. The
// plugin runs in a process group of its own: a signal to the hub's group
// (a shell's job control, `timeout`, `kill -TERM -PGID`) reaches only the
// hub, which lets in-flight calls finish before it stops the plugins.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
