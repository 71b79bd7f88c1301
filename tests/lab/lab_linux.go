package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CacheDir keeps the built root between runs.
const CacheDir = "/var/cache/vmnode-lab"

// Suite is the Debian release the lab root is built from.
const Suite = "bookworm"

// Packages are installed into the root besides minbase.
var Packages = []string{"systemd", "systemd-sysv", "dbus", "chrony", "nftables"}

const cacheBase = Suite + "-systemd"

// Rootfs returns a fresh copy of the lab root in a temporary directory the
// test owns. The root is built with debootstrap once and cached as
// CacheDir/bookworm-systemd.tar.zst (.tar without zstd); delete the file to
// rebuild it. Skips the test when not root or the tools are missing.
func Rootfs(t testing.TB) string {
	t.Helper()
	requireTools(t, "debootstrap", "tar")
	tarball, err := cachedRoot(t)
	if err != nil {
		t.Fatalf("lab root: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command("tar", append(decompress(tarball), "--numeric-owner", "--xattrs", "-xpf", tarball, "-C", dir)...).CombinedOutput(); err != nil {
		t.Fatalf("lab root: extract %s: %v\n%s", tarball, err, out)
	}
	// The archive's "." is the build directory, made 0700; the container's
	// services that drop root (dbus-daemon) must be able to traverse "/".
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("lab: extracted %s in %s", tarball, time.Since(start).Round(time.Millisecond))
	return dir
}

func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root (systemd-nspawn, debootstrap, nsenter)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("lab: %s not found; run tests/install-deps.sh (packages systemd-container debootstrap zstd)", tool)
		}
	}
}

func decompress(tarball string) []string {
	if strings.HasSuffix(tarball, ".zst") {
		return []string{"-I", "zstd"}
	}
	return nil
}

// cachedRoot returns the cached tarball, building it first when absent.
// A lock file serialises builds across test binaries running in parallel.
func cachedRoot(t testing.TB) (string, error) {
	if err := os.MkdirAll(CacheDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(CacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	for _, name := range []string{cacheBase + ".tar.zst", cacheBase + ".tar"} {
		p := filepath.Join(CacheDir, name)
		if _, err := os.Stat(p); err == nil {
			if strings.HasSuffix(p, ".zst") {
				if _, err := exec.LookPath("zstd"); err != nil {
					continue
				}
			}
			return p, nil
		}
	}
	return buildRoot(t)
}

func buildRoot(t testing.TB) (string, error) {
	mirror, err := Mirror("/etc/apt", Suite)
	if err != nil {
		return "", err
	}
	build, err := os.MkdirTemp(CacheDir, "build-")
	if err != nil {
		return "", err
	}
	defer func() {
		// debootstrap mounts /proc and /sys in the root; a failed run may
		// leave them mounted, and removing through a mount is never right.
		if unmountUnder(build) == nil {
			os.RemoveAll(build)
		}
	}()
	args := []string{"--variant=minbase", "--include=" + strings.Join(Packages, ","), Suite, build, mirror}
	var lastErr error
	for attempt := 1; attempt <= 2; attempt++ {
		start := time.Now()
		t.Logf("lab: debootstrap %s (attempt %d; cached afterwards in %s)", strings.Join(args, " "), attempt, CacheDir)
		out, err := exec.Command("debootstrap", args...).CombinedOutput()
		if err == nil {
			t.Logf("lab: debootstrap done in %s", time.Since(start).Round(time.Second))
			lastErr = nil
			break
		}
		lastErr = fmt.Errorf("debootstrap %s: %w\n%s", strings.Join(args, " "), err, tail(out, 30))
		t.Logf("lab: %v", lastErr)
		if err := unmountUnder(build); err != nil {
			return "", err
		}
		if err := clearDir(build); err != nil {
			return "", err
		}
	}
	if lastErr != nil {
		return "", lastErr
	}
	if err := unmountUnder(build); err != nil {
		return "", err
	}
	if err := prepareRoot(build); err != nil {
		return "", err
	}
	name := cacheBase + ".tar"
	tarArgs := []string{"--numeric-owner", "--xattrs", "--one-file-system", "-C", build}
	if _, err := exec.LookPath("zstd"); err == nil {
		name += ".zst"
		tarArgs = append([]string{"-I", "zstd -T0"}, tarArgs...)
	}
	final := filepath.Join(CacheDir, name)
	tmp := final + ".partial"
	start := time.Now()
	if out, err := exec.Command("tar", append(tarArgs, "-cf", tmp, ".")...).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("archive the root: %w\n%s", err, out)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	t.Logf("lab: cached %s in %s", final, time.Since(start).Round(time.Millisecond))
	return final, nil
}

// prepareRoot trims what a container does not need: the downloaded .debs,
// and the machine-id (left empty: nspawn gives each boot its own).
func prepareRoot(dir string) error {
	if err := os.Chmod(dir, 0o755); err != nil { // MkdirTemp made it 0700
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	return os.WriteFile(filepath.Join(dir, "etc/machine-id"), nil, 0o444)
}

// unmountUnder lazily unmounts every mount below dir, deepest first, and
// fails when one stays.
func unmountUnder(dir string) error {
	mounts := func() []string {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		var under []string
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				under = append(under, f[4])
			}
		}
		return under
	}
	m := mounts()
	for i := len(m) - 1; i >= 0; i-- {
		syscall.Unmount(m[i], syscall.MNT_DETACH)
	}
	if left := mounts(); len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %s", dir, strings.Join(left, " "))
	}
	return nil
}

