package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show quorum, cluster size and this host's health",
		Long: `Show this host's agent: the quorum it sees (hosts alive out of the cluster's
hosts, and how many make a majority), the cluster's size, and this host's health
from its last local checks.

Exit codes: 0 with quorum; 1 without quorum (the cluster stops its HA VMs);
2 when the agent cannot be reached or a flag is wrong.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageErr(fmt.Errorf("unknown output format %q: want text or json", output))
			}
			c, _, err := g.client(cmd)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return usageErr(err)
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				q := "yes"
				if !st.Quorum.Has {
					q = "NO"
				}
				health := orDash(st.Health.Status)
				if len(st.Health.Failing) > 0 {
					health += ": " + strings.Join(st.Health.Failing, ", ")
				}
				if !st.Health.CheckedAt.IsZero() {
					health += fmt.Sprintf(" (checked %s ago)", time.Since(st.Health.CheckedAt).Round(time.Second))
				}
				gossip := "encrypted"
				if !st.Encrypted {
					gossip = "NOT encrypted (agent.encrypt: false)"
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "Node:\t%s at %s, vmnode %s\n", st.Node, st.Address, st.Version)
				fmt.Fprintf(tw, "Cluster:\t%d hosts, %d alive\n", st.Members, st.Alive)
				fmt.Fprintf(tw, "Quorum:\t%s (%d/%d seen, %d needed)\n", q, st.Quorum.Seen, st.Quorum.Hosts, st.Quorum.Needed)
				fmt.Fprintf(tw, "Health:\t%s\n", health)
				fmt.Fprintf(tw, "Gossip:\t%s\n", gossip)
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if !st.Quorum.Has {
				return silentExit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	socketFlag(cmd)
	return cmd
}
