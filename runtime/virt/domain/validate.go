package domain

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// MinMemoryMiB is the least memory a VM may have.
const MinMemoryMiB = 16

// maxMemoryMiB keeps MemoryMiB*1024 (KiB, as libvirt wants it) in range.
const maxMemoryMiB = math.MaxInt64 / 1024

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	macRE  = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`)
	vfRE   = regexp.MustCompile(`^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$`)
)

// ValidName checks a VM (or image) name: 1–63 characters of letters,
// digits, '.', '_' and '-', starting with a letter or digit. Such a name is
// safe as a libvirt domain name and as a single path element.
func ValidName(name string) error {
	if name == "" {
		return errors.New("name: must not be empty")
	}
	if len(name) > 63 || !nameRE.MatchString(name) {
		return fmt.Errorf("name %q: must be 1-63 characters of letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

// Validate checks a Spec before it is rendered. It reports every problem
// it finds (joined), each naming the field: `nic 2: model "foo": want
// virtio, e1000, rtl8139 or sriov`. Disks and NICs are counted from 0.
func Validate(s Spec) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if err := ValidName(s.Name); err != nil {
		errs = append(errs, err)
	}
	switch s.Type {
	case "", "kvm", "qemu":
	default:
		add("type %q: want kvm or qemu", s.Type)
	}
	if s.VCPUs < 1 {
		add("vcpus %d: want at least 1", s.VCPUs)
	}
	if s.MemoryMiB < MinMemoryMiB {
		add("memory %d MiB: want at least %d MiB", s.MemoryMiB, MinMemoryMiB)
	} else if s.MemoryMiB > maxMemoryMiB {
		add("memory %d MiB: too large", s.MemoryMiB)
	}
	for i, d := range s.Disks {
		if d.Format != "qcow2" && d.Format != "raw" {
			add("disk %d: format %q: want qcow2 or raw", i, d.Format)
		}
		if !filepath.IsAbs(d.Path) {
			add("disk %d: path %q: want an absolute path", i, d.Path)
		} else if !xmlSafe(d.Path) {
			add("disk %d: path %q: contains control characters or invalid UTF-8", i, d.Path)
		}
	}
	if s.Seed != "" && !filepath.IsAbs(s.Seed) {
		add("seed %q: want an absolute path", s.Seed)
	} else if !xmlSafe(s.Seed) {
		add("seed %q: contains control characters or invalid UTF-8", s.Seed)
	}
	errs = append(errs, validateNICs(s.NICs)...)
	errs = append(errs, validateVNC(s.VNC)...)
	for _, f := range []struct{ field, value string }{
		{"meta owner", s.Meta.Owner}, {"meta image", s.Meta.Image}, {"ha passive", s.Meta.HA.Passive},
	} {
		if !xmlSafe(f.value) {
			add("%s %q: contains control characters or invalid UTF-8", f.field, f.value)
		}
	}
	if y := s.Meta.Created.UTC().Year(); !s.Meta.Created.IsZero() && (y < 1 || y > 9999) {
		add("meta created: year %d out of range", y)
	}
	if s.Meta.HA.Enabled {
		if ok, why := s.Migratable(); !ok {
			add("ha: cannot be enabled: %s", why)
		}
	}
	return errors.Join(errs...)
}

func validateNICs(nics []NIC) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	macs := map[string]int{}
	vfs := map[string]int{}
	for i, n := range nics {
		if !slices.Contains(Models, n.Model) {
			add("nic %d: model %q: want %s", i, n.Model, wantModels())
		}
		if n.Model == ModelSRIOV {
			if n.Network != "" || n.Bridge != "" {
				add("nic %d: sriov takes vf, not network or bridge", i)
			}
			switch {
			case !vfRE.MatchString(n.VF) || !validSlot(n.VF):
				add("nic %d: vf %q: sriov needs the PCI address of a virtual function, DDDD:BB:SS.F (e.g. 0000:03:10.1)", i, n.VF)
			default:
				k := strings.ToLower(n.VF)
				if j, dup := vfs[k]; dup {
					add("nic %d: vf %q: also used by nic %d", i, n.VF, j)
				}
				vfs[k] = i
			}
		} else if slices.Contains(Models, n.Model) {
			switch {
			case n.Network == "" && n.Bridge == "":
				add("nic %d: want exactly one of network and bridge, got neither", i)
			case n.Network != "" && n.Bridge != "":
				add("nic %d: want exactly one of network and bridge, got both (%q, %q)", i, n.Network, n.Bridge)
			case n.Network != "":
				if err := validNetwork(n.Network); err != "" {
					add("nic %d: network %q: %s", i, n.Network, err)
				}
			default:
				if err := validBridge(n.Bridge); err != "" {
					add("nic %d: bridge %q: %s", i, n.Bridge, err)
				}
			}
			if n.VF != "" {
				add("nic %d: vf %q: only a sriov nic takes a vf", i, n.VF)
			}
		}
		if n.MAC == "" {
			continue
		}
		if !macRE.MatchString(n.MAC) {
			add("nic %d: mac %q: want six hex pairs separated by colons (52:54:00:12:34:56)", i, n.MAC)
			continue
		}
		if hw, _ := net.ParseMAC(n.MAC); hw[0]&1 == 1 {
			add("nic %d: mac %q: is a multicast address, want a unicast one", i, n.MAC)
		}
		k := strings.ToLower(n.MAC)
		if j, dup := macs[k]; dup {
			add("nic %d: mac %q: also used by nic %d", i, n.MAC, j)
		}
		macs[k] = i
	}
	return errs
}

func wantModels() string {
	return strings.Join(Models[:len(Models)-1], ", ") + " or " + Models[len(Models)-1]
}

// validSlot: a PCI slot is 5 bits.
func validSlot(vf string) bool {
	var slot uint
	_, err := fmt.Sscanf(vf[8:10], "%x", &slot)
	return err == nil && slot <= 0x1f
}

// validBridge applies the kernel's rules for an interface name.
func validBridge(b string) string {
	if len(b) > 15 {
		return "an interface name has at most 15 characters"
	}
	if b == "." || b == ".." || strings.ContainsAny(b, "/: \t\n\r") {
		return "not a valid interface name (no '/', ':' or spaces)"
	}
	return ""
}

func validNetwork(n string) string {
	if strings.Contains(n, "/") || !xmlSafe(n) {
		return "not a valid libvirt network name (no '/' or control characters)"
	}
	return ""
}

func validateVNC(v VNC) []error {
	var errs []error
	if v.Listen == "" {
		if v.Password != "" {
			errs = append(errs, errors.New("vnc: password set but no listen address"))
		}
		return errs
	}
	if net.ParseIP(v.Listen) == nil {
		errs = append(errs, fmt.Errorf("vnc: listen %q: want an IP address (127.0.0.1, 0.0.0.0, ::)", v.Listen))
	}
	if !xmlSafe(v.Password) {
		errs = append(errs, errors.New("vnc: password contains control characters or invalid UTF-8"))
	} else if len(v.Password) > 8 {
		errs = append(errs, fmt.Errorf("vnc: password is %d bytes: VNC allows at most 8", len(v.Password)))
	}
	return errs
}

// xmlSafe reports whether s survives a trip through XML unchanged: valid
// UTF-8 and no control characters (encoding/xml would replace some of them
// and an XML parser normalises others).
func xmlSafe(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || r == 0xFFFE || r == 0xFFFF
	})
}
