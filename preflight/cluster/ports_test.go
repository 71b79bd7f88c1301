package cluster

import (
	"testing"

	"github.com/vmnode/vmnode/preflight"
)

func TestPortsReachable(t *testing.T) {
	ssh := Port{From: 22, Proto: "tcp", Service: "SSH"}
	tls := Port{From: 16514, Proto: "tcp", Service: "libvirt TLS"}
	vnc := Port{From: 5900, To: 6900, Proto: "tcp", Service: "VNC"}
	vxlan := Port{From: 4789, Proto: "udp", Service: "VXLAN"}
	gossipUDP := Port{From: 7946, Proto: "udp", Service: "gossip", Gossip: true}
	gossipTCP := Port{From: 7946, Proto: "tcp", Service: "gossip", Gossip: true}

	// pair is two members requiring ps, a probing b with ab and b probing a
	// with ba.
	pair := func(ps []Port, ab, ba []Probe) []Member {
		return []Member{mem("a", ports(ps...), saw(ab...)), mem("b", ports(ps...), saw(ba...))}
	}
	open := func(to string, ports ...int) []Probe {
		var out []Probe
		for _, p := range ports {
			out = append(out, probe(to, p, ProbeOpen))
		}
		return out
	}

	runCheckCases(t, IDPortsReachable, []checkCase{
		{name: "no members", status: preflight.Skip},
		{name: "one member", members: []Member{mem("a", ports(ssh))}, status: preflight.Skip, msg: []string{"fewer than two"}},
		{name: "no ports", members: members(3), status: preflight.Skip, msg: []string{"no member requires a TCP port"}},
		{
			name:    "all open",
			members: pair([]Port{ssh, tls}, open("b", 22, 16514), open("a", 22, 16514)),
			status:  preflight.Pass,
			msg:     []string{"4 probes: 4 open, 0 refused"},
		},
		{
			name:    "refused is reachable",
			members: pair([]Port{ssh}, []Probe{probe("b", 22, ProbeRefused)}, open("a", 22)),
			status:  preflight.Pass,
			msg:     []string{"1 open, 1 refused"},
		},
		{
			name: "filtered fails naming the path",
			members: pair([]Port{ssh, tls},
				append(open("b", 22), Probe{To: "b", Port: 16514, Proto: "tcp", Result: ProbeFiltered, Detail: "i/o timeout"}),
				open("a", 22, 16514)),
			status: preflight.Fail,
			msg:    []string{"1 of 4 required TCP ports are filtered", "a -> b:16514/tcp (libvirt TLS): filtered (i/o timeout)"},
			obs:    []string{"a -> b:16514/tcp (libvirt TLS): filtered"},
			remedy: []string{"firewall of b (16514/tcp)", "vmnode provision --only firewall"},
		},
		{
			name:    "missing probe is an error",
			members: pair([]Port{ssh, tls}, open("b", 22), open("a", 22, 16514)),
			status:  preflight.Error,
			msg:     []string{"a -> b:16514/tcp (libvirt TLS): not probed"},
		},
		{
			name:    "probe error is an error",
			members: pair([]Port{ssh}, []Probe{{To: "b", Port: 22, Proto: "tcp", Result: ProbeError, Detail: "no route to host"}}, open("a", 22)),
			status:  preflight.Error,
			msg:     []string{"a -> b:22/tcp (SSH): probe error (no route to host)"},
		},
		{
			name:    "unknown probe result is an error",
			members: pair([]Port{ssh}, []Probe{probe("b", 22, "maybe")}, open("a", 22)),
			status:  preflight.Error,
			msg:     []string{`unknown probe result "maybe"`},
		},
		{
			name:    "filtered and missing: fail, counting the rest",
			members: pair([]Port{ssh, tls}, []Probe{probe("b", 22, ProbeFiltered)}, open("a", 22, 16514)),
			status:  preflight.Fail,
			msg:     []string{"1 of 4 required TCP ports are filtered", "1 more could not be checked"},
			obs:     []string{"a -> b:16514/tcp (libvirt TLS): not probed"},
		},
		{
			name:    "range: first and last open",
			members: pair([]Port{vnc}, open("b", 5900, 6900), open("a", 5900, 6900)),
			status:  preflight.Pass,
		},
		{
			name:    "range: last port filtered",
			members: pair([]Port{vnc}, append(open("b", 5900), probe("b", 6900, ProbeFiltered)), open("a", 5900, 6900)),
			status:  preflight.Fail,
			msg:     []string{"a -> b:5900-6900/tcp (VNC): port 6900 filtered"},
		},
		{
			name:    "range: last port not probed",
			members: pair([]Port{vnc}, open("b", 5900), open("a", 5900, 6900)),
			status:  preflight.Error,
			msg:     []string{"port 6900 not probed"},
		},
		{
			name:    "range: a middle port is not needed",
			members: pair([]Port{vnc}, append(open("b", 5900, 6900), probe("b", 6000, ProbeFiltered)), open("a", 5900, 6900)),
			status:  preflight.Pass,
		},
		{
			name:    "udp is not probed and never fails",
			members: pair([]Port{ssh, vxlan, gossipUDP, gossipTCP}, open("b", 22, 7946), open("a", 22, 7946)),
			status:  preflight.Pass,
			msg:     []string{"UDP not probed (no reliable answer): 4789/udp for VXLAN", "7946/udp for gossip works: the members answered over it"},
			not:     []string{"7946/tcp"},
		},
		{
			name:    "gossip tcp is probed like any port",
			members: pair([]Port{gossipTCP}, open("b"), open("a", 7946)),
			status:  preflight.Error,
			msg:     []string{"a -> b:7946/tcp (gossip): not probed"},
		},
		{
			name:    "only udp ports",
			members: pair([]Port{vxlan}, nil, nil),
			status:  preflight.Skip,
			msg:     []string{"no member requires a TCP port", "4789/udp"},
		},
		{
			name: "silent targets are not checked",
			members: []Member{
				mem("a", ports(ssh), saw(open("b", 22)...)),
				mem("b", ports(ssh), saw(open("a", 22)...)),
				{Name: "c", Ports: []Port{ssh}, Error: "down"},
			},
			status: preflight.Pass,
			msg:    []string{"not checked: c did not answer"},
		},
		{
			name: "probe target and proto compare case-insensitively",
			members: pair([]Port{ssh},
				[]Probe{{To: "B", Port: 22, Proto: "TCP", Result: ProbeOpen}},
				open("a", 22)),
			status: preflight.Pass,
		},
		{
			name: "a probe of another port or member does not count",
			members: pair([]Port{ssh},
				[]Probe{probe("b", 23, ProbeOpen), probe("c", 22, ProbeOpen), {To: "b", Port: 22, Proto: "udp", Result: ProbeOpen}},
				open("a", 22)),
			status: preflight.Error,
			msg:    []string{"a -> b:22/tcp (SSH): not probed"},
		},
		{
			name: "many findings are summarized",
			members: []Member{
				mem("a", ports(ssh, tls)), mem("b", ports(ssh, tls)), mem("c", ports(ssh, tls)),
			},
			status: preflight.Error,
			msg:    []string{"12 of 12 required TCP ports could not be checked", "and 8 more"},
		},
		{
			name: "each side needs its own probes",
			members: []Member{
				mem("a", ports(ssh), saw(open("b", 22)...)),
				mem("b", ports(tls), saw(open("a", 22)...)),
			},
			status: preflight.Error,
			msg:    []string{"a -> b:16514/tcp (libvirt TLS): not probed"},
			not:    []string{"b -> a"},
		},
	})
}

func TestPortString(t *testing.T) {
	cases := map[Port]string{
		{From: 22, Proto: "tcp"}:               "22/tcp",
		{From: 22, To: 22, Proto: "tcp"}:       "22/tcp",
		{From: 5900, To: 6900, Proto: "tcp"}:   "5900-6900/tcp",
		{From: 4789, Proto: "udp"}:             "4789/udp",
		{From: 6900, To: 5900, Proto: "tcp"}:   "6900/tcp", // a reversed range is its first port
		{From: 49152, To: 49215, Proto: "tcp"}: "49152-49215/tcp",
	}
	for p, want := range cases {
		if got := p.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", p, got, want)
		}
	}
}
