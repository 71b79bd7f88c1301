package netconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// parseIfcfg parses a RHEL /etc/sysconfig/network-scripts/ifcfg-* file
// (shell variable assignments). Name is DEVICE; the caller falls back to
// the file name's suffix. NAME is a connection label ("System eth0"), not
// an interface name.
func parseIfcfg(data []byte) (Iface, error) {
	vars, err := parseShellVars(data)
	if err != nil {
		return Iface{}, err
	}
	ifc := Iface{Name: vars["DEVICE"]}
	// IPADDR, IPADDR0, IPADDR1, ... each with PREFIXn or NETMASKn.
	for _, suffix := range ifcfgSuffixes(vars) {
		a, err := netip.ParseAddr(vars["IPADDR"+suffix])
		if err != nil {
			return Iface{}, fmt.Errorf("IPADDR%s=%q: %w", suffix, clip(vars["IPADDR"+suffix]), err)
		}
		p := netip.PrefixFrom(a, defaultBits(a))
		if m := vars["PREFIX"+suffix]; m != "" {
			if p, err = withMask(a, m); err != nil {
				return Iface{}, fmt.Errorf("PREFIX%s: %w", suffix, err)
			}
		} else if m := vars["NETMASK"+suffix]; m != "" {
			if p, err = withMask(a, m); err != nil {
				return Iface{}, fmt.Errorf("NETMASK%s: %w", suffix, err)
			}
		}
		ifc.Addrs = append(ifc.Addrs, p)
	}
	for _, key := range []string{"IPV6ADDR", "IPV6ADDR_SECONDARIES"} {
		for _, f := range strings.Fields(vars[key]) {
			p, err := parsePrefix(f)
			if err != nil {
				return Iface{}, fmt.Errorf("%s: %w", key, err)
			}
			ifc.Addrs = append(ifc.Addrs, p)
		}
	}
	for _, key := range []string{"GATEWAY", "GATEWAY0"} {
		if g := vars[key]; g != "" && !ifc.Gateway.IsValid() {
			if ifc.Gateway, err = netip.ParseAddr(g); err != nil {
				return Iface{}, fmt.Errorf("%s=%q: %w", key, clip(g), err)
			}
		}
	}
	switch bp := strings.ToLower(vars["BOOTPROTO"]); {
	case ifc.Name == "lo" || strings.EqualFold(vars["TYPE"], "loopback"):
		ifc.Method = MethodLoopback
	case bp == "dhcp" || bp == "bootp":
		ifc.Method = MethodDHCP
	case bp == "" || bp == "none" || bp == "static":
		ifc.Method = methodFor(ifc.Addrs)
	default:
		ifc.Method = bp
	}
	return ifc, nil
}

// ifcfgSuffixes lists "" and the numeric suffixes n of the IPADDRn set.
func ifcfgSuffixes(vars map[string]string) []string {
	var out []string
	if vars["IPADDR"] != "" {
		out = append(out, "")
	}
	var nums []int
	for k, v := range vars {
		if rest, ok := strings.CutPrefix(k, "IPADDR"); ok && rest != "" && v != "" {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && strconv.Itoa(n) == rest {
				nums = append(nums, n)
			}
		}
	}
	slices.Sort(nums)
	for _, n := range nums {
		out = append(out, strconv.Itoa(n))
	}
	return out
}

// parseShellVars parses KEY=value lines as initscripts sources them: values
// may be single- or double-quoted, '#' starts a comment, "export" is allowed.
// Anything else (commands, unterminated quotes) is an error.
func parseShellVars(data []byte) (map[string]string, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || !isShellName(k) {
			return nil, fmt.Errorf("line %d: want KEY=value, got %q", i+1, clip(line))
		}
		val, err := shellValue(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, k, err)
		}
		vars[k] = val
	}
	return vars, nil
}

func isShellName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// shellValue unquotes one shell word, dropping a trailing comment.
func shellValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(s[j])
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return "", fmt.Errorf("unterminated double quote")
			}
			i = j
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t':
			rest := strings.TrimSpace(s[i:])
			if rest == "" || rest[0] == '#' {
				return b.String(), nil
			}
			return "", fmt.Errorf("unquoted space in value %q", clip(s))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
