package storage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

var importTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func newStore(t *testing.T) *Store {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Fatalf("qemu-img not found (install qemu-utils; tests/install-deps.sh): %v", err)
	}
	s := New(filepath.Join(t.TempDir(), "vmnode"))
	s.Now = func() time.Time { return importTime }
	return s
}

func qemuImg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// qcow2WithData makes a qcow2 of 8 MiB virtual size whose first 2 MiB are
// allocated with random data (so that it has clusters to lose).
func qcow2WithData(t *testing.T, dir, name string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "data.raw")
	data := make([]byte, 8<<20)
	if _, err := rand.Read(data[:2<<20]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	qemuImg(t, "convert", "-f", "raw", "-O", "qcow2", raw, path)
	return path
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// files lists everything under dir (relative paths), "" for a missing dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
