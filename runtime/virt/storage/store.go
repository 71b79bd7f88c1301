package storage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Store is vmnode's storage directory on one host.
type Store struct {
	Dir string // e.g. /var/lib/vmnode
	// QemuImg is the qemu-img command ("qemu-img": found in PATH).
	QemuImg string
	// Now is the clock for import times (time.Now).
	Now func() time.Time
}

// New returns a Store over dir. It does no I/O: directories are created
// when first needed.
func New(dir string) *Store {
	return &Store{Dir: dir, QemuImg: "qemu-img", Now: time.Now}
}

func (s *Store) imagesDir() string { return filepath.Join(s.Dir, "images") }
func (s *Store) vmsDir() string    { return filepath.Join(s.Dir, "vms") }

// VMDir is the directory of a VM's disks and seed.
func (s *Store) VMDir(vm string) string { return filepath.Join(s.vmsDir(), vm) }

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// writeJSON writes v to path atomically: a temp file in the same
// directory, synced, then renamed over path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	return nil
}

// reachable lets QEMU, which libvirt runs as its own user, reach the store:
// the data directory (0700 when systemd made it) gets the search bit for
// others, which lets them open the paths they know but not list anything.
// The disks themselves are given to QEMU's user by libvirt at start.
func (s *Store) reachable() error {
	st, err := os.Stat(s.Dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(s.Dir, st.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("let QEMU reach %s: %w", s.Dir, err)
		}
	}
	return nil
}
