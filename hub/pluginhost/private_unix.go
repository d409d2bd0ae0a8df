//go:build unix

package pluginhost

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivateDir makes sure dir is a real directory of this user, closed
// to others (the temporary directory is shared: nobody else may own or
// enter the directory where the hub's plugins listen).
func checkPrivateDir(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("is not a directory")
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("belongs to uid %d, not to this user (%d)", st.Uid, os.Getuid())
	}
	if info.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}
