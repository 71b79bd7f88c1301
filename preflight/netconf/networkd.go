package netconf

import (
	"fmt"
	"net/netip"
	"strings"
)

// parseNetworkd parses a systemd-networkd .network file. It returns one
// Iface per name in [Match] Name= (which may hold globs), or one Iface with
// an empty name when the file matches by something else (MAC, type).
func parseNetworkd(data []byte) ([]Iface, error) {
	secs, err := ParseINI(data)
	if err != nil {
		return nil, err
	}
	var names []string
	var base Iface
	dhcp := false
	addAddr := func(kv KV) error {
		if kv.Value == "" {
			return nil
		}
		p, err := parsePrefixBits(kv.Value)
		if err != nil {
			return fmt.Errorf("line %d: Address=: %w", kv.Line, err)
		}
		base.Addrs = append(base.Addrs, p)
		return nil
	}
	setGateway := func(kv KV) error {
		if kv.Value == "" || strings.HasPrefix(kv.Value, "_") { // _dhcp4, _ipv6ra
			return nil
		}
		g, err := netip.ParseAddr(kv.Value)
		if err != nil {
			return fmt.Errorf("line %d: Gateway=: %w", kv.Line, err)
		}
		if !base.Gateway.IsValid() && g.Is4() {
			base.Gateway = g
		}
		return nil
	}
	for _, s := range secs {
		switch s.Name {
		case "Match":
			for _, kv := range s.Keys {
				if kv.Key == "Name" {
					if kv.Value == "" {
						names = nil
					}
					names = append(names, strings.Fields(kv.Value)...)
				}
			}
		case "Network":
			for _, kv := range s.Keys {
				var err error
				switch kv.Key {
				case "DHCP":
					dhcp, err = networkdDHCPv4(kv.Value)
					if err != nil {
						err = fmt.Errorf("line %d: DHCP=: %w", kv.Line, err)
					}
				case "Address":
					err = addAddr(kv)
				case "Gateway":
					err = setGateway(kv)
				}
				if err != nil {
					return nil, err
				}
			}
		case "Address":
			for _, kv := range s.Keys {
				if kv.Key == "Address" {
					if err := addAddr(kv); err != nil {
						return nil, err
					}
				}
			}
		case "Route":
			dst, _ := s.Get("Destination")
			if dst != "" && dst != "0.0.0.0/0" {
				continue
			}
			for _, kv := range s.Keys {
				if kv.Key == "Gateway" {
					if err := setGateway(kv); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	base.Method = methodFor(base.Addrs)
	if dhcp {
		base.Method = MethodDHCP
	}
	if len(names) == 0 {
		return []Iface{base}, nil
	}
	out := make([]Iface, 0, len(names))
	for _, n := range names {
		ifc := base
		ifc.Name = n
		ifc.Addrs = append([]netip.Prefix(nil), base.Addrs...)
		out = append(out, ifc)
	}
	return out, nil
}

// networkdDHCPv4 reports whether DHCP= enables DHCPv4.
func networkdDHCPv4(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1", "ipv4", "both", "v4":
		return true, nil
	case "no", "false", "off", "0", "ipv6", "v6", "none", "":
		return false, nil
	}
	return false, fmt.Errorf("unknown value %q", clip(v))
}

// parsePrefixBits parses networkd's Address=, where a missing prefix length
// means a host address (/32 or /128).
func parsePrefixBits(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return parsePrefix(s)
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", clip(s), err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
