package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// The VM the removal test leaves running: TCG, no graphics, one raw disk
// whose first sector is zero, so the guest finds nothing to boot and never
// writes to it.
const vmXML = `<domain type='qemu'>
  <name>lab-vm</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/lab-vm.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
`

// installedModes are the modes of what the .deb installs, as stat -c '%A %U:%G' prints them.
var installedModes = map[string]string{
	"/usr/bin/vmnode": "-rwxr-xr-x root:root",
	"/usr/lib/systemd/system/vmnode-agent.service": "-rw-r--r-- root:root",
	"/etc/vmnode":                                      "drwxr-xr-x root:root",
	"/etc/vmnode/vmnode.yaml":                          "-rw-r--r-- root:root",
	"/etc/vmnode/profiles.d":                           "drwxr-xr-x root:root",
	"/usr/share/man/man1/vmnode-agent.1.gz":            "-rw-r--r-- root:root",
	"/usr/share/bash-completion/completions/vmnode":    "-rw-r--r-- root:root",
	"/usr/share/zsh/vendor-completions/_vmnode":        "-rw-r--r-- root:root",
	"/usr/share/fish/vendor_completions.d/vmnode.fish": "-rw-r--r-- root:root",
}

// leftovers are what vmnode, its agent and its scripts may create; none
// may remain after a purge.
var leftovers = []string{
	"/usr/bin/vmnode",
	"/usr/lib/systemd/system/vmnode-agent.service",
	"/etc/vmnode",
	"/var/lib/vmnode",
	"/run/vmnode",
	"/etc/systemd/system/multi-user.target.wants/vmnode-agent.service",
	"/etc/systemd/system/vmnode-agent.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/vmnode-agent.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/vmnode-agent.service",
	"/var/lib/systemd/deb-systemd-helper-masked/vmnode-agent.service",
}

