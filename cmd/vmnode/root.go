package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/config"
)

// globals are the persistent flags every command shares.
type globals struct {
	configFile string
	logLevel   string
	level      slog.LevelVar // the configured log level; the agent changes it on reload
	stdout     io.Writer
	stderr     io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "vmnode",
		Short: "Validate, provision and join KVM virtualization cluster nodes",
		Long: `vmnode turns a bare Linux server into a member of a KVM virtualization cluster.

  vmnode preflight     check this server against a cluster profile
  vmnode provision     make it conform: firewall, services, SELinux, hosts, resolver, time
  vmnode join ADDR     preflight, provision, start the agent and join the cluster
  vmnode agent         the daemon (run by systemd as vmnode-agent.service)
  vmnode members       the cluster's hosts; vmnode status: quorum and health
  vmnode vm            create, place, start, stop, list and delete VMs from any member
  vmnode image         import and list the base images VMs are created from
  vmnode keygen, keys  gossip encryption keys and their rotation
  vmnode profiles      list and show the cluster profiles

Configuration comes from built-in defaults, then ` + config.DefaultFile + ` (or --config),
then VMNODE_* environment variables (VMNODE_NODE_ADDRESS sets node.address), then flags.
Reports go to stdout, logs to stderr.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "configuration file (default "+config.DefaultFile+", if it exists)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level on stderr: debug, info, warn or error (config log.level)")
	root.AddCommand(newVersionCmd(g), newPreflightCmd(g), newProvisionCmd(g), newProfilesCmd(g),
		newAgentCmd(g), newJoinCmd(g), newMembersCmd(g), newStatusCmd(g), newForceLeaveCmd(g),
		newReloadCmd(g), newKeygenCmd(g), newKeysCmd(g), newVMCmd(g), newImageCmd(g), newHostCmd(g), newHACmd(g), newDocsCmd(g))
	return root
}

// load reads the configuration for cmd, binding the given flags.
func (g *globals) load(cmd *cobra.Command, bindings map[string]string, known []string) (config.Config, *slog.Logger, error) {
	b := map[string]string{"log.level": "log-level"}
	for k, v := range bindings {
		b[k] = v
	}
	cfg, err := config.Load(config.Options{File: g.configFile, Flags: cmd.Flags(), Bindings: b, KnownChecks: known})
	if err != nil {
		return cfg, nil, usageErr(err)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	g.level.Set(level)
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: &g.level}))
	return cfg, log, nil
}

// nodeAddress is the configured node address (--address, VMNODE_NODE_ADDRESS
// or node.address); invalid when none is set, so the host discovers it.
func nodeAddress(cfg config.Config) (netip.Addr, error) {
	if cfg.Node.Address == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(cfg.Node.Address)
	if err != nil {
		return a, usageErr(fmt.Errorf("node address %q: not an IP address", cfg.Node.Address))
	}
	return a, nil
}

// client is the control API client for the socket the configuration names
// (agent.socket, or --socket when the command has it).
func (g *globals) client(cmd *cobra.Command) (*api.Client, config.Config, error) {
	cfg, _, err := g.load(cmd, map[string]string{"agent.socket": "socket"}, nil)
	if err != nil {
		return nil, cfg, err
	}
	return api.NewClient(cfg.Agent.Socket), cfg, nil
}

// socketFlag adds --socket to a command that talks to the agent.
func socketFlag(cmd *cobra.Command) {
	cmd.Flags().String("socket", "", "the agent's control socket (default: config agent.socket, /run/vmnode/agent.sock)")
}
