package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

// These tests run VMs for real: agents in lab hosts drive libvirtd and QEMU
// (TCG, 64 MiB, mostly diskless guests). The one-host test uses the
// machine's libvirtd (tests/libvirtd.sh, started by make test); the cluster
// test gives every lab host its own libvirtd.

const machineLibvirt = "/run/libvirt/libvirt-sock"

// startVMAgent starts an agent whose VMs live in the libvirtd behind socket.
// startVMAgent starts an agent on a lab host with its libvirtd; extra are
// more configuration lines, in which {name} is the agent's name.
func startVMAgent(t *testing.T, h *lab.Host, name, key, socket, vncListen string, extra ...string) *labAgent {
	t.Helper()
	dir := t.TempDir()
	// QEMU runs as libvirt's user: it must reach the disks under dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	profile, err := filepath.Abs(filepath.Join("testdata", "profiles", "vmlab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`node: {name: %s}
preflight: {offline: true, profile: %s}
agent: {bind: "%s:7946", data_dir: %s/data, key_file: %s, socket: %s/agent.sock, gossip: fast, health_interval: 2s}
vm: {libvirt_socket: %s, domain_type: qemu, vnc_listen: "%s", migrate_uri: "qemu+tcp://{address}/system"}
%s`, name, profile, h.Addr, dir, key, dir, socket, vncListen, strings.ReplaceAll(strings.Join(extra, "\n"), "{name}", name))
	p := filepath.Join(dir, "vmnode.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &labAgent{name: name, host: h, dir: dir, config: p}
	a.proc = h.Start(t, vmnodeBin, "agent", "--config", p)
	waitFor(t, name+" connected to libvirt", 20*time.Second, func() bool {
		return !a.proc.Alive() || strings.Contains(a.proc.Log(), "connected to libvirt")
	})
	if !a.proc.Alive() {
		t.Fatalf("agent %s exited:\n%s", name, a.proc.Log())
	}
	return a
}

// ok runs the CLI and fails the test unless it exits 0.
func (a *labAgent) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := a.cli(t, args...)
	if r.code != 0 {
		t.Fatalf("%s: vmnode %s: exit %d\n%s%s\nagent log:\n%s", a.name, strings.Join(args, " "), r.code, r.stdout, r.stderr, tail(a.proc.Log(), 30))
	}
	return r.stdout
}

// refused runs the CLI, wants exit code 1 or 2 and every want in stderr.
func (a *labAgent) refused(t *testing.T, want []string, args ...string) {
	t.Helper()
	r := a.cli(t, args...)
	if r.code == 0 {
		t.Fatalf("vmnode %s: exit 0, want a refusal\n%s", strings.Join(args, " "), r.stdout)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("vmnode %s: exit %d, stderr %q: want it to say %q", strings.Join(args, " "), r.code, r.stderr, w)
		}
	}
}

func (a *labAgent) vms(t *testing.T) map[string]api.VM {
	t.Helper()
	var vms []api.VM
	if err := json.Unmarshal([]byte(a.ok(t, "vm", "list", "-o", "json")), &vms); err != nil {
		t.Fatal(err)
	}
	out := map[string]api.VM{}
	for _, v := range vms {
		out[v.Name] = v
	}
	return out
}

func (a *labAgent) show(t *testing.T, name string) api.VM {
	t.Helper()
	var v api.VM
	if err := json.Unmarshal([]byte(a.ok(t, "vm", "show", name, "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// virsh asks a libvirtd directly: the test's own view, not vmnode's.
func virsh(socket string, args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-q", "-c", "qemu:///system?socket=" + socket}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func domState(t *testing.T, socket, name string) string {
	t.Helper()
	out, err := virsh(socket, "domstate", name)
	if err != nil {
		return "absent"
	}
	return out
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// cleanupDomain removes a test domain from the machine's libvirtd whatever
// the test left.
func cleanupDomain(t *testing.T, socket, name string) {
	t.Cleanup(func() {
		_, _ = virsh(socket, "destroy", name)
		_, _ = virsh(socket, "undefine", name)
	})
}

func TestVMLifecycleOneHost(t *testing.T) {
	ln := lab.NewNet(t, 1)
	a := startVMAgent(t, ln.Host(0), "h1", keyFile(t), machineLibvirt, "127.0.0.1")
	name := uniqueName("e2e-tiny")
	cleanupDomain(t, machineLibvirt, name)

	// Created without --host: pending, nothing in libvirt yet.
	if out := a.ok(t, "vm", "create", name, "--memory", "64M"); !strings.Contains(out, "pending") {
		t.Errorf("create: %q: want it to say the VM is pending", out)
	}
	if v := a.vms(t)[name]; v.State != "pending" || v.Host != "" || v.HeldBy != "h1" || v.MemoryMiB != 64 {
		t.Errorf("list after create: %+v", v)
	}
	if st := domState(t, machineLibvirt, name); st != "absent" {
		t.Errorf("a pending VM is already in libvirt: %s", st)
	}

	// First start places it, and says why.
	out := a.ok(t, "vm", "start", name)
	if !strings.Contains(out, "placed "+name+" on h1: the only host that fits") || !strings.Contains(out, "running on h1") {
		t.Errorf("start: %q", out)
	}
	if st := domState(t, machineLibvirt, name); st != "running" {
		t.Fatalf("libvirt says %s after vm start", st)
	}
	v := a.show(t, name)
	if v.Host != "h1" || v.State != "running" || v.HA.Enabled || !v.Migratable || v.HA.Epoch != 1 {
		t.Errorf("show: %+v", v)
	}

	// The console is a VNC server in 5900-6900 that speaks RFB.
	out = a.ok(t, "vm", "console", name)
	addr, found := strings.CutPrefix(strings.SplitN(out, "\n", 2)[0], "vnc://")
	if !found || !strings.Contains(out, "password: ") {
		t.Fatalf("console: %q", out)
	}
	_, port, _ := net.SplitHostPort(addr)
	if p, _ := strconv.Atoi(port); p < 5900 || p > 6900 {
		t.Errorf("console port %s: want 5900-6900", port)
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial console %s: %v", addr, err)
	}
	hello, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(hello, "RFB ") {
		t.Errorf("console %s greets %q: want RFB", addr, hello)
	}

	// A diskless guest ignores ACPI: shutdown times out, --force pulls the plug.
	a.refused(t, []string{"still running", "--force"}, "vm", "shutdown", name, "--timeout", "1s")
	if out := a.ok(t, "vm", "shutdown", name, "--timeout", "1s", "--force"); !strings.Contains(out, "stopped by force") {
		t.Errorf("shutdown --force: %q", out)
	}
	if st := domState(t, machineLibvirt, name); st != "shut off" {
		t.Errorf("libvirt says %s after a forced shutdown", st)
	}
	a.refused(t, []string{"--force"}, "vm", "stop", name)

	// A VM that dies without being asked is reported: libvirt's event, no polling.
	a.ok(t, "vm", "start", name)
	pid, err := os.ReadFile("/run/libvirt/qemu/" + name + ".pid")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the death to be reported", 10*time.Second, func() bool {
		e := a.show(t, name).LastEvent
		return e != nil && e.Unexpected
	})
	if !strings.Contains(a.proc.Log(), "VM died unexpectedly") {
		t.Errorf("agent log does not report the death")
	}
	a.refused(t, []string{"no VM named"}, "vm", "start", "nonexistent-vm")

	a.ok(t, "vm", "delete", name)
	if st := domState(t, machineLibvirt, name); st != "absent" {
		t.Errorf("libvirt still has %s after delete: %s", name, st)
	}
	if _, ok := a.vms(t)[name]; ok {
		t.Errorf("vm list still shows %s", name)
	}
}

func TestVMFromImageWithCloudInit(t *testing.T) {
	// Its own libvirtd, so that the NIC's bridge lives in the lab host.
	ln := lab.NewNet(t, 1)
	h := ln.Host(0)
	lv := h.StartLibvirtd(t)
	if out, err := h.Command(t.Context(), "ip", "link", "add", "br0", "type", "bridge").CombinedOutput(); err != nil {
		t.Fatalf("bridge: %v %s", err, out)
	}
	a := startVMAgent(t, h, "h1", keyFile(t), lv.Socket, "")
	name := uniqueName("e2e-img")
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", base, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}

	// Import: a wrong checksum keeps nothing; the right one imports.
	a.refused(t, []string{"checksum mismatch", "SHA-256"}, "image", "import", base, "tiny", "--sha256", strings.Repeat("0", 64))
	out := a.ok(t, "image", "import", base, "tiny")
	if !strings.Contains(out, "image tiny imported: qcow2") {
		t.Errorf("import: %q", out)
	}
	var images []api.Image
	if err := json.Unmarshal([]byte(a.ok(t, "image", "list", "-o", "json")), &images); err != nil || len(images) != 1 || images[0].Name != "tiny" || len(images[0].SHA256) != 64 || images[0].Hosts[0] != "h1" {
		t.Errorf("image list: %+v %v", images, err)
	}
	garbage := filepath.Join(dir, "garbage.qcow2")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not an image ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	a.refused(t, []string{"garbage"}, "image", "import", garbage, "garbage")
	a.refused(t, []string{"already"}, "image", "import", base, "tiny")

	keyLine := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNj7m0wWGQ0Tn8a8Jv7n1S4Kf9J2k3L4m5N6o7P8q9R e2e@vmnode"
	out = a.ok(t, "vm", "create", name, "--image", "tiny", "--disk", "1G", "--memory", "64M", "--host", "h1",
		"--nic", "e1000,bridge=br0", "--cloud-init", "hostname="+name, "--cloud-init", "ssh-key="+keyLine)
	if !strings.Contains(out, "created on h1, shutoff") {
		t.Errorf("create --host: %q", out)
	}
	v := a.show(t, name)
	if len(v.Disks) != 1 || v.Image != "tiny" || len(v.NICs) != 1 || v.NICs[0].Model != "e1000" {
		t.Fatalf("show: %+v", v)
	}
	info, err := exec.Command("qemu-img", "info", "-U", "--output=json", v.Disks[0]).Output()
	if err != nil || !strings.Contains(string(info), `"backing-filename"`) || !strings.Contains(string(info), `"virtual-size": 1073741824`) {
		t.Errorf("overlay %s: %v\n%s", v.Disks[0], err, info)
	}
	xml, _ := virsh(lv.Socket, "dumpxml", name)
	for _, want := range []string{"<source file='" + v.Disks[0] + "'", "seed.iso", "device='cdrom'", "<model type='e1000'/>", "<source bridge='br0'/>", "https://vmnode.dev/xmlns/vm/1"} {
		if !strings.Contains(xml, want) {
			t.Errorf("domain XML lacks %q", want)
		}
	}
	// QEMU opens the overlay and the seed.
	a.ok(t, "vm", "start", name)
	if st := domState(t, lv.Socket, name); st != "running" {
		t.Errorf("libvirt says %s after starting the VM from its image", st)
	}
	a.ok(t, "vm", "stop", name, "--force")
	// Names collide cluster-wide.
	a.refused(t, []string{"already exists", "on h1"}, "vm", "create", name, "--memory", "64M")

	// Delete removes the domain, the overlay and the seed; the image stays.
	a.ok(t, "vm", "delete", name)
	if _, err := os.Stat(filepath.Dir(v.Disks[0])); !os.IsNotExist(err) {
		t.Errorf("the VM's disk directory survived delete: %v", err)
	}
	if st := domState(t, lv.Socket, name); st != "absent" {
		t.Errorf("libvirt still has %s: %s", name, st)
	}
}

func TestVMBadInputLeavesNothing(t *testing.T) {
	ln := lab.NewNet(t, 1)
	a := startVMAgent(t, ln.Host(0), "h1", keyFile(t), machineLibvirt, "127.0.0.1")
	name := uniqueName("e2e-bad")
	cleanupDomain(t, machineLibvirt, name)
	vmDir := filepath.Join(a.dir, "data", "vms", name)

	a.refused(t, []string{"name"}, "vm", "create", "bad/name", "--memory", "64M")
	a.refused(t, []string{"too big", "h1: not enough memory"}, "vm", "create", name, "--memory", "100T")
	a.refused(t, []string{"image nope not found"}, "vm", "create", name, "--image", "nope", "--host", "h1")
	a.refused(t, []string{"--memory"}, "vm", "create", name, "--memory", "lots")
	a.refused(t, []string{"model", "virtio, e1000, rtl8139, sriov"}, "vm", "create", name, "--nic", "ne2000", "--host", "h1")
	// This machine has no SR-IOV card: a clear error, and nothing defined.
	a.refused(t, []string{"SR-IOV", "virtual function"}, "vm", "create", name, "--memory", "64M", "--nic", "sriov", "--host", "h1")
	a.refused(t, []string{"h1: has no free SR-IOV virtual function"}, "vm", "create", name+"-p", "--memory", "64M", "--nic", "sriov")
	if st := domState(t, machineLibvirt, name); st != "absent" {
		t.Errorf("a refused create left a domain: %s", st)
	}
	if _, err := os.Stat(vmDir); !os.IsNotExist(err) {
		t.Errorf("a refused create left %s: %v", vmDir, err)
	}
	if _, ok := a.vms(t)[name+"-p"]; ok {
		t.Errorf("a refused create left a pending VM")
	}
}