// TestDebUnderSystemd installs the .deb with its dependencies (libvirt,
// QEMU, ...) in a booted Debian 12 container and follows it through its
// life: files, modes and the enabled but stopped unit; the agent
// configured and started (READY, STATUS=, watchdog pings, reload); an
// upgrade over the edited configuration (kept, the new default saved beside
// it, the agent restarted); removal while a VM runs (the agent stops, the
// VM and its disk are untouched); purge (nothing left).
func TestDebUnderSystemd(t *testing.T) {
	t.Parallel()
	a, b := packages(t)
	root := lab.Rootfs(t)
	deps := debCache(t, root, "vmnode-deps", a.Deb)
	man := debCache(t, root, "man-db", "man-db")
	stage(t, root, "", a.Deb, b.Deb)
	stageDebs(t, root, "deps", deps)
	stageDebs(t, root, "man", man)
	if err := os.WriteFile(filepath.Join(root, stageDir, "vm.xml"), []byte(vmXML), 0o644); err != nil {
		t.Fatal(err)
	}
	x := box{t, lab.Boot(t, root)}

	start := time.Now()
	x.sh(apt + "./" + filepath.Base(a.Deb) + " ./deps/*.deb")
	ndeps, _ := filepath.Glob(filepath.Join(deps, "*.deb"))
	t.Logf("installed vmnode %s with %d dependencies in %s", a.Version, len(ndeps), time.Since(start).Round(time.Millisecond))

	t.Run("installed", func(t *testing.T) {
		x := box{t, x.c}
		if got := x.sh("dpkg-query -W -f='${Status} ${Version}' vmnode"); got != "install ok installed "+a.Version {
			t.Errorf("dpkg-query: %q", got)
		}
		for path, want := range installedModes {
			if got := strings.TrimSpace(x.sh("stat -c '%A %U:%G' " + path)); got != want {
				t.Errorf("%s: %s, want %s", path, got, want)
			}
		}
		if got := strings.TrimSpace(x.sh("systemctl is-enabled " + unit)); got != "enabled" {
			t.Errorf("after install the agent is %s, want enabled", got)
		}
		if got := x.show("ActiveState"); got != "inactive" {
			t.Errorf("after install the agent is %s, want inactive: it starts once configured (vmnode join)", got)
		}
		if got := x.sh("vmnode version"); !strings.HasPrefix(got, "vmnode "+a.Version+" ") {
			t.Errorf("vmnode version: %q", got)
		}
		if got := x.sh("vmnode profiles list"); !strings.Contains(got, "vmnode ") || !strings.Contains(got, "built-in") {
			t.Errorf("vmnode profiles list: the built-in profiles are missing:\n%s", got)
		}
		// The shipped configuration, all comments, loads: exit 0 or 1 (checks), not 2 (config error).
		out, err := x.try("vmnode preflight --offline -o json >/dev/null")
		if err != nil && strings.Contains(err.Error(), "exit status 2") {
			t.Errorf("vmnode preflight with the shipped /etc/vmnode/vmnode.yaml: %v\n%s", err, out)
		}
		// man-db, so that verify checks the pages Documentation= names.
		x.sh(apt + "./man/*.deb")
		if out := x.sh("systemd-analyze verify " + unit); strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify %s:\n%s", unit, out)
		}
	})

	t.Run("the sandbox lets it manage nftables and libvirt", func(t *testing.T) {
		// A oneshot unit with the agent's [Service] hardening runs nft and
		// virsh: what the agent does through netlink and libvirt's socket.
		x := box{t, x.c}
		x.sh(`sed -e 's/^Type=notify/Type=oneshot/' -e '/^NotifyAccess=/d' -e '/^WatchdogSec=/d' \
  -e '/^ExecReload=/d' -e '/^Restart=/d' -e '/^RestartSec=/d' \
  -e 's|^ExecStart=.*|ExecStart=/bin/sh -c "nft add table inet sandbox_probe \&\& nft delete table inet sandbox_probe \&\& virsh -c qemu:///system version"|' \
  /usr/lib/systemd/system/vmnode-agent.service >/run/systemd/system/sandbox-probe.service &&
systemctl daemon-reload`)
		defer x.try("rm -f /run/systemd/system/sandbox-probe.service && systemctl daemon-reload")
		if out, err := x.try("systemctl start sandbox-probe.service"); err != nil {
			out2, _ := x.try("journalctl --no-pager -u sandbox-probe.service")
			t.Errorf("nft and virsh under the agent's hardening: %v\n%s\n%s", err, out, out2)
		}
	})

	t.Run("reinstall keeps a stopped agent stopped", func(t *testing.T) {
		x := box{t, x.c}
		x.sh(apt + "--reinstall ./" + filepath.Base(a.Deb))
		if got := x.show("ActiveState"); got != "inactive" {
			t.Errorf("after a reinstall the agent is %s, want inactive", got)
		}
		if got := strings.TrimSpace(x.sh("systemctl is-enabled " + unit)); got != "enabled" {
			t.Errorf("after a reinstall the agent is %s, want enabled", got)
		}
	})

	agent := x.hasAgent()
	t.Run("configure and start", func(t *testing.T) {
		x := box{t, x.c}
		if !agent {
			x.editConfig()
			t.Skip("this vmnode has no agent command yet")
		}
		x.configureAgent()
		wall, ready := x.startAgent()
		t.Logf("systemctl start: %s; exec to READY=1: %s", wall.Round(time.Millisecond), ready.Round(time.Millisecond))
		if got := strings.TrimSpace(x.sh("systemctl is-active " + unit)); got != "active" {
			t.Fatalf("systemctl is-active: %s\n%s", got, x.journal())
		}
		if got := x.show("StatusText"); got == "" {
			t.Errorf("no STATUS= from the agent")
		} else {
			t.Logf("status: %s", got)
		}
		if _, err := x.try("test -S /run/vmnode/agent.sock"); err != nil {
			t.Errorf("no control socket: %v", err)
		}

		pid := x.show("MainPID")
		if out, err := x.try("systemctl reload " + unit); err != nil {
			t.Errorf("systemctl reload: %v\n%s\n%s", err, out, x.journal())
		}
		if got := x.show("MainPID"); got != pid || x.show("ActiveState") != "active" {
			t.Errorf("after a reload: MainPID %s (was %s), %s", got, pid, x.show("ActiveState"))
		}

		// Watchdog pings get through the sandbox: with WatchdogSec=2s the
		// agent pings every second, and systemd records each one.
		x.sh(`mkdir -p /run/systemd/system/vmnode-agent.service.d &&
printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/vmnode-agent.service.d/watchdog.conf &&
systemctl daemon-reload && systemctl restart ` + unit)
		first := x.show("WatchdogTimestampMonotonic")
		waitFor(t, "a watchdog ping", 5*time.Second, func() bool { return x.show("WatchdogTimestampMonotonic") != first })
		x.sh("rm -r /run/systemd/system/vmnode-agent.service.d && systemctl daemon-reload && systemctl restart " + unit)
		if got := x.show("NRestarts"); got != "0" {
			t.Errorf("the agent was restarted %s times by systemd (watchdog or failure)\n%s", got, x.journal())
		}
	})

	t.Run("upgrade over an edited config", func(t *testing.T) {
		x := box{t, x.c}
		before := x.show("MainPID")
		x.sh(apt + "./" + filepath.Base(b.Deb))
		if got := x.sh("vmnode version"); !strings.HasPrefix(got, "vmnode "+b.Version+" ") {
			t.Errorf("after the upgrade, vmnode version: %q", got)
		}
		if _, err := x.try("grep -q '^  address: 127.0.0.1' /etc/vmnode/vmnode.yaml"); err != nil {
			t.Errorf("the edited /etc/vmnode/vmnode.yaml was not kept:\n%s", x.sh("cat /etc/vmnode/vmnode.yaml"))
		}
		if _, err := x.try("grep -q '" + b.Version + ": a changed default' /etc/vmnode/vmnode.yaml.dpkg-dist"); err != nil {
			t.Errorf("the new default is not beside it as vmnode.yaml.dpkg-dist: %v\n%s", err, x.sh("ls -la /etc/vmnode"))
		}
		if got := strings.TrimSpace(x.sh("systemctl is-enabled " + unit)); got != "enabled" {
			t.Errorf("after the upgrade the agent is %s, want enabled", got)
		}
		if !agent {
			if got := x.show("ActiveState"); got != "inactive" {
				t.Errorf("the upgrade started a stopped agent: %s", got)
			}
			return
		}
		waitFor(t, "the agent restarted", 30*time.Second, func() bool {
			return x.show("ActiveState") == "active" && x.show("MainPID") != before
		})
		t.Logf("agent restarted by the upgrade: pid %s -> %s", before, x.show("MainPID"))
	})

	t.Run("remove while a VM runs", func(t *testing.T) {
		x := box{t, x.c}
		// Without udev and a writable cgroup tree, libvirt in a container
		// must not try to make cgroups for the VM.
		x.sh(`printf 'cgroup_controllers = [ ]\n' >>/etc/libvirt/qemu.conf && systemctl restart libvirtd &&
img=/var/lib/libvirt/images/lab-vm.img &&
dd if=/dev/urandom of=$img bs=1M count=8 status=none && dd if=/dev/zero of=$img bs=512 count=1 conv=notrunc status=none &&
virsh -q -c qemu:///system define vm.xml && virsh -q -c qemu:///system start lab-vm`)
		t.Cleanup(func() { x.try("virsh -q -c qemu:///system destroy lab-vm; virsh -q -c qemu:///system undefine lab-vm") })
		vm := func() (state, pid, sum string) {
			state = strings.TrimSpace(x.sh("virsh -c qemu:///system domstate lab-vm"))
			pid = strings.TrimSpace(x.sh("cat /run/libvirt/qemu/lab-vm.pid"))
			sum = x.sh("sha256sum /var/lib/libvirt/images/lab-vm.img")
			return
		}
		state, pid, sum := vm()
		if state != "running" {
			t.Fatalf("the VM is %s", state)
		}

		out := x.sh("dpkg -r vmnode")
		if got := x.show("ActiveState"); got != "inactive" {
			t.Errorf("after dpkg -r the agent is %s, want inactive\n%s", got, out)
		}
		if out, err := x.try("test ! -e /etc/systemd/system/multi-user.target.wants/" + unit + " && test ! -L /etc/systemd/system/multi-user.target.wants/" + unit); err != nil {
			t.Errorf("after dpkg -r the agent is still enabled: %v %s", err, out)
		}
		if _, err := x.try("test -f /etc/vmnode/vmnode.yaml"); err != nil {
			t.Errorf("dpkg -r removed the configuration; only a purge should")
		}
		if s, p, h := vm(); s != state || p != pid || h != sum {
			t.Errorf("removing vmnode touched the VM: state %s pid %s disk %s, was %s %s %s", s, p, h, state, pid, sum)
		}

		x.sh("dpkg --purge vmnode")
		if s, p, h := vm(); s != state || p != pid || h != sum {
			t.Errorf("purging vmnode touched the VM: state %s pid %s disk %s, was %s %s %s", s, p, h, state, pid, sum)
		}
	})

	t.Run("purged", func(t *testing.T) {
		x := box{t, x.c}
		if out, err := x.try("dpkg-query -W -f='${Status}' vmnode"); err == nil && !strings.Contains(out, "not-installed") {
			t.Errorf("dpkg still knows vmnode: %s", out)
		}
		for _, p := range leftovers {
			if _, err := x.try("test ! -e " + p + " && test ! -L " + p); err != nil {
				t.Errorf("left after purge: %s", p)
			}
		}
		// /var/cache/man is man-db's cache of the pages systemd-analyze
		// verify had man format; man-db expires it, not vmnode.
		if out := x.sh("find / -xdev \\( -path " + stageDir + " -o -path /var/cache/man \\) -prune -o -name '*vmnode*' -print"); strings.TrimSpace(out) != "" {
			t.Errorf("left after purge:\n%s", out)
		}
		if out, _ := x.try("systemctl list-unit-files --no-legend " + unit); strings.TrimSpace(out) != "" {
			t.Errorf("systemd still has the unit: %s", out)
		}
	})
}

