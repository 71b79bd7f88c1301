package host

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Live is the Kernel of the machine vmnode runs on.
type Live struct{}

// Machine implements Kernel.
func (Live) Machine() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Machine[:]), nil
}

// OpenDevice implements Kernel. Opening /dev/kvm read-write is what QEMU
// does; it changes nothing.
func (Live) OpenDevice(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// FilesystemSize implements Kernel.
func (Live) FilesystemSize(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Blocks * uint64(st.Bsize), nil
}
