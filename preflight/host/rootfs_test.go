package host

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestRootFSResolvesLinksInsideRoot(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "run/systemd/resolve"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "run/systemd/resolve/stub-resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644))
	// Absolute: must resolve under dir, not on this machine.
	must(os.Symlink("/run/systemd/resolve/stub-resolv.conf", filepath.Join(dir, "etc/resolv.conf")))
	// Escapes with ..: clamped at the root like a chroot.
	must(os.Symlink("../../../../run/systemd/resolve/stub-resolv.conf", filepath.Join(dir, "etc/up")))
	must(os.Symlink("loop2", filepath.Join(dir, "etc/loop1")))
	must(os.Symlink("loop1", filepath.Join(dir, "etc/loop2")))

	r := RootFS(dir)
	for _, name := range []string{"etc/resolv.conf", "etc/up"} {
		b, err := fs.ReadFile(r, name)
		if err != nil || string(b) != "nameserver 127.0.0.53\n" {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if target, err := r.ReadLink("etc/resolv.conf"); err != nil || target != "/run/systemd/resolve/stub-resolv.conf" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	if _, err := fs.ReadFile(r, "etc/loop1"); !errors.Is(err, errLoop) {
		t.Errorf("loop: %v", err)
	}
	if _, err := r.Open("/etc/passwd"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("absolute name: %v", err)
	}
	if err := fstest.TestFS(RootFS(filepath.Join(dir, "run")), "systemd/resolve/stub-resolv.conf"); err != nil {
		t.Error(err)
	}
}