// editConfig edits the configuration as an operator would, without
// needing the agent.
func (b box) editConfig() {
	b.t.Helper()
	b.sh(`printf '\n# Local settings (tests/packaging).\nnode:\n  address: 127.0.0.1\n' >>/etc/vmnode/vmnode.yaml`)
}

// TestDebWithoutSystemd installs, upgrades and purges the .deb (with its
// dependencies) in a root where systemd is not running, as an image build
// or a container would: nothing fails, nothing is enabled or started, and
// the purge leaves nothing.
func TestDebWithoutSystemd(t *testing.T) {
	t.Parallel()
	a, b := packages(t)
	root := lab.Rootfs(t)
	deps := debCache(t, root, "vmnode-deps", a.Deb)
	stage(t, root, "", a.Deb, b.Deb)
	stageDebs(t, root, "deps", deps)

	start := time.Now()
	script := apt + "./" + filepath.Base(a.Deb) + " ./deps/*.deb && " + apt + "./" + filepath.Base(b.Deb) + " && vmnode version"
	out, err := nspawn(t, root, "sh", "-c", script)
	if err != nil {
		t.Fatalf("install without systemd: %v\n%s", err, tail(out, 40))
	}
	t.Logf("installed and upgraded without systemd in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(out, "vmnode "+b.Version+" ") {
		t.Errorf("vmnode version after the upgrade:\n%s", tail(out, 5))
	}
	for _, p := range []string{"etc/systemd/system/multi-user.target.wants/" + unit, "var/lib/systemd/deb-systemd-helper-enabled/" + unit + ".dsh-also"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("/%s exists: without systemd the scripts change nothing", p)
		}
	}

	if out, err := nspawn(t, root, "dpkg", "--purge", "vmnode"); err != nil {
		t.Fatalf("purge without systemd: %v\n%s", err, out)
	}
	for _, p := range leftovers {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("left after purge: %s", p)
		}
	}
}
