package sched

import (
	"errors"
	"strings"
	"testing"
)

func host(name string, memMiB, usedMiB int) Host {
	return Host{Name: name, Alive: true, Health: "pass", Libvirt: true, CPUs: 4, MemoryMiB: memMiB, UsedMiB: usedMiB, Images: []string{"debian"}}
}

func TestPlace(t *testing.T) {
	p := DefaultPolicy()
	small := Request{VCPUs: 1, MemoryMiB: 512}
	tests := []struct {
		name     string
		req      Request
		hosts    []Host
		want     string // chosen host; "" = no fit
		reason   string // in the choice's reason
		rejected map[string]string
	}{
		{"most free memory wins", small, []Host{host("h1", 8192, 4096), host("h2", 8192, 1024), host("h3", 4096, 0)}, "h2", "most free memory", nil},
		{"tie broken by CPU load", small, []Host{
			func() Host { h := host("h1", 8192, 0); h.UsedVCPUs = 6; return h }(),
			func() Host { h := host("h2", 8192, 0); h.UsedVCPUs = 2; return h }(),
		}, "h2", "lighter CPU load", nil},
		{"tie broken by name", small, []Host{host("h2", 8192, 0), host("h1", 8192, 0)}, "h1", "as h2: the first by name", nil},
		{"only one fits", Request{VCPUs: 1, MemoryMiB: 6000}, []Host{host("h1", 8192, 0), host("h2", 4096, 0)}, "h1", "the only host",
			map[string]string{"h2": "not enough memory: 3072 MiB free"}},
		{"failed, maintenance, unhealthy, no libvirt are skipped", small, []Host{
			func() Host { h := host("a", 8192, 0); h.Alive = false; return h }(),
			func() Host { h := host("b", 8192, 0); h.Maintenance = true; return h }(),
			func() Host { h := host("c", 8192, 0); h.Health = "fail"; return h }(),
			func() Host { h := host("d", 8192, 0); h.Libvirt = false; return h }(),
			host("e", 2048, 0),
		}, "e", "", map[string]string{"a": "not alive", "b": "in maintenance", "c": "unhealthy", "d": "not connected to libvirtd"}},
		{"warn health is fine", small, []Host{func() Host { h := host("h1", 8192, 0); h.Health = "warn"; return h }()}, "h1", "", nil},
		{"image missing", Request{VCPUs: 1, MemoryMiB: 512, Image: "ubuntu"}, []Host{host("h1", 8192, 0)}, "",
			"", map[string]string{"h1": `does not have image "ubuntu"`}},
		{"SR-IOV", Request{VCPUs: 1, MemoryMiB: 512, VFs: 1}, []Host{
			host("h1", 8192, 0),
			func() Host { h := host("h2", 4096, 0); h.FreeVFs = 2; return h }(),
		}, "h2", "", map[string]string{"h1": "no free SR-IOV virtual function"}},
		{"too many vCPUs for the threads", Request{VCPUs: 4, MemoryMiB: 512}, []Host{host("h1", 8192, 0)}, "",
			"", map[string]string{"h1": "not enough CPU: 3 threads (1 kept for the host)"}},
		{"overcommit cap", Request{VCPUs: 2, MemoryMiB: 512}, []Host{func() Host { h := host("h1", 8192, 0); h.UsedVCPUs = 11; return h }()}, "",
			"", map[string]string{"h1": "CPU overcommitted: 11 of 12 vCPUs"}},
		{"memory exactly fits", Request{VCPUs: 1, MemoryMiB: 7168}, []Host{host("h1", 8192, 0)}, "h1", "", nil},
		{"memory one MiB over", Request{VCPUs: 1, MemoryMiB: 7169}, []Host{host("h1", 8192, 0)}, "", "",
			map[string]string{"h1": "7168 MiB free after reservations (8192 total, 0 used by VMs, 1024 kept for the host), the VM needs 7169"}},
		{"no members", small, nil, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Place(tt.req, tt.hosts, p)
			rejected := c.Rejected
			if tt.want == "" {
				var nf *NoFitError
				if !errors.As(err, &nf) {
					t.Fatalf("Place = %+v, %v; want a NoFitError", c, err)
				}
				rejected = nf.Rejected
				if len(nf.Rejected) != len(tt.hosts) {
					t.Errorf("rejections %v: want one per host (%d)", nf.Rejected, len(tt.hosts))
				}
			} else {
				if err != nil || c.Host != tt.want {
					t.Fatalf("Place = %+v, %v; want %s", c, err, tt.want)
				}
				if !strings.Contains(c.Reason, tt.reason) {
					t.Errorf("reason %q: want it to say %q", c.Reason, tt.reason)
				}
			}
			for h, why := range tt.rejected {
				found := false
				for _, r := range rejected {
					if r.Host == h && strings.Contains(r.Reason, why) {
						found = true
					}
				}
				if !found {
					t.Errorf("rejections %+v: want %s rejected for %q", rejected, h, why)
				}
			}
		})
	}
}

func TestNoFitErrorListsEveryHost(t *testing.T) {
	_, err := Place(Request{VCPUs: 1, MemoryMiB: 1 << 20}, []Host{host("h2", 8192, 0), host("h1", 4096, 0)}, DefaultPolicy())
	msg := err.Error()
	i1, i2 := strings.Index(msg, "\n  h1: not enough memory"), strings.Index(msg, "\n  h2: not enough memory")
	if !strings.HasPrefix(msg, "no host can run the VM:") || i1 < 0 || i2 < i1 {
		t.Fatalf("error %q: want each host and why, sorted by name", msg)
	}
}

func TestFeasible(t *testing.T) {
	hosts := []Host{host("h1", 8192, 8000), func() Host { h := host("h2", 4096, 0); h.Alive = false; return h }()}
	if err := Feasible(Request{VCPUs: 1, MemoryMiB: 6000}, hosts, DefaultPolicy()); err != nil {
		t.Errorf("a VM that fits h1 once it is empty: %v", err)
	}
	err := Feasible(Request{VCPUs: 1, MemoryMiB: 64 << 10}, hosts, DefaultPolicy())
	if err == nil || !strings.Contains(err.Error(), "h1: not enough memory") || !strings.Contains(err.Error(), "h2: not enough memory") {
		t.Errorf("64 GiB on hosts of 8 and 4: %v", err)
	}
	if err := Feasible(Request{VCPUs: 16, MemoryMiB: 512}, hosts, DefaultPolicy()); err == nil || !strings.Contains(err.Error(), "not enough CPU") {
		t.Errorf("16 vCPUs on 4-thread hosts: %v", err)
	}
}
