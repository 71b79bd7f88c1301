package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/netconf"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
	"github.com/vmnode/vmnode/provision/steps"
	"github.com/vmnode/vmnode/provision/systemd"
)

type provisionFlags struct {
	root       string
	plan       bool
	rollback   bool
	only, skip []string
	output     string
}

func newProvisionCmd(g *globals) *cobra.Command {
	var f provisionFlags
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Make this server conform to a cluster profile (plan first, apply idempotently)",
		Long: `Make this server conform to a cluster profile. Every step plans first; with
--plan nothing changes and the plan (file diffs, firewall rules, unit states) is
printed. Without it, each step is applied in order, then everything is planned
again: the re-plan must be empty.

Steps: ` + strings.Join(steps.Names, ", ") + `
  firewall  one nftables table "inet vmnode" with the profile's ports, replaced in one
            atomic batch (SSH 22/tcp is always accepted), persisted for boot
  services  enable and start the profile's units (nftables, chrony, libvirtd)
  selinux   SELINUX=disabled in /etc/selinux/config (a reboot finishes it)
  hosts     "<address> <hostname> <short>" in /etc/hosts
  resolver  dns=none for NetworkManager; DNS= for systemd-resolved (provision.dns)
  time      chrony with the configured servers (provision.ntp_servers), enabled

Files are replaced atomically, keep their mode and owner, and the previous
content is kept in /var/lib/vmnode/backups/<run>/; --rollback restores the last
run's files. A failing step is undone and stops the run.

Exit codes: 0 converged (or --plan printed); 1 a step failed or changes remain;
2 usage, configuration or profile error.`,
		Example: `  vmnode provision --plan
  vmnode provision --only firewall,services
  vmnode provision --root /mnt/image --skip firewall
  vmnode provision --rollback`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProvision(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.String("profile", profiles.Default, "profile NAME or FILE")
	fl.StringVar(&f.root, "root", "", "provision the tree under `DIR` instead of / (no live firewall, units enabled by links)")
	fl.BoolVar(&f.plan, "plan", false, "print what would change and change nothing")
	fl.BoolVar(&f.rollback, "rollback", false, "restore the files the last run changed, from its backups")
	fl.StringSliceVar(&f.only, "only", nil, "run only these `STEPS`")
	fl.StringSliceVar(&f.skip, "skip", nil, "skip these `STEPS`")
	fl.String("address", "", "node `IP` address for the hosts step (default: config node.address, else discovered)")
	fl.StringVarP(&f.output, "output", "o", "text", "report format: text or json")
	return cmd
}

func runProvision(cmd *cobra.Command, g *globals, f provisionFlags) error {
	cfg, log, err := g.load(cmd, map[string]string{"preflight.profile": "profile", "node.address": "address"}, checks.IDs())
	if err != nil {
		return err
	}
	if f.output != "text" && f.output != "json" {
		return usageErr(fmt.Errorf("unknown output format %q: want text or json", f.output))
	}
	if _, err := steps.Select(f.only, f.skip); err != nil {
		return usageErr(err)
	}
	prof, err := profiles.Load(cfg.Preflight.Profile, profiles.Options{KnownChecks: checks.IDs()})
	if err != nil {
		return usageErr(err)
	}
	addr, err := nodeAddress(cfg)
	if err != nil {
		return err
	}
	h, err := host.Open(host.Options{Root: f.root, Address: addr})
	if err != nil {
		return usageErr(err)
	}
	if f.rollback {
		run, restored, err := files.Rollback(h.Root)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "restored from %s:\n", run)
		for _, p := range restored {
			fmt.Fprintf(g.stdout, "  %s\n", p)
		}
		return nil
	}
	if !h.Address.IsValid() {
		if a, src, err := netconf.Discover(h); err == nil {
			h.Address = a
			log.Debug("node address", "address", a, "source", src)
		}
	}
	var dns []netip.Addr
	for _, d := range cfg.Provision.DNS {
		a, _ := netip.ParseAddr(d) // validated with the config
		dns = append(dns, a)
	}
	ed := files.NewEditor(h.Root, time.Now())
	var mgr systemd.Manager = systemd.Offline{Root: h.Root, Editor: ed}
	if h.Live {
		bus := &systemd.DBus{}
		defer bus.Close()
		mgr = bus
	}
	list, err := steps.For(prof, ed, steps.Options{
		Live: h.Live, Address: h.Address, Hostname: h.Hostname, DNS: dns,
		NTPServers: cfg.Provision.NTPServers, Policy: cfg.Provision.FirewallPolicy,
		Only: f.only, Skip: f.skip, Services: mgr,
	})
	if err != nil {
		return usageErr(err)
	}
	plan, err := provision.Plan(cmd.Context(), list)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	var out *provision.Outcome
	if !f.plan {
		o := provision.Apply(cmd.Context(), list, ed)
		out = &o
	}
	rep := provision.NewReport(prof.Name, h.Root, plan, out)
	if f.output == "json" {
		err = rep.WriteJSON(g.stdout)
	} else {
		err = rep.WriteText(g.stdout)
	}
	if err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return silentExit(code)
	}
	return nil
}
