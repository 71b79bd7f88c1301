package systemd

import (
	"context"
	"errors"
	"fmt"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/provision/files"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// Offline manages the units of a root directory (--root) from files alone,
// as `systemctl --root` does: enabling creates the links a unit's [Install]
// section asks for under /etc/systemd/system. Nothing can be started; a
// unit that is enabled starts at the next boot.
type Offline struct {
	Root string
	// Editor, when set, creates the links so the run journals them: a
	// failed run and `vmnode provision --rollback` remove them again.
	Editor *files.Editor
}

// configDir holds the administrator's units and all enablement links.
const configDir = "/etc/systemd/system"

// searchDirs are where unit files are looked for, in order.
var searchDirs = []string{configDir, "/usr/lib/systemd/system", "/lib/systemd/system"}

// RootDir implements Manager.
func (o Offline) RootDir() string { return o.Root }

// Live implements Manager: nothing runs under --root.
func (o Offline) Live() bool { return false }

// Reload implements Manager: there is no manager to reload.
func (o Offline) Reload(context.Context) error { return nil }

// Start implements Manager; it always fails, since nothing runs under --root.
func (o Offline) Start(_ context.Context, name string) (Undo, error) {
	return nil, fmt.Errorf("start %s: not possible under --root; it starts at next boot when enabled", name)
}

// real is a host path under the root. Symlinks inside the root must be
// resolved with resolve, never by the OS, so they cannot leave it.
func (o Offline) real(p string) string {
	return filepath.Join(o.Root, filepath.FromSlash(path.Clean("/"+p)))
}

// resolve follows symlinks in host path p as if Root were /, and returns
// the host path it ends at; it fails when that does not exist.
func (o Offline) resolve(p string) (string, error) {
	real, err := host.RootFS(o.Root).RealPath(p, true)
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(real); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(o.Root, real)
	if err != nil {
		return "", err
	}
	return path.Clean("/" + filepath.ToSlash(rel)), nil
}

// at is the OS path of host path p with its directories resolved inside the
// root and its last component left alone (so it can be Lstat'ed, read as a
// link, created or removed). A missing directory is taken as it is named.
func (o Offline) at(p string) string {
	real, _ := host.RootFS(o.Root).RealPath(p, false)
	return real
}

// find returns the host path of name's unit file (following an alias link
// to the file it names) and the unit's own name; masked reports a link to
// /dev/null. path is "" when no unit file exists.
func (o Offline) find(name string) (file, unit string, masked bool, err error) {
	for _, dir := range searchDirs {
		p := path.Join(dir, name)
		if t, err := os.Readlink(o.at(p)); err == nil && path.Clean(t) == "/dev/null" {
			return "", name, true, nil
		}
		if _, err := os.Lstat(o.at(p)); err != nil {
			continue
		}
		r, err := o.resolve(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // dangling link
		}
		if err != nil {
			return "", "", false, fmt.Errorf("unit %s: %w", name, err)
		}
		if fi, err := os.Lstat(o.real(r)); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		// A link in a unit directory named differently from its target is an
		// alias: the unit is the file it points to, in the first directory
		// that has it under that name (as systemd resolves it).
		unit = path.Base(r)
		if unit != name {
			f, u, m, err := o.find(unit)
			if err == nil && f != "" && !m {
				return f, u, false, nil
			}
		}
		return p, unit, false, nil
	}
	return "", name, false, nil
}

// link is one enablement link: a path under /etc/systemd/system pointing at
// a unit file.
type link struct{ path, target string }

func (l link) String() string { return l.path + " -> " + l.target }

// links are the links enabling the unit file at file (named unit) creates.
func (o Offline) links(file, unit string) (Install, []link, error) {
	r, err := o.resolve(file)
	if err != nil {
		return Install{}, nil, fmt.Errorf("read %s: %w", file, err)
	}
	b, err := os.ReadFile(o.real(r))
	if err != nil {
		return Install{}, nil, fmt.Errorf("read %s: %w", file, err)
	}
	in, err := parseInstall(b)
	if err != nil {
		return Install{}, nil, fmt.Errorf("%s: %w", file, err)
	}
	var ls []link
	for _, t := range in.WantedBy {
		ls = append(ls, link{path.Join(configDir, t+".wants", unit), file})
	}
	for _, t := range in.RequiredBy {
		ls = append(ls, link{path.Join(configDir, t+".requires", unit), file})
	}
	for _, a := range in.Alias {
		if a != unit {
			ls = append(ls, link{path.Join(configDir, a), file})
		}
	}
	return in, ls, nil
}

// present reports whether l exists as a link to the unit; an entry that
// is something else is a conflict, which systemctl refuses without --force.
func (o Offline) present(l link) (bool, error) {
	t, err := os.Readlink(o.at(l.path))
	switch {
	case err == nil:
		if path.Base(t) == path.Base(l.target) || path.Clean(t) == l.target {
			return true, nil
		}
		return false, fmt.Errorf("%s exists and points to %s, not %s", l.path, t, l.target)
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return false, nil
	}
	if _, serr := os.Lstat(o.at(l.path)); serr == nil {
		return false, fmt.Errorf("%s exists and is not a symbolic link", l.path)
	}
	return false, fmt.Errorf("read %s: %w", l.path, err)
}

// Lookup implements Manager.
func (o Offline) Lookup(_ context.Context, names ...string) (UnitState, error) {
	for _, name := range names {
		file, unit, masked, err := o.find(name)
		if err != nil {
			return UnitState{}, err
		}
		if masked {
			return UnitState{Name: name, FileState: "masked"}, nil
		}
		if file == "" {
			continue
		}
		st := UnitState{Name: unit, Path: file, Installed: true}
		in, ls, err := o.links(file, unit)
		if err != nil {
			return UnitState{}, err
		}
		for _, l := range ls {
			ok, err := o.present(l)
			if err != nil {
				return UnitState{}, fmt.Errorf("unit %s: %w", unit, err)
			}
			if !ok {
				st.Links = append(st.Links, l.String())
			}
		}
		switch {
		case in.Empty():
			st.FileState = "static"
		case len(st.Links) == 0:
			st.FileState = "enabled"
		default:
			st.FileState = "disabled"
		}
		return st, nil
	}
	return UnitState{Name: names[0]}, nil
}

// Enable implements Manager: it creates each missing link atomically (a
// symlink under a temporary name renamed into place) and, when one fails,
// removes the links and directories it created before returning.
func (o Offline) Enable(ctx context.Context, name string) (Undo, error) {
	file, unit, masked, err := o.find(name)
	if err != nil {
		return nil, err
	}
	if masked {
		return nil, fmt.Errorf("enable %s: unit is masked", name)
	}
	if file == "" {
		return nil, fmt.Errorf("enable %s: no unit file", name)
	}
	_, ls, err := o.links(file, unit)
	if err != nil {
		return nil, fmt.Errorf("enable %s: %w", unit, err)
	}
	var made []string // host paths of created links and directories, in order
	undo := func(context.Context) error {
		var errs []error
		for i := len(made) - 1; i >= 0; i-- {
			if err := os.Remove(o.at(made[i])); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("undo enable %s: %w", unit, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, l := range ls {
		ok, err := o.present(l)
		if err == nil && !ok {
			err = o.symlink(l, &made)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("enable %s: %w", unit, err), undo(ctx))
		}
	}
	return undo, nil
}

// symlink creates l atomically, recording what it created in made.
func (o Offline) symlink(l link, made *[]string) error {
	dir := path.Dir(l.path)
	var dirs []string
	for d := dir; d != "/"; d = path.Dir(d) {
		if _, err := os.Lstat(o.at(d)); err == nil {
			break
		}
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Mkdir(o.at(dirs[i]), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dirs[i], err)
		}
		*made = append(*made, dirs[i])
	}
	if o.Editor != nil {
		if _, err := o.Editor.Symlink(l.path, l.target); err != nil {
			return err
		}
		*made = append(*made, l.path)
		return nil
	}
	tmp := path.Join(dir, fmt.Sprintf(".%s.vmnode-%d", path.Base(l.path), os.Getpid()))
	os.Remove(o.at(tmp))
	if err := os.Symlink(l.target, o.at(tmp)); err != nil {
		return fmt.Errorf("link %s: %w", l, err)
	}
	if err := os.Rename(o.at(tmp), o.at(l.path)); err != nil {
		os.Remove(o.at(tmp))
		return fmt.Errorf("link %s: %w", l, err)
	}
	*made = append(*made, l.path)
	return nil
}
