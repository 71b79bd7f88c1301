package domain

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Namespace is the XML namespace of vmnode's element in a domain's
// <metadata>. libvirt keeps only namespaced metadata, one element per
// namespace.
const Namespace = "https://vmnode.dev/xmlns/vm/1"

// The types below mirror the parts of libvirt's domain XML
// (https://libvirt.org/formatdomain.html) that vmnode writes or reads. The
// same types serve XML (marshal) and Parse (unmarshal); attributes only
// libvirt sets (id, uuid, a live VNC port) are omitempty.

type domainXML struct {
	XMLName       xml.Name     `xml:"domain"`
	Type          string       `xml:"type,attr"`
	ID            string       `xml:"id,attr,omitempty"`
	Name          string       `xml:"name"`
	UUID          string       `xml:"uuid,omitempty"`
	Metadata      *metadataXML `xml:"metadata"`
	Memory        memoryXML    `xml:"memory"`
	CurrentMemory *memoryXML   `xml:"currentMemory"`
	VCPU          string       `xml:"vcpu"`
	OS            osXML        `xml:"os"`
	Features      *featuresXML `xml:"features"`
	CPU           *cpuXML      `xml:"cpu"`
	Clock         *clockXML    `xml:"clock"`
	OnPoweroff    string       `xml:"on_poweroff,omitempty"`
	OnReboot      string       `xml:"on_reboot,omitempty"`
	OnCrash       string       `xml:"on_crash,omitempty"`
	Devices       devicesXML   `xml:"devices"`
}

// metadataXML holds vmnode's element. Go's encoding/xml writes it as
// <vm xmlns="https://vmnode.dev/xmlns/vm/1">, which libvirt keeps as is;
// virDomainSetMetadata rewrites it with a prefix (<vmnode:vm
// xmlns:vmnode="…">): both match this field when unmarshalling, and
// elements of other namespaces are ignored.
type metadataXML struct {
	VM *vmMetaXML `xml:"https://vmnode.dev/xmlns/vm/1 vm"`
}

type vmMetaXML struct {
	Owner   string `xml:"owner"`
	Created string `xml:"created,omitempty"`
	Image   string `xml:"image,omitempty"`
	Epoch   uint64 `xml:"epoch"`
	HA      haXML  `xml:"ha"`
	Desired string `xml:"desired,omitempty"`
}

type haXML struct {
	Enabled bool   `xml:"enabled,attr"`
	Passive string `xml:"passive,attr,omitempty"`
}

type memoryXML struct {
	Unit  string `xml:"unit,attr,omitempty"`
	Value string `xml:",chardata"`
}

type osXML struct {
	Type osTypeXML `xml:"type"`
	Boot []bootXML `xml:"boot"`
}

type osTypeXML struct {
	Arch    string `xml:"arch,attr,omitempty"`
	Machine string `xml:"machine,attr,omitempty"`
	Value   string `xml:",chardata"`
}

type bootXML struct {
	Dev string `xml:"dev,attr"`
}

type featuresXML struct {
	ACPI *struct{} `xml:"acpi"`
	APIC *struct{} `xml:"apic"`
}

type cpuXML struct {
	Mode string `xml:"mode,attr"`
}

type clockXML struct {
	Offset string `xml:"offset,attr"`
}

type devicesXML struct {
	Disks      []diskXML      `xml:"disk"`
	Interfaces []interfaceXML `xml:"interface"`
	Serials    []charDevXML   `xml:"serial"`
	Consoles   []charDevXML   `xml:"console"`
	Graphics   []graphicsXML  `xml:"graphics"`
	MemBalloon *memBalloonXML `xml:"memballoon"`
}

type diskXML struct {
	Type     string         `xml:"type,attr"`
	Device   string         `xml:"device,attr"`
	Driver   *diskDriverXML `xml:"driver"`
	Source   *diskSourceXML `xml:"source"`
	Target   diskTargetXML  `xml:"target"`
	ReadOnly *struct{}      `xml:"readonly"`
}

