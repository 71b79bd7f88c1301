package files

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func setup(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), []byte("127.0.0.1 localhost\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(root, "etc/hosts"), 123, 456); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteKeepsModeOwnerAndBacksUp(t *testing.T) {
	root := setup(t)
	e := NewEditor(root, time.Unix(1000, 0))
	changed, err := e.Write("/etc/hosts", []byte("127.0.0.1 localhost\n10.0.0.5 node1\n"), 0o644)
	if err != nil || !changed {
		t.Fatalf("write: %v %v", changed, err)
	}
	info, err := os.Stat(filepath.Join(root, "etc/hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", info.Mode().Perm())
	}
	if st := info.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 123 || st.Gid != 456) {
		t.Errorf("owner %d:%d, want 123:456 kept", st.Uid, st.Gid)
	}
	backup := filepath.Join(root, e.BackupDir(), "files/etc/hosts")
	if got := read(t, backup); got != "127.0.0.1 localhost\n" {
		t.Errorf("backup holds %q", got)
	}
	changed, err = e.Write("/etc/hosts", []byte("127.0.0.1 localhost\n10.0.0.5 node1\n"), 0o644)
	if err != nil || changed {
		t.Errorf("same content rewritten: %v %v", changed, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(root, "etc/.hosts.vmnode-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestRollbackToUndoesAStep(t *testing.T) {
	root := setup(t)
	e := NewEditor(root, time.Unix(1000, 0))
	mark := e.Mark()
	if _, err := e.Write("/etc/hosts", []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write("/etc/vmnode/new.conf", []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.RollbackTo(mark); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "etc/hosts")); got != "127.0.0.1 localhost\n" {
		t.Errorf("hosts after rollback: %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/vmnode/new.conf")); !os.IsNotExist(err) {
		t.Errorf("created file survives rollback: %v", err)
	}
}

func TestRollbackRestoresLastRunThenTheOneBefore(t *testing.T) {
	root := setup(t)
	first := NewEditor(root, time.Unix(1000, 0))
	if _, err := first.Write("/etc/hosts", []byte("run1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := NewEditor(root, time.Unix(2000, 0))
	if _, err := second.Write("/etc/hosts", []byte("run2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, restored, err := Rollback(root)
	if err != nil || len(restored) != 1 || !strings.HasSuffix(run, filepath.Base(second.run)) {
		t.Fatalf("rollback: %s %v %v", run, restored, err)
	}
	if got := read(t, filepath.Join(root, "etc/hosts")); got != "run1\n" {
		t.Errorf("after first rollback: %q", got)
	}
	if _, _, err := Rollback(root); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "etc/hosts")); got != "127.0.0.1 localhost\n" {
		t.Errorf("after second rollback: %q", got)
	}
	if _, _, err := Rollback(root); err == nil {
		t.Error("a third rollback should say there is nothing left")
	}
}

// A read-only filesystem: the write fails with a clear error, the file and
// its backup are intact.
func TestReadOnlyFileFailsCleanly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only tmpfs")
	}
	root := setup(t)
	ro := filepath.Join(root, "etc/ro")
	if err := os.MkdirAll(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", ro).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	if err := os.WriteFile(filepath.Join(ro, "x.conf"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v %s", err, out)
	}
	e := NewEditor(root, time.Unix(1000, 0))
	_, err := e.Write("/etc/ro/x.conf", []byte("new\n"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "/etc/ro/x.conf") || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("err = %v", err)
	}
	if got := read(t, filepath.Join(ro, "x.conf")); got != "old\n" {
		t.Errorf("file changed: %q", got)
	}
	if err := e.RollbackTo(0); err != nil {
		t.Errorf("rollback after failed write: %v", err)
	}
}

func TestDiff(t *testing.T) {
	root := setup(t)
	e := NewEditor(root, time.Unix(1000, 0))
	d, err := e.Diff("/etc/hosts", []byte("127.0.0.1 localhost\n10.0.0.5 node1\n"))
	if err != nil || !strings.Contains(d, "+10.0.0.5 node1") || !strings.Contains(d, "--- /etc/hosts") {
		t.Errorf("diff: %v\n%s", err, d)
	}
}

// A bind-mounted file (as containers have /etc/hosts) cannot be renamed
// over: it is rewritten in place, and still backed up.
func TestBindMountedFileIsRewrittenInPlace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	root := setup(t)
	src := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(src, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "etc/hosts")
	if out, err := exec.Command("mount", "--bind", src, target).CombinedOutput(); err != nil {
		t.Skipf("bind mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", target).Run() })
	e := NewEditor(root, time.Unix(1000, 0))
	if _, err := e.Write("/etc/hosts", []byte("127.0.0.1 localhost\n10.0.0.5 node1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read(t, src); got != "127.0.0.1 localhost\n10.0.0.5 node1\n" {
		t.Errorf("bind-mounted file holds %q", got)
	}
	if got := read(t, filepath.Join(root, e.BackupDir(), "files/etc/hosts")); got != "127.0.0.1 localhost\n" {
		t.Errorf("backup holds %q", got)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, "etc/.hosts.vmnode-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestSymlinkJournalled(t *testing.T) {
	root := setup(t)
	e := NewEditor(root, time.Unix(1000, 0))
	link := "/etc/systemd/system/multi-user.target.wants/chronyd.service"
	if changed, err := e.Symlink(link, "/usr/lib/systemd/system/chronyd.service"); err != nil || !changed {
		t.Fatalf("symlink: %v %v", changed, err)
	}
	if changed, err := e.Symlink(link, "/usr/lib/systemd/system/chronyd.service"); err != nil || changed {
		t.Errorf("second symlink: %v %v", changed, err)
	}
	if _, err := e.Symlink("/etc/hosts", "/x"); err == nil {
		t.Error("a regular file was replaced by a link")
	}
	if _, _, err := Rollback(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, link)); !os.IsNotExist(err) {
		t.Errorf("link survives rollback: %v", err)
	}
}

// Under --root an absolute symlink resolves inside the root: the editor
// reads and writes the tree's file, never the machine running vmnode.
func TestWritesFollowLinksInsideTheRoot(t *testing.T) {
	root := setup(t)
	if err := os.MkdirAll(filepath.Join(root, "run/resolve"), 0o755); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(root, "run/resolve/resolv.conf")
	if err := os.WriteFile(inside, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run/resolve/resolv.conf", filepath.Join(root, "etc/resolv.conf")); err != nil {
		t.Fatal(err)
	}
	e := NewEditor(root, time.Unix(1000, 0))
	if b, _, err := e.Read("/etc/resolv.conf"); err != nil || string(b) != "nameserver 127.0.0.53\n" {
		t.Fatalf("read through the link: %q %v", b, err)
	}
	if _, err := e.Write("/etc/resolv.conf", []byte("nameserver 10.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read(t, inside); got != "nameserver 10.0.0.53\n" {
		t.Errorf("the tree's target holds %q", got)
	}
	if l, err := os.Readlink(filepath.Join(root, "etc/resolv.conf")); err != nil || l != "/run/resolve/resolv.conf" {
		t.Errorf("the link itself changed: %q %v", l, err)
	}
	if _, _, err := Rollback(root); err != nil {
		t.Fatal(err)
	}
	if got := read(t, inside); got != "nameserver 127.0.0.53\n" {
		t.Errorf("after rollback: %q", got)
	}
}
