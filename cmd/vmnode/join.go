package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/provision/systemd"
	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/cluster"
	"github.com/vmnode/vmnode/runtime/config"
)

// agentUnit is the agent's systemd unit.
const agentUnit = "vmnode-agent.service"

type joinFlags struct {
	ignore        []string
	skipProvision bool
	key           string
	wait          time.Duration
}

func newJoinCmd(g *globals) *cobra.Command {
	var f joinFlags
	cmd := &cobra.Command{
		Use:   "join ADDR...",
		Short: "Join this host to a cluster: preflight, provision, start the agent, join",
		Long: `Join this host to the cluster that ADDR (HOST or HOST:PORT, default port 7946)
belongs to:

  1. preflight  the profile's checks; any failure stops here, unless
                --ignore-preflight-errors names it (or "all")
  2. provision  open the cluster's ports, enable the services, fix what is
                fixable (--skip-provision to leave the host as it is)
  3. configure  agent.join in the config file, and the gossip key when --key
                is given (written to agent.key_file, 0600)
  4. start      the agent (vmnode-agent.service), unless it is running
  5. join       through the first address that answers

The cluster refuses the join, and says why, when it already has
cluster.max_hosts hosts (default 7), when this host's name or address is
already a member, when this host's OS family differs from the cluster's, or
when the member contacted has no quorum. An even number of hosts is accepted
with a warning: an odd number survives more failures.

Exit codes: 0 joined; 1 preflight failed, provisioning failed or the join was
refused; 2 usage or configuration error.`,
		Example: `  vmnode join 10.0.0.11
  vmnode join --key "$(cat cluster.key)" 10.0.0.11 10.0.0.12
  vmnode join --ignore-preflight-errors cpu.frequency --skip-provision 10.0.0.11`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runJoin(cmd, g, f, args) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.ignore, "ignore-preflight-errors", nil, "check `IDs` whose failures do not stop the join (or \"all\")")
	fl.BoolVar(&f.skipProvision, "skip-provision", false, "do not provision this host")
	fl.StringVar(&f.key, "key", "", "the cluster's gossip `KEY` (base64, from vmnode keygen on the first host)")
	fl.DurationVar(&f.wait, "wait", 30*time.Second, "how long to wait for the agent to come up")
	fl.String("profile", "", "profile NAME or FILE (default: config preflight.profile)")
	fl.String("address", "", "node `IP` address (default: config node.address, else discovered)")
	fl.Bool("offline", false, "preflight sends no packet off this host")
	socketFlag(cmd)
	return cmd
}

func runJoin(cmd *cobra.Command, g *globals, f joinFlags, args []string) error {
	cfg, log, err := g.load(cmd, map[string]string{"agent.socket": "socket", "preflight.profile": "profile", "node.address": "address", "preflight.offline": "offline"}, checks.IDs())
	if err != nil {
		return err
	}
	var addrs []string
	for _, a := range args {
		ap, err := config.JoinAddress(a)
		if err != nil {
			return usageErr(err)
		}
		addrs = append(addrs, ap)
	}
	if f.key != "" {
		if _, err := cluster.DecodeKey(f.key); err != nil {
			return usageErr(fmt.Errorf("--key: %w", err))
		}
	}

	fmt.Fprintln(g.stdout, "==> preflight")
	// The whole report only when it stops the join; else its summary.
	var report bytes.Buffer
	stdout := g.stdout
	g.stdout = &report
	err = runPreflight(cmd, g, preflightFlags{output: "text", ignore: f.ignore})
	g.stdout = stdout
	if err != nil {
		g.stdout.Write(report.Bytes())
	} else {
		fmt.Fprintln(g.stdout, lastLine(report.String()))
	}
	if err != nil {
		var silent silentExit
		if errors.As(err, &silent) {
			return &exitError{code: 1, err: errors.New("preflight failed: fix what it reports, or pass --ignore-preflight-errors with the check IDs (or all)")}
		}
		return err
	}
	if !f.skipProvision {
		fmt.Fprintln(g.stdout, "==> provision")
		if err := runProvision(cmd, g, provisionFlags{output: "text"}); err != nil {
			var silent silentExit
			if errors.As(err, &silent) {
				return &exitError{code: 1, err: errors.New("provisioning failed: see above; nothing else was changed")}
			}
			return err
		}
	}

	fmt.Fprintln(g.stdout, "==> configure")
	if f.key != "" {
		if err := writeKey(cfg.Agent.KeyFile, f.key); err != nil {
			return &exitError{code: 1, err: err}
		}
		fmt.Fprintf(g.stdout, "gossip key: %s\n", cfg.Agent.KeyFile)
	}
	file := cfg.File
	if file == "" {
		file = g.configFile
	}
	if file == "" {
		file = config.DefaultFile
	}
	if err := config.Update(file, map[string]any{"agent.join": addrs}); err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(g.stdout, "agent.join = %s in %s\n", strings.Join(addrs, ", "), file)

	client := api.NewClient(cfg.Agent.Socket)
	if !client.Running(cmd.Context()) {
		fmt.Fprintln(g.stdout, "==> start the agent")
		if err := startAgent(cmd.Context(), client, f.wait); err != nil {
			return &exitError{code: 1, err: err}
		}
	}
	fmt.Fprintln(g.stdout, "==> join")
	resp, err := client.Join(cmd.Context(), api.JoinRequest{Addrs: addrs})
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("Error joining the cluster: %w", err)}
	}
	fmt.Fprintf(g.stdout, "Successfully joined cluster by contacting %d nodes; the cluster has %d hosts.\n", resp.Joined, resp.Members)
	for _, w := range resp.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	log.Debug("joined", "addrs", addrs)
	return nil
}

// writeKey writes the gossip key file, 0600; an existing file with another
// key is left alone: the agent may already gossip with it.
func writeKey(path, key string) error {
	key = strings.TrimSpace(key)
	if old, err := os.ReadFile(path); err == nil {
		if strings.TrimSpace(string(old)) == key {
			return nil
		}
		return fmt.Errorf("%s already holds another key: remove it if this host never joined a cluster, or rotate keys with `vmnode keys`", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(key+"\n"), 0o600)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// startAgent enables and starts vmnode-agent.service and waits for its socket.
func startAgent(ctx context.Context, client *api.Client, wait time.Duration) error {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return errors.New("the agent is not running and systemd is not either: start it with `vmnode agent` (e.g. under your supervisor), then run join again")
	}
	bus := &systemd.DBus{}
	defer bus.Close()
	// Enabled too: a package installed where systemd was not running (an
	// image build) could not enable it, and it must come back after a reboot.
	if _, err := bus.Enable(ctx, agentUnit); err != nil {
		return fmt.Errorf("enable %s: %w", agentUnit, err)
	}
	if _, err := bus.Start(ctx, agentUnit); err != nil {
		return fmt.Errorf("start %s: %w (see `journalctl -u %s`)", agentUnit, err, agentUnit)
	}
	deadline := time.Now().Add(wait)
	for !client.Running(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s started but its socket does not answer after %s (see `journalctl -u %s`)", agentUnit, wait, agentUnit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
