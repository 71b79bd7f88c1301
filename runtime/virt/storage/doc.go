// Package storage owns the files vmnode keeps on a host under one
// directory (Store.Dir, e.g. /var/lib/vmnode):
//
//	images/NAME.qcow2|raw   imported base images, never written after import
//	images/NAME.json        their metadata (checksum, sizes, source)
//	vms/VM/disk0.qcow2      a VM's disks: qcow2 overlays on an image, or blank
//	vms/VM/seed.iso         its cloud-init NoCloud seed
//
// and it lists the host's SR-IOV virtual functions from sysfs.
//
// Disk images are handled by the qemu-img command (always run with
// LC_ALL=C and a context); seeds are written with
// github.com/kdomanski/iso9660. The package may import runtime/virt/domain
// (names and the Disk type) but nothing that talks to libvirt: callers put
// the paths it returns into a domain.Spec.
package storage
