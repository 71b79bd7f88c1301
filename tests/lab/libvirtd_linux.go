package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// libvirtdStartTimeout bounds how long a libvirtd may take to answer.
	libvirtdStartTimeout = 30 * time.Second
	// libvirtdStopTimeout bounds how long the daemon, its virtlogd and
	// leftover QEMUs may take to exit once told to.
	libvirtdStopTimeout = 20 * time.Second
	// virshTimeout bounds one Virsh call.
	virshTimeout = 2 * time.Minute
)

// libvirtdMounts maps the directories of a Libvirtd's Dir onto the paths
// they hide in its mount namespace.
var libvirtdMounts = []struct{ dir, target string }{
	{"run", "/run/libvirt"},
	{"lib", "/var/lib/libvirt"},
	{"log", "/var/log/libvirt"},
	{"cache", "/var/cache/libvirt"},
	{"etc", "/etc/libvirt"},
}

// libvirtdScript runs under tini (a child subreaper) in the host's network
// namespace and a mount namespace of its own: it mounts the private
// directories, starts virtlogd and supervises libvirtd. SIGHUP restarts
// libvirtd (the QEMUs keep running, and stay children of the subreaper);
// SIGTERM stops libvirtd, then SIGKILLs the QEMUs still running (children
// of tini, our parent: domains nobody destroyed), then stops virtlogd.
// Arguments: the Libvirtd's Dir and the host name.
var libvirtdScript = `set -eu
d=$1
for m in ` + mountPairs() + `; do
	mkdir -p "${m#*:}"
	mount --bind "$d/${m%%:*}" "${m#*:}"
done
hostname "$2"
set +e
virtlogd -p /run/libvirt/virtlogd.pid & vl=$!
lv= restart= stop=
trap 'restart=1; [ -z "$lv" ] || kill -TERM $lv' HUP
trap 'stop=1; [ -z "$lv" ] || kill -TERM $lv' TERM INT
while [ -z "$stop" ]; do
	restart=
	libvirtd --listen --pid-file /run/libvirt/libvirtd.pid & lv=$!
	[ -z "$stop" ] || kill -TERM $lv
	while kill -0 $lv 2>/dev/null; do wait $lv; done
	echo "vmnlab: libvirtd $lv exited"
	[ -n "$restart" ] || break
done
leftover() { ps -o pid= --ppid $PPID | while read -r p; do [ "$p" = $$ ] || echo $p; done; }
for _ in $(seq 500); do
	left=$(leftover)
	[ -n "$left" ] || break
	echo "vmnlab: killing leftover QEMU processes $left"
	kill -KILL $left 2>/dev/null
	sleep 0.02
done
kill -TERM $vl
wait $vl
echo "vmnlab: virtlogd $vl exited"
`

// mountPairs lists libvirtdMounts for the script: "run:/run/libvirt …".
func mountPairs() string {
	var pairs []string
	for _, m := range libvirtdMounts {
		pairs = append(pairs, m.dir+":"+m.target)
	}
	return strings.Join(pairs, " ")
}

// Libvirtd is a libvirtd private to one lab Host: it runs in the host's
// network namespace, listens on TCP (no auth, no TLS) at the host's address,
// and keeps all its state (/run/libvirt, /var/lib/libvirt, /var/log/libvirt,
// /var/cache/libvirt, /etc/libvirt) in Dir, bind-mounted over those paths
// in a mount namespace of its own. It has its own virtlogd and a distinct
// host UUID, so domains live-migrate between the Libvirtds of a Net. The
// machine's own libvirtd is not touched.
//
// Its processes (tini, libvirtd, virtlogd, the QEMUs) are not Start-ed
// processes of the Host: Host.Kill, Pause and Resume leave them alone.
type Libvirtd struct {
	Host *Host
	// Dir holds the private state: run/, lib/, log/, cache/ and etc/ are
	// what the daemon sees as /run/libvirt, /var/lib/libvirt,
	// /var/log/libvirt, /var/cache/libvirt and /etc/libvirt, and
	// libvirtd.log is the daemon's output (log/qemu/NAME.log a domain's).
	Dir string
	// Socket is the path of its read-write unix socket, valid both on this
	// machine and inside the host's namespace (processes Start-ed on the
	// Host see this machine's files).
	Socket string
	// LocalURI connects through Socket: qemu:///system?socket=Socket.
	LocalURI string
	// URI is how peers reach it over the lab network:
	// qemu+tcp://ADDR/system. It only works from inside a Net's namespace.
	URI string
	// UUID is its host_uuid, distinct for every Libvirtd.
	UUID string

	mu       sync.Mutex
	proc     *Proc // tini, the subreaper; nil when stopped
	pid      int   // libvirtd's PID
	logStart int64 // size of the log before the current Start
}

