// Package files edits host files the way provisioning must: atomically (a
// temporary file renamed over the old one in the same directory), keeping
// the mode and owner, and keeping a backup of every file it changes in
// /var/lib/vmnode/backups/<run>/ with a manifest, so a failed step can be
// undone and `vmnode provision --rollback` can restore the last run.
package files

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vmnode/vmnode/preflight/host"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/aymanbagabas/go-udiff"
)

// BackupRoot is where runs keep their backups, relative to the host root.
const BackupRoot = "/var/lib/vmnode/backups"

const manifestName = "manifest.json"

// Editor writes files under a root and journals what it changed.
type Editor struct {
	root    string
	run     string // backup directory of this run (real path), created on first change
	entries []Entry
}

// Entry records one changed file.
type Entry struct {
	Path    string      `json:"path"`           // host path, e.g. /etc/hosts
	Existed bool        `json:"existed"`        // false: the run created it, rollback removes it
	Link    string      `json:"link,omitempty"` // for a symlink: its previous target ("" when it was created)
	Symlink bool        `json:"symlink,omitempty"`
	Mode    fs.FileMode `json:"mode"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
}

// NewEditor edits files under root ("/" for the live host); backups of this
// run go to a directory named after now.
func NewEditor(root string, now time.Time) *Editor {
	return &Editor{root: root, run: filepath.Join(root, BackupRoot, now.UTC().Format("20060102T150405.000000000Z"))}
}

// Root is the directory the editor works under ("/" for the live host).
func (e *Editor) Root() string { return e.root }

// BackupDir is this run's backup directory as a host path.
func (e *Editor) BackupDir() string { return filepath.Join(BackupRoot, filepath.Base(e.run)) }

// Changed lists the files changed so far, in order.
func (e *Editor) Changed() []Entry { return append([]Entry(nil), e.entries...) }

// real is where path lives under the root, symlinks resolved inside it.
func (e *Editor) real(path string, follow bool) (string, error) {
	return host.RootFS(e.root).RealPath(path, follow)
}

// Read returns a host file's content; a missing file reads as empty with
// exists false.
func (e *Editor) Read(path string) (content []byte, exists bool, err error) {
	real, err := e.real(path, true)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	b, err := os.ReadFile(real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return b, true, nil
}

// Diff is a unified diff from the current content of path to content.
func (e *Editor) Diff(path string, content []byte) (string, error) {
	old, _, err := e.Read(path)
	if err != nil {
		return "", err
	}
	return udiff.Unified(path, path+" (planned)", string(old), string(content)), nil
}

// Write replaces path with content when it differs: the old content is
// backed up first, the new one is written to a temporary file in the same
// directory, given the old file's mode and owner (mode for a new file), and
// renamed over it. It reports whether anything changed.
func (e *Editor) Write(path string, content []byte, mode fs.FileMode) (bool, error) {
	real, err := e.real(path, true)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	old, exists, err := e.Read(path)
	if err != nil {
		return false, err
	}
	if exists && bytes.Equal(old, content) {
		return false, nil
	}
	entry := Entry{Path: filepath.Clean("/" + path), Existed: exists, Mode: mode, UID: -1, GID: -1}
	if exists {
		info, err := os.Stat(real)
		if err != nil {
			return false, fmt.Errorf("stat %s: %w", path, err)
		}
		entry.Mode = info.Mode().Perm()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			entry.UID, entry.GID = int(st.Uid), int(st.Gid)
		}
	}
	mark := e.Mark()
	if err := e.backup(entry, old); err != nil {
		return false, err
	}
	err = os.MkdirAll(filepath.Dir(real), 0o755)
	if err == nil {
		err = atomicWrite(real, content, entry.Mode, entry.UID, entry.GID)
	}
	if err != nil {
		// The rename did not happen: the file is as it was. Forget the entry.
		e.entries = e.entries[:mark]
		return false, errors.Join(fmt.Errorf("write %s: %w", path, err), e.writeManifest())
	}
	return true, nil
}

// Symlink makes path a symbolic link to target (creating directories),
// journalled like a file write so a failed step or --rollback undoes it.
// A regular file in the way is an error, never replaced.
func (e *Editor) Symlink(path, target string) (bool, error) {
	real, err := e.real(path, false)
	if err != nil {
		return false, fmt.Errorf("link %s: %w", path, err)
	}
	entry := Entry{Path: filepath.Clean("/" + path), Symlink: true}
	if info, err := os.Lstat(real); err == nil {
		if info.Mode()&fs.ModeSymlink == 0 {
			return false, fmt.Errorf("link %s: a file that is not a symlink is in the way", path)
		}
		old, err := os.Readlink(real)
		if err != nil {
			return false, fmt.Errorf("link %s: %w", path, err)
		}
		if old == target {
			return false, nil
		}
		entry.Existed, entry.Link = true, old
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("link %s: %w", path, err)
	}
	mark := e.Mark()
	if err := e.backup(entry, nil); err != nil {
		return false, err
	}
	err = os.MkdirAll(filepath.Dir(real), 0o755)
	if err == nil {
		err = atomicSymlink(real, target)
	}
	if err != nil {
		e.entries = e.entries[:mark]
		return false, errors.Join(fmt.Errorf("link %s: %w", path, err), e.writeManifest())
	}
	return true, nil
}

// atomicSymlink points path at target by renaming a fresh link over it.
func atomicSymlink(path, target string) error {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.vmnode-link-%d", filepath.Base(path), time.Now().UnixNano()))
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// backup saves the old content and records the entry in the manifest before
// the file is touched, so a crash mid-write still leaves a way back.
func (e *Editor) backup(entry Entry, old []byte) error {
	for _, prev := range e.entries {
		if prev.Path == entry.Path {
			return nil // the first backup of this run is the one to restore
		}
	}
	if entry.Existed && !entry.Symlink {
		dst := filepath.Join(e.run, "files", entry.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("backup %s: %w", entry.Path, err)
		}
		if err := atomicWrite(dst, old, 0o600, -1, -1); err != nil {
			return fmt.Errorf("backup %s: %w", entry.Path, err)
		}
	}
	e.entries = append(e.entries, entry)
	return e.writeManifest()
}

func (e *Editor) writeManifest() error {
	if err := os.MkdirAll(e.run, 0o700); err != nil {
		return fmt.Errorf("backup manifest: %w", err)
	}
	b, err := json.MarshalIndent(e.entries, "", "  ")
	if err != nil {
		return err
	}
	return atomicWrite(filepath.Join(e.run, manifestName), append(b, '\n'), 0o600, -1, -1)
}

// Mark is a point in the journal to roll back to.
func (e *Editor) Mark() int { return len(e.entries) }

// RollbackTo restores every file changed since mark, newest first.
func (e *Editor) RollbackTo(mark int) error {
	var errs []error
	for i := len(e.entries) - 1; i >= mark; i-- {
		if err := restore(e.root, e.run, e.entries[i]); err != nil {
			errs = append(errs, err)
		}
	}
	e.entries = e.entries[:mark]
	if err := e.writeManifest(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Rollback restores the files of the most recent run that changed any,
// and returns their host paths.
func Rollback(root string) (run string, restored []string, err error) {
	dir := filepath.Join(root, BackupRoot)
	runs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || len(runs) == 0 {
		return "", nil, errors.New("nothing to roll back: no backups in " + BackupRoot)
	}
	if err != nil {
		return "", nil, fmt.Errorf("rollback: %w", err)
	}
	names := make([]string, 0, len(runs))
	for _, r := range runs {
		names = append(names, r.Name())
	}
	sort.Strings(names)
	for i := len(names) - 1; i >= 0; i-- {
		b, err := os.ReadFile(filepath.Join(dir, names[i], manifestName))
		if err != nil {
			continue
		}
		var entries []Entry
		if err := json.Unmarshal(b, &entries); err != nil {
			return "", nil, fmt.Errorf("rollback: %s/%s: %w", names[i], manifestName, err)
		}
		if len(entries) == 0 {
			continue
		}
		var errs []error
		for j := len(entries) - 1; j >= 0; j-- {
			if err := restore(root, filepath.Join(dir, names[i]), entries[j]); err != nil {
				errs = append(errs, err)
				continue
			}
			restored = append(restored, entries[j].Path)
		}
		if err := errors.Join(errs...); err != nil {
			return names[i], restored, err
		}
		// Keep the backups, but mark the run as rolled back so the next
		// --rollback goes one run further back.
		if err := os.Rename(filepath.Join(dir, names[i], manifestName), filepath.Join(dir, names[i], manifestName+".rolled-back")); err != nil {
			return names[i], restored, fmt.Errorf("rollback: %w", err)
		}
		return filepath.Join(BackupRoot, names[i]), restored, nil
	}
	return "", nil, errors.New("nothing to roll back: no run in " + BackupRoot + " changed a file")
}

func restore(root, run string, e Entry) error {
	real, err := host.RootFS(root).RealPath(e.Path, !e.Symlink)
	if err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	if e.Symlink && e.Existed {
		return atomicSymlink(real, e.Link)
	}
	if !e.Existed {
		if err := os.Remove(real); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", e.Path, err)
		}
		return nil
	}
	old, err := os.ReadFile(filepath.Join(run, "files", e.Path))
	if err != nil {
		return fmt.Errorf("restore %s: backup: %w", e.Path, err)
	}
	if err := atomicWrite(real, old, e.Mode, e.UID, e.GID); err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	return nil
}

// atomicWrite writes content to a temporary file beside path, syncs it,
// sets mode and owner (uid/gid -1: leave as created) and renames it over path.
func atomicWrite(path string, content []byte, mode fs.FileMode, uid, gid int) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".vmnode-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(content); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err = tmp.Chown(uid, gid); err != nil {
			return err
		}
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); errors.Is(err, syscall.EBUSY) {
		// path is a mount point (containers bind-mount /etc/hosts and
		// /etc/resolv.conf): it cannot be replaced, only rewritten in place.
		// The backup is already taken.
		os.Remove(tmp.Name())
		return os.WriteFile(path, content, mode)
	}
	return err
}
