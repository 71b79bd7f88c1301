package profiles

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vmnode/vmnode/profiles/strictyaml"
)

// Profile is what a cluster requires of a node. Every check reads its
// thresholds here; nothing about a cluster is hard-coded in a check.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Source      string `yaml:"source,omitempty"` // where the requirements come from

	CPU      CPU          `yaml:"cpu"`
	Memory   Range[Bytes] `yaml:"memory"`
	Disk     Disk         `yaml:"disk"`
	OS       OS           `yaml:"os"`
	Packages []string     `yaml:"packages"`
	Time     Time         `yaml:"time"`
	SELinux  string       `yaml:"selinux"` // "disabled" (seed 004) or "any"
	Network  Network      `yaml:"network"`
	Firewall Firewall     `yaml:"firewall"`
	Services []string     `yaml:"services,omitempty"` // units provisioning enables
	Checks   Checks       `yaml:"checks,omitempty"`
}

// Range is a minimum (below it: fail) and a recommendation (below it: warn).
// A zero value means "no requirement".
type Range[T ~uint64 | ~float64 | ~int] struct {
	Min         T `yaml:"min"`
	Recommended T `yaml:"recommended"`
}

// CPU requirements.
type CPU struct {
	Arch      []string   `yaml:"arch"`      // accepted `uname -m` values
	Cores     Range[int] `yaml:"cores"`     // logical CPUs
	Frequency Range[MHz] `yaml:"frequency"` // rated, not current
}

// Disk requirements.
type Disk struct {
	Root Range[Bytes] `yaml:"root"` // size of the filesystem holding /
}

// OS lists the releases a node may run.
type OS struct {
	Family      string    `yaml:"family,omitempty"` // "rhel" or "debian"; informational
	Supported   []Release `yaml:"supported"`
	Unsupported []Release `yaml:"unsupported,omitempty"` // named with a reason
}

// Release matches os-release ID and VERSION_ID. A version "8" matches
// "8", "8.6", "8.9"; "8.6" matches "8.6" and "8.6.x" but not "8.7".
type Release struct {
	ID       string   `yaml:"id"`
	Versions []string `yaml:"versions"`
	Reason   string   `yaml:"reason,omitempty"`
}

// Matches reports whether id/version is one of r's releases.
func (r Release) Matches(id, version string) bool {
	if !strings.EqualFold(r.ID, id) {
		return false
	}
	if len(r.Versions) == 0 {
		return true
	}
	for _, v := range r.Versions {
		if version == v || strings.HasPrefix(version, v+".") {
			return true
		}
	}
	return false
}

func (r Release) String() string {
	if len(r.Versions) == 0 {
		return r.ID
	}
	return r.ID + " " + strings.Join(r.Versions, ", ")
}

// Time requirements.
type Time struct {
	Service    string   `yaml:"service"`           // "chrony"
	OffsetWarn Duration `yaml:"offset_warn"`       // |offset| above: warn
	OffsetFail Duration `yaml:"offset_fail"`       // |offset| above: fail
	Servers    []string `yaml:"servers,omitempty"` // used when neither flag nor chrony config names one
}

// Network requirements.
type Network struct {
	StaticAddress bool `yaml:"static_address"` // node address must be configured statically
	HostsEntry    bool `yaml:"hosts_entry"`    // /etc/hosts maps address to hostname
	Gateway       bool `yaml:"gateway"`        // default gateway must answer ping
}

// Firewall requirements.
type Firewall struct {
	NftablesEnabled bool   `yaml:"nftables_enabled"`
	Ports           []Port `yaml:"ports"`
}

// Port is an inbound port or range the node must accept.
type Port struct {
	Port    PortRange `yaml:"port"`
	Proto   string    `yaml:"proto"`             // tcp or udp
	Service []string  `yaml:"service,omitempty"` // process names allowed to hold it
	Purpose string    `yaml:"purpose,omitempty"`
}

func (p Port) String() string { return p.Port.String() + "/" + p.Proto }

// PortRange is "22" or "5900-6900".
type PortRange struct{ First, Last uint16 }

// ParsePortRange parses "22" or "5900-6900".
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	if err != nil || a == 0 {
		return PortRange{}, fmt.Errorf("invalid port %q: want 1-65535 or a range such as 5900-6900", s)
	}
	b := a
	if isRange {
		b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if err != nil || b < a {
			return PortRange{}, fmt.Errorf("invalid port range %q: want FIRST-LAST with FIRST <= LAST", s)
		}
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Contains reports whether port is in the range.
func (r PortRange) Contains(port uint16) bool { return port >= r.First && port <= r.Last }

// UnmarshalYAML accepts 22, "22" or "5900-6900".
func (r *PortRange) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParsePortRange(n.Value)
	if err != nil {
		return strictyaml.At(n, err)
	}
	*r = v
	return nil
}

// MarshalYAML writes the range back as a number or "FIRST-LAST".
func (r PortRange) MarshalYAML() (any, error) {
	if r.First == r.Last {
		return int(r.First), nil
	}
	return r.String(), nil
}

// Checks selects checks by ID.
type Checks struct {
	Disable []string `yaml:"disable,omitempty"` // IDs not run for this profile
}

// Enabled reports whether the check id runs under this profile.
func (p *Profile) Enabled(id string) bool { return !slices.Contains(p.Checks.Disable, id) }
