package domain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Parsed is a domain read back from libvirt.
type Parsed struct {
	Spec Spec
	UUID string
	// VNCPort is the live VNC port: 0 when the domain has no VNC console,
	// is not running, or libvirt has not assigned the port yet (-1 in XML).
	VNCPort int
}

// Parse reads a domain XML, live or inactive, as libvirt's
// virDomainGetXMLDesc returns it. It restores what a Spec holds:
//
//   - memory in whole MiB (rounded down), from any unit libvirt accepts;
//   - file and block disks, virtio disks in target order (vda, vdb, …); the
//     first CD-ROM is the Seed;
//   - network, bridge and hostdev (sriov) interfaces, with the MAC libvirt
//     assigned and VF addresses as lowercase DDDD:BB:SS.F; other interface
//     types are skipped;
//   - the first VNC console; its password is only in the XML when it was
//     asked for with VIR_DOMAIN_XML_SECURE;
//   - Meta from vmnode's metadata element, prefixed or not; a domain
//     without it parses with a zero Meta.
//
// Parse does not validate the result: a domain defined by hand may not be
// a valid Spec.
func Parse(b []byte) (Parsed, error) {
	var d domainXML
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return Parsed{}, fmt.Errorf("parse domain XML: %w", err)
	}
	p := Parsed{UUID: strings.TrimSpace(d.UUID)}
	s := &p.Spec
	s.Name = strings.TrimSpace(d.Name)
	if s.Name == "" {
		return Parsed{}, errors.New("parse domain XML: no <name>")
	}
	if s.Type = d.Type; s.Type == "" {
		return Parsed{}, fmt.Errorf("parse domain %s: no type attribute on <domain>", s.Name)
	}
	var err error
	if s.MemoryMiB, err = memoryMiB(d.Memory); err != nil {
		return Parsed{}, fmt.Errorf("parse domain %s: memory: %w", s.Name, err)
	}
	if s.VCPUs, err = strconv.Atoi(strings.TrimSpace(d.VCPU)); err != nil {
		return Parsed{}, fmt.Errorf("parse domain %s: vcpu %q: not a number", s.Name, d.VCPU)
	}
	parseDisks(s, d.Devices.Disks)
	for i, x := range d.Devices.Interfaces {
		n, ok, err := parseNIC(x)
		if err != nil {
			return Parsed{}, fmt.Errorf("parse domain %s: interface %d: %w", s.Name, i, err)
		}
		if ok {
			s.NICs = append(s.NICs, n)
		}
	}
	for _, g := range d.Devices.Graphics {
		if g.Type != "vnc" {
			continue
		}
		s.VNC.Listen = g.Listen
		if s.VNC.Listen == "" {
			for _, l := range g.Listens {
				if l.Type == "address" && l.Address != "" {
					s.VNC.Listen = l.Address
					break
				}
			}
		}
		s.VNC.Password = g.Passwd
		if g.Port != "" {
			port, err := strconv.Atoi(g.Port)
			if err != nil {
				return Parsed{}, fmt.Errorf("parse domain %s: vnc port %q: not a number", s.Name, g.Port)
			}
			p.VNCPort = max(port, 0)
		}
		break
	}
	if d.Metadata != nil && d.Metadata.VM != nil {
		if s.Meta, err = parseMeta(d.Metadata.VM); err != nil {
			return Parsed{}, fmt.Errorf("parse domain %s: vmnode metadata: %w", s.Name, err)
		}
	}
	return p, nil
}

func parseDisks(s *Spec, disks []diskXML) {
	type indexed struct {
		d   Disk
		idx int
	}
	var vd []indexed
	for i, x := range disks {
		var path string
		if x.Source != nil {
			switch x.Type {
			case "file":
				path = x.Source.File
			case "block":
				path = x.Source.Dev
			}
		}
		if x.Device == "cdrom" {
			if s.Seed == "" {
				s.Seed = path
			}
			continue
		}
		if x.Device != "" && x.Device != "disk" {
			continue
		}
		if path == "" {
			continue // network disk, or an empty drive
		}
		var format string
		if x.Driver != nil {
			format = x.Driver.Type
		}
		idx, ok := diskIndex(x.Target.Dev)
		if !ok {
			idx = 1<<31 + i // not vdX: after the virtio disks, in document order
		}
		vd = append(vd, indexed{Disk{Path: path, Format: format}, idx})
	}
	sort.SliceStable(vd, func(i, j int) bool { return vd[i].idx < vd[j].idx })
	for _, x := range vd {
		s.Disks = append(s.Disks, x.d)
	}
}

