package cluster

import (
	"time"

	"github.com/vmnode/vmnode/preflight"
)

// profilePorts are the vmnode profile's ports as the agent passes them.
func profilePorts() []Port {
	return []Port{
		{From: 22, Proto: "tcp", Service: "SSH"},
		{From: 179, Proto: "tcp", Service: "virtual networks (BGP)"},
		{From: 4789, Proto: "udp", Service: "virtual networks (VXLAN)"},
		{From: 5900, To: 6900, Proto: "tcp", Service: "QEMU VNC and SPICE"},
		{From: 16514, Proto: "tcp", Service: "libvirt TLS"},
		{From: 7946, Proto: "tcp", Service: "vmnode gossip (Serf)", Gossip: true},
		{From: 7946, Proto: "udp", Service: "vmnode gossip (Serf)", Gossip: true},
	}
}

// probesTo is what a member sees probing to's profile ports: open, unless
// except names another result for a port.
func probesTo(to string, except map[int]ProbeResult) []Probe {
	var out []Probe
	for _, p := range profilePorts() {
		if p.Proto != "tcp" {
			continue
		}
		for _, port := range []int{p.From, p.last()} {
			if port == p.last() && p.last() == p.From && len(out) > 0 && out[len(out)-1].Port == port {
				continue
			}
			res, ok := except[port]
			if !ok {
				res = ProbeOpen
			}
			if res == "" { // not probed
				continue
			}
			pr := Probe{To: to, Port: port, Proto: "tcp", Result: res}
			switch res {
			case ProbeFiltered:
				pr.Detail = "dial tcp: i/o timeout"
			case ProbeRefused:
				pr.Detail = "connection refused"
			}
			out = append(out, pr)
		}
	}
	return out
}

func probes(lists ...[]Probe) []Probe {
	var out []Probe
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var sampleStart = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))

// hostReport is a member's local report: the common checks passing, with
// changes applied.
func hostReport(name, address string, change map[string]preflight.Result, drop ...string) *preflight.Report {
	us := time.Microsecond
	base := []preflight.Result{
		{ID: "cpu.virtualization", Title: "CPU virtualization extensions", Status: preflight.Pass, Message: "vmx flag present (Intel VT-x)", Duration: 212 * us},
		{ID: "memory.total", Title: "Installed memory", Status: preflight.Pass, Message: "about 64 GB installed", Observed: "64 GB", Expected: ">= 8 GB (16 GB recommended)", Duration: 87 * us},
		{ID: "selinux.disabled", Title: "SELinux disabled", Status: preflight.Pass, Message: "SELinux is disabled", Duration: 120 * us},
		{ID: "time.ntp-offset", Title: "Clock offset against NTP", Status: preflight.Pass, Message: "the clock is within +3ms of ntp1.example.com", Duration: 41 * time.Millisecond},
		{ID: "network.hosts-entry", Title: "Hosts file entry", Status: preflight.Pass, Message: "/etc/hosts maps the node address to " + name, Duration: 55 * us},
		{ID: "firewall.ports", Title: "Required ports", Status: preflight.Pass, Message: "every required port is free or held by its service", Duration: 6100 * us},
		{ID: "storage.zfs-pool", Title: "ZFS pool", Status: preflight.Skip, Message: "the profile does not use ZFS storage", Duration: 3 * us},
	}
	var results []preflight.Result
	for _, r := range base {
		if c, ok := change[r.ID]; ok {
			c.ID, c.Title, c.Duration = r.ID, r.Title, r.Duration
			r = c
		}
		skip := false
		for _, d := range drop {
			skip = skip || d == r.ID
		}
		if !skip {
			results = append(results, r)
		}
	}
	return &preflight.Report{Profile: "vmnode", Hostname: name, Address: address, Root: "/", StartedAt: sampleStart, Duration: 640 * time.Millisecond, Results: results}
}

func versions(vmnode, libvirt, qemu string) map[string]string {
	return map[string]string{"vmnode": vmnode, "libvirt": libvirt, "qemu": qemu}
}

