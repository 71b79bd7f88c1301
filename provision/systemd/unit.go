package systemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmnode/vmnode/profiles"
)

// Unit is a unit the step makes enabled and/or running.
type Unit struct {
	Name    string   // e.g. "chronyd.service"
	Aliases []string // other names the distro may use, e.g. "chrony.service"
	Enable  bool     // enable for autostart
	Start   bool     // start now (under --root: at next boot)
	// Content, when set, is installed as /etc/systemd/system/NAME first.
	Content []byte
}

// names is Name then Aliases.
func (u Unit) names() []string { return append([]string{u.Name}, u.Aliases...) }

// ForProfile maps a profile's services to units, enabled and started. A name
// without a unit suffix is a service; chrony is known under both its Debian
// (chrony.service) and RHEL (chronyd.service) names.
func ForProfile(p *profiles.Profile) []Unit {
	var units []Unit
	seen := map[string]bool{}
	for _, s := range p.Services {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		name := s
		if !validUnitName(name) {
			name += ".service"
		}
		u := Unit{Name: name, Enable: true, Start: true}
		switch name {
		case "chrony.service":
			u.Aliases = []string{"chronyd.service"}
		case "chronyd.service":
			u.Aliases = []string{"chrony.service"}
		}
		if seen[u.Name] || (len(u.Aliases) > 0 && seen[u.Aliases[0]]) {
			continue
		}
		seen[u.Name] = true
		units = append(units, u)
	}
	return units
}

// provider names the package that ships a unit, per distribution family.
type provider struct{ debian, rhel string }

var providers = map[string]provider{
	"libvirtd.service": {"libvirt-daemon-system", "libvirt-daemon-kvm"},
	"chrony.service":   {"chrony", "chrony"},
	"chronyd.service":  {"chrony", "chrony"},
	"nftables.service": {"nftables", "nftables"},
}

// notInstalled is the error for a unit with no unit file on the host: it
// names the unit and, when known, the package that provides it, for the
// host's distribution family when os-release under root tells it.
func notInstalled(root string, u Unit) error {
	msg := fmt.Sprintf("unit %s is not installed (no unit file for %s in /etc/systemd/system, /usr/lib/systemd/system or /lib/systemd/system)",
		u.Name, strings.Join(u.names(), " or "))
	var p provider
	var ok bool
	for _, n := range u.names() {
		if p, ok = providers[n]; ok {
			break
		}
	}
	if !ok {
		return fmt.Errorf("%s", msg)
	}
	switch family(root) {
	case "debian":
		return fmt.Errorf("%s: install package %s", msg, p.debian)
	case "rhel":
		return fmt.Errorf("%s: install package %s", msg, p.rhel)
	}
	if p.debian == p.rhel {
		return fmt.Errorf("%s: install package %s", msg, p.debian)
	}
	return fmt.Errorf("%s: install package %s (Debian, Ubuntu) or %s (RHEL and derivatives)", msg, p.debian, p.rhel)
}

// family is "debian", "rhel" or "" from root/etc/os-release ID and ID_LIKE.
func family(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "etc/os-release"))
	if err != nil {
		return ""
	}
	var ids []string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && (k == "ID" || k == "ID_LIKE") {
			ids = append(ids, strings.Fields(strings.Trim(v, `"'`))...)
		}
	}
	for _, id := range ids {
		switch id {
		case "debian", "ubuntu":
			return "debian"
		case "rhel", "fedora", "centos", "almalinux", "rocky":
			return "rhel"
		}
	}
	return ""
}

// UnitState is what a Manager knows of a unit.
type UnitState struct {
	Name        string // the unit's own name (an alias resolved), e.g. "chrony.service"
	Path        string // its unit file as a host path; "" when unknown
	Installed   bool   // a unit file exists (a mask is not one)
	FileState   string // enabled, disabled, static, masked, indirect, alias, ...
	ActiveState string // active, inactive, failed, ...; "" when not live
	// Links are the enablement links enabling would create, as
	// "LINK -> TARGET" (Offline only; D-Bus decides them itself).
	Links []string
}

// Enabled reports whether the unit is enabled for autostart.
func (s UnitState) Enabled() bool { return s.FileState == "enabled" }

// Active reports whether the unit is running.
func (s UnitState) Active() bool { return s.ActiveState == "active" || s.ActiveState == "reloading" }

// Masked reports whether the unit is masked.
func (s UnitState) Masked() bool { return strings.HasPrefix(s.FileState, "masked") }

// Enableable reports whether enabling can change anything: static,
// generated, transient and alias units have no [Install] of their own.
func (s UnitState) Enableable() bool {
	switch s.FileState {
	case "static", "generated", "transient", "alias", "indirect":
		return false
	}
	return true
}

// Undo reverts one change a Manager made.
type Undo func(ctx context.Context) error

// Manager reads and changes units on a host.
type Manager interface {
	// RootDir is the directory holding the host's files: "/" for the live
	// host, the --root directory offline. Unit files are written under it.
	RootDir() string
	// Live reports whether units can be started now; when false, a unit
	// starts at the next boot if it is enabled.
	Live() bool
	// Lookup returns the state of the first of names that has a unit file;
	// Installed is false when none has.
	Lookup(ctx context.Context, names ...string) (UnitState, error)
	// Reload makes the manager see unit files written since (daemon-reload).
	Reload(ctx context.Context) error
	// Enable enables the unit and returns how to undo exactly that.
	Enable(ctx context.Context, name string) (Undo, error)
	// Start starts the unit, waits for the job to finish, and returns how
	// to stop it again.
	Start(ctx context.Context, name string) (Undo, error)
}
