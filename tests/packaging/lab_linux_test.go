package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// stageDir is where the tests put packages inside a container's root.
const stageDir = "/srv/vmnode-test"

// debCache returns a directory of the .debs that installing what (package
// names, or paths of .deb files) into root needs and root lacks: apt on
// this machine resolves them against root's dpkg database and downloads
// them from this machine's sources, once; they are cached in
// lab.CacheDir/debs. A container with --private-network then installs them
// with apt from the files.
func debCache(t testing.TB, root, name string, what ...string) string {
	t.Helper()
	status, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(status)
	for _, w := range what {
		id := w
		if strings.HasSuffix(w, ".deb") { // the package's dependencies, not its build
			id = "deb:" + run(t, "dpkg-deb", "-f", w, "Depends")
		}
		fmt.Fprintf(h, "\x00%s", id)
	}
	dir := filepath.Join(lab.CacheDir, "debs", name+"-"+hex.EncodeToString(h.Sum(nil))[:12])

	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(lab.CacheDir, "debs", ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}

	start := time.Now()
	tmp := dir + ".partial"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-q", "-y", "--download-only", "--no-install-recommends",
		"-o", "Dir::State::status=" + filepath.Join(root, "var/lib/dpkg/status"),
		"-o", "Dir::Cache::archives=" + tmp,
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Sandbox::User=root",
		"install"}
	if _, err := runErr("apt-get", append(args, what...)...); err != nil {
		// The package lists may be missing or older than the mirror.
		t.Logf("download for %s failed; apt-get update, then again: %v", name, err)
		if out, err := runErr("apt-get", "update", "-qq"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		if out, err := runErr("apt-get", append(args, what...)...); err != nil {
			t.Fatalf("download the packages %s needs: %v\n%s", name, err, out)
		}
	}
	os.RemoveAll(filepath.Join(tmp, "partial"))
	os.Remove(filepath.Join(tmp, "lock"))
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	for _, w := range what { // a local .deb is not a dependency of itself
		if strings.HasSuffix(w, ".deb") {
			os.Remove(filepath.Join(tmp, filepath.Base(w)))
		}
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("downloaded %d packages for %s into %s in %s", len(debs), name, dir, time.Since(start).Round(time.Millisecond))
	return dir
}

// stage copies files into root's stageDir/sub.
func stage(t testing.TB, root, sub string, files ...string) {
	t.Helper()
	dst := filepath.Join(root, stageDir, sub)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
}

// stageDebs copies the .debs of a debCache directory into root's stageDir/sub.
func stageDebs(t testing.TB, root, sub, dir string) {
	t.Helper()
	debs, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		t.Fatal(err)
	}
	stage(t, root, sub, debs...)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// box runs shell scripts in a container.
type box struct {
	t *testing.T
	c *lab.Container
}

// try runs a shell script in the container (in stageDir) and returns its
// standard output and standard error together.
func (b box) try(script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return b.c.ExecContext(ctx, "sh", "-c", "cd "+stageDir+" && exec 2>&1\n"+script)
}

// sh runs a shell script in the container and fails the test if it fails.
func (b box) sh(script string) string {
	b.t.Helper()
	out, err := b.try(script)
	if err != nil {
		b.t.Fatalf("in the container: %s\n%v\n%s", script, err, out)
	}
	return out
}

// show is systemctl show -p prop --value for the agent's unit.
func (b box) show(prop string) string {
	b.t.Helper()
	return strings.TrimSpace(b.sh("systemctl show -p " + prop + " --value " + unit))
}

const unit = "vmnode-agent.service"

// apt installs packages from files, as an operator without a repository
// would; conffiles follow dpkg's defaults (an edited one is kept).
const apt = "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends " +
	"-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "

// journal is the agent's journal, for failure messages.
func (b box) journal() string {
	out, _ := b.try("systemctl status --no-pager " + unit + "; journalctl --no-pager -n 40 -u " + unit)
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("%s: not after %s", what, timeout)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// hasAgent tells whether the installed vmnode has the agent command.
func (b box) hasAgent() bool {
	_, err := b.try("vmnode agent --help")
	return err == nil
}

// configureAgent writes what a node needs to run the agent alone in a
// container with only loopback: the address, gossip on loopback, no packet
// off the host, and a gossip key. It appends to vmnode.yaml: a local edit.
func (b box) configureAgent() {
	b.t.Helper()
	b.sh(`cat >>/etc/vmnode/vmnode.yaml <<'END'

# Local settings (tests/packaging).
node:
  name: lab
  address: 127.0.0.1
preflight:
  offline: true
agent:
  bind: 127.0.0.1:7946
  advertise: 127.0.0.1
END
(umask 077 && vmnode keygen >/etc/vmnode/gossip.key)`)
}

// startAgent starts the agent and returns how long systemctl start took
// (it returns once the agent sent READY=1) and how long systemd measured
// from exec to READY.
func (b box) startAgent() (wall, ready time.Duration) {
	b.t.Helper()
	start := time.Now()
	if out, err := b.try("systemctl start " + unit); err != nil {
		b.t.Fatalf("systemctl start %s: %v\n%s\n%s", unit, err, out, b.journal())
	}
	wall = time.Since(start)
	return wall, b.execToReady()
}

// execToReady is the time from the main process's exec to READY=1, as
// systemd recorded it.
func (b box) execToReady() time.Duration {
	b.t.Helper()
	started, err1 := strconv.ParseInt(b.show("ExecMainStartTimestampMonotonic"), 10, 64)
	active, err2 := strconv.ParseInt(b.show("ActiveEnterTimestampMonotonic"), 10, 64)
	if err1 != nil || err2 != nil {
		b.t.Fatalf("timestamps: %v %v", err1, err2)
	}
	return time.Duration(active-started) * time.Microsecond
}

// nspawn runs a command in root without booting it: no systemd, only
// loopback.
func nspawn(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemd-nspawn", append([]string{"-q", "-D", root,
		"--register=no", "--keep-unit", "--private-network", "--chdir=" + stageDir,
		"-E", "DEBIAN_FRONTEND=noninteractive", "-E", "LC_ALL=C"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
