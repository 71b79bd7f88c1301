package host

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// RootFS is a read-only fs.FS over a directory that resolves symlinks the
// way a chroot does: an absolute target such as /run/systemd/resolve/stub-
// resolv.conf is looked up under the root, never on the machine running
// vmnode. os.DirFS would follow it out of a captured tree.
type RootFS string

const maxLinks = 40

var errLoop = errors.New("too many levels of symbolic links")

// Open implements fs.FS.
func (r RootFS) Open(name string) (fs.File, error) {
	p, err := r.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Stat implements fs.StatFS.
func (r RootFS) Stat(name string) (fs.FileInfo, error) {
	p, err := r.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// Lstat implements fs.ReadLinkFS.
func (r RootFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := r.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

// ReadLink implements fs.ReadLinkFS.
func (r RootFS) ReadLink(name string) (string, error) {
	p, err := r.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}

// RealPath maps a host path ("/etc/hosts") to the real path inside the
// root, resolving symlinks as a chroot would (the last component too when
// follow is set). Provisioning writes through it, so a link in a --root tree
// can never lead a write onto the machine running vmnode.
func (r RootFS) RealPath(name string, follow bool) (string, error) {
	return r.resolve("resolve", Rel(name), follow)
}

// resolve maps name to a real path inside the root, following symlinks in
// every component (and in the last one when follow is set) relative to it.
func (r RootFS) resolve(op, name string, follow bool) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if r == "/" {
		// The live root: the kernel resolves links exactly as a chroot
		// would, so skip the per-component walk (a check reading hundreds
		// of sysfs files would pay for it).
		return "/" + name, nil
	}
	var done []string // resolved components, inside the root
	todo := strings.Split(name, "/")
	if name == "." {
		todo = nil
	}
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		real := filepath.Join(string(r), filepath.Join(done...), c)
		if len(todo) == 0 && !follow {
			done = append(done, c)
			break
		}
		info, err := os.Lstat(real)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c) // missing or not a link: let the caller's os call report it
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: op, Path: name, Err: errLoop}
		}
		target, err := os.Readlink(real)
		if err != nil {
			return "", &fs.PathError{Op: op, Path: name, Err: err}
		}
		if path.IsAbs(target) {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(string(r), filepath.Join(done...)), nil
}
