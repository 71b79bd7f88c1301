package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/preflight/cluster"
	"github.com/vmnode/vmnode/preflight/format"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/netconf"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/config"
)

type preflightFlags struct {
	root       string
	output     string
	ignore     []string
	listChecks bool
	cluster    bool
}

func newPreflightCmd(g *globals) *cobra.Command {
	var f preflightFlags
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check this server against a cluster profile",
		Long: `Check this server against a cluster profile and report what passes, what does
not, and how to fix it. Checks run concurrently, each under its own timeout.

Statuses: pass, warn (allowed), fail (the host does not meet the requirement),
skip (not applicable here, with the reason), error (could not be evaluated).

Exit codes: 0 nothing failed (warnings allowed); 1 a check failed or errored
and was not ignored; 2 usage, configuration or profile error.

The node address is --address, else node.address in the config, else the
primary IPv4 address of the default-route interface (live), else the first
statically configured address found (under --root).`,
		Example: `  vmnode preflight --offline
  vmnode preflight --profile vmmanager-kvm -o json
  vmnode preflight --root /mnt/image --profile ./site.yaml -o junit > preflight.xml
  vmnode preflight --ignore-preflight-errors=hardware.motherboard,disk.root
  vmnode preflight --ntp-server 127.0.0.1:11123`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPreflight(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.String("profile", profiles.Default, "profile NAME (built-in or in "+profiles.LocalDir+") or FILE")
	fl.StringVar(&f.root, "root", "", "read host files under `DIR` instead of / (live-only checks skip)")
	fl.String("address", "", "node `IP` address (default: config node.address, else discovered)")
	fl.StringVarP(&f.output, "output", "o", "text", "report format: "+strings.Join(format.Formats(), ", "))
	fl.StringSliceVar(&f.ignore, "ignore-preflight-errors", nil, "check `IDs` whose failures become warnings, or 'all'")
	fl.StringSlice("ntp-server", nil, "NTP `HOST[:PORT]` to measure the offset against (default: chrony/ntp config)")
	fl.Duration("timeout", preflight.DefaultTimeout, "time limit for each check")
	fl.Bool("offline", false, "send no packet off this host: NTP (unless on loopback) and gateway checks skip")
	fl.BoolVar(&f.listChecks, "list-checks", false, "list the check IDs and titles, then exit")
	fl.BoolVar(&f.cluster, "cluster", false, "ask every member of the cluster (through the agent) and print a hosts × checks matrix with the cluster.* checks")
	socketFlag(cmd)
	return cmd
}

func runPreflight(cmd *cobra.Command, g *globals, f preflightFlags) error {
	known := checks.IDs()
	if f.listChecks {
		return listChecks(g)
	}
	if f.cluster {
		return runClusterPreflight(cmd, g, f)
	}
	cfg, log, err := g.load(cmd, map[string]string{
		"preflight.profile":     "profile",
		"node.address":          "address",
		"preflight.ntp_servers": "ntp-server",
		"preflight.timeout":     "timeout",
		"preflight.offline":     "offline",
	}, known)
	if err != nil {
		return err
	}
	if !slices.Contains(format.Formats(), f.output) {
		return usageErr(fmt.Errorf("unknown output format %q: want one of %s", f.output, strings.Join(format.Formats(), ", ")))
	}
	ign, err := ignoreList(f.ignore, cfg.Preflight.Ignore, known)
	if err != nil {
		return err
	}
	prof, err := profiles.Load(cfg.Preflight.Profile, profiles.Options{KnownChecks: known})
	if err != nil {
		return usageErr(err)
	}
	addr, err := nodeAddress(cfg)
	if err != nil {
		return err
	}
	h, err := host.Open(host.Options{
		Root: f.root, Offline: cfg.Preflight.Offline, Address: addr,
		NTPServers: cfg.Preflight.NTPServers, NTPTimeout: cfg.Preflight.Timeout,
	})
	if err != nil {
		return usageErr(err)
	}
	if !h.Address.IsValid() {
		if a, src, err := netconf.Discover(h); err == nil {
			h.Address, h.AddressSource = a, src
		} else {
			log.Warn("no node address found; pass --address", "reason", err)
		}
	}
	log.Debug("preflight", "profile", prof.Name, "root", h.Root, "address", h.Address, "address_source", h.AddressSource, "config", cfg.File)

	rep := preflight.Runner{Timeout: cfg.Preflight.Timeout}.Collect(cmd.Context(), h, prof.Name, checks.For(prof), ign)
	opt := format.Options{Color: f.output == "text" && isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == ""}
	if err := format.Write(g.stdout, f.output, rep, opt); err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return silentExit(code)
	}
	return nil
}

func ignoreList(flag []string, waivers []config.Waiver, known []string) (preflight.Ignore, error) {
	var ig preflight.Ignore
	for _, id := range flag {
		id = strings.TrimSpace(id)
		switch {
		case strings.EqualFold(id, "all"):
			ig.All = true
		case slices.Contains(known, id):
			ig.IDs = append(ig.IDs, id)
		default:
			return ig, usageErr(fmt.Errorf("--ignore-preflight-errors: unknown check ID %q (see vmnode preflight --list-checks)", id))
		}
	}
	for _, w := range waivers {
		ig.Waivers = append(ig.Waivers, preflight.Waiver{ID: w.ID, Until: w.Until.Time, Reason: w.Reason})
	}
	return ig, nil
}

func listChecks(g *globals) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE")
	for _, c := range checks.For(&profiles.Profile{}) {
		fmt.Fprintf(tw, "%s\t%s\n", c.ID(), c.Title())
	}
	return tw.Flush()
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// runClusterPreflight asks the agent to collect every member's report.
func runClusterPreflight(cmd *cobra.Command, g *globals, f preflightFlags) error {
	if !slices.Contains(cluster.Formats(), f.output) {
		return usageErr(fmt.Errorf("unknown output format %q: want one of %s", f.output, strings.Join(cluster.Formats(), ", ")))
	}
	if f.root != "" {
		return usageErr(errors.New("--cluster asks the members' agents; it cannot be combined with --root"))
	}
	c, cfg, err := g.client(cmd)
	if err != nil {
		return err
	}
	rep, err := c.ClusterPreflight(cmd.Context(), api.ClusterPreflightRequest{Timeout: 3 * cfg.Preflight.Timeout})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	opt := format.Options{Color: f.output == "text" && isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == ""}
	if err := cluster.Write(g.stdout, f.output, rep, opt); err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return silentExit(code)
	}
	return nil
}
