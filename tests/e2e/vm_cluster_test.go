package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// vmCluster is three lab hosts, each with its own libvirtd and agent, in
// one cluster.
func vmCluster(t *testing.T) ([]*labAgent, []*lab.Libvirtd) {
	t.Helper()
	agents, lvs, _ := vmClusterWith(t)
	return agents, lvs
}

// vmClusterWith is vmCluster with extra configuration lines for every
// agent, and the lab network.
func vmClusterWith(t *testing.T, extra ...string) ([]*labAgent, []*lab.Libvirtd, *lab.Net) {
	t.Helper()
	ln := lab.NewNet(t, 3)
	agents, lvs := vmClusterOn(t, ln, extra...)
	return agents, lvs, ln
}

// vmClusterOn starts an agent and a libvirtd on every host of a lab network.
func vmClusterOn(t *testing.T, ln *lab.Net, extra ...string) ([]*labAgent, []*lab.Libvirtd) {
	t.Helper()
	key := keyFile(t)
	var agents []*labAgent
	var lvs []*lab.Libvirtd
	for i := range len(ln.Hosts()) {
		h := ln.Host(i)
		lv := h.StartLibvirtd(t)
		lvs = append(lvs, lv)
		agents = append(agents, startVMAgent(t, h, fmt.Sprintf("h%d", i+1), key, lv.Socket, "", extra...))
	}
	for _, a := range agents[1:] {
		if r := a.join(t, agents[0]); r.code != 0 {
			t.Fatalf("%s join: exit %d\n%s%s", a.name, r.code, r.stdout, r.stderr)
		}
	}
	for _, a := range agents {
		for _, b := range agents {
			a.waitStatus(t, b.name, "alive", 10*time.Second)
		}
	}
	return agents, lvs
}

func TestVMPlacementAcrossHosts(t *testing.T) {
	agents, lvs := vmCluster(t)
	h1, h3 := agents[0], agents[2]
	socket := map[string]string{"h1": lvs[0].Socket, "h2": lvs[1].Socket, "h3": lvs[2].Socket}

	// Three pending VMs, started from different members: the scheduler
	// spreads them, one per host (each start leaves its host with the least
	// free memory), and says why.
	placed := map[string]string{}
	for i, a := range agents {
		name := fmt.Sprintf("spread%d", i+1)
		a.ok(t, "vm", "create", name, "--memory", "64M")
		out := h3.ok(t, "vm", "start", name)
		var host, reason string
		if _, err := fmt.Sscanf(out, "placed "+name+" on %s", &host); err != nil {
			t.Fatalf("start %s: %q", name, out)
		}
		host = strings.TrimSuffix(host, ":")
		reason = strings.SplitN(out, ": ", 2)[1]
		t.Logf("%s -> %s: %s", name, host, strings.SplitN(reason, "\n", 2)[0])
		placed[name] = host
		if st := domState(t, socket[host], name); st != "running" {
			t.Errorf("%s's libvirtd says %s is %s", host, name, st)
		}
	}
	hosts := map[string]bool{}
	for _, h := range placed {
		hosts[h] = true
	}
	if len(hosts) != 3 {
		t.Errorf("placements %v: want one VM per host", placed)
	}

	// Any member lists every VM, with the host libvirt says it runs on.
	for _, a := range agents {
		vms := a.vms(t)
		for name, host := range placed {
			if v := vms[name]; v.Host != host || v.State != "running" {
				t.Errorf("%s lists %s as %+v, want running on %s", a.name, name, v, host)
			}
		}
	}

	// Commands reach the owning host from anywhere.
	target := "spread1"
	owner := placed[target]
	other := h1
	if owner == "h1" {
		other = h3
	}
	other.ok(t, "vm", "stop", target, "--force")
	if st := domState(t, socket[owner], target); st != "shut off" {
		t.Errorf("after vm stop from %s, %s's libvirtd says %s", other.name, owner, st)
	}
	other.ok(t, "vm", "start", target)

	// Too big for every host: each host and why.
	h1.refused(t, []string{"no host can run the VM", "h1: not enough memory", "h2: not enough memory", "h3: not enough memory"},
		"vm", "create", "huge", "--memory", "1T")
	// --host must be a member.
	h1.refused(t, []string{`host "h9" is not an alive member`}, "vm", "create", "x", "--memory", "64M", "--host", "h9")

	// libvirtd restarts under running VMs: the agent reconnects by itself,
	// resynchronises, and the VMs keep running untouched.
	name := vmOn(t, placed, "h2")
	before, _ := lvs[1].Virsh("domid", name)
	if err := lvs[1].Restart(); err != nil {
		t.Fatal(err)
	}
	if after, _ := lvs[1].Virsh("domid", name); after != before || domState(t, socket["h2"], name) != "running" {
		t.Errorf("%s after libvirtd's restart: id %q -> %q, %s", name, before, after, domState(t, socket["h2"], name))
	}
	waitFor(t, "h2's agent to act on libvirt again", 20*time.Second, func() bool {
		return h1.cli(t, "vm", "stop", name, "--force").code == 0
	})
	if st := domState(t, socket["h2"], name); st != "shut off" {
		t.Errorf("after the reconnect, vm stop left %s %s", name, st)
	}
	if log := agents[1].proc.Log(); !strings.Contains(log, "libvirt") || !strings.Contains(log, "reconnect") {
		t.Logf("h2's agent log says nothing of the reconnect:\n%s", tail(log, 20))
	}

	// libvirtd down: a clear error naming it, and nothing else changes.
	if err := lvs[1].Stop(); err != nil {
		t.Fatal(err)
	}
	h1.refused(t, []string{"h2", "libvirt"}, "vm", "start", name)
	if err := lvs[1].Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "h2's agent back on libvirt", 20*time.Second, func() bool {
		return h1.cli(t, "vm", "start", name).code == 0
	})

	// A host that died: its VMs are reported missing, not silently absent.
	onH3 := vmOn(t, placed, "h3")
	if err := agents[2].proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h1.waitStatus(t, "h3", "failed", 15*time.Second)
	r := h1.cli(t, "vm", "show", onH3)
	if r.code == 0 || !strings.Contains(r.stderr, "h3 (failed)") {
		t.Errorf("vm show of a VM on a failed host: exit %d %q", r.code, r.stderr)
	}
	if r := h1.cli(t, "vm", "list"); r.code != 0 || !strings.Contains(r.stderr, "h3 (failed)") {
		t.Errorf("vm list with a failed host: exit %d, stderr %q", r.code, r.stderr)
	}
}

// vmOn is the VM placed on host.
func vmOn(t *testing.T, placed map[string]string, host string) string {
	t.Helper()
	for name, h := range placed {
		if h == host {
			return name
		}
	}
	t.Fatalf("no VM on %s: %v", host, placed)
	return ""
}
