package cluster

import (
	"fmt"
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// Member is what one member of the cluster reported.
type Member struct {
	Name        string
	Address     string            // its gossip/advertise IP
	Self        bool              // the member that collected the report
	OS          OS                // from its os-release
	Versions    map[string]string // "vmnode", "libvirt", "qemu" (others are compared too) -> "9.0.0"; a missing key is unknown
	ClockOffset time.Duration     // its clock minus the collector's clock; measured for every member that answered
	ClockError  time.Duration     // the uncertainty of ClockOffset (half the round trip)
	Report      *preflight.Report // its local preflight report; nil when it did not answer
	Ports       []Port            // the ports its profile requires open
	Probes      []Probe           // what it saw probing the other members' ports
	Error       string            // why it did not answer, when Report is nil
}

// Answered reports whether the member answered with its report.
func (m Member) Answered() bool { return m.Report != nil }

// OS is a member's operating system.
type OS struct {
	Family  string // "debian", "rhel"; empty when unknown
	ID      string // "ubuntu", "almalinux"
	Version string // "22.04", "8.9"
}

// String is "ubuntu 22.04", or "unknown".
func (o OS) String() string {
	switch {
	case o.ID != "" && o.Version != "":
		return o.ID + " " + o.Version
	case o.ID != "":
		return o.ID
	case o.Family != "":
		return o.Family + " family"
	}
	return "unknown"
}

// Port is an inbound port or range a member's profile requires open.
type Port struct {
	From, To int    // a range; for a single port To is From or 0 (a To below From is read as From)
	Proto    string // tcp or udp
	Service  string // what uses it, for people: "libvirt TLS"
	// Gossip marks the port Serf gossips on. A member that answered a Serf
	// query proved it open, so its UDP side needs no probe.
	Gossip bool
}

// last is the last port of the range.
func (p Port) last() int { return max(p.From, p.To) }

// String is "22/tcp" or "5900-6900/tcp".
func (p Port) String() string {
	if p.last() == p.From {
		return fmt.Sprintf("%d/%s", p.From, p.Proto)
	}
	return fmt.Sprintf("%d-%d/%s", p.From, p.last(), p.Proto)
}

// Probe is one connection attempt from a member to another member's port.
type Probe struct {
	To     string // the probed member's name
	Port   int
	Proto  string // tcp or udp
	Result ProbeResult
	Detail string // the error text, for people
}

// ProbeResult is what a probe saw.
type ProbeResult string

// The probe results. Refused means a TCP RST came back: the firewall let the
// packet through and nothing listens, which is reachable as far as the
// network is concerned.
const (
	ProbeOpen     ProbeResult = "open"     // connected
	ProbeRefused  ProbeResult = "refused"  // RST: let through, nothing listens
	ProbeFiltered ProbeResult = "filtered" // timeout or no answer: dropped on the way
	ProbeError    ProbeResult = "error"    // the probe itself failed
)

// Limits are the cluster-wide thresholds. A zero field disables its test.
type Limits struct {
	MaxHosts     int           // more members fail
	MinHAHosts   int           // fewer members warn: HA needs this many
	MaxTimeSkew  time.Duration // clock skew above warns
	FailTimeSkew time.Duration // clock skew above fails
}

// DefaultLimits are VMmanager's and Synology VMM's: at most 7 hosts, HA from
// 3, clocks within 500ms (fail above 5s).
func DefaultLimits() Limits {
	return Limits{MaxHosts: 7, MinHAHosts: 3, MaxTimeSkew: 500 * time.Millisecond, FailTimeSkew: 5 * time.Second}
}
