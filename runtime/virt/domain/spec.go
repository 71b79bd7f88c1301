package domain

import (
	"time"
)

// Spec is everything vmnode knows about a VM before it runs: what the user
// asked for at `vm create`, plus vmnode's own metadata. It is rendered into
// libvirt domain XML by XML and read back from it by Parse.
type Spec struct {
	Name string `json:"name"`
	// UUID is libvirt's; "" lets libvirt choose one. A VM defined on two
	// hosts (HA) has the same UUID on both, as migration requires.
	UUID      string `json:"uuid,omitempty"`
	VCPUs     int    `json:"vcpus"`
	MemoryMiB int    `json:"memory_mib"`
	// Type is the libvirt domain type: "kvm" (hardware) or "qemu" (TCG,
	// emulation; tests).
	Type  string `json:"type,omitempty"`
	Disks []Disk `json:"disks,omitempty"`
	// Seed is the cloud-init NoCloud seed ISO, attached as a CD-ROM ("" none).
	Seed string `json:"seed,omitempty"`
	NICs []NIC  `json:"nics,omitempty"`
	// VNC is the console: listen address and password (at most 8 bytes, as
	// VNC allows). No Listen: no console.
	VNC  VNC  `json:"vnc"`
	Meta Meta `json:"meta"`
}

// Disk is a file-backed disk of the VM, attached as virtio vdX in order.
type Disk struct {
	Path   string `json:"path"`
	Format string `json:"format"` // qcow2 or raw
}

// NIC models. SRIOV is a VF passed through as a host device: fast, but the
// VM cannot be live-migrated or made HA (seed 003).
const (
	ModelVirtio  = "virtio"
	ModelE1000   = "e1000"
	ModelRTL8139 = "rtl8139"
	ModelSRIOV   = "sriov"
)

// Models are the NIC models a user may ask for, the default first.
var Models = []string{ModelVirtio, ModelE1000, ModelRTL8139, ModelSRIOV}

// NIC is one network interface. For virtio, e1000 and rtl8139 exactly one of
// Network (a libvirt network) and Bridge (a host bridge) is set; for sriov,
// VF is the PCI address of the virtual function (0000:03:10.1), chosen on
// the host the VM is placed on.
type NIC struct {
	Model   string `json:"model"`
	Network string `json:"network,omitempty"`
	Bridge  string `json:"bridge,omitempty"`
	MAC     string `json:"mac,omitempty"`
	VF      string `json:"vf,omitempty"`
}

// VNC is the graphical console.
type VNC struct {
	Listen   string `json:"listen,omitempty"`
	Password string `json:"password,omitempty"`
}

// Meta is vmnode's metadata, kept in the domain's <metadata> so that it
// travels with the domain (migration, restart of the agent).
type Meta struct {
	Owner   string    `json:"owner"` // the host the VM was placed on
	Created time.Time `json:"created"`
	Image   string    `json:"image,omitempty"` // the base image, by name
	// Epoch is the ownership generation; a failover increments it.
	Epoch uint64 `json:"epoch"`
	HA    HA     `json:"ha"`
	// Desired is whether an HA VM should run ("running", "stopped"); part of
	// its HA record with Epoch, Owner (the active host) and HA.Passive.
	Desired string `json:"desired,omitempty"`
}

// HA are the VM's High Availability settings.
type HA struct {
	Enabled bool   `json:"enabled"`
	Passive string `json:"passive,omitempty"`
}

// Migratable tells whether the VM can be live-migrated or made HA, and if
// not, why.
func (s Spec) Migratable() (bool, string) {
	for _, n := range s.NICs {
		if n.Model == ModelSRIOV {
			return false, "it has an SR-IOV interface (a host device), which cannot be migrated"
		}
	}
	return true, ""
}