func parseNIC(x interfaceXML) (NIC, bool, error) {
	var n NIC
	if x.MAC != nil {
		n.MAC = x.MAC.Address
	}
	src := x.Source
	if src == nil {
		src = &ifaceSourceXML{}
	}
	switch x.Type {
	case "network":
		n.Network = src.Network
	case "bridge":
		n.Bridge = src.Bridge
	case "hostdev":
		n.Model = ModelSRIOV
		if src.Address == nil {
			return NIC{}, false, errors.New("hostdev without a PCI address")
		}
		vf, err := parsePCI(src.Address)
		if err != nil {
			return NIC{}, false, err
		}
		n.VF = vf
		return n, true, nil
	default:
		return NIC{}, false, nil
	}
	if x.Model != nil {
		n.Model = x.Model.Type
	}
	return n, true, nil
}

// parsePCI reads libvirt's <address type='pci'>; like libvirt, numbers may
// be hex (0x…), octal (0…) or decimal.
func parsePCI(a *pciAddrXML) (string, error) {
	if a.Type != "" && a.Type != "pci" {
		return "", fmt.Errorf("address type %q: want pci", a.Type)
	}
	var v [4]uint64
	for i, f := range []struct {
		name, s string
		max     uint64
	}{{"domain", a.Domain, 0xffff}, {"bus", a.Bus, 0xff}, {"slot", a.Slot, 0x1f}, {"function", a.Function, 7}} {
		n, err := strconv.ParseUint(f.s, 0, 32)
		if err != nil || n > f.max {
			return "", fmt.Errorf("PCI address %s %q: want a number up to %#x", f.name, f.s, f.max)
		}
		v[i] = n
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", v[0], v[1], v[2], v[3]), nil
}

func parseMeta(v *vmMetaXML) (Meta, error) {
	m := Meta{
		Owner:   v.Owner,
		Image:   v.Image,
		Epoch:   v.Epoch,
		HA:      HA{Enabled: v.HA.Enabled, Passive: v.HA.Passive},
		Desired: v.Desired,
	}
	if c := strings.TrimSpace(v.Created); c != "" {
		t, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			return Meta{}, fmt.Errorf("created %q: want an RFC 3339 time", v.Created)
		}
		m.Created = t.UTC()
	}
	return m, nil
}

// memoryMiB converts libvirt's <memory unit=…> to MiB, rounding down. The
// units are libvirt's: b/bytes, KB/MB/…(powers of 1000), k/KiB, M/MiB, …
// (powers of 1024); the default is KiB.
func memoryMiB(m memoryXML) (int, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(m.Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not a number", m.Value)
	}
	scale, err := unitScale(m.Unit)
	if err != nil {
		return 0, err
	}
	hi, lo := bits.Mul64(v, scale)
	if hi != 0 {
		return 0, fmt.Errorf("%s %s: too large", m.Value, m.Unit)
	}
	mib := lo >> 20
	if mib > maxMemoryMiB {
		return 0, fmt.Errorf("%s %s: too large", m.Value, m.Unit)
	}
	return int(mib), nil
}

func unitScale(unit string) (uint64, error) {
	switch u := strings.ToLower(unit); u {
	case "":
		return 1024, nil
	case "b", "byte", "bytes":
		return 1, nil
	default:
		powers := "kmgtpe"
		i := strings.IndexByte(powers, u[0])
		if i < 0 {
			break
		}
		var base uint64
		switch u[1:] {
		case "", "ib":
			base = 1024
		case "b":
			base = 1000
		default:
			return 0, fmt.Errorf("unit %q: not a libvirt memory unit", unit)
		}
		scale := base
		for range i {
			scale *= base
		}
		return scale, nil
	}
	return 0, fmt.Errorf("unit %q: not a libvirt memory unit", unit)
}
