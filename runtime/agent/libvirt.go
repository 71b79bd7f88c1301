package agent

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/storage"
)

// errNoLibvirt is the answer to VM operations before libvirtd first answered.
var errNoLibvirt = errors.New("this host's agent is not connected to libvirtd (is it running? systemctl start libvirtd); it keeps retrying")

// connectLibvirt dials libvirtd, waiting up to wait for the first answer so
// that READY means "libvirt answered" when it can; after that it keeps
// trying in the background with backoff. Once connected, the connection
// reconnects by itself and the VM view follows libvirt's events.
func (a *Agent) connectLibvirt(ctx context.Context, wait time.Duration) {
	ready := make(chan struct{})
	if _, err := os.Stat(a.Config().VM.LibvirtSocket); err != nil {
		wait = 0 // no libvirtd here (yet): nothing to wait for
	}
	go func() {
		delay := 250 * time.Millisecond
		for attempt := 0; ; attempt++ {
			c, err := virt.Dial(ctx, a.virtOptions())
			if err == nil {
				a.startVMs(ctx, c)
				close(ready)
				return
			}
			if attempt == 0 {
				a.log.Error("libvirt", "err", err)
			} else {
				a.log.Debug("libvirt still unreachable", "err", err, "retry_in", delay)
			}
			select {
			case <-ctx.Done():
				return
			case <-a.stop:
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, 10*time.Second)
		}
	}()
	select {
	case <-ready:
	case <-time.After(max(wait, time.Millisecond)):
		a.log.Warn("starting without libvirt; VMs are unavailable here until libvirtd answers")
	}
}

func (a *Agent) virtOptions() virt.Options {
	cfg := a.Config()
	return virt.Options{Socket: cfg.VM.LibvirtSocket, URI: cfg.VM.LibvirtURI, Log: a.opts.Log}
}

func (a *Agent) startVMs(ctx context.Context, c *virt.Conn) {
	cfg := a.Config()
	listen := a.vncListen()
	m := virt.NewManager(c, virt.ManagerOptions{
		Node: cfg.Node.Name, Store: storage.New(cfg.Agent.DataDir), DomainType: domainType(cfg.VM.DomainType),
		Network: cfg.VM.Network, VNCListen: listen, Log: a.opts.Log, OnEvent: a.onVMEvent,
	})
	if err := m.Sync(ctx); err != nil {
		a.log.Warn("cannot list the VMs", "err", err)
	}
	a.mu.Lock()
	a.vms = m
	a.mu.Unlock()
	go c.Run(ctx)
	go m.Run(ctx)
	lv, qemu, err := c.Versions(ctx)
	if err == nil && a.cluster != nil {
		err = a.cluster.SetTags(func(t *cluster.Tags) { t.Libvirt, t.QEMU = lv, qemu })
	}
	if err != nil {
		a.log.Warn("cannot publish the libvirt and QEMU versions", "err", err)
	}
	a.log.Info("connected to libvirt", "socket", cfg.VM.LibvirtSocket, "uri", cfg.VM.LibvirtURI, "libvirt", lv, "qemu", qemu, "vms", len(m.VMs()))
}

// vncListen is where this host's VNC consoles listen: vm.vnc_listen, else
// the agent's advertise address.
func (a *Agent) vncListen() string {
	if l := a.Config().VM.VNCListen; l != "" {
		return l
	}
	return a.advertise.Addr().String()
}

// manager is the VM manager, or errNoLibvirt before libvirtd first answered.
func (a *Agent) manager() (*virt.Manager, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.vms == nil {
		return nil, errNoLibvirt
	}
	return a.vms, nil
}

// domainType resolves "auto": kvm when /dev/kvm can be opened, else qemu.
func domainType(t string) string {
	if t != "" && t != "auto" {
		return t
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "qemu"
	}
	f.Close()
	return "kvm"
}
