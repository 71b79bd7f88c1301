package netconf

import (
	"fmt"
	"net/netip"
	"strings"
)

// include is a "source PATTERN" or "source-directory DIR" line of an
// ifupdown interfaces file.
type include struct {
	Pattern string
	Dir     bool // source-directory: every run-parts-named file in Pattern
}

// parseInterfaces parses a Debian ifupdown /etc/network/interfaces file (or a
// file it sources). Each "iface NAME FAMILY METHOD" stanza is one Iface; the
// includes are returned in file order for the caller to follow.
func parseInterfaces(data []byte) ([]Iface, []include, error) {
	if err := checkText(data); err != nil {
		return nil, nil, err
	}
	var out []Iface
	var incs []include
	cur := -1 // index in out of the current stanza, -1 outside one
	var fam string
	var netmask string
	var bare []int // indices in the stanza's Addrs given without a /prefix
	finish := func() error {
		if cur < 0 || netmask == "" {
			return nil
		}
		ifc := &out[cur]
		for _, i := range bare {
			p, err := withMask(ifc.Addrs[i].Addr(), netmask)
			if err != nil {
				return fmt.Errorf("iface %s: %w", ifc.Name, err)
			}
			ifc.Addrs[i] = p
		}
		return nil
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		switch kw := f[0]; {
		case kw == "iface":
			if err := finish(); err != nil {
				return nil, nil, err
			}
			if len(f) < 4 {
				return nil, nil, fmt.Errorf("line %d: want \"iface NAME inet|inet6 METHOD\", got %q", n, clip(line))
			}
			fam, netmask, bare = f[2], "", nil
			m, err := ifupdownMethod(fam, f[3])
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", n, err)
			}
			out = append(out, Iface{Name: f[1], Method: m})
			cur = len(out) - 1
		case kw == "auto" || strings.HasPrefix(kw, "allow-") || kw == "no-auto-down" || kw == "no-scripts" || kw == "rename":
			if err := finish(); err != nil {
				return nil, nil, err
			}
			cur = -1
		case kw == "mapping":
			if err := finish(); err != nil {
				return nil, nil, err
			}
			cur = -2 // options that follow belong to the mapping
		case kw == "source" || kw == "source-directory":
			if err := finish(); err != nil {
				return nil, nil, err
			}
			cur = -1
			if len(f) != 2 {
				return nil, nil, fmt.Errorf("line %d: want \"%s PATH\"", n, kw)
			}
			incs = append(incs, include{Pattern: f[1], Dir: kw == "source-directory"})
		case cur == -2:
			// script/map lines of a mapping stanza
		case cur < 0:
			return nil, nil, fmt.Errorf("line %d: %q outside an iface stanza", n, clip(kw))
		default:
			ifc := &out[cur]
			if len(f) < 2 {
				return nil, nil, fmt.Errorf("line %d: option %q without a value", n, clip(kw))
			}
			var err error
			switch kw {
			case "address":
				var p netip.Prefix
				if p, err = parsePrefix(f[1]); err == nil {
					if !strings.Contains(f[1], "/") {
						bare = append(bare, len(ifc.Addrs))
					}
					ifc.Addrs = append(ifc.Addrs, p)
					if ifc.Method == MethodNone && fam == "inet" {
						ifc.Method = MethodStatic
					}
				}
			case "netmask":
				netmask = f[1]
			case "gateway":
				var g netip.Addr
				if g, err = netip.ParseAddr(f[1]); err == nil && fam == "inet" {
					ifc.Gateway = g
				}
			}
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %s: %w", n, kw, err)
			}
		}
	}
	if err := finish(); err != nil {
		return nil, nil, err
	}
	for i := range out {
		if out[i].Method == MethodStatic && len(out[i].Addrs) == 0 {
			out[i].Method = MethodNone
		}
	}
	return out, incs, nil
}

func ifupdownMethod(fam, m string) (string, error) {
	switch fam {
	case "inet", "inet6", "ipx", "can":
	default:
		return "", fmt.Errorf("unknown address family %q", clip(fam))
	}
	switch m {
	case "static":
		return MethodStatic, nil
	case "dhcp", "bootp":
		return MethodDHCP, nil
	case "auto":
		if fam == "inet6" {
			return MethodDHCP, nil // SLAAC: dynamic as far as a node address goes
		}
	case "manual":
		return MethodNone, nil
	case "loopback":
		return MethodLoopback, nil
	}
	return m, nil
}
