//go:build !unix

package host

import "os/exec"

// killTree kills the plugin process (process groups are a unix notion).
func killTree(cmd *exec.Cmd) error { return cmd.Process.Kill() }