// sampleMembers is a troubled four-member cluster: mixed OS families,
// version skew, a clock 2s off, a filtered port, a missing probe, a member
// that did not answer, and text that needs escaping in every format.
func sampleMembers() []Member {
	const n1, n2, n3, n4 = "node-1.lab.example.com", "node-2.lab.example.com", "node-3.lab.example.com", "node-4.lab.example.com"
	rhel := OS{Family: "rhel", ID: "almalinux", Version: "8.9"}
	return []Member{
		{
			Name: n3, Address: "10.20.30.43",
			OS:          OS{Family: "debian", ID: "ubuntu", Version: "22.04"},
			Versions:    versions("0.3.2", "8.0.0-1ubuntu7.10", "1:6.2+dfsg-2ubuntu6.24"),
			ClockOffset: -250 * time.Millisecond, ClockError: 2 * time.Millisecond,
			Report: hostReport(n3, "10.20.30.43", map[string]preflight.Result{
				"selinux.disabled": {Status: preflight.Skip, Message: "SELinux is not installed"},
				"network.hosts-entry": {
					Status: preflight.Error, Message: "cannot read /etc/hosts: permission denied",
					Remediation: "Run preflight as root.",
				},
			}, "storage.zfs-pool"),
			Ports:  profilePorts(),
			Probes: probes(probesTo(n1, map[int]ProbeResult{179: ProbeRefused}), probesTo(n2, map[int]ProbeResult{6900: ProbeFiltered})),
		},
		{
			Name: n1, Address: "10.20.30.41", Self: true,
			OS:       rhel,
			Versions: versions("0.4.0", "9.0.0", "8.2.0"),
			Report:   hostReport(n1, "10.20.30.41", nil),
			Ports:    profilePorts(),
			Probes:   probes(probesTo(n2, map[int]ProbeResult{16514: ProbeFiltered}), probesTo(n3, map[int]ProbeResult{179: ProbeRefused})),
		},
		{
			Name: n4, Address: "10.20.30.44",
			Error: "no response to the preflight query within 10s",
		},
		{
			Name: n2, Address: "10.20.30.42",
			OS:          rhel,
			Versions:    versions("0.4.0", "9.0.0", "8.2.2"),
			ClockOffset: 1800 * time.Millisecond, ClockError: 4 * time.Millisecond,
			Report: hostReport(n2, "10.20.30.42", map[string]preflight.Result{
				"memory.total": {
					Status: preflight.Fail, Message: "about 4 GB installed; the profile needs 8 GB",
					Observed: "MemTotal: 3931488 kB (about 4 GB installed)", Expected: ">= 8 GB (16 GB recommended)",
					Remediation: "Install more RAM, or give this VM at least 8 GB if the node is itself virtual.",
				},
				"time.ntp-offset": {
					Status: preflight.Warn, Message: "the clock is off by +1.8s against ntp1.example.com <lab & \"test\"> (recommended within 100ms)",
					Observed: "+1.8s against ntp1.example.com", Expected: "|offset| <= 100ms (warn above), <= 1s (fail above)",
					Remediation: "chronyc makestep (steps the clock now), then check `chronyc tracking`", Fix: "time",
				},
				"firewall.ports": {
					Status: preflight.Warn, Ignored: true, Message: "[ignored fail] 179/tcp is held by \x1b[31mbird\x1b[0m, not by a listed service",
					IgnoreNote: "waived in config: BGP via bird", Remediation: "Stop the process holding 179/tcp.",
				},
			}),
			Ports:  profilePorts(),
			Probes: probes(probesTo(n1, nil), probesTo(n3, map[int]ProbeResult{179: ""})),
		},
	}
}

func sample() *Report {
	r := NewReport("vmnode", sampleMembers(), DefaultLimits())
	r.StartedAt, r.Duration = sampleStart, 2310*time.Millisecond
	return r
}

// cleanMembers is a healthy three-member cluster.
func cleanMembers() []Member {
	const n1, n2, n3 = "kvm-a", "kvm-b", "kvm-c"
	os := OS{Family: "debian", ID: "debian", Version: "12"}
	v := versions("0.4.0", "9.0.0", "7.2.7")
	mk := func(name, addr string, off time.Duration, peers ...string) Member {
		var ps []Probe
		for _, p := range peers {
			ps = append(ps, probesTo(p, nil)...)
		}
		return Member{Name: name, Address: addr, OS: os, Versions: v, ClockOffset: off, ClockError: time.Millisecond,
			Report: hostReport(name, addr, nil), Ports: profilePorts(), Probes: ps}
	}
	a := mk(n1, "192.0.2.10", 0, n2, n3)
	a.Self, a.ClockError = true, 0
	return []Member{a, mk(n2, "192.0.2.11", 12*time.Millisecond, n1, n3), mk(n3, "192.0.2.12", -7*time.Millisecond, n1, n2)}
}

func clean() *Report {
	r := NewReport("vmnode", cleanMembers(), DefaultLimits())
	r.StartedAt, r.Duration = sampleStart, 1200*time.Millisecond
	return r
}
