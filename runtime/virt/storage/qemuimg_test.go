package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQemuImg installs a qemu-img that records its environment and runs
// body.
func fakeQemuImg(t *testing.T, s *Store, body string) (envFile string) {
	t.Helper()
	dir := t.TempDir()
	envFile = filepath.Join(dir, "env")
	script := "#!/bin/sh\necho \"LC_ALL=$LC_ALL\" > " + envFile + "\n" + body + "\n"
	s.QemuImg = filepath.Join(dir, "qemu-img")
	if err := os.WriteFile(s.QemuImg, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return envFile
}

func TestQemuImgEnvAndStderr(t *testing.T) {
	s := newStore(t)
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	env := fakeQemuImg(t, s, "echo 'qemu-img: Could not create: Permission denied' >&2\nexit 1")
	_, err := s.PrepareDisks(context.Background(), "vm", "", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "exit status 1: qemu-img: Could not create: Permission denied") {
		t.Fatalf("PrepareDisks: %v, want qemu-img's stderr in the error", err)
	}
	if b, _ := os.ReadFile(env); string(b) != "LC_ALL=C\n" {
		t.Errorf("qemu-img ran with %q, want LC_ALL=C", b)
	}
}

func TestQemuImgContext(t *testing.T) {
	s := newStore(t)
	fakeQemuImg(t, s, "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.PrepareDisks(ctx, "vm", "", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("PrepareDisks: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("PrepareDisks took %v after its context expired", d)
	}
	if _, err := os.Stat(s.VMDir("vm")); !os.IsNotExist(err) {
		t.Errorf("VM dir left behind: %v", err)
	}
}
