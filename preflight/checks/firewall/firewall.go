package firewall

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// Checks returns the firewall checks for p. It does no I/O.
func Checks(p *profiles.Profile) []preflight.Check {
	return []preflight.Check{checkNftables(p), checkPorts(p)}
}

func checkNftables(p *profiles.Profile) preflight.Check {
	want := p.Firewall.NftablesEnabled
	return preflight.Func{
		CheckID:    "firewall.nftables-enabled",
		CheckTitle: "nftables enabled for autostart",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			if !want {
				return preflight.Skipf("the profile does not require nftables enabled")
			}
			enabled, which, err := h.UnitEnabled("nftables.service")
			if err != nil {
				return preflight.Errorf("cannot tell whether nftables is enabled: %v", err)
			}
			return judgeNftables(h.UnitInstalled("nftables.service"), enabled, !enabled && which != "", h.Exists("/var/lib/dpkg/status"))
		},
	}
}

func judgeNftables(installed, enabled, masked, debian bool) preflight.Result {
	const expected = "nftables.service installed and enabled"
	install := "dnf install -y nftables"
	if debian {
		install = "apt-get install -y nftables"
	}
	switch {
	case !installed:
		return preflight.Failf("nftables is not installed (no nftables.service unit)").
			Saw("not installed", expected).Remedy("%s && systemctl enable nftables", install).FixedBy("services")
	case masked:
		return preflight.Failf("nftables.service is masked").
			Saw("masked", expected).Remedy("systemctl unmask nftables && systemctl enable nftables").FixedBy("services")
	case !enabled:
		return preflight.Failf("nftables.service is not enabled for autostart").
			Saw("installed, disabled", expected).Remedy("systemctl enable nftables").FixedBy("services")
	}
	return preflight.Passf("nftables.service is enabled").Saw("enabled", expected)
}

// Holder is a process holding a socket.
type Holder struct {
	PID  int
	Comm string // /proc/PID/comm, at most 15 characters
	Unit string // the systemd unit from /proc/PID/cgroup, when there is one
}

func (h Holder) String() string {
	if h.PID == 0 {
		return h.Comm
	}
	return fmt.Sprintf("%s (pid %d)", h.Comm, h.PID)
}

// Use is a required port found bound, and who holds it.
type Use struct {
	Port    profiles.Port
	Socket  host.Socket
	Proto   string
	Holders []Holder // empty: no process found (another namespace, exited)
}

func (u Use) where() string {
	return fmt.Sprintf("%s %d/%s", u.Socket.Local.Addr(), u.Socket.Local.Port(), u.Proto)
}

// required lists the sockets that occupy a required port: TCP listeners
// and unconnected UDP sockets (connected UDP sockets are clients).
func required(ports []profiles.Port, socks []host.Socket) []Use {
	var out []Use
	for _, s := range socks {
		if s.Proto == "tcp" && s.State != host.SocketListen {
			continue
		}
		if s.Proto == "udp" && s.Remote.Port() != 0 {
			continue
		}
		for _, p := range ports {
			if p.Proto == s.Proto && p.Port.Contains(s.Local.Port()) {
				out = append(out, Use{Port: p, Socket: s, Proto: p.Proto})
				break
			}
		}
	}
	return out
}

