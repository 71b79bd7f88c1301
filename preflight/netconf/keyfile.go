package netconf

import (
	"fmt"
	"net/netip"
	"strings"
)

// parseKeyfile parses a NetworkManager keyfile (system-connections/*.nmconnection).
// Name is interface-name; it is empty for a connection bound by MAC address
// (the connection id is a label such as "Wired connection 1", not a name).
func parseKeyfile(data []byte) (Iface, error) {
	secs, err := ParseINI(data)
	if err != nil {
		return Iface{}, err
	}
	get := func(sec, key string) (string, bool) {
		v, ok := "", false
		for _, s := range secs {
			if s.Name == sec {
				if x, found := s.Get(key); found {
					v, ok = x, true
				}
			}
		}
		return v, ok
	}
	if _, ok := get("connection", "id"); !ok {
		if _, ok := get("connection", "type"); !ok {
			return Iface{}, fmt.Errorf("no [connection] id= or type=: not a NetworkManager keyfile")
		}
	}
	var ifc Iface
	ifc.Name, _ = get("connection", "interface-name")
	for _, fam := range []string{"ipv4", "ipv6"} {
		for _, s := range secs {
			if s.Name != fam {
				continue
			}
			for _, kv := range s.Keys {
				if !isKeyfileAddrKey(kv.Key) {
					continue
				}
				for _, item := range strings.Split(kv.Value, ";") {
					if item = strings.TrimSpace(item); item == "" {
						continue
					}
					addr, gw, _ := strings.Cut(item, ",")
					p, err := parsePrefixDefault(addr, fam)
					if err != nil {
						return Iface{}, fmt.Errorf("line %d: [%s] %s: %w", kv.Line, fam, kv.Key, err)
					}
					ifc.Addrs = append(ifc.Addrs, p)
					if gw = strings.TrimSpace(gw); gw != "" && fam == "ipv4" && !ifc.Gateway.IsValid() {
						if ifc.Gateway, err = netip.ParseAddr(gw); err != nil {
							return Iface{}, fmt.Errorf("line %d: [%s] %s gateway: %w", kv.Line, fam, kv.Key, err)
						}
					}
				}
			}
		}
	}
	if gw, ok := get("ipv4", "gateway"); ok && gw != "" {
		if ifc.Gateway, err = netip.ParseAddr(gw); err != nil {
			return Iface{}, fmt.Errorf("[ipv4] gateway: %w", err)
		}
	}
	method, hasMethod := get("ipv4", "method")
	typ, _ := get("connection", "type")
	_, slave := get("connection", "master")
	if _, ctl := get("connection", "controller"); ctl {
		slave = true
	}
	switch {
	case typ == "loopback":
		ifc.Method = MethodLoopback
	case slave && !hasMethod:
		ifc.Method = MethodNone
	case method == "manual":
		ifc.Method = methodFor(ifc.Addrs)
	case method == "auto" || method == "": // NetworkManager's default is auto
		ifc.Method = MethodDHCP
	case method == "disabled":
		ifc.Method = MethodNone
	default:
		ifc.Method = method
	}
	return ifc, nil
}

// isKeyfileAddrKey matches address1, address2, addresses, addresses1 (old).
func isKeyfileAddrKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "address")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "es")
	return strings.Trim(rest, "0123456789") == ""
}

// parsePrefixDefault is parsePrefix with NetworkManager keyfile defaults:
// /24 for IPv4 and /64 for IPv6 when the prefix is left out.
func parsePrefixDefault(s, fam string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address %q: %w", clip(s), err)
		}
		bits := 64
		if fam == "ipv4" {
			bits = 24
		}
		return netip.PrefixFrom(a, min(bits, a.BitLen())), nil
	}
	return parsePrefix(s)
}
