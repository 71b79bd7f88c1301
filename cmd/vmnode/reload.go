package main

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/spf13/cobra"
)

func newReloadCmd(g *globals) *cobra.Command {
	var pid int
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the running agent re-read its configuration",
		Long: `Make the running agent re-read its configuration file and apply what can change
while it runs (log level, profile, role, health interval, cluster limits).

Through the control socket, an invalid file is reported here and the agent
keeps its running configuration. With --pid, the agent is sent SIGHUP instead,
as vmnode-agent.service's ExecReload does (no /bin/kill needed); the outcome
is then in its log.`,
		Example: `  vmnode reload
  vmnode reload --pid "$MAINPID"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pid != 0 {
				if pid < 0 {
					return usageErr(errors.New("--pid must be positive"))
				}
				if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
					return fmt.Errorf("SIGHUP to %d: %w", pid, err)
				}
				return nil
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			if err := c.Reload(cmd.Context()); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("reload refused, the agent keeps its running configuration: %w", err)}
			}
			fmt.Fprintln(g.stdout, "configuration reloaded")
			return nil
		},
	}
	cmd.Flags().IntVar(&pid, "pid", 0, "send SIGHUP to this agent `PID` instead of asking over the socket")
	socketFlag(cmd)
	return cmd
}
