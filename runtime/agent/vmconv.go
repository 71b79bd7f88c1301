package agent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/sched"
	"github.com/vmnode/vmnode/runtime/virt"
	"github.com/vmnode/vmnode/runtime/virt/domain"
	"github.com/vmnode/vmnode/runtime/virt/storage"
)

// checkSpec catches what a create request gets wrong before any host is asked.
func checkSpec(s api.VMSpec) error {
	switch {
	case s.VCPUs < 1:
		return fmt.Errorf("--vcpus %d: want 1 or more", s.VCPUs)
	case s.MemoryMiB < 16:
		return fmt.Errorf("--memory %d MiB: want at least 16 MiB", s.MemoryMiB)
	case s.DiskBytes < 0:
		return fmt.Errorf("--disk: size must be positive")
	}
	for i, n := range s.NICs {
		if n.Model != "" && !slices.Contains(domain.Models, n.Model) {
			return fmt.Errorf("nic %d: model %q: want one of %s", i+1, n.Model, strings.Join(domain.Models, ", "))
		}
		if n.Network != "" && n.Bridge != "" {
			return fmt.Errorf("nic %d: give network= or bridge=, not both", i+1)
		}
		if n.Model == domain.ModelSRIOV && (n.Network != "" || n.Bridge != "") {
			return fmt.Errorf("nic %d: an SR-IOV NIC is a virtual function of the host's card (pf=IFACE picks the card), not a network or bridge", i+1)
		}
	}
	return nil
}

// request is what the scheduler needs to know of a VM.
func request(s api.VMSpec) sched.Request {
	r := sched.Request{VCPUs: s.VCPUs, MemoryMiB: s.MemoryMiB, Image: s.Image}
	for _, n := range s.NICs {
		if n.Model == domain.ModelSRIOV {
			r.VFs++
		}
	}
	return r
}

func createRequest(r api.VMRequest) virt.CreateRequest {
	s := r.Create
	c := virt.CreateRequest{
		Name: r.Name, VCPUs: s.VCPUs, MemoryMiB: s.MemoryMiB, DiskBytes: s.DiskBytes, Image: s.Image,
		Created: r.Created, Start: r.StartNow,
	}
	for _, n := range s.NICs {
		c.NICs = append(c.NICs, virt.NICRequest{NIC: domain.NIC{Model: n.Model, Network: n.Network, Bridge: n.Bridge, MAC: n.MAC}, PF: n.PF})
	}
	if ci := s.CloudInit; ci != nil {
		c.CloudInit = &storage.CloudInit{Hostname: ci.Hostname, UserData: ci.UserData, SSHKeys: ci.SSHKeys, InstanceID: r.Name}
	}
	return c
}

func pendingAPI(p pendingVM, holder string) api.VM {
	v := api.VM{
		Name: p.Name, State: "pending", VCPUs: p.Spec.VCPUs, MemoryMiB: p.Spec.MemoryMiB, Image: p.Spec.Image,
		NICs: p.Spec.NICs, Created: p.Created, HeldBy: holder, Migratable: true,
	}
	for _, n := range p.Spec.NICs {
		if n.Model == domain.ModelSRIOV {
			v.Migratable, v.NotWhy = false, "it has an SR-IOV interface (a host device), which cannot be migrated"
		}
	}
	return v
}

// apiVM is a VM of this host as the cluster sees it.
func (a *Agent) apiVM(v virt.VM) api.VM {
	s := v.Spec
	out := api.VM{
		Name: s.Name, Host: a.Config().Node.Name, State: string(v.State), Reason: v.Reason,
		VCPUs: s.VCPUs, MemoryMiB: s.MemoryMiB, Image: s.Meta.Image, Created: s.Meta.Created, UUID: v.UUID,
		HA: a.vmHA(v),
	}
	if out.HA.Enabled {
		out.HA.Active = out.Host
	}
	out.Migratable, out.NotWhy = s.Migratable()
	for _, d := range s.Disks {
		out.Disks = append(out.Disks, d.Path)
	}
	for _, n := range s.NICs {
		out.NICs = append(out.NICs, api.NIC{Model: n.Model, Network: n.Network, Bridge: n.Bridge, MAC: n.MAC, VF: n.VF})
	}
	if e := v.Last; e != nil {
		out.LastEvent = &api.LastEvent{Kind: string(e.Kind), Detail: e.Detail, Unexpected: e.Unexpected, At: e.At}
	}
	return out
}

// vmHA is the VM's HA role from the newest record this host holds.
func (a *Agent) vmHA(v virt.VM) api.VMHA {
	if !v.Spec.Meta.HA.Enabled {
		return api.VMHA{Epoch: v.Spec.Meta.Epoch}
	}
	r := a.record(v)
	return api.VMHA{Enabled: true, Active: r.Active, Passive: r.Passive, Epoch: r.Epoch}
}
