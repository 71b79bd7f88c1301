package host

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// MaxFileSize bounds what ReadFile reads: host files that checks parse are
// small, and a garbage multi-gigabyte file must not exhaust memory.
const MaxFileSize = 4 << 20

// ReadFile reads a host file by its absolute path ("/etc/hosts"), relative
// to the root. Errors name the path as the host sees it.
func (h *Host) ReadFile(name string) ([]byte, error) {
	rel := Rel(name)
	f, err := h.Files.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
	}
	if info.IsDir() {
		return nil, fmt.Errorf("read %s: is a directory", name)
	}
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
	}
	if len(buf) > MaxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, MaxFileSize)
	}
	return buf, nil
}

// Exists reports whether the host path exists (a dangling symlink counts as
// absent).
func (h *Host) Exists(name string) bool {
	_, err := fs.Stat(h.Files, Rel(name))
	return err == nil
}

// Glob lists host paths matching pattern ("/etc/yum.repos.d/*.repo"), as
// absolute paths.
func (h *Host) Glob(pattern string) ([]string, error) {
	m, err := fs.Glob(h.Files, Rel(pattern))
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, err
}

// ReadLink reads a symlink under the root without following it.
func (h *Host) ReadLink(name string) (string, error) {
	rl, ok := h.Files.(fs.ReadLinkFS)
	if !ok {
		return "", fmt.Errorf("readlink %s: not supported by this host view", name)
	}
	t, err := rl.ReadLink(Rel(name))
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", name, unwrapPath(err))
	}
	return t, nil
}

// Rel turns an absolute host path into an fs.FS path.
func Rel(name string) string {
	p := strings.TrimPrefix(path.Clean("/"+name), "/")
	if p == "" {
		return "."
	}
	return p
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
