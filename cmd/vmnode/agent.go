package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/runtime/agent"
	"github.com/vmnode/vmnode/runtime/config"
)

func newAgentCmd(g *globals) *cobra.Command {
	bindings := map[string]string{
		"node.name": "node", "agent.bind": "bind", "agent.advertise": "advertise", "agent.join": "join",
		"agent.data_dir": "data-dir", "agent.socket": "socket", "agent.key_file": "key-file",
		"agent.gossip": "gossip", "preflight.profile": "profile",
	}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the vmnode agent: gossip membership, quorum, health (the daemon)",
		Long: `Run the vmnode agent in the foreground. systemd runs it as vmnode-agent.service.

It gossips with the other hosts over Serf (encrypted with the key in
agent.key_file; make one with ` + "`vmnode keygen`" + `), publishes this host's
facts and health, re-runs the local checks every agent.health_interval, and
serves the root-only control socket the other commands use.

Signals: SIGHUP reloads the configuration (what can change while running; an
invalid file keeps the old one), SIGTERM or SIGINT leave the cluster
gracefully, a second one exits at once. Under systemd it reports READY=1,
STATUS= lines and watchdog pings.`,
		Example: `  vmnode keygen > /etc/vmnode/gossip.key && chmod 600 /etc/vmnode/gossip.key
  vmnode agent --join 10.0.0.11
  vmnode agent --config /etc/vmnode/vmnode.yaml --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd, bindings, checks.IDs())
			if err != nil {
				return err
			}
			reload := func() (config.Config, error) {
				b := map[string]string{"log.level": "log-level"}
				for k, v := range bindings {
					b[k] = v
				}
				return config.Load(config.Options{File: g.configFile, Flags: cmd.Flags(), Bindings: b, KnownChecks: checks.IDs()})
			}
			a, err := agent.New(cfg, agent.Options{Version: version, Log: log, Level: &g.level, Reload: reload})
			if err != nil {
				return usageErr(err)
			}
			signals := make(chan os.Signal, 2)
			signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
			defer signal.Stop(signals)
			if err := a.Start(cmd.Context()); err != nil {
				return err
			}
			return a.Run(cmd.Context(), signals)
		},
	}
	fl := cmd.Flags()
	fl.String("node", "", "this host's name in the cluster (default: config node.name, else the hostname)")
	fl.String("bind", "", "gossip listen `ADDR:PORT` (default: config agent.bind, 0.0.0.0:7946)")
	fl.String("advertise", "", "the `IP` the other hosts reach this one at (default: agent.advertise, node.address, else discovered)")
	fl.StringSlice("join", nil, "members to join at start, `HOST[:PORT]` (repeatable)")
	fl.String("data-dir", "", "state directory (default: config agent.data_dir, /var/lib/vmnode)")
	socketFlag(cmd)
	fl.String("key-file", "", "the gossip key file (default: config agent.key_file, /etc/vmnode/gossip.key)")
	fl.String("gossip", "", "gossip timing: lan (Serf's defaults) or fast (quicker failure detection on a quiet LAN)")
	fl.String("profile", "", "the profile the health checks use (default: config preflight.profile)")
	return cmd
}
