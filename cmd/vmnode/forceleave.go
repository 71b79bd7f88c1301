package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vmnode/vmnode/runtime/api"
)

func newForceLeaveCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "force-leave NODE",
		Short: "Remove a failed host from the cluster, so it no longer counts",
		Long: `Mark a failed host as left. A failed host still counts toward the cluster's
size and its quorum (it may come back); remove one that will not, e.g. a dead
server or a renamed host's old name. An alive host leaves by itself when its
agent stops.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			if err := c.ForceLeave(cmd.Context(), api.ForceLeaveRequest{Node: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s removed: it no longer counts as a host of the cluster\n", args[0])
			return nil
		},
	}
	socketFlag(cmd)
	return cmd
}
