package netconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

type netplanDoc struct {
	Network *struct {
		Version   int                     `yaml:"version"`
		Renderer  string                  `yaml:"renderer"`
		Ethernets map[string]netplanIface `yaml:"ethernets"`
		Bonds     map[string]netplanIface `yaml:"bonds"`
		Vlans     map[string]netplanIface `yaml:"vlans"`
		Bridges   map[string]netplanIface `yaml:"bridges"`
		Wifis     map[string]netplanIface `yaml:"wifis"`
	} `yaml:"network"`
}

type netplanIface struct {
	DHCP4     *bool            `yaml:"dhcp4"`
	DHCP6     *bool            `yaml:"dhcp6"`
	Addresses []netplanAddress `yaml:"addresses"`
	Gateway4  string           `yaml:"gateway4"`
	Routes    []struct {
		To  string `yaml:"to"`
		Via string `yaml:"via"`
	} `yaml:"routes"`
	Match struct {
		Name string `yaml:"name"`
	} `yaml:"match"`
	SetName string `yaml:"set-name"`
}

// netplanAddress is "10.0.0.5/24" or the mapping form {"10.0.0.5/24": {lifetime: 0}}.
type netplanAddress string

func (a *netplanAddress) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		*a = netplanAddress(n.Value)
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		*a = netplanAddress(n.Content[0].Value)
	default:
		return fmt.Errorf("line %d: address: want \"IP/PREFIX\"", n.Line)
	}
	return nil
}

// parseNetplan parses one /etc/netplan/*.yaml file. Interfaces come sorted
// by kind (ethernets, bonds, vlans, bridges, wifis), then by id.
func parseNetplan(data []byte) ([]Iface, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	var doc netplanDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Network == nil {
		if strings.TrimSpace(stripYAMLComments(string(data))) == "" {
			return nil, nil // an empty netplan file configures nothing
		}
		return nil, fmt.Errorf("no network: section")
	}
	var out []Iface
	nw := doc.Network
	for _, kind := range []map[string]netplanIface{nw.Ethernets, nw.Bonds, nw.Vlans, nw.Bridges, nw.Wifis} {
		ids := make([]string, 0, len(kind))
		for id := range kind {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			ifc, err := netplanToIface(id, kind[id])
			if err != nil {
				return nil, err
			}
			out = append(out, ifc)
		}
	}
	return out, nil
}

func netplanToIface(id string, c netplanIface) (Iface, error) {
	ifc := Iface{Name: id}
	if c.SetName != "" {
		ifc.Name = c.SetName
	} else if c.Match.Name != "" {
		ifc.Name = c.Match.Name
	}
	for _, a := range c.Addresses {
		p, err := parsePrefix(string(a))
		if err != nil {
			return Iface{}, fmt.Errorf("%s: %w", id, err)
		}
		ifc.Addrs = append(ifc.Addrs, p)
	}
	if c.Gateway4 != "" {
		g, err := netip.ParseAddr(c.Gateway4)
		if err != nil {
			return Iface{}, fmt.Errorf("%s: gateway4: %w", id, err)
		}
		ifc.Gateway = g
	}
	for _, r := range c.Routes {
		if r.To != "default" && r.To != "0.0.0.0/0" {
			continue
		}
		g, err := netip.ParseAddr(r.Via)
		if err != nil {
			return Iface{}, fmt.Errorf("%s: routes: via: %w", id, err)
		}
		if !ifc.Gateway.IsValid() && g.Is4() {
			ifc.Gateway = g
		}
	}
	ifc.Method = methodFor(ifc.Addrs)
	if c.DHCP4 != nil && *c.DHCP4 {
		ifc.Method = MethodDHCP
	}
	return ifc, nil
}

func stripYAMLComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && t[0] != '#' && t != "---" {
			b.WriteString(t)
		}
	}
	return b.String()
}
