package pluginhost

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the plugin if the hub dies without closing it
// (SIGKILL of the hub), so no orphan plugin processes are left behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
