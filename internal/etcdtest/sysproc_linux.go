package etcdtest

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
)

// sysProcAttr puts a member in its own process group, so cleanup can kill the group, and asks the
// kernel to SIGKILL it if the test binary dies without cleaning up. Pdeathsig fires when the thread
// that started the member exits; the Go runtime only ends threads that a goroutine locked and left
// locked, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// isStopped reports whether the process is in the stopped state ('T' in /proc/PID/stat).
func isStopped(pid int) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, err
	}
	// The state follows the command name, which is in parentheses and may itself hold ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false, fmt.Errorf("etcdtest: cannot parse /proc/%d/stat", pid)
	}
	return b[i+2] == 'T', nil
}
