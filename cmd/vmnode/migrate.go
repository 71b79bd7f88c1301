package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
)

const (
	migrationPoll = 50 * time.Millisecond
	// pollGrace is how long followMigration tolerates failing polls: the
	// migration itself may saturate the network the question crosses.
	pollGrace = 10 * time.Second
)

// errStopped means Ctrl-C ended a wait; what was asked goes on in the
// cluster.
var errStopped = errors.New("stopped waiting")

// stopped is the error for a wait ended by Ctrl-C (exit 130, as for SIGINT).
func stopped(format string, a ...any) error {
	return &exitError{code: 130, err: fmt.Errorf("%w: "+format, append([]any{errStopped}, a...)...)}
}

func newVMMigrateCmd(g *globals) *cobra.Command {
	var (
		to, output    string
		offline, wait bool
		bandwidth     uint64
	)
	cmd := &cobra.Command{
		Use:   "migrate NAME [--to HOST]",
		Short: "Move a VM to another host: live while it runs, its definition only when it is shut off",
		Long: `Move a VM to another host. A running VM migrates live: its memory is copied
while it runs, then it pauses for a moment (the downtime) and resumes on the
target. A shut-off VM moves with --offline: only its definition moves. The
disks are not copied: they must be at the same paths on the target (shared
storage, or identical copies).

Without --to the scheduler picks the target, as at a first start, and says
why. The command follows the migration to its end, with a progress line on a
terminal; Ctrl-C stops following, not the migration. If it fails, the VM is
still on its source host, and the command exits 1.`,
		Example: `  vmnode vm migrate web1 --to h2
  vmnode vm migrate web1                  # the scheduler picks the host
  vmnode vm migrate db1 --offline --to h3 # shut off: move its definition
  vmnode vm migrate web1 --wait=false     # start it and return`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			resp, err := vmCall(g, cmd, api.VMRequest{Op: api.VMMigrate, Name: args[0], To: to, Offline: offline, Bandwidth: bandwidth})
			if err != nil {
				return err
			}
			if resp.Migration == nil {
				return &exitError{code: 1, err: fmt.Errorf("migrate %s: the agent did not say where the VM goes", args[0])}
			}
			m := *resp.Migration
			if p := resp.Placement; p != nil && output == "text" {
				fmt.Fprintf(g.stdout, "placing on %s: %s\n", p.Host, p.Reason)
			}
			if !wait {
				if output == "json" {
					return writeJSON(g, m)
				}
				fmt.Fprintf(g.stdout, "migrating %s from %s to %s; follow it with `vmnode vm show %s`\n", m.VM, m.From, m.To, m.VM)
				return nil
			}
			if m, err = followMigration(g, cmd, c, m, false); err != nil {
				return err
			}
			if output == "json" {
				if err := writeJSON(g, m); err != nil {
					return err
				}
			} else if m.State == api.MigrationDone {
				fmt.Fprintln(g.stdout, migratedLine(m))
			}
			if m.State == api.MigrationFailed {
				return &exitError{code: 1, err: fmt.Errorf("migrate %s from %s to %s: %s; %s is still on %s", m.VM, m.From, m.To, m.Error, m.VM, m.From)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "the target host (default: the scheduler's choice)")
	f.BoolVar(&offline, "offline", false, "the VM is shut off: move its definition only")
	f.Uint64Var(&bandwidth, "bandwidth", 0, "cap the transfer at this many MiB/s (0: no cap), to spare a busy network")
	f.BoolVar(&wait, "wait", true, "follow the migration to its end; --wait=false returns once it started")
	f.StringVarP(&output, "output", "o", "text", "format: text or json (the final migration state)")
	socketFlag(cmd)
	return cmd
}

// followMigration polls the migration on its source host every 250 ms until
// it is done or failed, with a progress line on a terminal's stderr unless
// quiet. A failed migration is no error: the caller judges m.State. Ctrl-C
// ends the wait with an error matching errStopped; the migration goes on.
func followMigration(g *globals, cmd *cobra.Command, c *api.Client, m api.Migration, quiet bool) (api.Migration, error) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	bar := newMigrationBar(g, m.VM+" → "+m.To, quiet)
	defer bar.clear()
	tick := time.NewTicker(migrationPoll)
	defer tick.Stop()
	lastOK := time.Now()
	for m.State == api.MigrationRunning {
		bar.draw(m)
		select {
		case <-ctx.Done():
			if err := cmd.Context().Err(); err != nil {
				return m, err
			}
			return m, stopped("the migration of %s to %s goes on from %s; follow it with `vmnode vm show %s`", m.VM, m.To, m.From, m.VM)
		case <-tick.C:
		}
		resp, err := c.VM(ctx, api.VMRequest{Op: api.VMMigration, Name: m.VM, Host: m.From})
		switch {
		case err == nil && resp.Migration != nil:
			m, lastOK = *resp.Migration, time.Now()
		case ctx.Err() != nil: // Ctrl-C: the select above says so
		case time.Since(lastOK) > pollGrace:
			if err == nil {
				err = errors.New("no migration in the answer")
			}
			return m, &exitError{code: 1, err: fmt.Errorf("follow the migration of %s from %s: %w; it may go on: `vmnode vm show %s`", m.VM, m.From, err, m.VM)}
		}
	}
	return m, nil
}

// migratedLine is the sentence for a migration that is done.
func migratedLine(m api.Migration) string {
	if !m.Live {
		return fmt.Sprintf("moved the definition of %s from %s to %s", m.VM, m.From, m.To)
	}
	s := fmt.Sprintf("migrated %s from %s to %s in %s", m.VM, m.From, m.To, shortDuration(m.Elapsed))
	if m.Downtime > 0 {
		s += fmt.Sprintf(" (downtime %s)", shortDuration(m.Downtime))
	}
	return s
}

// migrationBar redraws one progress line on a terminal; elsewhere, or
// quiet, it draws nothing.
type migrationBar struct {
	w     io.Writer
	label string
	on    bool
	drawn bool
}

func newMigrationBar(g *globals, label string, quiet bool) *migrationBar {
	f, ok := g.stderr.(*os.File)
	return &migrationBar{w: g.stderr, label: label, on: !quiet && ok && isTerminal(f)}
}

func (b *migrationBar) draw(m api.Migration) {
	if b.on {
		fmt.Fprintf(b.w, "\r%s\x1b[K", migrationLine(b.label, m))
		b.drawn = true
	}
}

// clear erases the line, for the result that follows.
func (b *migrationBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}

const barWidth = 20

// migrationLine is the progress of a running migration in one line:
// "web1 → h2 [#####...............]  25%  3GiB left  112MiB/s  downtime ~300ms".
func migrationLine(label string, m api.Migration) string {
	if m.DataTotal == 0 {
		return fmt.Sprintf("%s: preparing the target (%s)", label, m.Elapsed.Round(time.Second))
	}
	pct := min(m.DataProcessed*100/m.DataTotal, 100)
	fill := int(pct) * barWidth / 100
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s%s] %3d%%  %s left", label, strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill),
		pct, units.BytesSize(float64(m.DataRemaining)))
	if m.BytesPerSec > 0 {
		fmt.Fprintf(&b, "  %s/s", units.BytesSize(float64(m.BytesPerSec)))
	}
	if m.Downtime > 0 {
		fmt.Fprintf(&b, "  downtime ~%s", shortDuration(m.Downtime))
	}
	return b.String()
}

// shortDuration rounds d for people: 1.23s, 45ms.
func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}
