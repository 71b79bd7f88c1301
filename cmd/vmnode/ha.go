package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
)

func newHACmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ha",
		Short: "Make VMs highly available: an active host runs each, a passive one takes over",
		Long: `A highly available (HA) VM has two hosts: the active one runs it, the passive one
keeps its definition and reserves its memory and vCPUs. Its disks must be at the
same paths on both (shared storage). A switchover is planned: the active
live-migrates the VM to the passive and the roles swap (ha switchover, or by
itself when its host goes into maintenance). A failover is not: when the active
dies, the passive starts the VM once a majority of the hosts (quorum) has not
heard from it for failover_delay. A host that loses the majority destroys its HA
VMs within fence_timeout (fencing, backed by the watchdog), so a VM never runs
twice; hence HA needs at least 3 hosts. The timers live in the agent config's
ha: section; ha status shows them and the recovery time they predict.`,
	}
	cmd.AddCommand(newHAEnableCmd(g), newHADisableCmd(g), newHASwitchoverCmd(g), newHAStatusCmd(g))
	return cmd
}

func newHAEnableCmd(g *globals) *cobra.Command {
	var passive string
	cmd := &cobra.Command{
		Use:   "enable NAME --passive HOST",
		Short: "Make a VM highly available, with HOST as its passive host",
		Long: `Make a VM highly available. The host it is defined on becomes its active host,
--passive HOST its passive one: HOST gets a copy of its definition and reserves
its memory and vCPUs, so a failover always fits. HOST must reach the VM's disks
at the same paths.`,
		Example: `  vmnode ha enable web1 --passive h2`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMHAEnable, Name: args[0], Passive: passive})
			if err != nil {
				return err
			}
			v := resp.VM
			fmt.Fprintf(g.stdout, "%s is highly available: active %s, passive %s (epoch %d); %s reserves %s and %s for it\n",
				v.Name, v.HA.Active, v.HA.Passive, v.HA.Epoch, v.HA.Passive, mib(v.MemoryMiB), plural(v.VCPUs, "vCPU"))
			return nil
		},
	}
	cmd.Flags().StringVar(&passive, "passive", "", "the passive host, which takes the VM over")
	_ = cmd.MarkFlagRequired("passive")
	socketFlag(cmd)
	return cmd
}

func newHADisableCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disable NAME",
		Short: "End a VM's High Availability; its passive host drops its copy",
		Long: `End a VM's High Availability. The VM stays where it is; its passive host removes
its copy of the definition and frees what it reserved. --force ends it even if
the passive host cannot be reached.`,
		Example: `  vmnode ha disable web1`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMHADisable, Name: args[0], Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s is no longer highly available; it stays on %s\n", args[0], orDash(resp.VM.Host))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "even if the passive host cannot be reached")
	socketFlag(cmd)
	return cmd
}

func newHASwitchoverCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "switchover NAME",
		Short: "Live-migrate an HA VM to its passive host; the roles swap",
		Long: `Live-migrate an HA VM to its passive host, which becomes its active one (and
the old active its passive), then wait, up to --timeout, until it runs there.
Ctrl-C stops waiting, not the switchover.`,
		Example: `  vmnode ha switchover web1`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			before, err := vmCall(g, cmd, api.VMRequest{Op: api.VMShow, Name: name})
			if err != nil {
				return err
			}
			v := before.VM
			if !v.HA.Enabled {
				return &exitError{code: 1, err: fmt.Errorf("%s is not highly available: `vmnode ha enable %s --passive HOST` first", name, name)}
			}
			from, to, wasRunning := v.Host, v.HA.Passive, v.State == "running"
			start := time.Now()
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMSwitchover, Name: name})
			if err != nil {
				return err
			}
			if resp.Migration != nil {
				m, err := followMigration(g, cmd, c, *resp.Migration, false)
				if err != nil {
					return err
				}
				if m.State == api.MigrationFailed {
					return &exitError{code: 1, err: fmt.Errorf("switch %s over from %s to %s: %s; %s is still on %s", name, from, to, m.Error, name, from)}
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			_, err = waitVM(ctx, c, name, 250*time.Millisecond, timeout, func(v api.VM) bool {
				return v.Host == to && (v.State == "running" || !wasRunning)
			})
			switch {
			case err != nil && ctx.Err() != nil && cmd.Context().Err() == nil:
				return stopped("the switchover of %s to %s goes on; follow it with `vmnode ha status`", name, to)
			case err != nil:
				return &exitError{code: 1, err: fmt.Errorf("%s did not switch over to %s: %w; see `vmnode ha status`", name, to, err)}
			}
			fmt.Fprintf(g.stdout, "%s switched over from %s to %s in %s\n", name, from, to, shortDuration(time.Since(start)))
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the VM to run on its passive host")
	socketFlag(cmd)
	return cmd
}

// errWaitTimeout is waitVM's deadline passing.
var errWaitTimeout = errors.New("timed out")

// waitVM asks for the VM every `every` until done says yes, for up to
// timeout. Failed questions are retried: a VM moving between hosts may be
// briefly unknown. On timeout the error says the last state seen, or the
// last failure.
func waitVM(ctx context.Context, c *api.Client, name string, every, timeout time.Duration, done func(api.VM) bool) (api.VM, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last api.VM
	for {
		resp, err := c.VM(ctx, api.VMRequest{Op: api.VMShow, Name: name})
		if err == nil && resp.VM != nil {
			if last = *resp.VM; done(last) {
				return last, nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return last, fmt.Errorf("%w after %s (last answer: %v)", errWaitTimeout, timeout, err)
			}
			return last, fmt.Errorf("%w after %s: %s is %s on %s", errWaitTimeout, timeout, name, last.State, orDash(last.Host))
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

func newHAStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the HA timers, and each HA VM: its hosts, state, epoch and what they think",
		Long: `Show the HA timers in force and the recovery time they predict, then every HA VM:
its active and passive hosts, its state, its record's epoch (one more at every
failover or switchover), the state it should be in, its last event, and each of
its hosts' reading of the HA rules now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			st, err := c.HA(cmd.Context())
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if len(st.Missing) > 0 {
				fmt.Fprintf(g.stderr, "warning: %s did not answer: what only they know is not shown\n", strings.Join(st.Missing, ", "))
			}
			if output == "json" {
				return writeJSON(g, st)
			}
			return writeHAStatus(g.stdout, st, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}

// writeHAStatus renders the HA status as text; now dates the last events.
func writeHAStatus(w io.Writer, st api.HAStatus, now time.Time) error {
	t := st.Timers
	watchdog := "none"
	if t.Watchdog > 0 {
		watchdog = t.Watchdog.String()
		if t.WatchdogPath != "" {
			watchdog += " (" + t.WatchdogPath + ")"
		}
	}
	fmt.Fprintf(w, "timers: failover_delay %s, fence_timeout %s, skew %s, detection %s, watchdog %s, max_restarts %d; predicted recovery %s\n",
		t.FailoverDelay, t.FenceTimeout, t.Skew, t.Detection, watchdog, t.MaxRestarts, st.Predicted)
	if len(st.VMs) == 0 {
		_, err := fmt.Fprintln(w, "no HA VMs (vmnode ha enable NAME --passive HOST)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTIVE\tPASSIVE\tSTATE\tEPOCH\tDESIRED\tLAST EVENT")
	for _, v := range st.VMs {
		state := orDash(v.State)
		if len(v.RunsOn) > 1 || len(v.RunsOn) == 1 && v.RunsOn[0] != v.Active {
			state += " on " + strings.Join(v.RunsOn, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, orDash(v.Active), orDash(v.Passive), state, v.Epoch,
			orDash(v.Desired), lastEvent(v.LastEvent, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range st.VMs {
		if len(v.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", v.Name)
		hosts := make([]string, 0, len(v.Notes))
		for h := range v.Notes {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		for _, h := range hosts {
			fmt.Fprintf(w, "  %s: %s\n", h, v.Notes[h])
		}
	}
	return nil
}

// lastEvent is "crashed (panicked), unexpected, 3m ago".
func lastEvent(e *api.LastEvent, now time.Time) string {
	if e == nil {
		return "-"
	}
	s := e.Kind
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Unexpected {
		s += ", unexpected"
	}
	return s + ", " + now.Sub(e.At).Round(time.Second).String() + " ago"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
