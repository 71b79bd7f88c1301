package domain

import (
	"flag"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var created = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// goldenSpecs are rendered to testdata/NAME.xml, round-tripped through
// Parse, and defined in libvirt's test driver.
var goldenSpecs = []struct {
	name string
	spec Spec
}{
	{"diskless-kvm", Spec{
		Name: "tiny", VCPUs: 1, MemoryMiB: 64,
		Meta: Meta{Owner: "node1", Created: created, Epoch: 1},
	}},
	{"diskless-qemu", Spec{
		Name: "tcg", Type: "qemu", VCPUs: 2, MemoryMiB: 128,
		Meta: Meta{Owner: "node2", Created: created},
	}},
	{"overlay-seed", Spec{
		Name: "web-1", Type: "qemu", VCPUs: 2, MemoryMiB: 2048,
		Disks: []Disk{
			{Path: "/var/lib/vmnode/vms/web-1/disk0.qcow2", Format: "qcow2"},
			{Path: "/var/lib/vmnode/vms/web-1/data.raw", Format: "raw"},
		},
		Seed: "/var/lib/vmnode/vms/web-1/seed.iso",
		NICs: []NIC{{Model: ModelVirtio, Network: "default", MAC: "52:54:00:12:34:56"}},
		VNC:  VNC{Listen: "127.0.0.1", Password: "s3cr&t<>"},
		Meta: Meta{
			Owner: "node1", Created: created.Add(123456789 * time.Nanosecond), Image: "debian-12",
			Epoch: 7, HA: HA{Enabled: true, Passive: "node2"},
		},
	}},
	{"nic-models", Spec{
		Name: "router.lab", Type: "qemu", VCPUs: 1, MemoryMiB: 256,
		NICs: []NIC{
			{Model: ModelVirtio, Bridge: "br0"},
			{Model: ModelE1000, Network: "default", MAC: "52:54:00:00:00:01"},
			{Model: ModelRTL8139, Bridge: "br-lab"},
		},
		Meta: Meta{Owner: "node3", Created: created, Epoch: 2},
	}},
	{"sriov", Spec{
		Name: "fast_path", VCPUs: 4, MemoryMiB: 4096,
		Disks: []Disk{{Path: "/var/lib/vmnode/vms/fast_path/disk0.qcow2", Format: "qcow2"}},
		NICs: []NIC{
			{Model: ModelSRIOV, VF: "0000:03:10.1", MAC: "52:54:00:ab:cd:ef"},
			{Model: ModelVirtio, Network: "default"},
		},
		Meta: Meta{Owner: "node1", Created: created, Image: "alma-9"},
	}},
	{"vnc-any", Spec{
		Name: "desk", Type: "qemu", VCPUs: 1, MemoryMiB: 16,
		VNC:  VNC{Listen: "0.0.0.0"},
		Meta: Meta{Owner: "node1"},
	}},
}
