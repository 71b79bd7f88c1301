// Package steps assembles the provisioning steps a profile needs, in the
// order they run. It is the only package that knows every step.
package steps

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
	"github.com/vmnode/vmnode/provision/firewall"
	"github.com/vmnode/vmnode/provision/hostfiles"
	"github.com/vmnode/vmnode/provision/systemd"
)

// Names are the steps in the order they run.
var Names = []string{"firewall", "services", "selinux", "hosts", "resolver", "time"}

// Options describe the host and the choices provisioning needs.
type Options struct {
	Live       bool // the running host; false under --root
	Address    netip.Addr
	Hostname   string
	DNS        []netip.Addr
	NTPServers []string
	Policy     string          // firewall policy: accept or drop
	Only, Skip []string        // step names
	Services   systemd.Manager // D-Bus live, files under --root
}

// Select validates --only/--skip and returns the step names to run.
func Select(only, skip []string) ([]string, error) {
	for _, n := range append(slices.Clone(only), skip...) {
		if !slices.Contains(Names, n) {
			return nil, fmt.Errorf("unknown step %q: steps are %s", n, strings.Join(Names, ", "))
		}
	}
	var out []string
	for _, n := range Names {
		if (len(only) == 0 || slices.Contains(only, n)) && !slices.Contains(skip, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// For builds the selected steps for profile p; file edits go through ed.
func For(p *profiles.Profile, ed *files.Editor, o Options) ([]provision.Step, error) {
	names, err := Select(o.Only, o.Skip)
	if err != nil {
		return nil, err
	}
	var out []provision.Step
	for _, n := range names {
		s, err := build(n, p, ed, o)
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, s)
		}
	}
	return out, nil
}

func build(name string, p *profiles.Profile, ed *files.Editor, o Options) (provision.Step, error) {
	switch name {
	case "firewall":
		policy, err := firewall.ParsePolicy(o.Policy)
		if err != nil {
			return nil, err
		}
		rs, err := firewall.Desired(p.Firewall.Ports, firewall.Options{Policy: policy})
		if err != nil {
			return nil, err
		}
		parts := []provision.Step{hostfiles.FirewallPersist(ed, firewall.Render(rs))}
		if o.Live {
			parts = append(parts, firewall.NewStep(rs, firewall.StepConfig{}))
		}
		return provision.Sequence("firewall", parts...), nil
	case "services":
		return systemd.NewStep(systemd.ForProfile(p), o.Services).WithEditor(ed), nil
	case "selinux":
		if p.SELinux != "disabled" {
			return nil, nil
		}
		return hostfiles.SELinux(ed), nil
	case "hosts":
		if !p.Network.HostsEntry {
			return nil, nil
		}
		return hostfiles.Hosts(ed, o.Address, o.Hostname), nil
	case "resolver":
		return hostfiles.Resolver(ed, o.DNS), nil
	case "time":
		servers := o.NTPServers
		if len(servers) == 0 {
			servers = p.Time.Servers
		}
		chrony := slices.DeleteFunc(systemd.ForProfile(&profiles.Profile{Services: []string{"chrony"}}), func(systemd.Unit) bool { return p.Time.Service == "" })
		return provision.Sequence("time", hostfiles.ChronyServers(ed, servers), systemd.NewStep(chrony, o.Services).WithEditor(ed)), nil
	}
	return nil, fmt.Errorf("unknown step %q", name)
}
