package netconf

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"regexp"
	"strings"

	"github.com/vmnode/vmnode/preflight/host"
)

// The places Read looks, in the order it reports interfaces.
const (
	IfcfgGlob      = "/etc/sysconfig/network-scripts/ifcfg-*"
	KeyfileGlob    = "/etc/NetworkManager/system-connections/*"
	NetplanGlob    = "/etc/netplan/*.yaml"
	InterfacesFile = "/etc/network/interfaces"
	NetworkdGlob   = "/etc/systemd/network/*.network"
)

// maxIncludeDepth bounds ifupdown "source" nesting (and cycles).
const maxIncludeDepth = 8

// Read reads every network configuration file of the host. It returns what
// it could parse and one error per file it could not: a garbage file does
// not hide the others. A missing file or directory is not an error.
func Read(h *host.Host) ([]Iface, []error) {
	r := reader{h: h}
	r.each(IfcfgGlob, func(p string, b []byte) error {
		ifc, err := parseIfcfg(b)
		if ifc.Name == "" {
			ifc.Name = strings.TrimPrefix(path.Base(p), "ifcfg-")
		}
		return r.add(p, err, ifc)
	})
	r.each(KeyfileGlob, func(p string, b []byte) error {
		ifc, err := parseKeyfile(b)
		return r.add(p, err, ifc)
	})
	r.each(NetplanGlob, func(p string, b []byte) error {
		l, err := parseNetplan(b)
		return r.add(p, err, l...)
	})
	r.interfaces(InterfacesFile, 0, map[string]bool{})
	r.each(NetworkdGlob, func(p string, b []byte) error {
		l, err := parseNetworkd(b)
		return r.add(p, err, l...)
	})
	return r.out, r.errs
}

type reader struct {
	h    *host.Host
	out  []Iface
	errs []error
}

func (r *reader) add(p string, err error, l ...Iface) error {
	if err != nil {
		return err
	}
	for _, ifc := range l {
		ifc.Source = p
		r.out = append(r.out, ifc)
	}
	return nil
}

func (r *reader) each(pattern string, parse func(p string, b []byte) error) {
	paths, err := r.h.Glob(pattern)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("glob %s: %w", pattern, err))
		return
	}
	for _, p := range paths {
		if ignoredName(path.Base(p)) {
			continue
		}
		if fi, err := fs.Stat(r.h.Files, host.Rel(p)); err == nil && fi.IsDir() {
			continue
		}
		b, err := r.h.ReadFile(p)
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		if err := parse(p, b); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", p, err))
		}
	}
}

// runParts is the file name pattern source-directory includes (run-parts).
var runParts = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func (r *reader) interfaces(p string, depth int, seen map[string]bool) {
	if seen[p] {
		return
	}
	seen[p] = true
	b, err := r.h.ReadFile(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) || depth > 0 {
			r.errs = append(r.errs, err)
		}
		return
	}
	l, incs, err := parseInterfaces(b)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", p, err))
		return
	}
	_ = r.add(p, nil, l...)
	for _, inc := range incs {
		if depth+1 > maxIncludeDepth {
			r.errs = append(r.errs, fmt.Errorf("%s: source nesting deeper than %d", p, maxIncludeDepth))
			return
		}
		pat := inc.Pattern
		if !path.IsAbs(pat) {
			pat = path.Join(path.Dir(p), pat)
		}
		if inc.Dir {
			pat = path.Join(pat, "*")
		}
		matches, err := r.h.Glob(pat)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: source %s: %w", p, inc.Pattern, err))
			continue
		}
		for _, m := range matches {
			if inc.Dir && !runParts.MatchString(path.Base(m)) {
				continue
			}
			if fi, err := fs.Stat(r.h.Files, host.Rel(m)); err == nil && fi.IsDir() {
				continue
			}
			r.interfaces(m, depth+1, seen)
		}
	}
}

// FirstStatic is the first statically configured address in ifaces: IPv4
// before IPv6, skipping loopback, link-local and DHCP-only interfaces. It is
// the node address under --root when none is given.
func FirstStatic(ifaces []Iface) (netip.Addr, bool) {
	for _, want4 := range []bool{true, false} {
		for _, ifc := range ifaces {
			if ifc.Method == MethodLoopback {
				continue
			}
			for _, p := range ifc.Addrs {
				a := p.Addr().Unmap()
				if a.Is4() == want4 && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() {
					return a, true
				}
			}
		}
	}
	return netip.Addr{}, false
}