type diskDriverXML struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

type diskSourceXML struct {
	File string `xml:"file,attr,omitempty"`
	Dev  string `xml:"dev,attr,omitempty"`
}

type diskTargetXML struct {
	Dev string `xml:"dev,attr"`
	Bus string `xml:"bus,attr,omitempty"`
}

type interfaceXML struct {
	Type    string          `xml:"type,attr"`
	Managed string          `xml:"managed,attr,omitempty"`
	Source  *ifaceSourceXML `xml:"source"`
	Model   *ifaceModelXML  `xml:"model"`
	MAC     *macXML         `xml:"mac"`
}

type ifaceSourceXML struct {
	Network string      `xml:"network,attr,omitempty"`
	Bridge  string      `xml:"bridge,attr,omitempty"`
	Address *pciAddrXML `xml:"address"`
}

type pciAddrXML struct {
	Type     string `xml:"type,attr"`
	Domain   string `xml:"domain,attr"`
	Bus      string `xml:"bus,attr"`
	Slot     string `xml:"slot,attr"`
	Function string `xml:"function,attr"`
}

type ifaceModelXML struct {
	Type string `xml:"type,attr"`
}

type macXML struct {
	Address string `xml:"address,attr"`
}

type charDevXML struct {
	Type   string            `xml:"type,attr"`
	Target *charDevTargetXML `xml:"target"`
}

type charDevTargetXML struct {
	Type string `xml:"type,attr,omitempty"`
	Port string `xml:"port,attr"`
}

type graphicsXML struct {
	Type     string      `xml:"type,attr"`
	Port     string      `xml:"port,attr,omitempty"`
	AutoPort string      `xml:"autoport,attr,omitempty"`
	Listen   string      `xml:"listen,attr,omitempty"`
	Passwd   string      `xml:"passwd,attr,omitempty"`
	Listens  []listenXML `xml:"listen"`
}

type listenXML struct {
	Type    string `xml:"type,attr"`
	Address string `xml:"address,attr,omitempty"`
}

type memBalloonXML struct {
	Model string `xml:"model,attr"`
}

// XML validates s and renders it as libvirt domain XML. The output is
// deterministic (same Spec, same bytes). Meta.Created is written in UTC as
// RFC 3339 with as many fractional digits as it has, and is omitted when
// zero.
func XML(s Spec) ([]byte, error) {
	if err := Validate(s); err != nil {
		return nil, fmt.Errorf("invalid VM spec: %w", err)
	}
	b, err := xml.MarshalIndent(render(s), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render domain XML for %s: %w", s.Name, err)
	}
	return append(b, '\n'), nil
}