func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Container is a booted systemd-nspawn container with systemd as PID 1.
type Container struct {
	Name   string // machine name (-M)
	Rootfs string // its root directory on this machine
	Leader int    // PID of its PID 1, as seen from this machine

	cmd      *exec.Cmd
	done     chan struct{}
	log      string
	degraded string // failed units when the boot ended degraded
}

// BootTimeout bounds how long Boot waits for systemd to finish starting.
var BootTimeout = 60 * time.Second

// Boot starts systemd in rootfs with systemd-nspawn --boot, without a network
// of its own (--private-network), and waits until the boot has finished and
// its system bus answers. The container is stopped when the test ends.
func Boot(t testing.TB, rootfs string) *Container {
	t.Helper()
	requireTools(t, "systemd-nspawn", "nsenter")
	var rnd [4]byte
	rand.Read(rnd[:])
	c := &Container{
		Name:   "vmnode-lab-" + hex.EncodeToString(rnd[:]),
		Rootfs: rootfs,
		done:   make(chan struct{}),
		log:    filepath.Join(t.TempDir(), "nspawn.log"),
	}
	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c.cmd = exec.Command("systemd-nspawn", "--boot", "-D", rootfs, "-M", c.Name,
		"--register=no", "--keep-unit", "--private-network", "--console=passive")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("lab: start systemd-nspawn: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.stop(t) })

	ctx, cancel := context.WithTimeout(context.Background(), BootTimeout)
	defer cancel()
	if err := c.waitBooted(ctx); err != nil {
		t.Fatalf("lab: boot %s: %v\n--- nspawn log ---\n%s", c.Name, err, c.Log())
	}
	t.Logf("lab: %s booted in %s (leader %d)", c.Name, time.Since(start).Round(time.Millisecond), c.Leader)
	if c.degraded != "" {
		t.Logf("lab: %s is degraded; failed units:\n%s", c.Name, c.degraded)
	}
	return c
}

// Log is what systemd-nspawn and the container's console printed so far.
func (c *Container) Log() string {
	b, _ := os.ReadFile(c.log)
	return tail(b, 60)
}

func (c *Container) waitBooted(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-c.done:
			return fmt.Errorf("systemd-nspawn exited: %v", c.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not booted after %s: %v", BootTimeout, last)
		case <-tick.C:
		}
		if c.Leader == 0 {
			pid, err := findLeader(c.cmd.Process.Pid)
			if err != nil {
				last = err
				continue
			}
			c.Leader = pid
		}
		// --wait blocks until the boot has finished; the ticker only retries
		// while systemd is not yet answering on its private socket.
		out, err := c.ExecContext(ctx, "systemctl", "is-system-running", "--wait")
		state := strings.TrimSpace(out)
		switch state {
		case "running":
		case "degraded":
			// Booted, but a unit failed; Boot logs which.
			failed, _ := c.Exec("systemctl", "--failed", "--no-legend", "--plain")
			c.degraded = strings.TrimSpace(failed)
		default:
			last = fmt.Errorf("is-system-running: %q: %v", state, err)
			continue
		}
		if _, err := os.Stat(c.busSocket()); err != nil {
			last = err
			continue
		}
		return nil
	}
}

// findLeader finds the container's init: the child of systemd-nspawn that
// is PID 1 of its own PID namespace.
func findLeader(nspawn int) (int, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", p.Name(), "status"))
		if err != nil {
			continue
		}
		if ppid(status) == nspawn && nsInit(status) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("systemd-nspawn (pid %d) has not started the container's init yet", nspawn)
}

// ppid is the PPid of a /proc/PID/status.
func ppid(status []byte) int {
	for _, line := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("PPid:")); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(string(rest)))
			return n
		}
	}
	return 0
}

// nsInit reports whether a /proc/PID/status says the process is PID 1 of a
// nested PID namespace ("NSpid:\t4242\t1").
func nsInit(status []byte) bool {
	for _, line := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("NSpid:")); ok {
			f := strings.Fields(string(rest))
			return len(f) >= 2 && f[len(f)-1] == "1"
		}
	}
	return false
}

func (c *Container) busSocket() string {
	return fmt.Sprintf("/proc/%d/root/run/dbus/system_bus_socket", c.Leader)
}

// BusAddress is a D-Bus address of the container's system bus, usable from
// this machine (DBUS_SYSTEM_BUS_ADDRESS).
func (c *Container) BusAddress() string { return "unix:path=" + c.busSocket() }

// Exec runs a command inside the container (all its namespaces) and returns
// its standard output; the error carries the standard error.
func (c *Container) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.ExecContext(ctx, args...)
}

// ExecContext is Exec with a context.
func (c *Container) ExecContext(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.Leader), "-a", "--"}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Processes inside may outlive nsenter and hold its output open.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// stop halts the container (nspawn turns SIGTERM into a clean shutdown of
// its systemd) and kills it when that does not finish in time.
func (c *Container) stop(t testing.TB) {
	select {
	case <-c.done:
		return
	default:
	}
	start := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		t.Logf("lab: %s stopped in %s", c.Name, time.Since(start).Round(time.Millisecond))
		return
	case <-time.After(10 * time.Second):
	}
	t.Logf("lab: %s did not halt in 10s; terminating it", c.Name)
	c.cmd.Process.Signal(syscall.SIGTERM) // a second SIGTERM: nspawn kills the container at once
	select {
	case <-c.done:
		return
	case <-time.After(5 * time.Second):
	}
	if c.Leader > 0 {
		syscall.Kill(c.Leader, syscall.SIGKILL)
	}
	c.cmd.Process.Kill()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Errorf("lab: systemd-nspawn (pid %d) for %s did not exit", c.cmd.Process.Pid, c.Name)
	}
}
