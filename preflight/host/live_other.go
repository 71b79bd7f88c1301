//go:build !linux

package host

import "errors"

// Live is the Kernel of the machine vmnode runs on; vmnode's checks need Linux.
type Live struct{}

var errLinuxOnly = errors.New("needs Linux")

// Machine implements Kernel.
func (Live) Machine() (string, error) { return "", errLinuxOnly }

// OpenDevice implements Kernel.
func (Live) OpenDevice(string) error { return errLinuxOnly }

// FilesystemSize implements Kernel.
func (Live) FilesystemSize(string) (uint64, error) { return 0, errLinuxOnly }