func render(s Spec) domainXML {
	typ := s.Type
	if typ == "" {
		typ = "kvm"
	}
	kib := strconv.Itoa(s.MemoryMiB * 1024)
	d := domainXML{
		Type:          typ,
		Name:          s.Name,
		UUID:          s.UUID,
		Metadata:      &metadataXML{VM: renderMeta(s.Meta)},
		Memory:        memoryXML{Unit: "KiB", Value: kib},
		CurrentMemory: &memoryXML{Unit: "KiB", Value: kib},
		VCPU:          strconv.Itoa(s.VCPUs),
		OS: osXML{
			Type: osTypeXML{Arch: "x86_64", Value: "hvm"},
			Boot: []bootXML{{Dev: "hd"}},
		},
		Features:   &featuresXML{ACPI: &struct{}{}, APIC: &struct{}{}},
		Clock:      &clockXML{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
	}
	// host-model needs hardware virtualization; TCG gets QEMU's default
	// model. (host-passthrough crashes QEMU on nested hosts.)
	if typ == "kvm" {
		d.CPU = &cpuXML{Mode: "host-model"}
	}
	dev := &d.Devices
	for i, disk := range s.Disks {
		dev.Disks = append(dev.Disks, diskXML{
			Type:   "file",
			Device: "disk",
			Driver: &diskDriverXML{Name: "qemu", Type: disk.Format},
			Source: &diskSourceXML{File: disk.Path},
			Target: diskTargetXML{Dev: diskTarget(i), Bus: "virtio"},
		})
	}
	if s.Seed != "" {
		dev.Disks = append(dev.Disks, diskXML{
			Type:     "file",
			Device:   "cdrom",
			Driver:   &diskDriverXML{Name: "qemu", Type: "raw"},
			Source:   &diskSourceXML{File: s.Seed},
			Target:   diskTargetXML{Dev: "hdc", Bus: "ide"},
			ReadOnly: &struct{}{},
		})
	}
	for _, n := range s.NICs {
		dev.Interfaces = append(dev.Interfaces, renderNIC(n))
	}
	dev.Serials = []charDevXML{{Type: "pty", Target: &charDevTargetXML{Port: "0"}}}
	dev.Consoles = []charDevXML{{Type: "pty", Target: &charDevTargetXML{Type: "serial", Port: "0"}}}
	// No VNC: no <graphics> at all (libvirt 9 rejects <graphics type='none'/>).
	if s.VNC.Listen != "" {
		dev.Graphics = []graphicsXML{{
			Type:     "vnc",
			AutoPort: "yes",
			Listen:   s.VNC.Listen,
			Passwd:   s.VNC.Password,
			Listens:  []listenXML{{Type: "address", Address: s.VNC.Listen}},
		}}
	}
	dev.MemBalloon = &memBalloonXML{Model: "virtio"}
	return d
}

func renderMeta(m Meta) *vmMetaXML {
	v := &vmMetaXML{
		Owner:   m.Owner,
		Image:   m.Image,
		Epoch:   m.Epoch,
		HA:      haXML{Enabled: m.HA.Enabled, Passive: m.HA.Passive},
		Desired: m.Desired,
	}
	if !m.Created.IsZero() {
		v.Created = m.Created.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func renderNIC(n NIC) interfaceXML {
	var x interfaceXML
	switch {
	case n.Model == ModelSRIOV:
		x = interfaceXML{
			Type:    "hostdev",
			Managed: "yes",
			Source:  &ifaceSourceXML{Address: renderPCI(n.VF)},
		}
	case n.Network != "":
		x = interfaceXML{Type: "network", Source: &ifaceSourceXML{Network: n.Network}}
	default:
		x = interfaceXML{Type: "bridge", Source: &ifaceSourceXML{Bridge: n.Bridge}}
	}
	if n.Model != ModelSRIOV {
		x.Model = &ifaceModelXML{Type: n.Model}
	}
	if n.MAC != "" {
		x.MAC = &macXML{Address: n.MAC}
	}
	return x
}

// renderPCI turns a validated DDDD:BB:SS.F into libvirt's address element.
func renderPCI(vf string) *pciAddrXML {
	vf = strings.ToLower(vf)
	return &pciAddrXML{
		Type:     "pci",
		Domain:   "0x" + vf[0:4],
		Bus:      "0x" + vf[5:7],
		Slot:     "0x" + vf[8:10],
		Function: "0x" + vf[11:12],
	}
}

// diskTarget names the i-th virtio disk as libvirt does: vda … vdz, vdaa …
func diskTarget(i int) string {
	var b []byte
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		b = append([]byte{byte('a' + (n-1)%26)}, b...)
	}
	return "vd" + string(b)
}

// diskIndex is the inverse of diskTarget; ok is false for other names.
func diskIndex(dev string) (int, bool) {
	if len(dev) < 3 || len(dev) > 6 || dev[:2] != "vd" {
		return 0, false
	}
	n := 0
	for _, c := range []byte(dev[2:]) {
		if c < 'a' || c > 'z' {
			return 0, false
		}
		n = n*26 + int(c-'a') + 1
	}
	return n - 1, true
}
