package host

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Unit directories, in systemd's order of precedence. Only the first holds
// the administrator's enablement; the others hold the vendor's unit files.
var (
	unitConfigDir = "/etc/systemd/system"
	unitDirs      = []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}
)

// UnitEnabled reports whether one of the units names is enabled for
// autostart, deciding from files only as `systemctl --root` does: enabled
// means a symlink (or file) named after the unit, or pointing at it under an
// alias, in one of /etc/systemd/system/*.wants/ or *.requires/. Vendor
// presets and links under /usr/lib/systemd/system are not enablement, and a
// unit masked by /etc/systemd/system/NAME -> /dev/null is not enabled.
//
// which is the name that is enabled; when none is, it is the first of names
// that is masked, or "". It works the same for the live host and under
// --root, since symlinks are read and never followed.
func (h *Host) UnitEnabled(names ...string) (enabled bool, which string, err error) {
	var links []string
	for _, kind := range []string{"wants", "requires"} {
		m, err := h.Glob(unitConfigDir + "/*." + kind + "/*")
		if err != nil {
			return false, "", fmt.Errorf("list %s/*.%s: %w", unitConfigDir, kind, err)
		}
		links = append(links, m...)
	}
	var masked string
	for _, name := range names {
		if h.UnitMasked(name) {
			if masked == "" {
				masked = name
			}
			continue
		}
		for _, l := range links {
			ok, err := h.linksTo(l, name)
			if err != nil {
				return false, "", err
			}
			if ok {
				return true, name, nil
			}
		}
	}
	return false, masked, nil
}

// linksTo reports whether the .wants/.requires entry l enables unit name:
// it is named after the unit (or its template instance), or it is a symlink
// whose target is the unit file.
func (h *Host) linksTo(l, name string) (bool, error) {
	base := path.Base(l)
	if unitNameMatches(base, name) {
		return true, nil
	}
	target, err := h.ReadLink(l)
	if err != nil {
		if errors.Is(err, fs.ErrInvalid) || strings.Contains(err.Error(), "invalid argument") {
			return false, nil // a regular file: its name alone counts
		}
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // vanished between listing and reading
		}
		return false, fmt.Errorf("is %s enabled: %w", name, err)
	}
	return unitNameMatches(path.Base(target), name), nil
}

// unitNameMatches reports whether file names unit name, or an instance of
// the template name ("getty@tty1.service" for "getty@.service").
func unitNameMatches(file, name string) bool {
	if file == name {
		return true
	}
	prefix, suffix, ok := strings.Cut(name, "@.")
	return ok && strings.HasPrefix(file, prefix+"@") && strings.HasSuffix(file, "."+suffix)
}

// UnitMasked reports whether name is masked: /etc/systemd/system/NAME (or
// /run/systemd/system/NAME) is a symlink to /dev/null.
func (h *Host) UnitMasked(name string) bool {
	for _, dir := range []string{unitConfigDir, "/run/systemd/system"} {
		if t, err := h.ReadLink(dir + "/" + name); err == nil && path.Clean(t) == "/dev/null" {
			return true
		}
	}
	return false
}

// UnitInstalled reports whether a unit file for one of names is present in
// /etc/systemd/system, /usr/lib/systemd/system or /lib/systemd/system. A
// mask (a link to /dev/null) is not a unit file. The file itself is looked
// at, never what a symlink points to, so an absolute link inside a --root
// tree cannot reach the machine running vmnode.
func (h *Host) UnitInstalled(names ...string) bool {
	for _, name := range names {
		for _, dir := range unitDirs {
			p := dir + "/" + name
			if _, err := fs.Lstat(h.Files, Rel(p)); err != nil {
				continue
			}
			if t, err := h.ReadLink(p); err == nil && path.Clean(t) == "/dev/null" {
				continue
			}
			return true
		}
	}
	return false
}