// judgePorts decides firewall.ports from the uses found, holders resolved.
func judgePorts(ports []profiles.Port, uses []Use) preflight.Result {
	var want []string
	for _, p := range ports {
		w := p.String()
		if len(p.Service) > 0 {
			w += " (free or " + strings.Join(p.Service, "/") + ")"
		}
		want = append(want, w)
	}
	expected := "free or held by their service: " + strings.Join(want, ", ")
	var bad, ok, kernel, remedies []string
	for _, u := range uses {
		if u.Socket.Inode == 0 {
			kernel = append(kernel, u.where()+" held by the kernel (a socket with no process, e.g. a VXLAN device)")
			continue
		}
		if len(u.Holders) == 0 {
			bad = append(bad, fmt.Sprintf("%s held by an unknown process (socket inode %d)", u.where(), u.Socket.Inode))
			remedies = append(remedies, fmt.Sprintf("ss -lnp 'sport = :%d'", u.Socket.Local.Port()))
			continue
		}
		var names []string
		allowed := true
		for _, h := range u.Holders {
			names = append(names, h.String())
			if !slices.Contains(u.Port.Service, h.Comm) {
				allowed = false
			}
		}
		msg := u.where() + " held by " + strings.Join(names, ", ")
		if allowed {
			ok = append(ok, msg)
			continue
		}
		bad = append(bad, msg)
		for _, h := range u.Holders {
			r := fmt.Sprintf("stop %s or move it off port %d", h, u.Socket.Local.Port())
			if h.Unit != "" {
				r = fmt.Sprintf("systemctl disable --now %s (holds %d/%s)", h.Unit, u.Socket.Local.Port(), u.Proto)
			}
			if !slices.Contains(remedies, r) {
				remedies = append(remedies, r)
			}
		}
	}
	slices.Sort(bad)
	bad = slices.Compact(bad)
	observed := strings.Join(append(append(slices.Clone(bad), kernel...), ok...), "\n")
	if observed == "" {
		observed = "all free"
	}
	switch {
	case len(bad) > 0:
		return preflight.Failf("required ports held by other processes: %s", strings.Join(bad, "; ")).
			Saw(observed, expected).Remedy("%s", strings.Join(remedies, "; "))
	case len(kernel) > 0:
		return preflight.Warnf("required ports held by kernel sockets: %s", strings.Join(kernel, "; ")).
			Saw(observed, expected).Remedy("check the VXLAN/tunnel devices: ip -d link show type vxlan; ss -lnup")
	case len(ok) > 0:
		return preflight.Passf("%d required ports free; held by their own service: %s", len(ports), strings.Join(ok, "; ")).Saw(observed, expected)
	}
	return preflight.Passf("all %d required ports are free", len(ports)).Saw(observed, expected)
}

// holders maps socket inodes to the processes holding them, scanning
// /proc/[pid]/fd. Processes that vanish or deny access are skipped.
func holders(h *host.Host, inodes map[uint64]bool) (map[uint64][]Holder, error) {
	out := map[uint64][]Holder{}
	fds, err := h.Glob("/proc/[0-9]*/fd/*")
	if err != nil {
		return nil, err
	}
	procs := map[int]Holder{}
	for _, fd := range fds {
		t, err := h.ReadLink(fd)
		if err != nil {
			continue
		}
		num, ok := strings.CutPrefix(t, "socket:[")
		if !ok {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(num, "]"), 10, 64)
		if err != nil || !inodes[ino] {
			continue
		}
		pidDir := path.Dir(path.Dir(fd))
		pid, _ := strconv.Atoi(path.Base(pidDir))
		hd, seen := procs[pid]
		if !seen {
			hd = Holder{PID: pid, Comm: "pid " + strconv.Itoa(pid)}
			if c, err := h.ReadFile(pidDir + "/comm"); err == nil {
				hd.Comm = strings.TrimSpace(string(c))
			}
			if c, err := h.ReadFile(pidDir + "/cgroup"); err == nil {
				hd.Unit = unitOf(string(c))
			}
			procs[pid] = hd
		}
		if !slices.Contains(out[ino], hd) {
			out[ino] = append(out[ino], hd)
		}
	}
	return out, nil
}

// unitOf finds the systemd service in a /proc/PID/cgroup file
// ("0::/system.slice/nginx.service").
func unitOf(cgroup string) string {
	for _, line := range strings.Split(cgroup, "\n") {
		for _, part := range strings.Split(line, "/") {
			if strings.HasSuffix(part, ".service") {
				return part
			}
		}
	}
	return ""
}

func checkPorts(p *profiles.Profile) preflight.Check {
	ports := slices.Clone(p.Firewall.Ports)
	return preflight.Func{
		CheckID:    "firewall.ports",
		CheckTitle: "Required ports free",
		Fn: func(_ context.Context, h *host.Host) preflight.Result {
			if len(ports) == 0 {
				return preflight.Skipf("the profile requires no ports")
			}
			if !h.Live {
				return preflight.Skipf("ports in use need the live kernel (not available under --root)")
			}
			socks, err := h.Kernel.Sockets()
			if err != nil {
				return preflight.Errorf("cannot list sockets: %v", err)
			}
			uses := required(ports, socks)
			inodes := map[uint64]bool{}
			for _, u := range uses {
				if u.Socket.Inode != 0 {
					inodes[u.Socket.Inode] = true
				}
			}
			if len(inodes) > 0 {
				hs, err := holders(h, inodes)
				if err != nil {
					return preflight.Errorf("cannot map sockets to processes: %v", err)
				}
				for i := range uses {
					uses[i].Holders = hs[uses[i].Socket.Inode]
				}
			}
			return judgePorts(ports, uses)
		},
	}
}
