package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
)

func newHostCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Put a host in maintenance and move its VMs off it, or take it out",
		Long: `A host in maintenance takes no new VMs: the scheduler places none there, and its
HA VMs switch over to their passive hosts by themselves. host drain puts a host
in maintenance and moves every VM off it; host resume ends the maintenance.`,
	}
	cmd.AddCommand(newHostDrainCmd(g), newHostResumeCmd(g))
	return cmd
}

func newHostDrainCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drain HOST",
		Short: "Put a host in maintenance and move every VM off it",
		Long: `Put HOST in maintenance, then empty it, one VM at a time:

  - an HA VM switches over to its passive host by itself; drain waits until it
    has left HOST, up to --timeout for each;
  - any other VM migrates to the host the scheduler picks: live while it runs,
    its definition only when it is shut off.

A VM that cannot move does not stop the others. At the end a table says where
each VM went, and how long it took. If any VM is left, drain exits 1 and HOST
stays in maintenance: fix the cause and run drain again, which moves only what
is left (on an empty host it has nothing to do). Ctrl-C stops waiting; what was
started goes on. vmnode host resume HOST takes it out of maintenance.`,
		Example: `  vmnode host drain h1
  vmnode host drain h1 --timeout 10m   # big HA VMs on a slow network
  vmnode host resume h1`,
		Args: exactArgs(1, "HOST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			host := args[0]
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.Host(cmd.Context(), api.HostRequest{Host: host, Maintenance: true})
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("put %s in maintenance: %w", host, err)}
			}
			fmt.Fprintf(g.stdout, "%s is in maintenance: it takes no new VMs, and its HA VMs switch over to their passive hosts\n", host)
			vms := vmsToMove(g, host, resp.VMs)
			if len(vms) == 0 {
				fmt.Fprintf(g.stdout, "nothing to move: no VM runs or is defined on %s\n", host)
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			start := time.Now()
			var rows []drainRow
			var halt error // Ctrl-C
			for _, v := range vms {
				var r drainRow
				if v.HA.Enabled {
					r, halt = awaitSwitchover(ctx, g, c, host, v, start, timeout)
				} else {
					r, halt = drainMigrate(g, cmd, c, v)
				}
				rows = append(rows, r)
				if halt == nil && ctx.Err() != nil && cmd.Context().Err() == nil {
					halt = stopped("%s stays in maintenance; what was started goes on: `vmnode ha status`, `vmnode vm list`", host)
				}
				if halt != nil {
					break
				}
			}
			if err := writeDrainSummary(g.stdout, rows); err != nil {
				return err
			}
			if halt != nil {
				return halt
			}
			if n := failedRows(rows); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d VMs could not leave %s: it stays in maintenance; `vmnode host drain %s` again retries them", n, len(rows), host, host)}
			}
			fmt.Fprintf(g.stdout, "%s is drained; `vmnode host resume %s` takes it out of maintenance\n", host, host)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for each HA VM to switch over")
	socketFlag(cmd)
	return cmd
}

// vmsToMove are the VMs to take off host: those it runs or keeps, not the
// HA VMs it is only the passive host of (it warns about those). The others
// come first: the HA VMs switch over meanwhile.
func vmsToMove(g *globals, host string, vms []api.VM) []api.VM {
	var out []api.VM
	for _, v := range vms {
		if v.HA.Enabled && v.HA.Active != "" && v.HA.Active != host {
			fmt.Fprintf(g.stderr, "warning: %s is the passive host of %s (active %s): %s cannot switch over or fail over while %s is in maintenance\n",
				host, v.Name, v.HA.Active, v.Name, host)
			continue
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b api.VM) int {
		switch {
		case a.HA.Enabled == b.HA.Enabled:
			return 0
		case b.HA.Enabled:
			return -1
		}
		return 1
	})
	return out
}

// drainRow is one VM's line in the drain summary.
type drainRow struct {
	VM, From, To string
	Took         time.Duration
	Result       string
	Failed       bool
}

func (r *drainRow) fail(err error) {
	r.Failed, r.Result = true, "failed: "+err.Error()
}