// StartLibvirtd makes and starts a private libvirtd for h (see Libvirtd) and
// returns once it answers on its socket. It is stopped at t.Cleanup (its
// running domains destroyed first), before h's namespace is removed (t
// must be the test that made h's Net, or one of its subtests), and its Dir
// is removed once it is dead. It skips the test when libvirtd,
// virtlogd, virsh, tini, unshare or qemu-system-x86_64 is missing. Test
// domains should be type='qemu' (TCG).
func (h *Host) StartLibvirtd(t testing.TB) *Libvirtd {
	t.Helper()
	requireLibvirtd(t)
	start := time.Now()
	l, err := newLibvirtd(t, h)
	if err != nil {
		t.Fatalf("lab: libvirtd on %s: %v", h.Name, err)
	}
	if err := l.Start(); err != nil {
		t.Fatalf("lab: libvirtd on %s: %v", h.Name, err)
	}
	t.Logf("lab: libvirtd on %s (%s) up in %s", h.Name, l.URI, time.Since(start).Round(time.Millisecond))
	return l
}

func requireLibvirtd(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"libvirtd", "virtlogd", "virsh", "tini", "unshare", "ps", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("lab: %s not found; run tests/install-deps.sh (libvirt-daemon-system qemu-system-x86 tini)", tool)
		}
	}
}

// newLibvirtd prepares l.Dir and registers the cleanup; it starts nothing.
func newLibvirtd(t testing.TB, h *Host) (*Libvirtd, error) {
	// Not t.TempDir: the directory must outlive the daemon, whatever the
	// order of cleanups, and the socket path must stay short (108 bytes).
	dir, err := os.MkdirTemp("", "vmnlab-"+h.NS+"-")
	if err != nil {
		return nil, err
	}
	l := &Libvirtd{
		Host:   h,
		Dir:    dir,
		Socket: filepath.Join(dir, "run", "libvirt-sock"),
		URI:    "qemu+tcp://" + h.Addr.String() + "/system",
		UUID:   randomUUID(),
	}
	l.LocalURI = "qemu:///system?socket=" + l.Socket
	// Registered after NewNet's cleanup, so it runs before the namespaces go.
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Errorf("lab: libvirtd on %s: %v; keeping %s", h.Name, err, dir)
			return
		}
		if t.Failed() {
			t.Logf("lab: libvirtd on %s, last lines of %s:\n%s", h.Name, l.LogPath(), l.logTail(0))
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("lab: %v", err)
		}
	})
	if len(l.Socket) >= len(syscall.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("socket path %s is too long for a unix socket; set TMPDIR shorter", l.Socket)
	}
	for _, m := range libvirtdMounts {
		if err := os.Mkdir(filepath.Join(dir, m.dir), 0o755); err != nil {
			return nil, err
		}
	}
	if err := l.writeConfig(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return l, nil
}

func randomUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// writeConfig copies this machine's /etc/libvirt into Dir/etc, without what
// would make the daemon act on the machine's objects (defined domains,
// autostart links, secrets), then writes libvirtd.conf and qemu.conf. It
// also seeds the QEMU capabilities cache from the machine's, which libvirt
// revalidates (it saves a probe of QEMU, about a second, on the first start).
func (l *Libvirtd) writeConfig() error {
	etc := filepath.Join(l.Dir, "etc")
	if err := copyTree("/etc/libvirt", etc, func(rel string, d fs.DirEntry) bool {
		switch {
		case rel == "secrets", d.Name() == "autostart":
			return false // the directory is made, empty
		case filepath.Dir(rel) == "qemu" && strings.HasSuffix(rel, ".xml") && !d.IsDir():
			return false // a domain the machine's libvirtd defined
		}
		return true
	}); err != nil {
		return err
	}
	addr := l.Host.Addr.String()
	libvirtdConf := fmt.Sprintf(`# Written by the vmnode test lab for %s.
listen_tcp = 1
listen_tls = 0
listen_addr = %q
auth_tcp = "none"
host_uuid = %q
`, l.Host.Name, addr, l.UUID)
	qemuConf := fmt.Sprintf(`# Written by the vmnode test lab for %s.
stdio_handler = "file"
migration_address = %q
migration_host = %q
security_driver = "none"
remote_display_port_min = 5900
remote_display_port_max = 6900
`, l.Host.Name, addr, addr)
	if err := os.WriteFile(filepath.Join(etc, "libvirtd.conf"), []byte(libvirtdConf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(etc, "qemu.conf"), []byte(qemuConf), 0o600); err != nil {
		return err
	}
	caps := "/var/cache/libvirt/qemu/capabilities"
	if _, err := os.Stat(caps); err == nil {
		if err := copyTree(caps, filepath.Join(l.Dir, "cache", "qemu", "capabilities"), nil); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies the directories, regular files and symbolic links under
// src to dst, with their modes. keep, if not nil, says whether to copy an
// entry (rel is its path under src); a directory it refuses is still made,
// empty.
func copyTree(src, dst string, keep func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		kept := rel == "." || keep == nil || keep(rel, d)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
			if !kept {
				return fs.SkipDir
			}
		case !kept:
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LogPath is the file libvirtd, virtlogd and their supervisor write to,
// across restarts.
func (l *Libvirtd) LogPath() string { return filepath.Join(l.Dir, "libvirtd.log") }

// PID is the running libvirtd's process ID, 0 when stopped.
func (l *Libvirtd) PID() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pid
}

// Start starts the daemon again after Stop, with the same state: domains
// defined before are still defined. It returns once the daemon answers on
// its socket, or an error that ends with the tail of its log.
func (l *Libvirtd) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.proc != nil {
		if l.proc.Alive() {
			return errors.New("libvirtd already running")
		}
		l.kill() // it died on its own: reap it
	}
	logf, err := os.OpenFile(l.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	if fi, err := logf.Stat(); err == nil {
		l.logStart = fi.Size()
	}
	for _, f := range []string{"libvirtd.pid", "virtlogd.pid"} {
		os.Remove(filepath.Join(l.Dir, "run", f))
	}
	cmd := l.Host.Command(context.Background(), "unshare", "--mount", "--uts", "--propagation", "private",
		"tini", "-s", "--", "sh", "-c", libvirtdScript, "vmnlab-libvirtd", l.Dir, l.Host.Name)
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGTERM (not SIGKILL) if this process dies: tini passes it on and
	// the script stops libvirtd, the QEMUs and virtlogd instead of
	// orphaning them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &Proc{Cmd: cmd, log: l.LogPath(), exited: make(chan struct{})}
	go p.watch()
	l.proc = p
	pid, err := l.waitReady(0)
	if err != nil {
		l.kill()
		return err
	}
	l.pid = pid
	return nil
}

// Restart restarts libvirtd alone: its QEMUs keep running and the new
// daemon reattaches to them, as after an upgrade of libvirt. It returns once
// the new daemon answers.
func (l *Libvirtd) Restart() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.proc == nil {
		return errors.New("libvirtd not running")
	}
	// tini passes SIGHUP on to the script, which restarts libvirtd.
	if err := l.proc.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	pid, err := l.waitReady(l.pid)
	if err != nil {
		return err
	}
	l.pid = pid
	return nil
}

// waitReady waits until a libvirtd other than PID old has written its PID
// file and answers on the socket, and returns its PID. Called with l.mu held.
func (l *Libvirtd) waitReady(old int) (int, error) {
	deadline := time.Now().Add(libvirtdStartTimeout)
	pidFile := filepath.Join(l.Dir, "run", "libvirtd.pid")
	var lastErr error
	for {
		if !l.proc.Alive() {
			return 0, fmt.Errorf("libvirtd exited; last lines of %s:\n%s", l.LogPath(), l.logTail(l.logStart))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("libvirtd not answering after %s (%v); last lines of %s:\n%s",
				libvirtdStartTimeout, lastErr, l.LogPath(), l.logTail(l.logStart))
		}
		pid, err := readPIDFile(pidFile)
		switch {
		case err != nil:
			lastErr = err
		case pid == old:
			lastErr = fmt.Errorf("old libvirtd %d still running", old)
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := exec.CommandContext(ctx, "virsh", "-q", "-c", l.LocalURI, "uri").CombinedOutput()
			cancel()
			if err == nil {
				return pid, nil
			}
			lastErr = err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad PID %q", path, b)
	}
	return pid, nil
}

// Stop destroys the running domains (the persistent ones stay defined),
// then stops libvirtd and its virtlogd, and returns once they are dead.
// Stopping a stopped Libvirtd does nothing.
func (l *Libvirtd) Stop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.proc == nil {
		return nil
	}
	var errs []error
	if l.proc.Alive() {
		if err := l.destroyAll(); err != nil {
			errs = append(errs, err)
		}
	}
	// tini passes SIGTERM on to the script, which stops libvirtd, kills
	// what QEMUs are left and stops virtlogd.
	l.proc.Signal(syscall.SIGTERM)
	timer := time.NewTimer(libvirtdStopTimeout)
	defer timer.Stop()
	select {
	case <-l.proc.exited:
	case <-timer.C:
		errs = append(errs, fmt.Errorf("not stopped %s after SIGTERM; killed", libvirtdStopTimeout))
	}
	// tini has exited but is not reaped yet: its process group is still
	// ours to sweep.
	if err := l.kill(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop: %w; last lines of %s:\n%s", err, l.LogPath(), l.logTail(l.logStart))
	}
	return nil
}

// destroyAll destroys the active domains. Called with l.mu held.
func (l *Libvirtd) destroyAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), libvirtdStopTimeout)
	defer cancel()
	out, err := l.virsh(ctx, "list", "--name")
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range strings.Fields(out) {
		if _, err := l.virsh(ctx, "destroy", name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// kill SIGKILLs what is left of the daemon's process group (tini, the
// script, libvirtd, virtlogd: QEMUs have sessions of their own) and reaps
// tini. Called with l.mu held.
func (l *Libvirtd) kill() error {
	err := l.proc.stop()
	l.proc, l.pid = nil, 0
	return err
}

// Virsh runs virsh against this libvirtd (through Socket), inside its host's
// network namespace, so that commands that reach peers work: "migrate …
// --p2p NAME <peer URI>". It returns standard output, and an error holding
// standard error. A call times out after 2 minutes.
func (l *Libvirtd) Virsh(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), virshTimeout)
	defer cancel()
	return l.virsh(ctx, args...)
}

