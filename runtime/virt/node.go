package virt

import (
	"bytes"
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
)

// Node is the host as libvirt sees it.
type Node struct {
	Model string // CPU architecture as libvirt names it, e.g. "x86_64"
	// CPUs is the number of logical CPUs (threads) online.
	CPUs int
	// MHz is the nominal CPU frequency.
	MHz       int
	MemoryMiB int // total
	FreeMiB   int // free now (virNodeGetFreeMemory)
}

// NodeInfo returns the host's CPUs and memory.
func (c *Conn) NodeInfo(ctx context.Context) (Node, error) {
	var n Node
	err := c.do(ctx, func(l *libvirt.Libvirt) error {
		model, memKiB, cpus, mhz, _, _, _, _, err := l.NodeGetInfo()
		if err != nil {
			return err
		}
		free, err := l.NodeGetFreeMemory()
		if err != nil {
			return err
		}
		b := make([]byte, 0, len(model))
		for _, ch := range model {
			b = append(b, byte(ch))
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		n = Node{Model: string(b), CPUs: int(cpus), MHz: int(mhz), MemoryMiB: int(memKiB >> 10), FreeMiB: int(free >> 20)}
		return nil
	})
	if err != nil {
		return Node{}, fmt.Errorf("node info: %w", err)
	}
	return n, nil
}

// Versions returns the versions of libvirtd and of the hypervisor behind
// the URI (QEMU for qemu:///system), e.g. "9.0.0" and "7.2.22".
func (c *Conn) Versions(ctx context.Context) (libvirtVersion, hypervisor string, err error) {
	var lib, hyp string // written by the call, which may outlive a cancelled ctx
	err = c.do(ctx, func(l *libvirt.Libvirt) error {
		lv, err := l.ConnectGetLibVersion()
		if err != nil {
			return err
		}
		hv, err := l.ConnectGetVersion()
		if err != nil {
			return err
		}
		lib, hyp = formatVersion(lv), formatVersion(hv)
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("versions: %w", err)
	}
	return lib, hyp, nil
}

// formatVersion decodes libvirt's major*1,000,000 + minor*1,000 + micro.
func formatVersion(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}