// drainMigrate migrates a VM that is not HA to the scheduler's choice. Only
// Ctrl-C is an error; a VM that cannot move is a failed row.
func drainMigrate(g *globals, cmd *cobra.Command, c *api.Client, v api.VM) (drainRow, error) {
	r := drainRow{VM: v.Name, From: v.Host}
	start := time.Now()
	// Live for every active state (paused too, as libvirt allows); only a
	// shut-off VM moves its definition alone.
	resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMMigrate, Name: v.Name, Offline: v.State == "shutoff"})
	if err == nil && resp.Migration == nil {
		err = errors.New("the agent did not say where the VM goes")
	}
	if err != nil {
		r.Took = time.Since(start)
		r.fail(err)
		fmt.Fprintf(g.stderr, "%s: %s\n", v.Name, r.Result)
		return r, nil
	}
	r.To = resp.Migration.To
	m, err := followMigration(g, cmd, c, *resp.Migration, false)
	r.Took = time.Since(start)
	switch {
	case errors.Is(err, errStopped):
		r.Result = "still migrating"
		return r, err
	case err != nil:
		r.fail(err)
	case m.State == api.MigrationFailed:
		r.fail(errors.New(m.Error))
	case m.Live:
		r.Result = "migrated"
	default:
		r.Result = "moved (offline)"
	}
	if r.Failed {
		fmt.Fprintf(g.stderr, "%s: %s\n", v.Name, r.Result)
	} else {
		fmt.Fprintln(g.stdout, migratedLine(m))
	}
	return r, nil
}

// awaitSwitchover waits for an HA VM to leave host, the agent switching it
// over to its passive host. The time counts from the drain's start, when
// the switchover began.
func awaitSwitchover(ctx context.Context, g *globals, c *api.Client, host string, v api.VM, start time.Time, timeout time.Duration) (drainRow, error) {
	r := drainRow{VM: v.Name, From: host}
	now, err := waitVM(ctx, c, v.Name, 500*time.Millisecond, timeout, func(v api.VM) bool { return v.Host != "" && v.Host != host })
	r.Took, r.To = time.Since(start), now.Host
	switch {
	case ctx.Err() != nil:
		r.Result = "still switching over"
		return r, nil // the caller says why it stops
	case err != nil:
		r.To = v.HA.Passive
		r.fail(fmt.Errorf("no switchover: %w; see `vmnode ha status`", err))
		fmt.Fprintf(g.stderr, "%s: %s\n", v.Name, r.Result)
	default:
		r.Result = "switched over"
		fmt.Fprintf(g.stdout, "%s: switched over to %s\n", v.Name, now.Host)
	}
	return r, nil
}

func failedRows(rows []drainRow) int {
	n := 0
	for _, r := range rows {
		if r.Failed {
			n++
		}
	}
	return n
}

// writeDrainSummary is the table of where each VM went. The result is last:
// a failure's reason can be long.
func writeDrainSummary(w io.Writer, rows []drainRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tFROM\tTO\tTIME\tRESULT")
	for _, r := range rows {
		took := "-"
		if r.Took > 0 {
			took = shortDuration(r.Took)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.VM, orDash(r.From), orDash(r.To), took, r.Result)
	}
	return tw.Flush()
}

func newHostResumeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume HOST",
		Short: "Take a host out of maintenance: it takes new VMs again",
		Long: `Take HOST out of maintenance: the scheduler places VMs on it again, and it can
be an HA VM's target again. VMs drained off it stay where they are; move them
back with vmnode vm migrate NAME --to HOST or vmnode ha switchover NAME.`,
		Example: `  vmnode host resume h1`,
		Args:    exactArgs(1, "HOST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			if _, err := c.Host(cmd.Context(), api.HostRequest{Host: args[0], Maintenance: false}); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("take %s out of maintenance: %w", args[0], err)}
			}
			fmt.Fprintf(g.stdout, "%s is out of maintenance: it takes new VMs again\n", args[0])
			return nil
		},
	}
	socketFlag(cmd)
	return cmd
}