// VirshContext is Virsh with a context instead of the timeout.
func (l *Libvirtd) VirshContext(ctx context.Context, args ...string) (string, error) {
	return l.virsh(ctx, args...)
}

func (l *Libvirtd) virsh(ctx context.Context, args ...string) (string, error) {
	cmd := l.Host.Command(ctx, "virsh", append([]string{"-q", "-c", l.LocalURI}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("virsh %s on %s: %w: %s", strings.Join(args, " "), l.Host.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// logTail returns the last lines of the log written since offset from.
func (l *Libvirtd) logTail(from int64) string {
	const maxLines, maxBytes = 30, 8 << 10
	f, err := os.Open(l.LogPath())
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	if fi.Size()-from > maxBytes {
		from = fi.Size() - maxBytes
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, fi.Size()-from))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// HostUUID reads the host UUID the daemon reports in its capabilities.
func (l *Libvirtd) HostUUID() (string, error) {
	out, err := l.Virsh("capabilities")
	if err != nil {
		return "", err
	}
	var caps struct {
		UUID string `xml:"host>uuid"`
	}
	if err := xml.Unmarshal([]byte(out), &caps); err != nil {
		return "", fmt.Errorf("capabilities of %s: %w", l.Host.Name, err)
	}
	return caps.UUID, nil
}
